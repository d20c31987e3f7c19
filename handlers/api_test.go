package handlers_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"swapdesk/internal/apidoc"
	"swapdesk/internal/problem"
	"swapdesk/internal/tokens"
)

// The served document is the embedded one, public, and describes every
// route of the API, HEAD wherever GET is (TestAPIDocumentMatchesRouter
// checks the same against the router itself).
func TestAPIOpenAPIDocument(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	spec := app.loadAPISpec(t)
	if !bytes.Equal(spec.raw, apidoc.JSON) {
		t.Fatal("served document differs from the embedded one")
	}
	want := map[string][]string{
		"/api/v1/openapi.json":      {http.MethodGet, http.MethodHead},
		"/api/v1/me":                {http.MethodGet, http.MethodHead},
		"/api/v1/estimate":          {http.MethodPost},
		"/api/v1/jobs":              {http.MethodGet, http.MethodHead, http.MethodPost},
		"/api/v1/jobs/{id}":         {http.MethodGet, http.MethodHead, http.MethodDelete},
		"/api/v1/jobs/{id}/content": {http.MethodGet, http.MethodHead},
		"/api/v1/jobs/{id}/poster":  {http.MethodGet, http.MethodHead},
		"/api/v1/gallery":           {http.MethodGet, http.MethodHead},
	}
	if got := spec.doc.Paths.Len(); got != len(want) {
		t.Errorf("document has %d paths, want %d", got, len(want))
	}
	for path, methods := range want {
		item := spec.doc.Paths.Find(path)
		if item == nil {
			t.Errorf("%s missing from the document", path)
			continue
		}
		for _, m := range methods {
			if item.GetOperation(m) == nil {
				t.Errorf("%s %s missing from the document", m, path)
			}
		}
		if n := len(item.Operations()); n != len(methods) {
			t.Errorf("%s: %d operations in the document, want %d", path, n, len(methods))
		}
	}
	// Every problem type the API answers is in the Problem schema's enum.
	enum := spec.doc.Components.Schemas["Problem"].Value.Properties["type"].Value.Enum
	for _, ty := range problem.Types {
		found := false
		for _, e := range enum {
			found = found || e == ty.URI()
		}
		if !found {
			t.Errorf("problem type %s missing from the document", ty.URI())
		}
	}
}

func TestAPIMe(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u, "gallery:read"))
	res := c.do(req{method: http.MethodGet, path: "/api/v1/me"})
	wantAPIStatus(t, res, http.StatusOK)
	var me struct {
		ID      int64
		Email   string
		Balance struct{ Available int64 }
		Token   struct{ Scopes []string }
	}
	res.json(t, &me)
	if me.ID != u.ID || me.Email != "ana@example.com" || me.Balance.Available != 100 || len(me.Token.Scopes) != 1 {
		t.Fatalf("me: %+v", me)
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Errorf("the API set a cookie: %q", res.Header.Get("Set-Cookie"))
	}
}

// HEAD answers every GET route of the API as GET does, without the body,
// under the same token and scope rules, and fits the document.
func TestAPIHeadIsGetWithoutBody(t *testing.T) {
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	res := c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", "head-1"}})
	wantAPIStatus(t, res, http.StatusCreated)
	var job struct{ ID int64 }
	res.json(t, &job)
	jobPath := "/api/v1/jobs/" + strconv.FormatInt(job.ID, 10)
	for _, path := range []string{"/api/v1/openapi.json", "/api/v1/me", "/api/v1/jobs", jobPath, "/api/v1/gallery", jobPath + "/content", "/api/v1/jobs/999"} {
		get := c.do(req{method: http.MethodGet, path: path})
		head := c.do(req{method: http.MethodHead, path: path})
		if head.StatusCode != get.StatusCode || len(head.body) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes; GET: %d", path, head.StatusCode, len(head.body), get.StatusCode)
		}
		for _, h := range []string{"Content-Type", "Cache-Control"} {
			if head.Header.Get(h) != get.Header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET's %q", path, h, head.Header.Get(h), get.Header.Get(h))
			}
		}
	}
	// The same scope as GET: a gallery-only token may not list jobs.
	gallery := app.apiClient(t, spec, app.apiToken(t, u, tokens.GalleryRead))
	wantAPIStatus(t, gallery.do(req{method: http.MethodHead, path: "/api/v1/jobs"}), http.StatusForbidden)
	wantAPIStatus(t, gallery.do(req{method: http.MethodHead, path: jobPath}), http.StatusForbidden)
	wantAPIStatus(t, c.do(req{method: http.MethodHead, path: "/api/v1/me", noToken: true}), http.StatusUnauthorized)
}
