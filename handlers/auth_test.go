package handlers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/fields"
)

func TestLoginSuccessLandsOnDashboard(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.addUser("ana@example.com", "Ana", false)
	c := app.client()

	res := c.login("ANA@example.com ", testPassword)
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/" {
		t.Errorf("Location = %q, want /", got)
	}
	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	if got := strings.TrimSpace(home.doc.Find(".account .name").Text()); got != "Ana" {
		t.Errorf("nav name = %q, want Ana", got)
	}
	if got := home.doc.Find(".account .role").Text(); got != "Member" {
		t.Errorf("role badge = %q, want Member", got)
	}
	if home.doc.Find(`a[href="/admin/users"]`).Length() != 0 {
		t.Error("member sees the admin link")
	}
	cookie := res.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("cookie is Secure without an https public URL: %q", cookie)
	}
}

// Behind an https public URL the session cookie never travels in clear.
func TestSessionCookieSecureBehindHTTPS(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.secure = true })
	res := app.client().get("/login")
	wantStatus(t, res, http.StatusOK)
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "swapdesk_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v, want Secure, HttpOnly, SameSite=Lax", cookie)
	}
}

// A refused sign-in changes no account (no hash, session version or
// timestamp moves). Each one that was judged leaves exactly one login_failed
// audit entry; input refused unread (over-long) leaves none.
func TestLoginFailuresGiveOneGenericAnswer(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana := app.addUser("ana@example.com", "Ana", false)
	off := app.addUser("off@example.com", "Off", false)
	if err := app.accts.SetDisabled(context.Background(), 0, "off@example.com", true); err != nil {
		t.Fatal(err)
	}
	failed := func(actor int64, subject string) []db.AuditEntry {
		return []db.AuditEntry{{ActorID: actor, Action: db.AuditLoginFailed, Subject: subject, IP: "127.0.0.1"}}
	}
	tests := []struct {
		name, email, password string
		audit                 []db.AuditEntry
	}{
		{"wrong password", "ana@example.com", "not the password", failed(ana.ID, "ana@example.com")},
		{"unknown email", "Nobody@Example.com", testPassword, failed(0, "nobody@example.com")},
		{"disabled account", "off@example.com", testPassword, failed(off.ID, "off@example.com")},
		{"empty fields", "", "", failed(0, "")},
		{"over-long email", strings.Repeat("a", 300) + "@example.com", testPassword, nil},
		{"over-long password", "ana@example.com", strings.Repeat("p", 5000), nil},
	}
	var messages []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := app.client()
			before := app.mark()
			res := c.login(tt.email, tt.password)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			msg := strings.TrimSpace(res.doc.Find("#login-error").Text())
			if msg == "" {
				t.Fatal("no error message shown")
			}
			messages = append(messages, msg)
			if got, _ := res.doc.Find("#email").Attr("value"); len(got) > 254 {
				t.Errorf("echoed email is %d bytes, want at most 254", len(got))
			}
			if got := app.auditSince(t, before); !reflect.DeepEqual(got, tt.audit) {
				t.Errorf("audit entries written: %+v, want %+v", got, tt.audit)
			}
			if c.get("/").StatusCode != http.StatusSeeOther {
				t.Error("failed login left a signed-in session")
			}
		})
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("messages differ, which reveals accounts: %q vs %q", m, messages[0])
		}
	}
}

func TestLoginRateLimitedPerAccountAndPerIP(t *testing.T) {
	t.Parallel()
	t.Run("per account", func(t *testing.T) {
		app := newTestApp(t)
		app.addUser("ana@example.com", "Ana", false)
		c := app.client()
		for i := 0; i < 5; i++ {
			wantStatus(t, c.login("ana@example.com", "wrong-password"), http.StatusUnprocessableEntity)
		}
		// Even the right password waits now.
		res := c.login("ana@example.com", testPassword)
		wantStatus(t, res, http.StatusTooManyRequests)
		if msg := res.doc.Find("#login-error").Text(); !strings.Contains(msg, "Try again in 15 minutes") {
			t.Errorf("429 message = %q", msg)
		}
		app.clock.Advance(15*time.Minute + time.Second)
		wantStatus(t, c.login("ana@example.com", testPassword), http.StatusSeeOther)
	})
	t.Run("per IP across accounts", func(t *testing.T) {
		app := newTestApp(t)
		app.addUser("ana@example.com", "Ana", false)
		c := app.client()
		for i := 0; i < 20; i++ {
			wantStatus(t, c.login(fmt.Sprintf("guess%d@example.com", i), "wrong-password"), http.StatusUnprocessableEntity)
		}
		wantStatus(t, c.login("ana@example.com", testPassword), http.StatusTooManyRequests)
	})
}

