package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/xml"
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
	t.Parallel()
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
						if _, err := app.store.Setting(context.Background(), db.SettingTeamTimeZone); err == nil && w.name != "admin" {
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
	if _, err := app.store.InterruptSubmitting(ctx, db.Interruption{Message: "interrupted", ReleaseNote: "interrupted"}); err != nil {
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

func readCSV(t *testing.T, res *response) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, snippet(res.body))
	}
	return recs
}

// The export has a header row, ISO 8601 times in the team's zone, the
// overview's filters, and defused formulas.
func TestLedgerCSV(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ctx := context.Background()
	_, ana := app.member("ana@example.com", 0)
	_, bo := app.member("bo@example.com", 0)
	admin := app.signedIn("admin@example.com", true)
	for _, g := range []struct {
		who  int64
		kind string
		n    int64
		note string
	}{
		{ana.ID, db.LedgerGrant, 100, "=HYPERLINK(\"http://evil.test\",\"click\")"},
		{ana.ID, db.LedgerAdjust, -20, "+1+1"},
		{bo.ID, db.LedgerGrant, 50, "@SUM(A1:A9)"},
		{bo.ID, db.LedgerGrant, 7, "-2+3"},
		{bo.ID, db.LedgerGrant, 8, "\tcmd"},
		{bo.ID, db.LedgerGrant, 9, "plain, with \"quotes\"\nand a newline"},
	} {
		if _, err := app.store.Grant(ctx, g.who, 0, g.kind, g.n, g.note); err != nil {
			t.Fatal(err)
		}
	}
	// Times in the team's zone, with its offset.
	tok := admin.csrf("/admin/credits")
	wantStatus(t, admin.post("/admin/credits/time-zone", url.Values{"csrf": {tok}, "time_zone": {"Asia/Kolkata"}}), http.StatusSeeOther)

	res := admin.get("/admin/credits/ledger.csv")
	wantStatus(t, res, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".csv") {
		t.Errorf("Content-Disposition %q", cd)
	}
	recs := readCSV(t, res)
	if got := strings.Join(recs[0], ","); got != "id,created_at,member_email,member_name,kind,amount,job_id,actor_id,note" {
		t.Errorf("header %q", got)
	}
	if len(recs) != 7 {
		t.Fatalf("%d rows, want a header and 6 lines", len(recs))
	}
	for _, r := range recs[1:] {
		at, err := time.Parse(time.RFC3339, r[1])
		if err != nil {
			t.Errorf("created_at %q is not ISO 8601: %v", r[1], err)
		} else if _, off := at.Zone(); off != 5*3600+1800 || !strings.HasSuffix(r[1], "+05:30") {
			t.Errorf("created_at %q: want the team's zone, +05:30", r[1])
		}
		if !at.Equal(app.clock.Now().Truncate(time.Millisecond)) {
			t.Errorf("created_at %v, want %v", at, app.clock.Now())
		}
	}
	notes := map[string]string{}
	for _, r := range recs[1:] {
		notes[r[5]] = r[8]
	}
	for amount, want := range map[string]string{
		"100": "'=HYPERLINK(\"http://evil.test\",\"click\")",
		"-20": "'+1+1",
		"50":  "'@SUM(A1:A9)",
		"7":   "'-2+3",
		"8":   "'\tcmd",
		"9":   "plain, with \"quotes\"\nand a newline",
	} {
		if notes[amount] != want {
			t.Errorf("note of the %s line: got %q, want %q", amount, notes[amount], want)
		}
	}

	for _, tc := range []struct {
		query string
		rows  int
	}{
		{"?member=" + strconv.FormatInt(ana.ID, 10), 2},
		{"?member=" + strconv.FormatInt(bo.ID, 10) + "&kind=grant", 4},
		{"?kind=adjust", 1},
		{"?from=" + app.clock.Now().In(time.FixedZone("IST", 19800)).Format(time.DateOnly), 6},
		{"?to=" + app.clock.Now().In(time.FixedZone("IST", 19800)).AddDate(0, 0, -1).Format(time.DateOnly), 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res := admin.get("/admin/credits/ledger.csv" + tc.query)
			wantStatus(t, res, http.StatusOK)
			if got := len(readCSV(t, res)) - 1; got != tc.rows {
				t.Errorf("%d rows, want %d", got, tc.rows)
			}
			// The page's table shows the same lines.
			page := admin.get("/admin/credits" + tc.query)
			wantStatus(t, page, http.StatusOK)
			if got := page.doc.Find("#ledger-table tbody tr").Length(); got != tc.rows {
				t.Errorf("page: %d rows, want %d", got, tc.rows)
			}
		})
	}

	for _, tc := range []struct{ query, says string }{
		{"?from=2026-13-01", "YYYY-MM-DD"},
		{"?to=yesterday", "YYYY-MM-DD"},
		{"?from=2026-11-30&to=2026-11-01", "after"},
		{"?kind=gift", "kind"},
		{"?member=99999", "no member"},
		{"?member=ana", "not a member"},
	} {
		t.Run("bad "+tc.query, func(t *testing.T) {
			res := admin.get("/admin/credits/ledger.csv" + tc.query)
			wantStatus(t, res, http.StatusBadRequest)
			if !strings.Contains(res.body, tc.says) {
				t.Errorf("message %q: want it to say %q", res.body, tc.says)
			}
			page := admin.get("/admin/credits" + tc.query)
			wantStatus(t, page, http.StatusBadRequest)
			if msg := page.doc.Find("#ledger-error").Text(); !strings.Contains(msg, tc.says) {
				t.Errorf("page message %q: want %q", msg, tc.says)
			}
			if page.doc.Find("#spend-chart").Length() != 1 {
				t.Error("the rest of the page is missing")
			}
		})
	}
}

