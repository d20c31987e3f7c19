package handlers_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/fields"
	"swapdesk/internal/tokens"
)

var tokenSecret = regexp.MustCompile(`^sd_[A-Za-z0-9_-]{43}$`)

// tokenValues is a good create form.
func tokenValues(name string, days string, scopes ...string) url.Values {
	return url.Values{fields.Name: {name}, fields.Scopes: scopes, fields.TokenDays: {days}}
}

// postTokenForm posts v as the create form taken from a fresh
// /account/tokens: its CSRF token and, unless v has one, its one-time key.
func (c *client) postTokenForm(v url.Values) *response {
	c.t.Helper()
	form := c.get("/account/tokens").doc.Find("#token-form")
	csrf, _ := form.Find(`input[name="` + fields.CSRF + `"]`).Attr("value")
	key, _ := form.Find(`input[name="` + fields.Idem + `"]`).Attr("value")
	if csrf == "" || key == "" {
		c.t.Fatalf("the token form has no CSRF token (%q) or no one-time key (%q)", csrf, key)
	}
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set(fields.CSRF, csrf)
	if !out.Has(fields.Idem) {
		out.Set(fields.Idem, key)
	}
	return c.post("/account/tokens", out)
}

// makeToken creates a token through the form as c and returns the secret
// shown on the answer.
func (c *client) makeToken(v url.Values) (string, *response) {
	c.t.Helper()
	res := c.postTokenForm(v)
	wantStatus(c.t, res, http.StatusOK)
	secret := res.doc.Find("#token-new textarea#token-secret").Text()
	if !tokenSecret.MatchString(secret) {
		c.t.Fatalf("no token shown on the answer: %q\n%s", secret, snippet(res.doc.Find("main").Text()))
	}
	return secret, res
}

func (a *testApp) tokensOf(userID int64) []db.APIToken {
	a.t.Helper()
	list, err := a.store.TokensForUser(context.Background(), userID)
	if err != nil {
		a.t.Fatal(err)
	}
	return list
}

