package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/credits"
)

// adminRoutes are this branch's admin routes, each with the method it
// answers.
var adminRoutes = []struct{ method, path string }{
	{http.MethodGet, "/admin/credits"},
	{http.MethodGet, "/admin/credits?days=90&by=member"},
	{http.MethodGet, "/admin/credits/ledger.csv"},
	{http.MethodGet, "/admin/audit"},
	{http.MethodPost, "/admin/credits/time-zone"},
}

// Only an active admin reaches the credit overview, the ledger export, the
// audit log and the time zone setting; a member gets 403, a disabled
// member and a stranger are sent to sign in, and nothing is written.
func TestAdminCreditRoutesAuthorization(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("admin@example.com", true)
	member := app.signedIn("member@example.com", false)
	disabled := app.signedIn("gone@example.com", false)
	memberTok := member.csrf("/")
	adminTok := admin.csrf("/")
	disabledTok := disabled.csrf("/")
	if err := app.accts.SetDisabled(context.Background(), 0, "gone@example.com", true); err != nil {
		t.Fatal(err)
	}
	anon := app.client()
	who := []struct {
		name   string
		c      *client
		tok    string
		get    int // status of a GET
		post   int // status of a POST
		signIn bool
	}{
		{"anonymous", anon, "", http.StatusSeeOther, http.StatusForbidden, true},
		{"member", member, memberTok, http.StatusForbidden, http.StatusForbidden, false},
		// The disabled member's session is gone, and its CSRF token with it.
		{"disabled member", disabled, disabledTok, http.StatusSeeOther, http.StatusForbidden, true},
		{"admin", admin, adminTok, http.StatusOK, http.StatusSeeOther, false},
	}
	for _, w := range who {
		for _, r := range adminRoutes {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				t.Run(w.name+" "+method+" "+r.path, func(t *testing.T) {
					before := app.mark()
					var res *response
					if method == http.MethodGet {
						res = w.c.get(r.path)
					} else {
						res = w.c.post(r.path, url.Values{"csrf": {w.tok}, "time_zone": {"Europe/Berlin"}})
					}
					want := w.get
					if method == http.MethodPost {
						want = w.post
					}
					if method != r.method {
						// The other method is not routed: refused whoever
						// asks (after the session and CSRF checks).
						if res.StatusCode < 300 {
							t.Errorf("got %d for an unrouted method", res.StatusCode)
						}
					} else if res.StatusCode != want {
						t.Errorf("got status %d, want %d\n%s", res.StatusCode, want, snippet(res.body))
					} else if w.signIn && want == http.StatusSeeOther && !strings.HasPrefix(res.Header.Get("Location"), "/login") {
						t.Errorf("redirected to %q, want the sign-in page", res.Header.Get("Location"))
					}
					if w.name != "admin" {
						if got := app.auditSince(t, before); len(got) != 0 {
							t.Errorf("wrote audit entries: %+v", got)
						}
						if _, err := app.store.Setting(context.Background(), credits.SettingTeamZone); err == nil && w.name != "admin" {
							t.Errorf("%s set the team time zone", w.name)
						}
					}
				})
			}
		}
	}
}