// The ledger on the page is paged newest first, and the next page goes on
// where the first ended.
func TestLedgerPaging(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, ana := app.member("ana@example.com", 0)
	for i := range 60 {
		if _, err := app.store.Grant(context.Background(), ana.ID, 0, db.LedgerGrant, int64(i+1), ""); err != nil {
			t.Fatal(err)
		}
	}
	admin := app.signedIn("admin@example.com", true)
	res := admin.get("/admin/credits?kind=grant")
	wantStatus(t, res, http.StatusOK)
	if got := res.doc.Find("#ledger-table tbody tr").Length(); got != 50 {
		t.Fatalf("first page: %d rows, want 50", got)
	}
	if first := strings.TrimSpace(res.doc.Find("#ledger-table tbody tr td[data-label=Credits]").First().Text()); first != "+60" {
		t.Errorf("first line %q, want the newest, +60", first)
	}
	next, ok := res.doc.Find("a[rel=next]").Attr("href")
	if !ok || !strings.Contains(next, "kind=grant") {
		t.Fatalf("next link %q: want it to keep the filter", next)
	}
	res = admin.get(next)
	wantStatus(t, res, http.StatusOK)
	if got := res.doc.Find("#ledger-table tbody tr").Length(); got != 10 {
		t.Errorf("second page: %d rows, want 10", got)
	}
	if res.doc.Find("a[rel=next]").Length() != 0 {
		t.Error("a next link on the last page")
	}
}

