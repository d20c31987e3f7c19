package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/problem"
	"swapdesk/internal/tokens"
)

// Every bad token gets the same 401, whatever is wrong with it; a good
// token without the scope a 403; nothing is written either way.
func TestAPIAuthRefusesBadTokensAlike(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	ctx := context.Background()

	good := app.apiToken(t, u)
	revoked := app.apiToken(t, u)
	list, err := app.tokens.ForUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range list {
		if strings.HasPrefix(revoked, tk.Prefix) && !strings.HasPrefix(good, tk.Prefix) {
			if _, err := app.tokens.Revoke(ctx, db.Viewer{UserID: u.ID}, tk.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, bo := app.member("bo@example.com", 100)
	disabled := app.apiToken(t, bo)
	if err := app.store.SetDisabled(ctx, bo.ID, true); err != nil {
		t.Fatal(err)
	}
	// Expired: made 2 days long, then the clock moves 3 days on.
	cr, err := app.tokens.Create(ctx, u.ID, u.ID, tokens.Request{Name: "short", Scopes: tokens.AllScopes, Days: "2", FormKey: tokens.NewFormKey()}, "")
	if err != nil {
		t.Fatal(err)
	}
	expired := cr.Secret
	unknown := "sd_" + strings.Repeat("A", 43)

	before := app.writes(t, u)
	var first []byte
	for _, tt := range []struct{ name, header string }{
		{"missing", ""},
		{"not bearer", "Basic " + good},
		{"empty bearer", "Bearer "},
		{"malformed", "Bearer sd_short"},
		{"unknown", "Bearer " + unknown},
		{"revoked", "Bearer " + revoked},
		{"disabled member", "Bearer " + disabled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := app.apiClient(t, spec, "")
			for _, r := range []req{
				{method: http.MethodGet, path: "/api/v1/me", noToken: true, header: []string{"Authorization", tt.header}},
				{method: http.MethodPost, path: "/api/v1/jobs", noToken: true, body: app.apiBody(),
					header: []string{"Authorization", tt.header, "Idempotency-Key", "k1"}},
			} {
				res := c.do(r)
				wantProblem(t, res, problem.Unauthorized)
				if got := res.Header.Get("WWW-Authenticate"); got != `Bearer realm="swapdesk"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if r.method == http.MethodGet {
					if first == nil {
						first = res.body
					} else if string(res.body) != string(first) {
						t.Errorf("401 bodies differ:\n%s\n%s", first, res.body)
					}
				}
			}
		})
	}
	app.clock.Advance(3 * 24 * time.Hour)
	c := app.apiClient(t, spec, expired)
	res := c.do(req{method: http.MethodGet, path: "/api/v1/me"})
	wantProblem(t, res, problem.Unauthorized)
	if string(res.body) != string(first) {
		t.Errorf("expired token's 401 differs:\n%s\n%s", first, res.body)
	}
	if after := app.writes(t, u); after != before {
		t.Errorf("writes: before %+v, after %+v", before, after)
	}

	// A signed-in browser's cookie is no API credential.
	browser, _ := app.member("cy@example.com", 0)
	bres := browser.get("/api/v1/me")
	if bres.StatusCode != http.StatusUnauthorized || bres.Header.Get("Content-Type") != problem.ContentType {
		t.Errorf("cookie on the API: %d %q", bres.StatusCode, bres.Header.Get("Content-Type"))
	}
}

func TestAPIScopes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	readOnly := app.apiClient(t, spec, app.apiToken(t, u, tokens.JobsRead))
	galleryOnly := app.apiClient(t, spec, app.apiToken(t, u, tokens.GalleryRead))
	writeOnly := app.apiClient(t, spec, app.apiToken(t, u, tokens.JobsWrite))
	before := app.writes(t, u)
	for _, tt := range []struct {
		c *apiClient
		r req
	}{
		{readOnly, req{method: http.MethodPost, path: "/api/v1/estimate", body: app.apiBody()}},
		{readOnly, req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", "k"}}},
		{readOnly, req{method: http.MethodDelete, path: "/api/v1/jobs/1"}},
		{readOnly, req{method: http.MethodGet, path: "/api/v1/gallery"}},
		{galleryOnly, req{method: http.MethodGet, path: "/api/v1/jobs"}},
		{galleryOnly, req{method: http.MethodGet, path: "/api/v1/jobs/1"}},
		{writeOnly, req{method: http.MethodGet, path: "/api/v1/jobs"}},
		{writeOnly, req{method: http.MethodGet, path: "/api/v1/jobs/1/content"}},
		{writeOnly, req{method: http.MethodGet, path: "/api/v1/gallery"}},
	} {
		res := tt.c.do(tt.r)
		wantProblem(t, res, problem.Forbidden)
	}
	if after := app.writes(t, u); after != before {
		t.Errorf("writes: before %+v, after %+v", before, after)
	}
	// /me takes any valid token.
	for _, c := range []*apiClient{readOnly, galleryOnly, writeOnly} {
		wantAPIStatus(t, c.do(req{method: http.MethodGet, path: "/api/v1/me"}), http.StatusOK)
	}
}

func TestAPIRateLimitPerToken(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.apiRate, o.apiBurst = 1, 3 })
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	other := app.apiClient(t, spec, app.apiToken(t, u))
	for range 3 {
		wantAPIStatus(t, c.do(req{method: http.MethodGet, path: "/api/v1/me"}), http.StatusOK)
	}
	res := c.do(req{method: http.MethodGet, path: "/api/v1/me"})
	wantProblem(t, res, problem.RateLimited)
	if got := res.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	// Another token has its own bucket; time refills this one.
	wantAPIStatus(t, other.do(req{method: http.MethodGet, path: "/api/v1/me"}), http.StatusOK)
	app.clock.Advance(time.Second)
	wantAPIStatus(t, c.do(req{method: http.MethodGet, path: "/api/v1/me"}), http.StatusOK)
}