// seedOverview grants credits to two members, runs one job each to the
// end through the emulator and leaves one interrupted job.
func seedOverview(t *testing.T, app *testApp) (ana, bo db.User) {
	t.Helper()
	anaC, ana := app.member("ana@example.com", 500)
	boC, bo := app.member("bo@example.com", 300)
	for _, c := range []*client{anaC, boC} {
		j := app.submitted(c)
		app.pollUntil(t, j.ID, db.JobSucceeded)
	}
	// A job caught between its hold and Akool's answer.
	ctx := context.Background()
	if _, _, err := app.store.CreateJobWithHold(ctx, db.NewJob{UserID: bo.ID, IdempotencyKey: "interrupted-0000001",
		ImageURL: "https://x.test/a.png", VideoURL: "https://x.test/a.mp4", Mode: "animate", Resolution: "1080p",
		BilledSeconds: 10, EstimateCredits: 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.store.InterruptSubmitting(ctx, "interrupted"); err != nil {
		t.Fatal(err)
	}
	return ana, bo
}

func statText(res *response, label string) string {
	var out string
	res.doc.Find(".grid .card").Each(func(_ int, s *goquery.Selection) {
		if strings.TrimSpace(s.Find("h2").Text()) == label {
			out = strings.TrimSpace(s.Find(".stat").Text())
		}
	})
	return out
}

// The overview's totals are the ledger's, and its Akool balance is the
// emulator's own: after two jobs, a grant and an interruption, in the
// sandbox, through the real app.
func TestCreditOverviewMatchesLedgerAndAkool(t *testing.T) {
	app := newTestApp(t)
	seedOverview(t, app)
	admin := app.signedIn("admin@example.com", true)
	res := admin.get("/admin/credits")
	wantStatus(t, res, http.StatusOK)

	ctx := context.Background()
	tt, err := app.store.TeamTotals(ctx, credits.MonthStart(app.clock.Now(), time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if tt.Spent == 0 || tt.Granted != 800 {
		t.Fatalf("seed: totals %+v", tt)
	}
	for label, want := range map[string]int64{"Available": tt.Available, "Held": tt.Held, "Spent this month": tt.SpentSince,
		"Spent, all time": tt.Spent, "Granted, all time": tt.Granted} {
		if got := statText(res, label); got != strconv.FormatInt(want, 10) {
			t.Errorf("%s: got %q, want %d", label, got, want)
		}
	}
	bal := app.sim.Balance()
	if got, want := strings.ReplaceAll(res.doc.Find("#akool-balance").Text(), ",", ""), strconv.Itoa(bal); got != want {
		t.Errorf("Akool balance: got %q, want the emulator's %s", got, want)
	}
	recon := strings.Join(strings.Fields(res.doc.Find("#reconciliation").Text()), " ")
	promised := strconv.FormatInt(tt.Available+tt.Held, 10)
	if !strings.Contains(recon, promised) || !strings.Contains(strings.ReplaceAll(recon, ",", ""), strconv.Itoa(bal)) {
		t.Errorf("reconciliation %q: want %s against %d", recon, promised, bal)
	}
	if res.doc.Find("#overcommitted").Length() != 0 || res.doc.Find("#covered").Length() != 1 {
		t.Errorf("warned with %d promised against %d", tt.Available+tt.Held, bal)
	}
	// "Check Akool": the interrupted job, linked.
	if link := res.doc.Find("#check-akool a[href^='/jobs/']"); link.Length() != 1 {
		t.Errorf("check-Akool items: %d links, want 1", link.Length())
	}
	if got := res.doc.Find("#top-spenders li").Length(); got != 2 {
		t.Errorf("top spenders: %d, want 2", got)
	}

	// Drain the account below what members can spend: a plain warning. The
	// balance is cached for a minute, so move the clock past it.
	app.sim.SetBalance(10)
	app.clock.Advance(2 * time.Minute)
	res = admin.get("/admin/credits")
	wantStatus(t, res, http.StatusOK)
	warn := res.doc.Find("#overcommitted").Text()
	want := strconv.FormatInt(tt.Available+tt.Held-10, 10)
	if !strings.Contains(strings.ReplaceAll(warn, ",", ""), want) {
		t.Errorf("warning %q: want a shortfall of %s", warn, want)
	}
}

// The Akool balance is fetched once a minute at most, however many times
// the page is opened.
func TestCreditOverviewCachesAkoolBalance(t *testing.T) {
	app := newTestApp(t)
	admin := app.signedIn("admin@example.com", true)
	wantStatus(t, admin.get("/admin/credits"), http.StatusOK)
	app.sim.SetBalance(1234)
	res := admin.get("/admin/credits")
	if got := res.doc.Find("#akool-balance").Text(); got == "1,234" {
		t.Errorf("balance fetched again within the minute")
	}
	app.clock.Advance(61 * time.Second)
	res = admin.get("/admin/credits")
	if got := res.doc.Find("#akool-balance").Text(); got != "1,234" {
		t.Errorf("after a minute: balance %q, want 1,234", got)
	}
}

// An Akool error is said plainly on the page, which still shows
// everything else; it is not a 500.
func TestCreditOverviewShowsAkoolErrorPlainly(t *testing.T) {
	app := newTestApp(t)
	app.sim.InjectCall(akoolsim.EndpointQuota, akoolsim.CallFault{Code: 1200, Count: akoolsim.Forever})
	admin := app.signedIn("admin@example.com", true)
	res := admin.get("/admin/credits")
	wantStatus(t, res, http.StatusOK)
	msg := res.doc.Find("#akool-error").Text()
	if !strings.Contains(msg, "1200") {
		t.Errorf("Akool error %q: want the code named", msg)
	}
	if res.doc.Find("#akool-balance").Length() != 0 || res.doc.Find("#overcommitted").Length() != 0 {
		t.Error("a balance or a warning shown without a balance")
	}
	if !strings.Contains(res.doc.Find("#reconciliation").Text(), "unknown") {
		t.Errorf("reconciliation %q: want it to say the balance is unknown", res.doc.Find("#reconciliation").Text())
	}
	if statText(res, "Available") == "" {
		t.Error("the totals are missing")
	}
}

func TestCreditOverviewDaysAndGrouping(t *testing.T) {
	app := newTestApp(t)
	seedOverview(t, app)
	admin := app.signedIn("admin@example.com", true)
	for _, tc := range []struct {
		query    string
		status   int
		bars     int // days in the table
		series   []string
		titleHas string
	}{
		{"", http.StatusOK, 30, []string{"480p", "720p", "1080p"}, "30 days"},
		{"?days=30", http.StatusOK, 30, []string{"480p", "720p", "1080p"}, "30 days"},
		{"?days=90", http.StatusOK, 90, []string{"480p", "720p", "1080p"}, "90 days"},
		{"?days=90&by=member", http.StatusOK, 90, []string{"User ana@example.com", "User bo@example.com"}, "by member"},
		{"?days=7", http.StatusBadRequest, 0, nil, ""},
		{"?days=abc", http.StatusBadRequest, 0, nil, ""},
		{"?by=colour", http.StatusBadRequest, 0, nil, ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res := admin.get("/admin/credits" + tc.query)
			wantStatus(t, res, tc.status)
			if tc.status != http.StatusOK {
				if !strings.Contains(res.doc.Find("main").Text(), "30 or 90") && !strings.Contains(res.doc.Find("main").Text(), "by=member") {
					t.Errorf("400 without a clear message: %q", strings.TrimSpace(res.doc.Find("main p").First().Text()))
				}
				return
			}
			svg := checkChartSVG(t, res)
			if !strings.Contains(svg.Title, tc.titleHas) {
				t.Errorf("chart title %q: want %q", svg.Title, tc.titleHas)
			}
			if got := res.doc.Find("#spend-table tbody tr").Length(); got != tc.bars {
				t.Errorf("table rows: %d, want %d", got, tc.bars)
			}
			var legend []string
			res.doc.Find(".legend li").Each(func(_ int, s *goquery.Selection) { legend = append(legend, strings.TrimSpace(s.Text())) })
			for _, want := range tc.series {
				if !strings.Contains(strings.Join(legend, "|"), want) {
					t.Errorf("legend %q: want %q", legend, want)
				}
			}
		})
	}
}

type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Role    string   `xml:"role,attr"`
	Title   string   `xml:"title"`
	Desc    string   `xml:"desc"`
	Groups  []struct {
		Rects []struct {
			Class  string `xml:"class,attr"`
			Height string `xml:"height,attr"`
			Style  string `xml:"style,attr"`
			Title  string `xml:"title"`
		} `xml:"rect"`
	} `xml:"g"`
	Lines []struct {
		ID    string `xml:"id,attr"`
		Class string `xml:"class,attr"`
	} `xml:"line"`
}

// checkChartSVG parses the chart as XML and checks what every chart must
// have: a title, a description, role=img, no style attribute, bars with
// titles.
func checkChartSVG(t *testing.T, res *response) svgDoc {
	t.Helper()
	raw, err := res.doc.Find("#spend-chart").Parent().Html()
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(raw, "<svg")
	end := strings.Index(raw, "</svg>")
	if start < 0 || end < 0 {
		t.Fatalf("no svg in %s", snippet(raw))
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(raw[start:end+len("</svg>")]), &doc); err != nil {
		t.Fatalf("chart is not XML: %v", err)
	}
	if doc.Title == "" || doc.Desc == "" || doc.Role != "img" {
		t.Errorf("chart title %q, desc %q, role %q", doc.Title, doc.Desc, doc.Role)
	}
	if strings.Contains(raw[start:end], "style=") {
		t.Error("chart has a style attribute; the CSP forbids inline style")
	}
	return doc
}

func chartBars(doc svgDoc) (n int, titles []string) {
	for _, g := range doc.Groups {
		for _, r := range g.Rects {
			n++
			titles = append(titles, r.Title)
		}
	}
	return n, titles
}

// Bars are per day and stacked: with charges on two days at two
// resolutions the chart has one bar per (day, resolution), each titled,
// and the projection extrapolates the month at its pace.
func TestSpendChartBarsAndProjection(t *testing.T) {
	app := newTestApp(t) // the clock starts on 25 Nov 2026, 09:00 UTC
	c, _ := app.member("ana@example.com", 1000)
	run := func(res string) {
		t.Helper()
		v := app.jobValues()
		v.Set("resolution", res)
		r := c.submitJob(v)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit: %d", r.StatusCode)
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(r.Header.Get("Location"), "/jobs/"), 10, 64)
		app.pollUntil(t, id, db.JobSucceeded)
	}
	app.clock.Advance(15 * time.Hour) // 26 Nov, 00:00
	run("720p")
	run("480p")
	app.clock.Advance(48 * time.Hour) // 28 Nov
	run("720p")
	admin := app.signedIn("admin@example.com", true)
	res := admin.get("/admin/credits")
	wantStatus(t, res, http.StatusOK)
	doc := checkChartSVG(t, res)
	n, titles := chartBars(doc)
	if n != 3 {
		t.Fatalf("bars: %d (%q), want 3", n, titles)
	}
	for _, want := range []string{"26 Nov: 720p, ", "26 Nov: 480p, ", "28 Nov: 720p, "} {
		if !strings.Contains(strings.Join(titles, "|"), want) {
			t.Errorf("bar titles %q: want %q", titles, want)
		}
	}
	hasPace := false
	for _, l := range doc.Lines {
		hasPace = hasPace || l.ID == "pace-line"
	}
	if !hasPace {
		t.Error("no pace line")
	}
	now := app.clock.Now()
	tt, err := app.store.TeamTotals(context.Background(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	elapsed := now.Sub(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	want := int64(float64(tt.SpentSince) * float64(30*24*time.Hour) / float64(elapsed))
	proj := strings.Join(strings.Fields(res.doc.Find("#projection").Text()), " ")
	if !strings.Contains(proj, "so far "+strconv.FormatInt(tt.SpentSince, 10)) || !strings.Contains(proj, "near "+strconv.FormatInt(want, 10)) {
		t.Errorf("projection %q: want %d so far and %d at month end", proj, tt.SpentSince, want)
	}
}

var _ = csv.NewReader
var _ = io.EOF
