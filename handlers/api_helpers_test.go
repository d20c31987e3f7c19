package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"swapdesk/db"
	"swapdesk/internal/problem"
	"swapdesk/internal/tokens"
)

// apiSpec is the OpenAPI document as the server serves it, ready to
// validate requests and answers with kin-openapi's openapi3filter.
type apiSpec struct {
	doc    *openapi3.T
	router routers.Router
	raw    []byte
}

// loadAPISpec fetches /api/v1/openapi.json (public: no token) and loads it.
func (a *testApp) loadAPISpec(t testing.TB) *apiSpec {
	t.Helper()
	res, err := http.Get(a.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("the document is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiSpec{doc: doc, router: router, raw: raw}
}

// apiClient calls the API with one bearer token, no cookies and no
// redirects, and checks every request it means to be valid and every
// answer against the served OpenAPI document.
type apiClient struct {
	t     testing.TB
	app   *testApp
	spec  *apiSpec
	token string
	http  *http.Client
}

// apiToken makes a token for u with scopes (all when none).
func (a *testApp) apiToken(t testing.TB, u db.User, scopes ...string) string {
	t.Helper()
	if len(scopes) == 0 {
		scopes = tokens.AllScopes
	}
	cr, err := a.tokens.Create(context.Background(), u.ID, u.ID, tokens.Request{Name: "test", Scopes: scopes, Days: "30", FormKey: tokens.NewFormKey()}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return cr.Secret
}

func (a *testApp) apiClient(t testing.TB, spec *apiSpec, token string) *apiClient {
	return &apiClient{t: t, app: a, spec: spec, token: token, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// apiResponse is an answer, its body read.
type apiResponse struct {
	*http.Response
	body []byte
}

func (r *apiResponse) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: decode %q: %v", r.Request.Method, r.Request.URL, snippet(string(r.body)), err)
	}
}

// problem decodes a problem answer and checks its media type.
func (r *apiResponse) problem(t testing.TB) problem.Details {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("%s %s: Content-Type %q, want %s\n%s", r.Request.Method, r.Request.URL, ct, problem.ContentType, snippet(string(r.body)))
	}
	var p problem.Details
	r.json(t, &p)
	return p
}

// req is one API request.
type req struct {
	method, path string
	body         any // marshalled as JSON unless a string or []byte
	header       []string
	// invalid marks a request that breaks the document on purpose: only
	// its answer is validated.
	invalid bool
	// noToken sends no Authorization header.
	noToken bool
}

func (c *apiClient) do(r req) *apiResponse {
	c.t.Helper()
	res, err := c.try(r)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// try is do for other goroutines: it returns what do would fail with.
func (c *apiClient) try(r req) (*apiResponse, error) {
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return nil, err
		}
	}
	hr, _ := http.NewRequest(r.method, c.app.srv.URL+r.path, bytes.NewReader(body))
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if !r.noToken {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(r.header); i += 2 {
		if r.header[i+1] == "" {
			hr.Header.Del(r.header[i])
			continue
		}
		hr.Header.Set(r.header[i], r.header[i+1])
	}
	route, params, routeErr := c.spec.router.FindRoute(hr)
	var in *openapi3filter.RequestValidationInput
	if routeErr == nil {
		in = &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if !r.invalid {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				return nil, fmt.Errorf("%s %s: the request does not fit the OpenAPI document: %v", r.method, r.path, err)
			}
			hr.Body = io.NopCloser(bytes.NewReader(body))
		}
	} else if !r.invalid {
		return nil, fmt.Errorf("%s %s: not in the OpenAPI document: %v", r.method, r.path, routeErr)
	}
	res, err := c.http.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	out := &apiResponse{Response: res, body: b}
	if err := c.spec.checkAnswer(in, out); err != nil {
		return nil, fmt.Errorf("%s %s: %d answer does not fit the OpenAPI document: %v\n%s", r.method, r.path, res.StatusCode, err, snippet(string(b)))
	}
	return out, nil
}

// checkAnswer validates an answer against its operation; answers of
// routes outside the document (unknown paths, other methods) must be
// problems fitting the Problem schema.
func (s *apiSpec) checkAnswer(in *openapi3filter.RequestValidationInput, res *apiResponse) error {
	if in == nil || res.Request.Method == http.MethodHead {
		if ct := res.Header.Get("Content-Type"); res.StatusCode >= 400 && ct != problem.ContentType {
			return fmt.Errorf("content type %q", ct)
		}
		if res.StatusCode < 400 || res.Request.Method == http.MethodHead {
			return nil
		}
		var v any
		if err := json.Unmarshal(res.body, &v); err != nil {
			return err
		}
		return s.doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(res.body)
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// wantAPIStatus fails unless res has status want.
func wantAPIStatus(t testing.TB, res *apiResponse, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: got %d, want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, snippet(string(res.body)))
	}
}

// wantProblem fails unless res is a problem of type ty, and returns it.
func wantProblem(t testing.TB, res *apiResponse, ty problem.Type) problem.Details {
	t.Helper()
	wantAPIStatus(t, res, ty.Status)
	p := res.problem(t)
	if p.Type != ty.URI() || p.Status != ty.Status || p.Title != ty.Title || p.Detail == "" || p.Instance != res.Request.URL.Path {
		t.Fatalf("%s %s: problem %+v, want type %s", res.Request.Method, res.Request.URL.Path, p, ty.URI())
	}
	return p
}

// fieldsOf lists a problem's fields.
func fieldsOf(p problem.Details) string {
	var f []string
	for _, e := range p.Errors {
		f = append(f, e.Field)
	}
	return strings.Join(f, ",")
}

// apiBody is a valid job body for the test media server.
func (a *testApp) apiBody() map[string]any {
	return map[string]any{"image_url": a.media.url("/character.png"), "video_url": a.media.url("/motion.mp4"),
		"mode": "animate", "resolution": "720p"}
}

// writes is what a request could write that matters here: jobs, and
// member u's ledger lines and balance.
type writes struct {
	jobs, ledger int
	balance      db.Balance
}

func (a *testApp) writes(t testing.TB, u db.User) writes {
	t.Helper()
	ctx := context.Background()
	n, err := a.store.CountJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.store.LedgerForUser(ctx, u.ID, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return writes{jobs: n, ledger: len(l), balance: a.balance(u.ID)}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
