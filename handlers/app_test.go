package handlers_test

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/accounts"
	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/app"
	"swapdesk/internal/fields"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/internal/storage"
	"swapdesk/internal/tokens"
)

const testPassword = "correct horse battery"

// testHashCost is the argon2id cost of the test apps' password hashes: the
// real algorithm and code path, at 64 KiB and one pass instead of 19 MiB
// and two. At the default cost hashing was a sixth of this package's CPU
// time under -race (three or more hashes per test: the timing equaliser,
// each account, each sign-in).
var testHashCost = accounts.HashCost{Time: 1, MemoryKiB: 64}

// testApp is the graph serve runs (app.New: the real router over a real
// SQLite database in a temp dir, with the embedded Akool emulator, the
// tracker and the archiver), served on loopback. One fake clock drives the
// store, the services and the emulator, so tests move time instead of
// sleeping; the background loops do not run, so tests poll and archive by
// hand.
type testApp struct {
	t     testing.TB
	store *db.DB
	accts *accounts.Service
	srv   *httptest.Server
	clock *akoolsim.FakeClock
	// sim is the Akool emulator the app talks to; media serves the inputs
	// under a made-up public name (see newMediaServer).
	sim      *akoolsim.Sim
	media    *mediaServer
	tracker  *jobs.Tracker
	archiver *jobs.Archiver
	mediaDir string
	// posters, inputs and store are the poster maker, the input keeper and
	// the media store (their loops do not run: tests call them).
	posters    *jobs.Posters
	inputs     *jobs.Inputs
	mediaStore storage.Store
	// The emulator's account, which signs its webhooks.
	simClientID, simSecret string
	// tokens makes personal API tokens.
	tokens *tokens.Service
	// searchIndex keeps the prompt search's index in few segments.
	searchIndex *jobs.SearchIndex
}

type appOptions struct {
	noWebhooks    bool          // jobs are sent without a webhook URL: polling only
	submitTimeout time.Duration // bound on the create call (default: the service's)
	proxies       []*net.IPNet  // handlers.Config.TrustedProxies
	secure        bool          // handlers.Config.SecureCookies
	jobs          func(*jobs.Config)
	// processingWebhooks makes the emulator send status 2 webhooks too, as
	// its default does. Without it only 3 and 4 are sent, so tests that
	// wait for "Akool's webhook" wait for the one that finishes the job.
	processingWebhooks bool
	log                *slog.Logger // app.Config.Log
	probe              func(*media.ProberOptions)
	// apiRate and apiBurst are app.Config's; 0 means no limit on API
	// requests (the clock of these tests only moves when told).
	apiRate  float64
	apiBurst int
	// defaultHashCost hashes passwords at the cost serve uses, for a test
	// whose point is what happens while hashes are being computed.
	defaultHashCost bool
}

func pollingOnly(o *appOptions) { o.noWebhooks = true }