// Parallel requests must not slip past the limit while the first ones are
// still hashing: at most 5 wrong passwords are checked, the rest wait.
// The hashes cost what they do in serve, so the burst overlaps them.
func TestLoginRateLimitHoldsAgainstAParallelBurst(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.defaultHashCost = true })
	app.addUser("ana@example.com", "Ana", false)
	const n = 40
	type attempt struct {
		c   *client
		tok string
	}
	attempts := make([]attempt, n)
	for i := range attempts {
		c := app.client()
		attempts[i] = attempt{c, c.csrf("/login")}
	}
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for _, a := range attempts {
		wg.Go(func() {
			res := a.c.post("/login", url.Values{fields.CSRF: {a.tok}, fields.Email: {"ana@example.com"}, fields.Password: {"a wrong password"}})
			statuses <- res.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[http.StatusUnprocessableEntity] > 5 || count[http.StatusUnprocessableEntity]+count[http.StatusTooManyRequests] != n {
		t.Errorf("40 parallel wrong passwords got %v; want at most 5 × 422 and the rest 429", count)
	}
	failed := 0
	entries, _ := app.store.RecentAudit(context.Background(), 100)
	for _, e := range entries {
		if e.Action == db.AuditLoginFailed {
			failed++
		}
	}
	if failed != count[http.StatusUnprocessableEntity] {
		t.Errorf("%d login_failed audit rows for %d checked attempts", failed, count[http.StatusUnprocessableEntity])
	}
}

// Behind a configured proxy the client is the address X-Forwarded-For gives,
// read from the right up to the first untrusted hop; otherwise the header is
// ignored, so a client cannot pick its own address to dodge rate limits.
func TestClientAddressFromTrustedProxiesOnly(t *testing.T) {
	t.Parallel()
	cidrs := func(list ...string) []*net.IPNet {
		var out []*net.IPNet
		for _, s := range list {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		name    string
		proxies []*net.IPNet
		xff     string
		want    string
	}{
		{"direct ignores the header", nil, "203.0.113.7", "127.0.0.1"},
		{"direct without a header", nil, "", "127.0.0.1"},
		{"untrusted peer ignores the header", cidrs("10.0.0.0/8"), "203.0.113.7", "127.0.0.1"},
		{"trusted proxy", cidrs("127.0.0.0/8"), "203.0.113.7", "203.0.113.7"},
		{"trusted proxy, no header", cidrs("127.0.0.0/8"), "", "127.0.0.1"},
		{"spoofed left entries ignored", cidrs("127.0.0.0/8"), "198.51.100.1, 203.0.113.7", "203.0.113.7"},
		{"chain of trusted proxies", cidrs("127.0.0.0/8", "10.0.0.0/8"), "203.0.113.7, 10.1.2.3", "203.0.113.7"},
		{"private hops not trusted unless listed", cidrs("127.0.0.0/8"), "203.0.113.7, 10.1.2.3", "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, func(o *appOptions) { o.proxies = tt.proxies })
			c := app.client()
			var headers []string
			if tt.xff != "" {
				headers = []string{"X-Forwarded-For", tt.xff}
			}
			form := url.Values{fields.CSRF: {c.csrf("/login")}, fields.Email: {"nobody@example.com"}, fields.Password: {"a wrong password"}}
			wantStatus(t, c.post("/login", form, headers...), http.StatusUnprocessableEntity)
			entries, err := app.store.RecentAudit(context.Background(), 1)
			if err != nil || len(entries) != 1 {
				t.Fatalf("audit: %v, %v", entries, err)
			}
			if got := entries[0].IP; got != tt.want {
				t.Errorf("client address = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("rate limit follows the forwarded address", func(t *testing.T) {
		app := newTestApp(t, func(o *appOptions) { o.proxies = cidrs("127.0.0.0/8") })
		c := app.client()
		n := 0
		attempt := func(ip string) int {
			n++ // a new account each time: this is about the per-address limit
			form := url.Values{fields.CSRF: {c.csrf("/login")}, fields.Email: {fmt.Sprintf("guess%d@example.com", n)}, fields.Password: {"a wrong password"}}
			return c.post("/login", form, "X-Forwarded-For", ip).StatusCode
		}
		for range 20 {
			attempt("203.0.113.7")
		}
		if got := attempt("203.0.113.7"); got != http.StatusTooManyRequests {
			t.Errorf("21st attempt from one client: %d, want 429", got)
		}
		if got := attempt("203.0.113.8"); got != http.StatusUnprocessableEntity {
			t.Errorf("another client behind the same proxy: %d, want 422 (not limited)", got)
		}
	})
}

func TestLogoutIsAPostThatEndsTheSession(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.signedIn("ana@example.com", false)
	if got := c.get("/logout").StatusCode; got < 400 {
		t.Errorf("GET /logout = %d, want a 4xx (logout is a POST)", got)
	}
	wantStatus(t, c.get("/"), http.StatusOK)

	res := c.submit("/", "/logout", nil)
	wantStatus(t, res, http.StatusSeeOther)
	if !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout cookie = %q, want it expired", res.Header.Get("Set-Cookie"))
	}
	if got := c.get("/").StatusCode; got != http.StatusSeeOther {
		t.Errorf("after logout GET / = %d, want 303 to login", got)
	}
}

// Signing out ends the session on the server: a copy of the cookie made
// before (another tab, a stolen cookie) stops working, while the same
// person's other sessions go on.
func TestLogoutEndsCopiesOfTheSessionCookie(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.signedIn("ana@example.com", false)
	other := app.client()
	wantStatus(t, other.login("ana@example.com", testPassword), http.StatusSeeOther)

	copied := app.client()
	u, _ := url.Parse(app.srv.URL)
	copied.http.Jar.SetCookies(u, c.http.Jar.Cookies(u))
	wantStatus(t, copied.get("/"), http.StatusOK)

	wantStatus(t, c.submit("/", "/logout", nil), http.StatusSeeOther)
	res := copied.get("/jobs")
	wantStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); !strings.HasPrefix(got, "/login") {
		t.Errorf("copied cookie after logout: Location %q, want the login page", got)
	}
	wantStatus(t, other.get("/"), http.StatusOK)
}

func TestCSRFMissingOrWrongIs403AndChangesNothing(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.addUser("ana@example.com", "Ana", false)
	tests := []struct {
		name  string
		token string
	}{
		{"missing", ""},
		{"wrong", "not-the-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := app.client()
			c.get("/login") // a session with a token exists, but we do not send it
			form := url.Values{fields.Email: {"ana@example.com"}, fields.Password: {testPassword}}
			if tt.token != "" {
				form.Set(fields.CSRF, tt.token)
			}
			before := app.mark()
			res := c.post("/login", form)
			wantStatus(t, res, http.StatusForbidden)
			// Refused before the password was even looked at: not audited.
			if got := app.auditSince(t, before); len(got) != 0 {
				t.Errorf("a refused form wrote audit entries %+v", got)
			}
			if c.get("/").StatusCode != http.StatusSeeOther {
				t.Error("a login without a valid CSRF token signed in")
			}
		})
	}
	t.Run("logout without token keeps the session", func(t *testing.T) {
		c := app.signedIn("bo@example.com", false)
		before := app.mark()
		wantStatus(t, c.post("/logout", nil), http.StatusForbidden)
		if got := app.auditSince(t, before); len(got) != 0 {
			t.Errorf("a refused logout wrote audit entries %+v", got)
		}
		wantStatus(t, c.get("/"), http.StatusOK)
	})
	t.Run("htmx header is accepted", func(t *testing.T) {
		c := app.signedIn("cy@example.com", false)
		tok := c.csrf("/")
		res := c.post("/logout", nil, fields.CSRFHeader, tok, "HX-Request", "true")
		wantStatus(t, res, http.StatusOK)
		if got := res.Header.Get("HX-Redirect"); got != "/login" {
			t.Errorf("HX-Redirect = %q, want /login", got)
		}
	})
	t.Run("token in the query string is refused", func(t *testing.T) {
		c := app.signedIn("fa@example.com", false)
		tok := c.csrf("/")
		before := app.mark()
		wantStatus(t, c.post("/logout?csrf="+url.QueryEscape(tok), nil), http.StatusForbidden)
		wantStatus(t, c.post("/logout?csrf="+url.QueryEscape(tok), url.Values{"x": {"1"}}), http.StatusForbidden)
		if got := app.auditSince(t, before); len(got) != 0 {
			t.Errorf("a refused logout wrote audit entries %+v", got)
		}
		wantStatus(t, c.get("/"), http.StatusOK)
		// The same token in the body still works.
		wantStatus(t, c.post("/logout", url.Values{fields.CSRF: {tok}}), http.StatusSeeOther)
	})
	t.Run("token from another session is refused", func(t *testing.T) {
		a := app.signedIn("di@example.com", false)
		b := app.signedIn("ed@example.com", false)
		res := b.post("/logout", url.Values{fields.CSRF: {a.csrf("/")}})
		wantStatus(t, res, http.StatusForbidden)
	})
}

func TestRequireUserRedirectsWithNext(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	res := c.get("/admin/users?x=1")
	wantStatus(t, res, http.StatusSeeOther)
	if got, want := res.Header.Get("Location"), "/login?next="+url.QueryEscape("/admin/users?x=1"); got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

// A session that ends during an htmx request (a card poll) sends the whole
// page to the login, remembering the page the poll came from, not the
// fragment it asked for.
func TestExpiredSessionDuringHTMXRequestRemembersThePage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	tests := []struct {
		name, current, want string
	}{
		{"job page", "http://swapdesk.example/jobs/1?tab=log", "/login?next=" + url.QueryEscape("/jobs/1?tab=log")},
		{"no current URL", "", "/login"},
		{"dashboard", "http://swapdesk.example/", "/login"},
		{"login page", "http://swapdesk.example/login?next=/jobs", "/login"},
		{"scheme-relative path", "http://swapdesk.example//evil.example/x", "/login"},
		{"not a URL", "::::", "/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/jobs/1/card", nil)
			req.Header.Set("HX-Request", "true")
			if tt.current != "" {
				req.Header.Set("HX-Current-URL", tt.current)
			}
			res := app.client().do(req)
			wantStatus(t, res, http.StatusOK)
			if got := res.Header.Get("HX-Redirect"); got != tt.want {
				t.Errorf("HX-Redirect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.addUser("ana@example.com", "Ana", true)
	tests := []struct{ next, want string }{
		{"/admin/users", "/admin/users"},
		{"https://evil.example", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/login", "/"},
		{"http:/evil.example", "/"},
		{"/%0d%0aSet-Cookie:x=y", "/%0d%0aSet-Cookie:x=y"},
		{"%2F%2Fevil", "/"},
		{"/%2F%2Fevil", "/"},
		{"/%2f%2Fevil.example/x", "/"},
		{"/%5Cevil.example", "/"},
		{"/jobs?page=2", "/jobs?page=2"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			c := app.client()
			page := "/login?next=" + url.QueryEscape(tt.next)
			// The form carries only a safe next, and none for the dashboard.
			form := c.get(page)
			wantStatus(t, form, http.StatusOK)
			wantHidden := tt.want
			if wantHidden == "/" {
				wantHidden = ""
			}
			if hidden, ok := form.doc.Find(`form input[name="next"]`).Attr("value"); !ok || hidden != wantHidden {
				t.Errorf("GET %s: hidden next = %q, want %q", page, hidden, wantHidden)
			}
			res := c.post("/login", url.Values{fields.CSRF: {c.csrf(page)}, fields.Email: {"ana@example.com"}, fields.Password: {testPassword}, fields.Next: {tt.next}})
			wantStatus(t, res, http.StatusSeeOther)
			if got := res.Header.Get("Location"); got != tt.want {
				t.Errorf("Location = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMemberGets403OnAdminPages(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	member := app.signedIn("ana@example.com", false)
	res := member.get("/admin/users")
	wantStatus(t, res, http.StatusForbidden)
	if strings.Contains(res.body, "ana@example.com</td>") {
		t.Error("403 page leaks the member list")
	}
	admin := app.signedIn("boss@example.com", true)
	res = admin.get("/admin/users")
	wantStatus(t, res, http.StatusOK)
	if got := res.doc.Find("tbody tr").Length(); got != 2 {
		t.Errorf("admin sees %d users, want 2", got)
	}
}

func TestUserTextIsEscaped(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	const evil = `<script>alert("x")</script>`
	app.addUser("evil@example.com", evil, false)
	admin := app.signedIn("boss@example.com", true)
	for _, c := range []*client{admin} {
		res := c.get("/admin/users")
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(res.body, evil) {
			t.Fatal("raw <script> from a user name reached the page")
		}
		if !strings.Contains(res.body, "&lt;script&gt;") {
			t.Error("escaped name not shown")
		}
	}
	evilClient := app.client()
	wantStatus(t, evilClient.login("evil@example.com", testPassword), http.StatusSeeOther)
	res := evilClient.get("/")
	if strings.Contains(res.body, evil) {
		t.Fatal("raw <script> in the nav")
	}
	// The login form echoes the email the person typed: escaped too.
	res = app.client().login(`"><script>x</script>@example.com`, "whatever")
	if strings.Contains(res.body, "<script>x</script>") {
		t.Fatal("typed email echoed unescaped")
	}
}

func TestDisabledOrPasswordChangedEndsSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("disabled", func(t *testing.T) {
		app := newTestApp(t)
		c := app.signedIn("ana@example.com", false)
		wantStatus(t, c.get("/"), http.StatusOK)
		if err := app.accts.SetDisabled(ctx, 0, "ana@example.com", true); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.get("/"), http.StatusSeeOther)
		// Re-enabling does not revive the old session.
		if err := app.accts.SetDisabled(ctx, 0, "ana@example.com", false); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.get("/"), http.StatusSeeOther)
	})
	t.Run("password changed", func(t *testing.T) {
		app := newTestApp(t)
		c := app.signedIn("ana@example.com", false)
		if err := app.accts.SetPassword(ctx, 0, "ana@example.com", "a brand new password"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.get("/"), http.StatusSeeOther)
		wantStatus(t, c.login("ana@example.com", "a brand new password"), http.StatusSeeOther)
	})
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	// "/login/" is the trailing-slash redirect, answered before routing;
	// "/static/nope.css" a miss among the assets.
	for _, path := range []string{"/login", "/healthz", "/nope", "/static/app.css", "/login/", "/static/nope.css"} {
		res := c.get(path)
		h := res.Header
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s (%d): no X-Request-Id", path, res.StatusCode)
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows unsafe script: %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: missing nosniff or Referrer-Policy", path)
		}
	}
	// No inline scripts or styles on our pages, so the CSP can stay strict.
	page := c.get("/login")
	page.doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if _, ok := s.Attr("src"); !ok {
			t.Error("inline <script> on the login page")
		}
	})
	if page.doc.Find("[style]").Length() > 0 || page.doc.Find("style").Length() > 0 {
		t.Error("inline style on the login page")
	}
}

func TestTrailingSlashRedirect(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	res := app.client().get("/login/?next=%2Fjobs")
	wantStatus(t, res, http.StatusPermanentRedirect)
	if got := res.Header.Get("Location"); got != "/login?next=%2Fjobs" {
		t.Errorf("Location = %q", got)
	}
}

// The reference on an error page and in the logs is ours: whatever id a
// client sends is not taken.
func TestRequestIDsAreOurOwn(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	seen := map[string]bool{}
	for _, sent := range []string{"", "client-chosen-id", "evil\u2028<script>", strings.Repeat("a", 500)} {
		req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/login", nil)
		if sent != "" {
			req.Header.Set("X-Request-Id", sent)
		}
		res := c.do(req)
		got := res.Header.Get("X-Request-Id")
		if got == "" || got == sent || seen[got] {
			t.Errorf("sent %q, got id %q; want a new id of our own", sent, got)
		}
		seen[got] = true
	}
}

func TestErrorPagesNeverShowInternalErrors(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.signedIn("ana@example.com", false)
	res := c.get("/no/such/page")
	wantStatus(t, res, http.StatusNotFound)
	if got := res.doc.Find("h1").Text(); got != "Page not found" {
		t.Errorf("404 heading = %q", got)
	}
	// A broken database is a 500 page with a reference, not a Go error.
	app.store.Close()
	res = c.get("/")
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", res.StatusCode)
	}
	if strings.Contains(res.body, "sql") || strings.Contains(res.body, "database is closed") {
		t.Errorf("500 page leaks the error: %s", snippet(res.body))
	}
	if res.doc.Find(".error-page code").Text() == "" {
		t.Error("500 page has no request reference")
	}
	wantStatus(t, app.client().get("/healthz"), http.StatusServiceUnavailable)
}

func TestHealthzAndMetrics(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	res := c.get("/healthz")
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.body, `"ok"`) {
		t.Errorf("healthz body = %q", res.body)
	}
	c.get("/login")
	c.get("/nope")
	c.get("/other/nope")
	m := c.get("/metrics")
	wantStatus(t, m, http.StatusOK)
	for _, want := range []string{
		`swapdesk_http_requests_total{method="GET",route="/login",status="200"} 1`,
		// Unknown paths share one label, so scanners cannot blow up the series.
		`swapdesk_http_requests_total{method="GET",route="/*",status="303"} 2`,
		`swapdesk_http_request_duration_seconds_bucket{method="GET",route="/healthz"`,
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Clients choose the method freely; each made-up one must not become a
// series of its own.
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	for _, m := range []string{"AAA1", "AAA2", "PROPFIND", "get", http.MethodDelete} {
		for _, path := range []string{"/login", "/healthz", "/nope"} {
			req, _ := http.NewRequest(m, app.srv.URL+path, nil)
			c.do(req)
		}
	}
	body := c.get("/metrics").body
	for _, bad := range []string{"AAA1", "AAA2", "PROPFIND", `method="get"`} {
		if strings.Contains(body, bad) {
			t.Errorf("metrics carry the client's method %s", bad)
		}
	}
	for _, want := range []string{`method="other"`, `method="DELETE"`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The machine routes answer other methods with 405 and say what they allow,
// instead of falling into the pages' CSRF check.
func TestMachineRoutesRefuseOtherMethods(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodDelete, "/healthz", "GET, HEAD"},
		{http.MethodPost, "/metrics", "GET"},
		{http.MethodGet, "/webhooks/akool", "POST"},
		{http.MethodPut, "/webhooks/akool", "POST"},
		{http.MethodPost, "/static/app.css", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, app.srv.URL+tt.path, nil)
			res := c.do(req)
			wantStatus(t, res, http.StatusMethodNotAllowed)
			if got := res.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodHead, app.srv.URL+"/healthz", nil)
	wantStatus(t, c.do(req), http.StatusOK)
}

func TestStaticAssetsHashedAndCached(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c := app.client()
	page := c.get("/login")
	href, _ := page.doc.Find(`link[rel="stylesheet"]`).Attr("href")
	if !strings.HasPrefix(href, "/static/app.") || href == "/static/app.css" {
		t.Fatalf("stylesheet href %q is not content-hashed", href)
	}
	res := c.get(href)
	wantStatus(t, res, http.StatusOK)
	if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("Cache-Control = %q, want immutable", got)
	}
	if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/css") {
		t.Errorf("Content-Type = %q", got)
	}
	js, _ := page.doc.Find(`script[src*="htmx"]`).Attr("src")
	wantStatus(t, c.get(js), http.StatusOK)
	// Misses are answered by the one error handler: the error page.
	for _, path := range []string{"/static/static.go", "/static/../db/db.go", "/static/nope.css", "/static/app.0000000000.css"} {
		res := c.get(path)
		wantStatus(t, res, http.StatusNotFound)
		if got := res.doc.Find("h1").Text(); got != "Page not found" {
			t.Errorf("%s: heading %q, want the error page's", path, got)
		}
	}
}

func TestAuditRecordsLogins(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	app.addUser("ana@example.com", "Ana", false)
	c := app.client()
	c.login("ana@example.com", "wrong-password")
	c.login("ana@example.com", testPassword)
	c.submit("/", "/logout", nil)
	entries, err := app.store.RecentAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action)
	}
	want := []string{db.AuditLogout, db.AuditLogin, db.AuditLoginFailed, db.AuditUserCreated}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit actions = %v, want %v", got, want)
	}
}
