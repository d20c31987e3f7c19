package handlers_test

import (
	"context"
	"io"
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
	"github.com/prometheus/client_golang/prometheus"

	"swapdesk/db"
	"swapdesk/handlers"
	"swapdesk/internal/accounts"
	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/static"
)

const testPassword = "correct horse battery"

// testApp is the real router over a real SQLite database in a temp dir,
// talking to the Akool emulator. One fake clock drives the store, the
// services and the emulator, so tests move time instead of sleeping.
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
}

// Emulator account used by every test app.
const (
	simAPIKey   = "TESTSECRETKEY24CHARSxxxx"
	simClientID = "TESTCLIENTID0001"
)

type appOptions struct {
	noWebhooks    bool          // jobs are sent without a webhook URL: polling only
	submitTimeout time.Duration // bound on the create call (default: the service's)
	proxies       []*net.IPNet  // handlers.Config.TrustedProxies
	secure        bool          // handlers.Config.SecureCookies
	jobs          func(*jobs.Config)
	probe         func(*media.ProberOptions)
}

func pollingOnly(o *appOptions) { o.noWebhooks = true }

func newTestApp(t testing.TB, opts ...func(*appOptions)) *testApp {
	t.Helper()
	var o appOptions
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "swapdesk.db"))
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	clock := akoolsim.NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	store.Now = clock.Now
	accts := accounts.New(store, nil, clock.Now)
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	// The server exists before the app so the webhook URL is known.
	var app http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { app.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)

	ms := newMediaServer(t)
	sim := akoolsim.New(akoolsim.Config{APIKey: simAPIKey, ClientID: simClientID, Credits: 1_000_000,
		Now: clock.Now, QueueDelay: 5 * time.Second, ProcessDelay: 20 * time.Second, WebhookBackoff: time.Second,
		HTTPClient: ms.akoolClient()})
	t.Cleanup(sim.Close)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	client, err := akool.New(akool.Config{BaseURL: simSrv.URL, APIKey: simAPIKey,
		Retry: akool.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	probeOpts := media.ProberOptions{Now: clock.Now}
	if o.probe != nil {
		o.probe(&probeOpts)
	}
	prober := media.NewProber(ms.fetcher(), probeOpts)
	webhookURL := srv.URL + "/webhooks/akool"
	if o.noWebhooks {
		webhookURL = ""
	}
	jobsCfg := jobs.Config{Store: store, Probe: prober, Akool: client, WebhookURL: webhookURL, Now: clock.Now,
		SubmitTimeout: o.submitTimeout}
	if o.jobs != nil {
		o.jobs(&jobsCfg)
	}
	jobSvc := jobs.New(jobsCfg)
	mediaDir := filepath.Join(t.TempDir(), "media")
	// The emulator serves results on loopback: the archiver may fetch there.
	archiver := jobs.NewArchiver(jobs.ArchiverConfig{Store: store, Dir: mediaDir, Now: clock.Now,
		Open: media.NewFetcher(media.Options{AllowPrivate: true})})
	tracker := jobs.NewTracker(jobs.TrackerConfig{Store: store, Akool: client, Now: clock.Now,
		ClientID: simClientID, ClientSecret: simAPIKey, Rate: 1000, Burst: 1000})
	app = handlers.New(handlers.Config{
		Jobs:           jobSvc,
		JobStore:       store,
		Webhooks:       tracker,
		MediaDir:       mediaDir,
		Users:          store,
		Auth:           accts,
		Audit:          store,
		Directory:      store,
		Health:         store,
		Assets:         assets,
		SessionKey:     []byte("test-session-key-of-at-least-32-bytes!"),
		TrustedProxies: o.proxies,
		SecureCookies:  o.secure,
		Sandbox:        true,
		Registry:       prometheus.NewRegistry(),
		Now:            clock.Now,
	})
	return &testApp{t: t, store: store, accts: accts, srv: srv, clock: clock, sim: sim, media: ms,
		tracker: tracker, archiver: archiver, mediaDir: mediaDir}
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
	form.Set("csrf", c.csrf(page))
	return c.post(action, form)
}

func (c *client) login(email, password string) *response {
	c.t.Helper()
	return c.submit("/login", "/login", url.Values{"email": {email}, "password": {password}})
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