// The team's time zone is set in the UI: validated, audited, used for the
// month and shown on the pages; a zone that does not exist is refused at
// the field and nothing is written.
func TestTeamTimeZoneSetting(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	admin := app.signedIn("admin@example.com", true)
	res := admin.get("/admin/credits")
	if v, _ := res.doc.Find("#time_zone").Attr("value"); v != "UTC" {
		t.Errorf("default zone %q, want UTC", v)
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "", "Local", "../../etc/passwd"} {
		t.Run("bad "+bad, func(t *testing.T) {
			before := app.mark()
			tok := admin.csrf("/admin/credits")
			res := admin.post("/admin/credits/time-zone", url.Values{"csrf": {tok}, "time_zone": {bad}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if msg := res.doc.Find("#time_zone-error").Text(); msg == "" {
				t.Error("no message at the field")
			}
			if inv, _ := res.doc.Find("#time_zone").Attr("aria-invalid"); inv != "true" {
				t.Error("field not marked invalid")
			}
			if v, _ := res.doc.Find("#time_zone").Attr("value"); v != bad {
				t.Errorf("field value %q, want what was typed, %q", v, bad)
			}
			if got := app.auditSince(t, before); len(got) != 0 {
				t.Errorf("audited a refused zone: %+v", got)
			}
			if _, err := app.store.Setting(context.Background(), db.SettingTeamTimeZone); err == nil {
				t.Error("a refused zone was stored")
			}
		})
	}
	before := app.mark()
	admin.get("/") // a fresh page for the token
	tok := admin.csrf("/admin/credits")
	res = admin.post("/admin/credits/time-zone", url.Values{"csrf": {tok}, "time_zone": {" America/New_York "}})
	wantStatus(t, res, http.StatusSeeOther)
	got := app.auditSince(t, before)
	if len(got) != 1 || got[0].Action != credits.AuditTeamZone || got[0].Subject != "America/New_York" || got[0].IP == "" {
		t.Errorf("audit: %+v", got)
	}
	loc := credits.TeamLocation(context.Background(), app.store)
	if loc.String() != "America/New_York" {
		var err error
		t.Fatalf("stored zone %v, %v", loc, err)
	}
	res = admin.get("/admin/credits")
	if !strings.Contains(res.doc.Find(".page-head").Text(), "America/New_York") {
		t.Error("the page does not name the zone")
	}
	// The Akool balance's time is shown in the zone (EST in November).
	if !strings.Contains(res.doc.Find("#akool-h").Parent().Text(), "EST") {
		t.Errorf("dates not in the team's zone: %q", res.doc.Find("#akool-h").Parent().Find("time").Text())
	}
	res = admin.get("/admin/audit")
	if !strings.Contains(res.doc.Find("#audit-table").Text(), "team_time_zone_changed") {
		t.Error("the change is not in the audit log")
	}
}

// The audit log filters by who, what and when, newest first, paged.
func TestAdminAuditLog(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	admin := app.signedIn("admin@example.com", true)
	member := app.signedIn("member@example.com", false)
	member.post("/logout", url.Values{"csrf": {member.csrf("/")}})
	adminUser, _ := app.store.UserByEmail(context.Background(), "admin@example.com")
	for i := range 55 {
		if err := app.store.Audit(context.Background(), db.AuditEntry{ActorID: adminUser.ID, Action: "test_action", Subject: "s" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	res := admin.get("/admin/audit")
	wantStatus(t, res, http.StatusOK)
	if got := res.doc.Find("#audit-table tbody tr").Length(); got != 50 {
		t.Errorf("first page: %d, want 50", got)
	}
	if first := res.doc.Find("#audit-table tbody tr td[data-label=Subject]").First().Text(); first != "s54" {
		t.Errorf("first entry %q, want the newest, s54", first)
	}
	all, err := app.store.RecentAudit(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	next, _ := res.doc.Find("a[rel=next]").Attr("href")
	if got := admin.get(next).doc.Find("#audit-table tbody tr").Length(); got != len(all)-50 {
		t.Errorf("second page: %d rows, want the other %d", got, len(all)-50)
	}
	memberUser, _ := app.store.UserByEmail(context.Background(), "member@example.com")
	for _, tc := range []struct {
		query  string
		status int
		rows   int
	}{
		{"?what=logout", http.StatusOK, 1},
		{"?who=" + strconv.FormatInt(memberUser.ID, 10), http.StatusOK, 2},
		{"?who=" + strconv.FormatInt(memberUser.ID, 10) + "&what=login", http.StatusOK, 1},
		{"?from=2026-11-25&to=2026-11-25&what=test_action", http.StatusOK, 50},
		{"?to=2026-11-24", http.StatusOK, 0},
		{"?from=25/11/2026", http.StatusBadRequest, 0},
		{"?what=no_such_thing", http.StatusBadRequest, 0},
		{"?who=12345", http.StatusBadRequest, 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res := admin.get("/admin/audit" + tc.query)
			wantStatus(t, res, tc.status)
			if tc.status != http.StatusOK {
				if res.doc.Find("#audit-error").Text() == "" {
					t.Error("no message")
				}
				return
			}
			if got := res.doc.Find("#audit-table tbody tr").Length(); got != tc.rows {
				t.Errorf("%d rows, want %d", got, tc.rows)
			}
		})
	}
}
