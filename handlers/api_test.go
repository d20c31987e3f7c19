package handlers_test

import (
	"bytes"
	"net/http"
	"testing"

	"swapdesk/internal/apidoc"
	"swapdesk/internal/problem"
)

// The served document is the embedded one, public, and describes every
// route of the API.
func TestAPIOpenAPIDocument(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	spec := app.loadAPISpec(t)
	if !bytes.Equal(spec.raw, apidoc.JSON) {
		t.Fatal("served document differs from the embedded one")
	}
	want := map[string][]string{
		"/api/v1/openapi.json":      {http.MethodGet},
		"/api/v1/me":                {http.MethodGet},
		"/api/v1/estimate":          {http.MethodPost},
		"/api/v1/jobs":              {http.MethodGet, http.MethodPost},
		"/api/v1/jobs/{id}":         {http.MethodGet, http.MethodDelete},
		"/api/v1/jobs/{id}/content": {http.MethodGet},
		"/api/v1/jobs/{id}/poster":  {http.MethodGet},
		"/api/v1/gallery":           {http.MethodGet},
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
