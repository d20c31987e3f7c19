package handlers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/credits"
)

// memberRoutes are every route the members pages and /account add, with a
// form that an admin (or the member, on /account) would have accepted.
func memberRoutes(targetID int64) []struct {
	method, path string
	form         url.Values
} {
	id := fmt.Sprint(targetID)
	return []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/admin/users", nil},
		{"GET", "/admin/users/" + id, nil},
		{"POST", "/admin/users", url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"member"}}},
		{"POST", "/admin/users/" + id + "/credits", url.Values{"amount": {"10"}, "note": {"n"}}},
		{"POST", "/admin/users/" + id + "/allowance", url.Values{"monthly": {"50"}}},
		{"POST", "/admin/users/" + id + "/role", url.Values{"role": {"member"}}},
		{"POST", "/admin/users/" + id + "/password", url.Values{}},
		{"POST", "/admin/users/" + id + "/unlock", url.Values{}},
		{"POST", "/admin/users/" + id + "/enable", url.Values{}},
		{"POST", "/admin/users/" + id + "/disable", url.Values{}},
		{"GET", "/account", nil},
		{"POST", "/account/timezone", url.Values{"time_zone": {"Europe/Berlin"}}},
		{"POST", "/account/password", url.Values{"current": {testPassword}, "new": {testPassword}}},
	}
}

// TestMembersAuthorizationMatrix: every route × anonymous, member,
// disabled member and admin × GET and POST. Only admins reach /admin/*;
// members get 403 there; the signed out and the disabled are sent to sign
// in; nothing but the admin's (or the member's own) request writes.
func TestMembersAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	target := app.addUser("target@example.com", "Target", false)
	admin := app.signedIn("boss@example.com", true)
	member := app.signedIn("ana@example.com", false)
	disabled := app.signedIn("gone@example.com", false)
	goneUser, _ := app.store.UserByEmail(context.Background(), "gone@example.com")
	disabledToken := disabled.csrf("/")
	if err := app.store.SetDisabled(context.Background(), goneUser.ID, true); err != nil {
		t.Fatal(err)
	}
	anon := app.client()
	anonToken := anon.csrf("/login")
	memberToken := member.csrf("/")
	adminToken := admin.csrf("/")

	who := []struct {
		name  string
		c     *client
		token string
	}{{"anonymous", anon, anonToken}, {"member", member, memberToken}, {"disabled", disabled, disabledToken}, {"admin", admin, adminToken}}
	routed := map[string]bool{}
	for _, r := range memberRoutes(target.ID) {
		routed[r.method+" "+r.path] = true
	}
	for _, r := range memberRoutes(target.ID) {
		isAdmin := strings.HasPrefix(r.path, "/admin/")
		for _, w := range who {
			for _, method := range []string{"GET", "POST"} {
				if method != r.method && routed[method+" "+r.path] {
					continue // covered by that route's own entry
				}
				t.Run(fmt.Sprintf("%s %s as %s (route %s)", method, r.path, w.name, r.method), func(t *testing.T) {
					before := app.mark()
					var res *response
					if method == "GET" {
						res = w.c.get(r.path)
					} else {
						form := url.Values{}
						for k, v := range r.form {
							form[k] = v
						}
						form.Set("csrf", w.token)
						res = w.c.post(r.path, form)
					}
					loc := res.Header.Get("Location")
					switch {
					case method != r.method:
						if res.StatusCode != http.StatusMethodNotAllowed && !(res.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/login")) &&
							res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
							t.Errorf("wrong method: status %d (Location %q), want 405, 404, 403 or a redirect to sign in", res.StatusCode, loc)
						}
					case w.name == "disabled" && method == "POST":
						// The ended session's form token ended with it.
						if res.StatusCode != http.StatusForbidden && !(res.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/login")) {
							t.Errorf("status %d Location %q, want 403 or 303 to /login", res.StatusCode, loc)
						}
					case w.name == "anonymous" || w.name == "disabled":
						if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
							t.Errorf("status %d Location %q, want 303 to /login", res.StatusCode, loc)
						}
					case w.name == "member" && isAdmin:
						wantStatus(t, res, http.StatusForbidden)
					case method == "GET":
						wantStatus(t, res, http.StatusOK)
					default:
						if res.StatusCode != http.StatusSeeOther {
							t.Errorf("status %d, want 303\n%s", res.StatusCode, snippet(res.body))
						}
					}
					allowedToWrite := method == r.method && method == "POST" &&
						(w.name == "admin" || (w.name == "member" && !isAdmin))
					if !allowedToWrite {
						if got := app.auditSince(t, before); len(got) != 0 {
							t.Errorf("wrote audit %+v", got)
						}
					}
				})
			}
		}
		// Re-enable the target so the next route acts on an active member.
		_ = app.store.SetDisabled(context.Background(), target.ID, false)
	}
}