func newTestApp(t testing.TB, opts ...func(*appOptions)) *testApp {
	t.Helper()
	var o appOptions
	for _, f := range opts {
		f(&o)
	}
	hashCost := &testHashCost
	if o.defaultHashCost {
		hashCost = nil
	}
	clock := akoolsim.NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	ms := newMediaServer(t)
	webhookStatuses := []akool.Status{akool.StatusCompleted, akool.StatusFailed}
	if o.processingWebhooks {
		webhookStatuses = nil // the emulator's default: 2, 3 and 4
	}
	// The server listens before the app is built: the embedded emulator is
	// mounted on it and calls it back (webhooks), as in serve.
	var handler http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	// app.New opens DataDir/swapdesk.db with db.Open, as serve does; it
	// finds the migrated template there and has nothing to apply.
	dataDir := t.TempDir()
	dbtest.Template(t, filepath.Join(dataDir, "swapdesk.db"))
	a, err := app.New(context.Background(), app.Config{
		DataDir:                dataDir,
		LocalURL:               "http://" + srv.Listener.Addr().String(),
		SessionKey:             "test-session-key-of-at-least-32-bytes!",
		SecureCookies:          o.secure,
		TrustedProxies:         o.proxies,
		SandboxQueueDelay:      5 * time.Second,
		SandboxProcessDelay:    20 * time.Second,
		Now:                    clock.Now,
		Net:                    ms.netHooks(),
		SandboxWebhookBackoff:  time.Second,
		SandboxWebhookStatuses: webhookStatuses,
		PollingOnly:            o.noWebhooks,
		SubmitTimeout:          o.submitTimeout,
		TrackerRate:            1000,
		TrackerBurst:           1000,
		ConfigureJobs:          o.jobs,
		Log:                    o.log,
		ConfigureProbe:         o.probe,
		APIRate:                cmp.Or(o.apiRate, -1),
		APIBurst:               o.apiBurst,
		PasswordHashCost:       hashCost,
	})
	if err != nil {
		srv.Close()
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	// The test has ended: a stalled link answers now, before srv.Close and
	// Shutdown wait for the requests probing it (else each waits out the
	// prober's timeout).
	t.Cleanup(ms.release)
	_, clientID, secret := a.Sandbox.Credentials()
	return &testApp{t: t, store: a.Store, accts: a.Accounts, srv: srv, clock: clock, sim: a.Sandbox, media: ms,
		tracker: a.Tracker, archiver: a.Archiver, mediaDir: a.MediaDir, simClientID: clientID, simSecret: secret,
		posters: a.Posters, inputs: a.Inputs, mediaStore: a.Media, tokens: a.Tokens, searchIndex: a.SearchIndex}
}

// addUser creates an account with testPassword.
func (a *testApp) addUser(email, name string, admin bool) db.User {
	a.t.Helper()
	u, err := a.accts.CreateUser(context.Background(), 0, accounts.NewUser{Email: email, Name: name, Admin: admin, Password: testPassword})
	if err != nil {
		a.t.Fatalf("add user %s: %v", email, err)
	}
	return u
}

// client is a browser-like HTTP client: a cookie jar, no automatic redirects.
type client struct {
	t    testing.TB
	app  *testApp
	http *http.Client
}

func (a *testApp) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: a.t, app: a, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	*http.Response
	body string
	doc  *goquery.Document
}

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(b)))
	return &response{Response: res, body: string(b), doc: doc}
}

func (c *client) get(path string) *response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.app.srv.URL+path, nil)
	return c.do(req)
}

// post sends form values as-is (add "csrf" yourself, or use submit).
func (c *client) post(path string, form url.Values, headers ...string) *response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.app.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

// csrf loads page and returns the CSRF token from its form.
func (c *client) csrf(page string) string {
	c.t.Helper()
	res := c.get(page)
	tok, ok := res.doc.Find(`input[name="csrf"]`).First().Attr("value")
	if !ok || tok == "" {
		c.t.Fatalf("no csrf field on %s (status %d)", page, res.StatusCode)
	}
	return tok
}

// submit posts form to action with the CSRF token taken from page.
func (c *client) submit(page, action string, form url.Values) *response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(fields.CSRF, c.csrf(page))
	return c.post(action, form)
}

func (c *client) login(email, password string) *response {
	c.t.Helper()
	return c.submit("/login", "/login", url.Values{fields.Email: {email}, fields.Password: {password}})
}

// signedIn returns a client signed in as a new account.
func (a *testApp) signedIn(email string, admin bool) *client {
	a.t.Helper()
	a.addUser(email, "User "+email, admin)
	c := a.client()
	if res := c.login(email, testPassword); res.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("login %s: status %d", email, res.StatusCode)
	}
	return c
}

// dbMark is what the database held at one moment: every account row and the
// newest audit entry, so a test can say exactly what a request changed.
type dbMark struct {
	users     []db.User
	lastAudit int64
}

func (a *testApp) mark() dbMark {
	a.t.Helper()
	users, err := a.store.ListUsers(context.Background())
	if err != nil {
		a.t.Fatal(err)
	}
	m := dbMark{users: users}
	if last, err := a.store.RecentAudit(context.Background(), 1); err != nil {
		a.t.Fatal(err)
	} else if len(last) == 1 {
		m.lastAudit = last[0].ID
	}
	return m
}

// auditSince fails the test when any account row (password hash, session
// version, disabled, timestamps...) differs from m, and returns the audit
// entries written since m, oldest first, with their ids and times zeroed.
func (a *testApp) auditSince(t testing.TB, m dbMark) []db.AuditEntry {
	t.Helper()
	now := a.mark()
	if !reflect.DeepEqual(now.users, m.users) {
		t.Errorf("account rows changed:\n was %+v\n now %+v", m.users, now.users)
	}
	entries, err := a.store.RecentAudit(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []db.AuditEntry
	for i := len(entries) - 1; i >= 0; i-- {
		if e := entries[i]; e.ID > m.lastAudit {
			e.ID, e.At = 0, time.Time{}
			out = append(out, e)
		}
	}
	return out
}

func wantStatus(t testing.TB, res *response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, snippet(res.body))
	}
}

func snippet(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}