// tokenColumns reads every api_tokens row as text, on a connection of its
// own: what a copy of the database would give away.
func tokenColumns(t *testing.T, app *testApp) []string {
	t.Helper()
	conn, err := sql.Open("sqlite", db.DSN(filepath.Join(filepath.Dir(app.mediaDir), "swapdesk.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(`SELECT id, user_id, name, scopes, hex(token_hash), prefix, created_at, expires_at,
		COALESCE(last_used_at, ''), COALESCE(revoked_at, ''), COALESCE(revoked_by, '') FROM api_tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		cols := make([]string, 11)
		ptrs := make([]any, len(cols))
		for i := range cols {
			ptrs[i] = &cols[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(cols, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A member makes a token: the answer shows it once (with a copy button for
// scripts, a selectable field without, and a curl line using it), it is
// not cached, it is not in a redirect or a flash, the next visit does not
// show it, and the database keeps only its hash.
func TestTokenCreateShowsTheSecretOnce(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, u := app.member("ana@example.com", 0)

	page := ana.get("/account/tokens")
	wantStatus(t, page, http.StatusOK)
	empty := page.doc.Find("#tokens-empty")
	if empty.Length() != 1 || empty.Find(`a[href="/docs/api"]`).Length() != 1 {
		t.Errorf("no empty state linking the docs: %q", empty.Text())
	}
	if v, _ := page.doc.Find(`#token-days`).Attr("value"); v != "90" {
		t.Errorf("days defaults to %q, want 90", v)
	}
	if n := page.doc.Find(`#token-form input[name="scopes"]`).Length(); n != len(tokens.AllScopes) {
		t.Errorf("%d scope boxes, want %d", n, len(tokens.AllScopes))
	}
	if page.doc.Find("#token-new").Length() != 0 {
		t.Error("a token box before any token was made")
	}

	before := app.mark()
	secret, res := ana.makeToken(tokenValues(" nightly batch ", "30", tokens.JobsWrite, tokens.JobsRead))
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if loc := res.Header.Get("Location"); loc != "" {
		t.Errorf("the answer redirects to %q", loc)
	}
	if btn := res.doc.Find(`#token-new button[data-copy="token-secret"]`); btn.Length() != 1 {
		t.Error("no copy button")
	} else if _, hidden := btn.Attr("hidden"); !hidden {
		t.Error("the copy button shows without JavaScript")
	}
	if ro, _ := res.doc.Find("#token-secret").Attr("readonly"); ro != "" {
		t.Errorf("secret field readonly=%q", ro)
	}
	if !strings.Contains(res.doc.Find("#token-new").Text(), "won't see it again") {
		t.Error("the box does not say the token is shown once")
	}
	wantCurl := `curl -H "Authorization: Bearer ` + secret + `" ` + app.srv.URL + "/api/v1/me"
	if got := res.doc.Find("#token-curl").Text(); got != wantCurl {
		t.Errorf("curl line %q, want %q", got, wantCurl)
	}
	if n := strings.Count(res.body, secret); n != 2 {
		t.Errorf("the secret appears %d times on the answer, want 2 (field and curl)", n)
	}
	row := res.doc.Find("tbody tr")
	if row.Length() != 1 {
		t.Fatalf("%d token rows, want 1", row.Length())
	}
	for label, want := range map[string]string{"Name": "nightly batch", "Token": secret[:9] + "…", "Scopes": "jobs:read jobs:write",
		"Last used": "never", "State": "Active"} {
		if got := strings.TrimSpace(row.Find(`td[data-label="` + label + `"]`).Text()); got != want {
			t.Errorf("%s cell %q, want %q", label, got, want)
		}
	}
	// Dates in the member's zone (the team's: UTC).
	if got := strings.TrimSpace(row.Find(`td[data-label="Expires"]`).Text()); got != "25 Dec 2026, 09:00 UTC" {
		t.Errorf("expires %q", got)
	}

	// Stored: only the hash, the prefix and the facts.
	list := app.tokensOf(u.ID)
	if len(list) != 1 || list[0].Name != "nightly batch" || list[0].Scopes != "jobs:read jobs:write" || list[0].Prefix != secret[:9] ||
		!list[0].ExpiresAt.Equal(app.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("stored %+v", list)
	}
	hash := sha256.Sum256([]byte(secret))
	for _, r := range tokenColumns(t, app) {
		if strings.Contains(r, secret[9:]) || strings.Contains(r, secret[3:20]) {
			t.Errorf("a row holds the secret: %s", r)
		}
	}
	if _, _, err := app.store.TokenByHash(context.Background(), hash[:], app.clock.Now()); err != nil {
		t.Errorf("no token stored under the secret's SHA-256: %v", err)
	}
	audit := app.auditSince(t, before)
	if len(audit) != 1 || audit[0].Action != db.AuditTokenCreated || audit[0].ActorID != u.ID || audit[0].Subject != "ana@example.com" ||
		strings.Contains(audit[0].Detail, secret[9:]) {
		t.Errorf("audit %+v", audit)
	}

	// Shown once: the next visit lists it without the secret.
	again := ana.get("/account/tokens")
	wantStatus(t, again, http.StatusOK)
	if strings.Contains(again.body, secret[3:]) || again.doc.Find("#token-new").Length() != 0 {
		t.Error("the secret is shown a second time")
	}
	if again.doc.Find(`tbody tr form[action="/account/tokens/`+strconv.FormatInt(list[0].ID, 10)+`/revoke"]`).Length() != 1 {
		t.Error("no revoke button on the active token")
	}
	if again.doc.Find("#tokens-empty").Length() != 0 {
		t.Error("the empty state shows beside a token")
	}
	if strings.Contains(ana.get("/").body, secret[3:]) {
		t.Error("the secret is in a later page (a flash?)")
	}
}

// Every bad field re-shows the form with its message (422), the values as
// typed, aria-invalid on the field, and nothing written.
func TestTokenCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, u := app.member("ana@example.com", 0)
	long := strings.Repeat("x", tokens.MaxName+1)
	tests := []struct {
		name  string
		form  url.Values
		field string // the field marked
		input string // its control's selector
	}{
		{"empty name", tokenValues("", "30", tokens.JobsRead), fields.Name, "#token-name"},
		{"blank name", tokenValues("   ", "30", tokens.JobsRead), fields.Name, "#token-name"},
		{"name over 100 characters", tokenValues(long, "30", tokens.JobsRead), fields.Name, "#token-name"},
		{"no scope", tokenValues("batch", "30"), fields.Scopes, `input[name="scopes"]`},
		{"unknown scope", tokenValues("batch", "30", tokens.JobsRead, "admin"), fields.Scopes, `input[name="scopes"]`},
		{"days 0", tokenValues("batch", "0", tokens.JobsRead), fields.TokenDays, "#token-days"},
		{"days 366", tokenValues("batch", "366", tokens.JobsRead), fields.TokenDays, "#token-days"},
		{"days abc", tokenValues("batch", "abc", tokens.JobsRead), fields.TokenDays, "#token-days"},
		{"days never", tokenValues("batch", "never", tokens.JobsRead), fields.TokenDays, "#token-days"},
		{"days -1", tokenValues("batch", "-1", tokens.JobsRead), fields.TokenDays, "#token-days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := app.mark()
			res := ana.postTokenForm(tt.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if msg := strings.TrimSpace(res.doc.Find("#" + tt.field + "-error").Text()); msg == "" {
				t.Errorf("no message for %s", tt.field)
			}
			res.doc.Find(tt.input).Each(func(_ int, s *goquery.Selection) {
				if v, _ := s.Attr("aria-invalid"); v != "true" {
					t.Errorf("%s aria-invalid=%q", tt.input, v)
				}
			})
			for _, other := range []string{fields.Name, fields.Scopes, fields.TokenDays} {
				if other != tt.field && strings.TrimSpace(res.doc.Find("#"+other+"-error").Text()) != "" {
					t.Errorf("%s marked too: %q", other, res.doc.Find("#"+other+"-error").Text())
				}
			}
			if res.doc.Find("#token-new").Length() != 0 || tokenSecret.MatchString(res.doc.Find("#token-secret").Text()) {
				t.Error("a token shown on a refused form")
			}
			if got, _ := res.doc.Find("#token-name").Attr("value"); got != tt.form.Get(fields.Name) {
				t.Errorf("name field %q, want the value typed %q", got, tt.form.Get(fields.Name))
			}
			if got, _ := res.doc.Find("#token-days").Attr("value"); got != tt.form.Get(fields.TokenDays) {
				t.Errorf("days field %q, want the value typed %q", got, tt.form.Get(fields.TokenDays))
			}
			for _, sc := range tokens.AllScopes {
				_, checked := res.doc.Find(`input[name="scopes"][value="` + sc + `"]`).Attr("checked")
				if want := contains(tt.form[fields.Scopes], sc); checked != want {
					t.Errorf("%s checked %v, want %v", sc, checked, want)
				}
			}
			if list := app.tokensOf(u.ID); len(list) != 0 {
				t.Errorf("stored %+v", list)
			}
			if got := app.auditSince(t, before); len(got) != 0 {
				t.Errorf("audited %+v", got)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A token's name is plain text on every page that shows it.
func TestTokenNameIsEscaped(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, _ := app.member("ana@example.com", 0)
	admin := app.signedIn("admin@example.com", true)
	name := `<script>alert("x")</script>`
	_, res := ana.makeToken(tokenValues(name, "7", tokens.GalleryRead))
	for _, r := range []*response{res, ana.get("/account/tokens"), admin.get("/admin/tokens"), admin.get("/admin/audit")} {
		if strings.Contains(r.body, name) {
			t.Errorf("%s carries the name unescaped", r.Request.URL.Path)
		}
		if r.doc.Find("script:not([src])").Length() != 0 {
			t.Errorf("%s has an inline script", r.Request.URL.Path)
		}
	}
	if got := res.doc.Find(`td[data-label="Name"]`).Text(); got != name {
		t.Errorf("name shown as %q", got)
	}
}

// Revoking: one's own token at once; another member's is a 404 (an
// admin's too, on the account route); an admin revokes anyone's from the
// admin pages; each revoke is audited once.
func TestTokenRevoke(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, anaUser := app.member("ana@example.com", 0)
	bo, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("admin@example.com", true)
	adminUser, err := app.store.UserByEmail(context.Background(), "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := ana.makeToken(tokenValues("one", "30", tokens.JobsRead))
	id := app.tokensOf(anaUser.ID)[0].ID
	revoke := "/account/tokens/" + strconv.FormatInt(id, 10) + "/revoke"
	works := func(secret string, want bool) {
		t.Helper()
		_, err := app.tokensAuth(secret)
		if (err == nil) != want {
			t.Errorf("token works: %v, want %v", err == nil, want)
		}
	}

	for _, who := range []struct {
		name string
		c    *client
	}{{"another member", bo}, {"an admin on the account route", admin}} {
		before := app.mark()
		wantStatus(t, who.c.submit("/account/tokens", revoke, nil), http.StatusNotFound)
		works(secret, true)
		if got := app.auditSince(t, before); len(got) != 0 {
			t.Errorf("%s: audited %+v", who.name, got)
		}
	}
	for _, bad := range []string{"/account/tokens/abc/revoke", "/account/tokens/0/revoke", "/account/tokens/99999/revoke"} {
		wantStatus(t, ana.submit("/account/tokens", bad, nil), http.StatusNotFound)
	}

	before := app.mark()
	res := ana.submit("/account/tokens", revoke, nil)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/account/tokens" {
		t.Errorf("revoke went to %q", loc)
	}
	works(secret, false)
	page := ana.get("/account/tokens")
	if !strings.Contains(page.doc.Find("#flashes").Text(), "Revoked") {
		t.Errorf("flash %q", page.doc.Find("#flashes").Text())
	}
	row := page.doc.Find(`tr[data-token-id="` + strconv.FormatInt(id, 10) + `"]`)
	if !strings.Contains(row.Find(`td[data-label="State"]`).Text(), "Revoked") || row.Find("form").Length() != 0 {
		t.Errorf("revoked row %q", row.Text())
	}
	// Again: nothing more happens.
	wantStatus(t, ana.submit("/account/tokens", revoke, nil), http.StatusSeeOther)
	audit := app.auditSince(t, before)
	if len(audit) != 1 || audit[0].Action != db.AuditTokenRevoked || audit[0].ActorID != anaUser.ID {
		t.Errorf("audit %+v", audit)
	}

	// An admin revokes a member's token from /admin/tokens, and another
	// from the member's page (coming back to it).
	second, _ := ana.makeToken(tokenValues("two", "30", tokens.JobsRead))
	third, _ := ana.makeToken(tokenValues("three", "30", tokens.JobsRead))
	list := app.tokensOf(anaUser.ID)
	ids := map[string]int64{}
	for _, tk := range list {
		ids[tk.Name] = tk.ID
	}
	adminRevoke := func(name string) string { return "/admin/tokens/" + strconv.FormatInt(ids[name], 10) + "/revoke" }
	// A member cannot use the admin's route, even for their own token.
	wantStatus(t, ana.submit("/account/tokens", adminRevoke("two"), nil), http.StatusForbidden)
	works(second, true)

	before = app.mark()
	res = admin.submit("/admin/tokens", adminRevoke("two"), nil)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/admin/tokens" {
		t.Errorf("admin revoke went to %q", loc)
	}
	works(second, false)
	memberPage := "/admin/users/" + strconv.FormatInt(anaUser.ID, 10)
	mp := admin.get(memberPage)
	form := mp.doc.Find(`#member-tokens form[action="` + adminRevoke("three") + `"]`)
	if form.Length() != 1 {
		t.Fatalf("no revoke form for %q on the member page", "three")
	}
	if next, _ := form.Find(`input[name="next"]`).Attr("value"); next != memberPage {
		t.Errorf("member page's revoke form next=%q", next)
	}
	res = admin.submit(memberPage, adminRevoke("three"), url.Values{fields.Next: {memberPage}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != memberPage {
		t.Errorf("revoke from the member page went to %q", loc)
	}
	works(third, false)
	// next elsewhere is ignored.
	fourth, _ := ana.makeToken(tokenValues("four", "30", tokens.JobsRead))
	ids["four"] = app.tokensOf(anaUser.ID)[0].ID
	res = admin.submit("/admin/tokens", adminRevoke("four"), url.Values{fields.Next: {"https://evil.example/"}})
	if loc := res.Header.Get("Location"); loc != "/admin/tokens" {
		t.Errorf("revoke with a foreign next went to %q", loc)
	}
	works(fourth, false)
	audit = app.auditSince(t, before)
	var revoked int
	for _, e := range audit {
		if e.Action == db.AuditTokenRevoked {
			revoked++
			if e.ActorID != adminUser.ID || e.Subject != "ana@example.com" {
				t.Errorf("admin's revoke audited as %+v", e)
			}
		}
	}
	if revoked != 3 {
		t.Errorf("%d revokes audited, want 3: %+v", revoked, audit)
	}
	wantStatus(t, admin.submit("/admin/tokens", "/admin/tokens/99999/revoke", nil), http.StatusNotFound)
}

// tokensAuth checks secret as the API will.
func (a *testApp) tokensAuth(secret string) (tokens.Principal, error) {
	return tokens.New(a.store, a.clock.Now).Authenticate(context.Background(), secret)
}

// Both POSTs need the session's CSRF token; without it nothing is written.
func TestTokenFormsNeedCSRF(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, u := app.member("ana@example.com", 0)
	admin := app.signedIn("admin@example.com", true)
	secret, _ := ana.makeToken(tokenValues("one", "30", tokens.JobsRead))
	id := strconv.FormatInt(app.tokensOf(u.ID)[0].ID, 10)
	for _, tc := range []struct {
		c    *client
		path string
		form url.Values
	}{
		{ana, "/account/tokens", tokenValues("two", "30", tokens.JobsRead)},
		{ana, "/account/tokens/" + id + "/revoke", url.Values{}},
		{admin, "/admin/tokens/" + id + "/revoke", url.Values{}},
	} {
		for _, tok := range []string{"", "not-the-token"} {
			before := app.mark()
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = v
			}
			if tok != "" {
				form.Set(fields.CSRF, tok)
			}
			wantStatus(t, tc.c.post(tc.path, form), http.StatusForbidden)
			if got := app.auditSince(t, before); len(got) != 0 {
				t.Errorf("POST %s without CSRF audited %+v", tc.path, got)
			}
		}
	}
	if list := app.tokensOf(u.ID); len(list) != 1 || !list[0].RevokedAt.IsZero() {
		t.Errorf("tokens after refused POSTs: %+v", list)
	}
	if _, err := app.tokensAuth(secret); err != nil {
		t.Errorf("the token stopped: %v", err)
	}
}

// /admin/tokens: admins only, every member's active tokens with their
// owner, linked from the admin navigation; expired and revoked ones are
// left out there but stay on the owner's own list.
func TestAdminTokensPage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, anaUser := app.member("ana@example.com", 0)
	bo, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("admin@example.com", true)

	wantStatus(t, bo.get("/admin/tokens"), http.StatusForbidden)
	if res := app.client().get("/admin/tokens"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("anonymous: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	page := admin.get("/admin/tokens")
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find("#tokens-empty").Length() != 1 {
		t.Error("no empty state")
	}
	if page.doc.Find(`.subnav a[href="/admin/tokens"][aria-current="page"]`).Length() != 1 {
		t.Error("the admin navigation does not link the page")
	}
	if admin.get("/admin/users").doc.Find(`.subnav a[href="/admin/tokens"]`).Length() != 1 {
		t.Error("the members page's admin navigation does not link the tokens page")
	}

	ana.makeToken(tokenValues("short", "1", tokens.JobsRead))
	app.clock.Advance(2 * 24 * time.Hour) // "short" has expired
	ana.makeToken(tokenValues("ana's batch", "30", tokens.JobsWrite, tokens.GalleryRead))
	ana.makeToken(tokenValues("gone", "30", tokens.JobsRead))
	bo.makeToken(tokenValues("bo's bot", "365", tokens.GalleryRead))
	for _, tk := range app.tokensOf(anaUser.ID) {
		if tk.Name == "gone" {
			if _, err := app.store.RevokeToken(context.Background(), db.Viewer{UserID: anaUser.ID}, tk.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	page = admin.get("/admin/tokens")
	rows := page.doc.Find("tbody tr")
	var got []string
	rows.Each(func(_ int, r *goquery.Selection) {
		got = append(got, strings.TrimSpace(r.Find(`td[data-label="Name"]`).Text())+" by "+strings.TrimSpace(r.Find(`td[data-label="Member"] a`).Text()))
		if r.Find(`form[action^="/admin/tokens/"]`).Length() != 1 {
			t.Errorf("row %q has no revoke button", r.Text())
		}
	})
	if want := []string{"bo's bot by User bo@example.com", "ana's batch by User ana@example.com"}; strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("admin list %q, want %q", got, want)
	}
	if href, _ := rows.First().Find(`td[data-label="Member"] a`).Attr("href"); !strings.HasPrefix(href, "/admin/users/") {
		t.Errorf("owner link %q", href)
	}

	// The owner's own list keeps all three with their states.
	states := map[string]string{}
	ana.get("/account/tokens").doc.Find("tbody tr").Each(func(_ int, r *goquery.Selection) {
		states[r.Find(`td[data-label="Name"]`).Text()] = strings.TrimSpace(r.Find(`td[data-label="State"] .badge`).Text())
		if strings.TrimSpace(r.Find(`td[data-label="State"] .badge`).Text()) != "Active" && r.Find("form").Length() != 0 {
			t.Errorf("a revoke button on %q", r.Text())
		}
	})
	if want := map[string]string{"short": "Expired", "ana's batch": "Active", "gone": "Revoked"}; len(states) != 3 ||
		states["short"] != want["short"] || states["ana's batch"] != want["ana's batch"] || states["gone"] != want["gone"] {
		t.Errorf("own list states %v, want %v", states, want)
	}
	// The admin's page about ana lists hers, all three.
	mp := admin.get("/admin/users/" + strconv.FormatInt(anaUser.ID, 10))
	if n := mp.doc.Find("#member-tokens tbody tr").Length(); n != 3 {
		t.Errorf("member page lists %d tokens, want 3", n)
	}
}

// The audit log names token actions for people (and keeps the recorded
// name), in its table and its filter.
func TestAuditLabelsTokenActions(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, u := app.member("ana@example.com", 0)
	admin := app.signedIn("admin@example.com", true)
	ana.makeToken(tokenValues("batch", "30", tokens.JobsRead))
	ana.submit("/account/tokens", "/account/tokens/"+strconv.FormatInt(app.tokensOf(u.ID)[0].ID, 10)+"/revoke", nil)
	res := admin.get("/admin/audit")
	wantStatus(t, res, http.StatusOK)
	var what []string
	res.doc.Find(`#audit-table td[data-label="What"]`).Each(func(_ int, s *goquery.Selection) {
		what = append(what, strings.Join(strings.Fields(s.Text()), " "))
	})
	joined := strings.Join(what, "; ")
	for _, want := range []string{"API token created token_created", "API token revoked token_revoked", "Signed in login"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit What cells %q, want %q among them", joined, want)
		}
	}
	if label := res.doc.Find(`#f-what option[value="token_created"]`).Text(); label != "API token created" {
		t.Errorf("filter option %q", label)
	}
	filtered := admin.get("/admin/audit?what=token_revoked")
	if n := filtered.doc.Find("#audit-table tbody tr").Length(); n != 1 {
		t.Errorf("filtered to token_revoked: %d rows", n)
	}
}

// /docs/api: signed in only; the base URL, a curl example for each route
// with the sandbox's sample inputs, every problem type under its anchor
// with its status, the limits; linked from the footer, /account and the
// tokens page.
func TestDocsAPIPage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, _ := app.member("ana@example.com", 0)
	if res := app.client().get("/docs/api"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("anonymous: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res := ana.get("/docs/api")
	wantStatus(t, res, http.StatusOK)
	if got := res.doc.Find("h1").Text(); got != "API" {
		t.Errorf("heading %q", got)
	}
	if got := res.doc.Find("#api-base").Text(); got != app.srv.URL+"/api/v1" {
		t.Errorf("base %q, want %q", got, app.srv.URL+"/api/v1")
	}
	if res.doc.Find(`#start a[href="/account/tokens"]`).Length() != 1 {
		t.Error("no link to make a token")
	}
	routes := map[string]string{
		"POST /api/v1/estimate":              "estimate",
		"POST /api/v1/jobs":                  "create",
		"GET /api/v1/jobs/{id}":              "job",
		"GET /api/v1/jobs?status=…&cursor=…": "jobs",
		"DELETE /api/v1/jobs/{id}":           "delete",
		"GET /api/v1/jobs/{id}/content":      "content",
		"GET /api/v1/jobs/{id}/poster":       "poster",
		"GET /api/v1/gallery?q=…":            "gallery",
		"GET /api/v1/me":                     "me",
		"GET /api/v1/openapi.json":           "openapi",
	}
	for heading, id := range routes {
		sec := res.doc.Find("section#" + id)
		if got := strings.TrimSpace(sec.Find("h2").Text()); got != heading {
			t.Errorf("#%s heading %q, want %q", id, got, heading)
		}
		cmds := sec.Find("pre code")
		if cmds.Length() == 0 {
			t.Errorf("#%s has no command", id)
		}
		cmds.Each(func(_ int, c *goquery.Selection) {
			cmd := c.Text()
			if strings.HasPrefix(cmd, "JOB_ID=") {
				return
			}
			if !strings.HasPrefix(cmd, "curl ") || !strings.Contains(cmd, app.srv.URL+"/api/v1/") {
				t.Errorf("#%s command %q", id, cmd)
			}
			if auth := strings.Contains(cmd, `-H "Authorization: Bearer $SWAPDESK_TOKEN"`); auth == (id == "openapi") {
				t.Errorf("#%s command %q: Authorization header %v", id, cmd, auth)
			}
		})
	}
	create := res.doc.Find("section#create pre code").First().Text()
	for _, want := range []string{"Idempotency-Key: ", `"image_url": "` + app.srv.URL + "/static/samples/character.png", `"video_url": "` + app.srv.URL + "/static/samples/motion.mp4",
		`"mode": "animate"`, `"resolution": "720p"`, `"duration": 12,`, `"prompt": `, "Content-Type: application/json"} {
		if !strings.Contains(create, want) {
			t.Errorf("create command lacks %q:\n%s", want, create)
		}
	}
	if !strings.Contains(res.doc.Find("section#job").Text(), "Prefer: wait=60") {
		t.Error("no Prefer: wait=60 example")
	}
	if !strings.Contains(res.doc.Find("section#content").Text(), "-o result.mp4") {
		t.Error("no download example")
	}
	problems := map[string]string{
		"unauthorized": "401", "forbidden": "403", "not-found": "404", "method-not-allowed": "405", "bad-request": "400",
		"too-large": "413", "idempotency-key": "400", "idempotency-conflict": "409", "conflict": "409", "invalid": "422",
		"insufficient-credits": "422", "rate-limited": "429", "internal": "500",
	}
	if n := res.doc.Find(`#errors [id^="problem-"]`).Length(); n != len(problems) {
		t.Errorf("%d problem entries, want %d", n, len(problems))
	}
	for kind, status := range problems {
		if got := res.doc.Find("#problem-" + kind + " .problem-status").Text(); !strings.HasPrefix(got, status+" ") {
			t.Errorf("#problem-%s status %q, want %s", kind, got, status)
		}
	}
	if !strings.Contains(res.doc.Find("#limits").Text(), "Retry-After") {
		t.Error("the limits do not mention Retry-After")
	}
	for _, page := range []string{"/", "/account", "/account/tokens"} {
		if ana.get(page).doc.Find(`a[href="/docs/api"]`).Length() == 0 {
			t.Errorf("%s does not link the API docs", page)
		}
	}
	if ana.get("/account").doc.Find(`a[href="/account/tokens"]`).Length() != 1 {
		t.Error("/account does not link the tokens page")
	}
	if app.client().get("/login").doc.Find(`a[href="/docs/api"]`).Length() != 0 {
		t.Error("the sign-in page links the API docs")
	}
}

// Reloading the answer posts the same form again: it makes no second token
// and writes no second audit line, goes to the list (303) saying what
// happened, and never shows the secret again. A form without its one-time
// key makes nothing and comes back renewed.
func TestTokenFormPostedTwiceMakesOneToken(t *testing.T) {
	app := newTestApp(t)
	ana, u := app.member("ana@example.com", 0)
	form := ana.get("/account/tokens").doc.Find("#token-form")
	v := tokenValues("nightly batch", "30", tokens.JobsRead)
	for _, name := range []string{fields.CSRF, fields.Idem} {
		val, _ := form.Find(`input[name="` + name + `"]`).Attr("value")
		if val == "" {
			t.Fatalf("the form has no %s field", name)
		}
		v.Set(name, val)
	}

	before := app.mark()
	first := ana.post("/account/tokens", v)
	wantStatus(t, first, http.StatusOK)
	secret := first.doc.Find("#token-secret").Text()
	if !tokenSecret.MatchString(secret) {
		t.Fatalf("no secret on the first answer: %q", secret)
	}
	for i := range 2 {
		again := ana.post("/account/tokens", v)
		wantStatus(t, again, http.StatusSeeOther)
		if loc := again.Header.Get("Location"); loc != "/account/tokens" {
			t.Errorf("post %d again: Location %q, want /account/tokens", i+2, loc)
		}
		if strings.Contains(again.body, secret) || strings.Contains(again.Header.Get("Set-Cookie"), secret) {
			t.Errorf("post %d again: the secret is in the answer", i+2)
		}
		page := ana.get("/account/tokens")
		flash := page.doc.Find("#flashes").Text()
		if !strings.Contains(flash, "This form was already used") || !strings.Contains(flash, "nightly batch") || !strings.Contains(flash, "shown once") {
			t.Errorf("post %d again: flash %q, want it to say the form was used and the secret shown once", i+2, flash)
		}
		if strings.Contains(page.body, secret) || page.doc.Find("#token-new").Length() != 0 {
			t.Errorf("post %d again: the list shows the secret", i+2)
		}
		if page.doc.Find(`tbody tr td[data-label="Name"]`).Text() != "nightly batch" {
			t.Errorf("post %d again: list %q", i+2, page.doc.Find("tbody").Text())
		}
	}
	if list := app.tokensOf(u.ID); len(list) != 1 {
		t.Errorf("%d tokens, want 1", len(list))
	}
	if got := app.auditSince(t, before); len(got) != 1 || got[0].Action != db.AuditTokenCreated {
		t.Errorf("audited %+v, want one token_created", got)
	}
	if _, err := app.tokensAuth(secret); err != nil {
		t.Errorf("the token does not work: %v", err)
	}

	// Each render has a key of its own.
	k1, _ := ana.get("/account/tokens").doc.Find(`#token-form input[name="idem"]`).Attr("value")
	k2, _ := ana.get("/account/tokens").doc.Find(`#token-form input[name="idem"]`).Attr("value")
	if k1 == "" || k1 == k2 || k1 == v.Get(fields.Idem) {
		t.Errorf("form keys %q, %q after %q: want new ones", k1, k2, v.Get(fields.Idem))
	}

	for _, key := range []string{"short", "<script>alert(1)</script>-long-enough"} {
		before := app.mark()
		bad := tokenValues("other", "30", tokens.JobsRead)
		bad.Set(fields.Idem, key)
		res := ana.postTokenForm(bad)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if msg := res.doc.Find("#token-form-error").Text(); !strings.Contains(msg, "out of date") {
			t.Errorf("key %q: form message %q", key, msg)
		}
		if renewed, _ := res.doc.Find(`#token-form input[name="idem"]`).Attr("value"); renewed == "" || renewed == key {
			t.Errorf("key %q: the form came back with key %q", key, renewed)
		}
		if got, _ := res.doc.Find("#token-name").Attr("value"); got != "other" {
			t.Errorf("key %q: name %q, want the value typed", key, got)
		}
		if res.doc.Find("#token-new").Length() != 0 {
			t.Errorf("key %q: a token shown", key)
		}
		if got := app.auditSince(t, before); len(got) != 0 {
			t.Errorf("key %q: audited %+v", key, got)
		}
	}
	if list := app.tokensOf(u.ID); len(list) != 1 {
		t.Errorf("%d tokens after refused forms, want 1", len(list))
	}
	// A post without a key (the form's fields as DESIGN lists them, as
	// before the form had one) makes a token, as it always did.
	keyless := tokenValues("script", "30", tokens.JobsRead)
	keyless.Set(fields.CSRF, ana.csrf("/account/tokens"))
	res := ana.post("/account/tokens", keyless)
	wantStatus(t, res, http.StatusOK)
	if res.doc.Find("#token-new").Length() != 1 {
		t.Error("a post without a form key showed no token")
	}
	if list := app.tokensOf(u.ID); len(list) != 2 {
		t.Errorf("%d tokens after a post without a key, want 2", len(list))
	}
}

// A disabled member's tokens do not work, and the admin's lists say so
// ("Member disabled") rather than "active", keeping the revoke button: they
// work again if the member is enabled. Expired and revoked stay what they
// are.
func TestAdminTokensShowDisabledMembers(t *testing.T) {
	app := newTestApp(t)
	ana, anaUser := app.member("ana@example.com", 0)
	bo, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("admin@example.com", true)
	ctx := context.Background()

	ana.makeToken(tokenValues("short", "1", tokens.JobsRead))
	app.clock.Advance(2 * 24 * time.Hour) // "short" has expired
	secret, _ := ana.makeToken(tokenValues("ana's batch", "30", tokens.JobsRead))
	ana.makeToken(tokenValues("gone", "30", tokens.JobsRead))
	bo.makeToken(tokenValues("bo's bot", "30", tokens.GalleryRead))
	for _, tk := range app.tokensOf(anaUser.ID) {
		if tk.Name == "gone" {
			if _, err := app.store.RevokeToken(ctx, db.Viewer{UserID: anaUser.ID}, tk.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.store.SetDisabled(ctx, anaUser.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := app.tokensAuth(secret); err == nil {
		t.Fatal("a disabled member's token works")
	}

	// /admin/tokens: ana's marked, with its button; bo's not marked.
	all := map[string]string{}
	admin.get("/admin/tokens").doc.Find("tbody tr").Each(func(_ int, r *goquery.Selection) {
		name := strings.TrimSpace(r.Find(`td[data-label="Name"]`).Text())
		all[name] = strings.TrimSpace(r.Find(`td[data-label="Member"] .badge`).Text())
		if r.Find(`form[action^="/admin/tokens/"]`).Length() != 1 {
			t.Errorf("/admin/tokens: %q has no revoke button", name)
		}
	})
	if want := map[string]string{"ana's batch": "Member disabled", "bo's bot": ""}; !reflect.DeepEqual(all, want) {
		t.Errorf("/admin/tokens rows %q, want %q", all, want)
	}

	// The admin's page about ana: every token's state as it is.
	memberStates := func() map[string]string {
		got := map[string]string{}
		admin.get("/admin/users/" + strconv.FormatInt(anaUser.ID, 10)).doc.Find("#member-tokens tbody tr").Each(func(_ int, r *goquery.Selection) {
			name := strings.TrimSpace(r.Find(`td[data-label="Name"]`).Text())
			state := strings.TrimSpace(r.Find(`td[data-label="State"] .badge`).Text())
			got[name] = state
			if revocable := state == "Active" || state == "Member disabled"; revocable != (r.Find("form").Length() == 1) {
				t.Errorf("member page: %q (%s) revoke button %v", name, state, !revocable)
			}
		})
		return got
	}
	if got, want := memberStates(), map[string]string{"short": "Expired", "ana's batch": "Member disabled", "gone": "Revoked"}; !reflect.DeepEqual(got, want) {
		t.Errorf("member page states %q, want %q", got, want)
	}

	// Enabled again: the token works and shows as active.
	if err := app.store.SetDisabled(ctx, anaUser.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := app.tokensAuth(secret); err != nil {
		t.Fatalf("re-enabled member's token: %v", err)
	}
	if got := memberStates()["ana's batch"]; got != "Active" {
		t.Errorf("after enabling: %q, want Active", got)
	}
	if admin.get("/admin/tokens").doc.Find(`td[data-label="Member"] .badge`).Length() != 0 {
		t.Error("/admin/tokens still marks a member after enabling")
	}
}