func ledgerCount(t *testing.T, app *testApp, id int64) int {
	t.Helper()
	l, err := app.store.LedgerPage(context.Background(), id, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// TestMemberBadInputIsRefusedAtTheField: each bad value comes back 422
// with a message at its field, and nothing is written.
func TestMemberBadInputIsRefusedAtTheField(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	admin := app.signedIn("boss@example.com", true)
	target := app.addUser("ana@example.com", "Ana", false)
	if _, err := app.store.Grant(context.Background(), target.ID, 0, db.LedgerGrant, 40, ""); err != nil {
		t.Fatal(err)
	}
	boss, _ := app.store.UserByEmail(context.Background(), "boss@example.com")
	page := fmt.Sprintf("/admin/users/%d", target.ID)
	for _, tc := range []struct {
		name, action string
		form         url.Values
		field, want  string
	}{
		{"fraction", "/credits", url.Values{"amount": {"1.5"}}, "amount", "whole number"},
		{"words", "/credits", url.Values{"amount": {"ten"}}, "amount", "whole number"},
		{"too large", "/credits", url.Values{"amount": {"1000001"}}, "amount", "1,000,000"},
		{"huge", "/credits", url.Values{"amount": {"99999999999999999999999"}}, "amount", "1,000,000"},
		{"zero", "/credits", url.Values{"amount": {"0"}}, "amount", "other than 0"},
		{"more than available", "/credits", url.Values{"amount": {"-41"}}, "amount", "At most 40"},
		{"long note", "/credits", url.Values{"amount": {"5"}, "note": {strings.Repeat("n", 10000)}}, "note", "at most 500"},
		{"allowance fraction", "/allowance", url.Values{"monthly": {"2.5"}}, "monthly", "whole number"},
		{"allowance negative", "/allowance", url.Values{"monthly": {"-5"}}, "monthly", "from 0"},
		{"unknown role", "/role", url.Values{"role": {"owner"}}, "role", "member or admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := app.mark()
			lines := ledgerCount(t, app, target.ID)
			res := admin.submit(page, page+tc.action, tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if got := res.doc.Find("#" + tc.field + "-error").Text(); !strings.Contains(got, tc.want) {
				t.Errorf("message at %s: %q, want it to contain %q", tc.field, got, tc.want)
			}
			if got := app.auditSince(t, before); len(got) != 0 {
				t.Errorf("audit written: %+v", got)
			}
			if got := ledgerCount(t, app, target.ID); got != lines {
				t.Errorf("ledger lines %d, want %d", got, lines)
			}
		})
	}
	t.Run("script in a note is text", func(t *testing.T) {
		res := admin.submit(page, page+"/credits", url.Values{"amount": {"5"}, "note": {"<script>alert(1)</script>"}})
		wantStatus(t, res, http.StatusSeeOther)
		res = admin.get(page)
		if strings.Contains(res.body, "<script>alert(1)") || !strings.Contains(res.doc.Find(".ledger-table").Text(), "<script>alert(1)</script>") {
			t.Errorf("note not shown as text")
		}
	})
	t.Run("unknown member", func(t *testing.T) {
		for _, p := range []string{"/admin/users/99999", "/admin/users/abc"} {
			wantStatus(t, admin.get(p), http.StatusNotFound)
			wantStatus(t, admin.submit("/admin/users", p+"/credits", url.Values{"amount": {"5"}}), http.StatusNotFound)
		}
	})
	t.Run("the last admin", func(t *testing.T) {
		self := fmt.Sprintf("/admin/users/%d", boss.ID)
		before := app.mark()
		res := admin.submit(self, self+"/role", url.Values{"role": {"member"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := res.doc.Find("#role-error").Text(); !strings.Contains(got, "last active admin") {
			t.Errorf("role message %q", got)
		}
		res = admin.submit(self, self+"/disable", nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if got := res.doc.Find("#account-error").Text(); !strings.Contains(got, "last active admin") {
			t.Errorf("disable message %q", got)
		}
		if got := app.auditSince(t, before); len(got) != 0 {
			t.Errorf("audit written: %+v", got)
		}
	})
	t.Run("a time zone that does not exist", func(t *testing.T) {
		before := app.mark()
		for _, tz := range []string{"Mars/Olympus", "../../etc/passwd", "Local"} {
			res := admin.submit("/account", "/account/timezone", url.Values{"time_zone": {tz}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if got := res.doc.Find("#time_zone-error").Text(); !strings.Contains(got, "Europe/Berlin") {
				t.Errorf("%s: message %q", tz, got)
			}
		}
		if got := app.auditSince(t, before); len(got) != 0 {
			t.Errorf("audit written: %+v", got)
		}
	})
}

// TestAdminRunsAMember: add a member with a password shown once, grant and
// take back credits, set an allowance, change role, disable (their session
// ends at once), enable, reset the password; each act is audited with the
// admin, the member, the values and the client address.
func TestAdminRunsAMember(t *testing.T) {
	t.Parallel()
	_, proxy, _ := net.ParseCIDR("127.0.0.1/32")
	app := newTestApp(t, func(o *appOptions) { o.proxies = []*net.IPNet{proxy} })
	admin := app.signedIn("boss@example.com", true)
	boss, _ := app.store.UserByEmail(context.Background(), "boss@example.com")

	form := url.Values{"email": {"Sam@Example.com"}, "name": {"Sam"}, "role": {"member"}, "access": {"password"}, "csrf": {admin.csrf("/admin/users")}}
	res := admin.post("/admin/users", form, "X-Forwarded-For", "203.0.113.9")
	wantStatus(t, res, http.StatusSeeOther)
	sam, err := app.store.UserByEmail(context.Background(), "sam@example.com")
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/admin/users/%d", sam.ID)
	if got := res.Header.Get("Location"); got != page {
		t.Fatalf("Location %q, want %q", got, page)
	}
	shown := admin.get(page)
	flash := shown.doc.Find(".flash-success").Text()
	pw := regexp.MustCompile(`\(shown only now\): (\S+)`).FindStringSubmatch(flash)
	if pw == nil {
		t.Fatalf("no password in the flash %q", flash)
	}
	if again := admin.get(page); strings.Contains(again.body, pw[1]) {
		t.Errorf("the password is shown a second time")
	}
	samC := app.client()
	wantStatus(t, samC.login("sam@example.com", pw[1]), http.StatusSeeOther)

	act := func(action string, f url.Values) *response {
		t.Helper()
		if f == nil {
			f = url.Values{}
		}
		f.Set("csrf", admin.csrf(page))
		return admin.post(page+action, f, "X-Forwarded-For", "203.0.113.9")
	}
	if created, _ := app.store.RecentAudit(context.Background(), 20); !hasAudit(created, db.AuditUserCreated, "sam@example.com", "203.0.113.9") {
		t.Errorf("adding the member is not audited with the client's address: %+v", created)
	}
	before := app.mark()
	wantStatus(t, act("/credits", url.Values{"amount": {"100"}, "note": {"welcome"}}), http.StatusSeeOther)
	wantStatus(t, act("/credits", url.Values{"amount": {"-30"}, "note": {"oops"}}), http.StatusSeeOther)
	wantStatus(t, act("/allowance", url.Values{"monthly": {"200"}}), http.StatusSeeOther)
	wantStatus(t, act("/role", url.Values{"role": {"admin"}}), http.StatusSeeOther)
	wantStatus(t, act("/role", url.Values{"role": {"member"}}), http.StatusSeeOther)
	wantStatus(t, act("/disable", nil), http.StatusSeeOther)
	if res := samC.get("/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled member's session: status %d, want 303 to sign in", res.StatusCode)
	}
	wantStatus(t, act("/enable", nil), http.StatusSeeOther)
	wantStatus(t, act("/unlock", nil), http.StatusSeeOther)
	res = act("/password", nil)
	wantStatus(t, res, http.StatusSeeOther)
	newPW := regexp.MustCompile(`\(shown only now; their sessions have ended\): (\S+)`).FindStringSubmatch(admin.get(page).doc.Find(".flash-success").Text())
	if newPW == nil {
		t.Fatal("no new password shown")
	}
	wantStatus(t, app.client().login("sam@example.com", newPW[1]), http.StatusSeeOther)

	entries, err := app.store.RecentAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.ID <= before.lastAudit || e.ActorID != boss.ID {
			continue
		}
		if e.IP != "203.0.113.9" || e.Subject != "sam@example.com" {
			t.Errorf("audit %+v: want the client's address and the member", e)
		}
		got = append(got, regexp.MustCompile(`counts=\d+`).ReplaceAllString(e.Action+" "+e.Detail, "counts=N"))
	}
	want := []string{
		fmt.Sprintf(`credits_granted member=%d amount=+100 note="welcome"`, sam.ID),
		fmt.Sprintf(`credits_adjusted member=%d amount=-30 note="oops"`, sam.ID),
		fmt.Sprintf(`allowance_set member=%d monthly=200`, sam.ID),
		fmt.Sprintf(`role_changed member=%d role=admin was=member`, sam.ID),
		fmt.Sprintf(`role_changed member=%d role=member was=admin`, sam.ID),
		fmt.Sprintf(`user_disabled member=%d`, sam.ID),
		fmt.Sprintf(`user_enabled member=%d`, sam.ID),
		fmt.Sprintf(`login_unlocked member=%d counts=N`, sam.ID),
		fmt.Sprintf(`password_changed member=%d by=admin`, sam.ID),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b, _ := app.store.Balance(context.Background(), sam.ID); b.Available != 70 {
		t.Errorf("available %d, want 70", b.Available)
	}
	list := admin.get("/admin/users")
	row := list.doc.Find(fmt.Sprintf(`tr[data-member="%d"]`, sam.ID))
	if got := strings.Join(strings.Fields(row.Text()), " "); !strings.Contains(got, "Active") || !strings.Contains(got, "70") || !strings.Contains(got, "200") {
		t.Errorf("members list row %q: want active, 70 available, allowance 200", got)
	}
}

// TestSigninLinkWorksOnceAndExpires: an admin adds a member with a
// one-time link; the member sets a password there and is signed in; the
// link then says it was used; another link expires after 72 h.
func TestSigninLinkWorksOnceAndExpires(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	admin := app.signedIn("boss@example.com", true)
	add := func(email string) string {
		t.Helper()
		res := admin.submit("/admin/users", "/admin/users", url.Values{"email": {email}, "name": {"New"}, "role": {"member"}, "access": {"link"}})
		wantStatus(t, res, http.StatusSeeOther)
		flash := admin.get(res.Header.Get("Location")).doc.Find(".flash-success").Text()
		m := regexp.MustCompile(`/welcome/([A-Za-z0-9_-]{43})`).FindStringSubmatch(flash)
		if m == nil {
			t.Fatalf("no link in %q", flash)
		}
		return "/welcome/" + m[1]
	}
	link := add("link@example.com")
	c := app.client()
	wantStatus(t, c.get(link), http.StatusOK)
	wantStatus(t, c.submit(link, link, url.Values{"new": {"short"}}), http.StatusUnprocessableEntity)
	res := c.submit(link, link, url.Values{"new": {"a good long password"}})
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, c.get("/account"), http.StatusOK)
	used := app.client().get(link)
	if used.StatusCode != http.StatusGone || !strings.Contains(used.body, "already been used") {
		t.Errorf("used link: %d %q", used.StatusCode, used.doc.Find(".flash-error").Text())
	}
	wantStatus(t, app.client().login("link@example.com", "a good long password"), http.StatusSeeOther)

	late := add("late@example.com")
	app.clock.Advance(72*time.Hour + time.Second)
	exp := app.client().get(late)
	if exp.StatusCode != http.StatusGone || !strings.Contains(exp.body, "expired") {
		t.Errorf("expired link: %d %q", exp.StatusCode, exp.doc.Find(".flash-error").Text())
	}
	c2 := app.client()
	tok := c2.csrf("/login")
	if res := c2.post(late, url.Values{"csrf": {tok}, "new": {"a good long password"}}); res.StatusCode != http.StatusGone {
		t.Errorf("setting a password through an expired link: %d", res.StatusCode)
	}
	if res := app.client().get("/welcome/nonsense"); res.StatusCode != http.StatusGone || !strings.Contains(res.body, "not valid") {
		t.Errorf("unknown link: %d", res.StatusCode)
	}
}

// TestChangePasswordKeepsThisSessionOnly: other sessions end, this one
// goes on; a wrong current password changes nothing.
func TestChangePasswordKeepsThisSessionOnly(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	here := app.signedIn("ana@example.com", false)
	there := app.client()
	wantStatus(t, there.login("ana@example.com", testPassword), http.StatusSeeOther)
	res := here.submit("/account", "/account/password", url.Values{"current": {"wrong password"}, "new": {"another good one"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got := res.doc.Find("#current-error").Text(); !strings.Contains(got, "not your current password") {
		t.Errorf("message %q", got)
	}
	res = here.submit("/account", "/account/password", url.Values{"current": {testPassword}, "new": {"another good one"}})
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, here.get("/account"), http.StatusOK)
	if res := there.get("/account"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the other session: status %d, want 303 to sign in", res.StatusCode)
	}
	wantStatus(t, app.client().login("ana@example.com", "another good one"), http.StatusSeeOther)
	// Wrong current passwords count like failed sign-ins.
	var last *response
	for range 6 {
		last = here.submit("/account", "/account/password", url.Values{"current": {"guess guess guess"}, "new": {"another good one"}})
	}
	wantStatus(t, last, http.StatusTooManyRequests)
}

// TestMembersListSortsAndWarns: the list sorts server-side by a query
// parameter, and shows the allowance states members see as banners.
func TestMembersListSortsAndWarns(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.signedIn("boss@example.com", true)
	ana := app.signedIn("ana@example.com", false)
	anaU, _ := app.store.UserByEmail(ctx, "ana@example.com")
	bo := app.addUser("bo@example.com", "Bo", false)
	app.store.Grant(ctx, bo.ID, 0, db.LedgerGrant, 500, "")
	allow := credits.NewAllowances(app.store, app.clock.Now, nil)
	if err := allow.SetAllowance(ctx, 0, anaU.ID, 100, ""); err != nil {
		t.Fatal(err)
	}
	app.clock.Advance(7 * 24 * time.Hour) // into December: the first top-up
	if _, err := allow.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	hold := func(n int, credits int64) {
		t.Helper()
		if _, _, err := app.store.CreateJobWithHold(ctx, db.NewJob{UserID: anaU.ID, IdempotencyKey: fmt.Sprintf("members-test-key-%04d", n),
			ImageURL: "https://example.com/a.png", VideoURL: "https://example.com/b.mp4", Mode: "animate", Resolution: "480p",
			BilledSeconds: 5, EstimateCredits: credits}); err != nil {
			t.Fatal(err)
		}
	}
	res := admin.get("/admin/users?sort=available&dir=desc")
	var order []string
	res.doc.Find("tbody tr td:first-child a").Each(func(_ int, s *goquery.Selection) { order = append(order, s.Text()) })
	if strings.Join(order, ",") != "Bo,User ana@example.com,User boss@example.com" {
		t.Errorf("by available, descending: %v", order)
	}
	if got, _ := res.doc.Find(`th[aria-sort="descending"]`).Html(); !strings.Contains(got, "Available") {
		t.Errorf("sorted column %q", got)
	}
	if ana.get("/").doc.Find(".allowance-banner").Length() != 0 {
		t.Errorf("banner before any use")
	}
	hold(1, 80)
	if got := ana.get("/").doc.Find(".allowance-banner").Text(); !strings.Contains(got, "80 %") {
		t.Errorf("dashboard at 80 %%: %q", got)
	}
	if got := admin.get("/admin/users").doc.Find(fmt.Sprintf(`tr[data-member="%d"]`, anaU.ID)).Text(); !strings.Contains(got, "80 % of allowance") {
		t.Errorf("admin list at 80 %%: %q", got)
	}
	hold(2, 20)
	got := strings.Join(strings.Fields(ana.get("/jobs/new").doc.Find(".allowance-banner").Text()), " ")
	if !strings.Contains(got, "New swaps are blocked") || !strings.Contains(got, "boss@example.com") {
		t.Errorf("New swap when the allowance is used up: %q; want why and whom to ask", got)
	}
	if got := admin.get("/admin/users").doc.Find(fmt.Sprintf(`tr[data-member="%d"]`, anaU.ID)).Text(); !strings.Contains(got, "Allowance used up") {
		t.Errorf("admin list when used up: %q", got)
	}
}

func hasAudit(es []db.AuditEntry, action, subject, ip string) bool {
	for _, e := range es {
		if e.Action == action && e.Subject == subject && e.IP == ip {
			return true
		}
	}
	return false
}

// TestAccountLedgerPagesAndShowsTheChosenZone: /account pages the ledger
// (25 lines, then older ones) and shows dates in the person's zone, named.
func TestAccountLedgerPagesAndShowsTheChosenZone(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana := app.signedIn("ana@example.com", false)
	u, _ := app.store.UserByEmail(context.Background(), "ana@example.com")
	for i := range 30 {
		if _, err := app.store.Grant(context.Background(), u.ID, 0, db.LedgerGrant, int64(i+1), ""); err != nil {
			t.Fatal(err)
		}
	}
	first := ana.get("/account")
	if n := first.doc.Find(".ledger-table tbody tr").Length(); n != 25 {
		t.Fatalf("first page: %d lines, want 25", n)
	}
	older, ok := first.doc.Find(`.pager a:contains("Older")`).Attr("href")
	if !ok {
		t.Fatal("no link to older lines")
	}
	second := ana.get(older)
	if n := second.doc.Find(".ledger-table tbody tr").Length(); n != 5 {
		t.Errorf("second page: %d lines, want 5", n)
	}
	if second.doc.Find(`.pager a:contains("Newest")`).Length() != 1 {
		t.Errorf("no link back to the newest lines")
	}
	if got := first.doc.Find(".ledger-table time").First().Text(); got != "25 Nov 2026, 09:00 UTC" {
		t.Errorf("date in the team's zone: %q", got)
	}
	wantStatus(t, ana.submit("/account", "/account/timezone", url.Values{"time_zone": {"Europe/Berlin"}}), http.StatusSeeOther)
	if got := ana.get("/account").doc.Find(".ledger-table time").First().Text(); got != "25 Nov 2026, 10:00 CET" {
		t.Errorf("date in Europe/Berlin: %q, want it shown in CET", got)
	}
}
