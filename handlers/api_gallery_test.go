package handlers_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"swapdesk/internal/problem"
	"swapdesk/internal/tokens"
)

type apiGalleryPage struct {
	Data []struct {
		ID    int64
		Owner struct {
			ID   int64
			Name string
		}
		Mode, Resolution, Prompt string
		Hidden                   bool
		URLs                     struct{ Content, Poster, Page string }
	}
	NextCursor *string `json:"next_cursor"`
	Next       *string
}

// The API's gallery is the page's: the same results, filters, search,
// visibility and signed cursors.
func TestAPIGallery(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, ana := app.member("ana@example.com", 0)
	_, bo := app.member("bo@example.com", 0)
	var seed []galleryJob
	for i := range 30 {
		j := galleryJob{owner: ana.ID, prompt: "cold", created: app.clock.Now().Add(-time.Duration(60-i) * time.Minute)}
		if i%2 == 0 {
			j.prompt = fmt.Sprintf("warm light %d", i)
		}
		if i%3 == 0 {
			j.mode, j.res = "replace", "1080p"
		}
		seed = append(seed, j)
	}
	seed = append(seed, galleryJob{owner: bo.ID, prompt: "bo's", hidden: true}, galleryJob{owner: bo.ID, failed: true},
		galleryJob{owner: bo.ID, deleted: true})
	ids := seedGallery(t, app, seed...)
	prompts := map[int64]string{}
	for i, id := range ids {
		prompts[id] = seed[i].prompt
	}
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, ana, tokens.GalleryRead))

	walk := func(query string) (got []int64) {
		next := "/api/v1/gallery" + query
		for pages := 0; next != "" && pages < 10; pages++ {
			res := c.do(req{method: http.MethodGet, path: next})
			wantAPIStatus(t, res, http.StatusOK)
			var p apiGalleryPage
			res.json(t, &p)
			for _, d := range p.Data {
				got = append(got, d.ID)
				if d.URLs.Content != app.srv.URL+"/api/v1/jobs/"+strconv.FormatInt(d.ID, 10)+"/content" || d.Owner.Name == "" ||
					d.Prompt != prompts[d.ID] {
					t.Errorf("item %+v", d)
				}
			}
			next = ""
			if p.Next != nil {
				next = strings.TrimPrefix(*p.Next, app.srv.URL)
			}
		}
		return got
	}
	// Ana's 30, newest first, over two pages; bo's hidden, failed and
	// deleted ones are not hers to see.
	if got, want := walk(""), rev(ids[:30]...); !slices.Equal(got, want) {
		t.Errorf("gallery %v, want %v", got, want)
	}
	var replace []int64
	for i := 0; i < 30; i += 3 {
		replace = append(replace, ids[i])
	}
	if got := walk("?mode=replace&resolution=1080p"); !slices.Equal(got, rev(replace...)) {
		t.Errorf("replace 1080p %v, want %v", got, rev(replace...))
	}
	if got := walk("?q=warm&member=" + strconv.FormatInt(ana.ID, 10)); len(got) != 15 {
		t.Errorf("search warm: %d results, want 15", len(got))
	}
	var warm []int64
	for i := 0; i < 30; i += 2 {
		warm = append(warm, ids[i])
	}
	if got := walk("?q=warm&sort=newest"); !slices.Equal(got, rev(warm...)) {
		t.Errorf("search warm, newest first: %v, want %v", got, rev(warm...))
	}
	if got := walk("?fav=1"); len(got) != 0 {
		t.Errorf("favorites: %v", got)
	}
	// Bad filters are a 422 naming each; a changed cursor a 400.
	p := wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/gallery?mode=dance&resolution=4k&from=yesterday&fav=2&member=999"}),
		problem.Invalid)
	if got := fieldsOf(p); got != "mode,resolution,fav,from,member" {
		t.Errorf("fields %q", got)
	}
	p = wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/gallery?q=warm&sort=oldest", invalid: true}), problem.Invalid)
	if got := fieldsOf(p); got != "sort" {
		t.Errorf("fields %q", got)
	}
	res := c.do(req{method: http.MethodGet, path: "/api/v1/gallery"})
	var first apiGalleryPage
	res.json(t, &first)
	cur := *first.NextCursor
	for _, bad := range []string{cur[:len(cur)-3] + "AAA", "d.1.2", "abc"} {
		wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/gallery?cursor=" + bad}), problem.BadRequest)
	}
	// A cursor holds only for the filters it was made with.
	wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/gallery?mode=animate&cursor=" + cur}), problem.BadRequest)
	// Bo sees his hidden one.
	bc := app.apiClient(t, spec, app.apiToken(t, bo, tokens.GalleryRead))
	res = bc.do(req{method: http.MethodGet, path: "/api/v1/gallery?member=" + strconv.FormatInt(bo.ID, 10)})
	var bos apiGalleryPage
	res.json(t, &bos)
	if len(bos.Data) != 1 || !bos.Data[0].Hidden {
		t.Errorf("bo's own: %s", res.body)
	}
}

// Every answer under /api/v1 is a problem: unknown routes, other methods,
// HEAD, and the OpenAPI document needs no token.
func TestAPIRoutesAnswerProblems(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 0)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	for _, path := range []string{"/api/v1", "/api/v1/nope", "/api/v1/jobs/1/nope", "/api/v1/me/"} {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
			res := c.do(req{method: m, path: path, invalid: true})
			if path == "/api/v1/me/" && m == http.MethodGet {
				// The trailing slash is redirected away, as everywhere.
				wantAPIStatus(t, res, http.StatusPermanentRedirect)
				continue
			}
			if path == "/api/v1/me/" {
				continue
			}
			wantProblem(t, res, problem.NotFound)
		}
	}
	for _, tt := range []struct{ method, path, allow string }{
		{http.MethodPut, "/api/v1/jobs", "GET, HEAD, POST"},
		{http.MethodPatch, "/api/v1/jobs/1", "DELETE, GET, HEAD"},
		{http.MethodPost, "/api/v1/me", "GET, HEAD"},
		{http.MethodGet, "/api/v1/estimate", "POST"},
		{http.MethodDelete, "/api/v1/gallery", "GET, HEAD"},
		{http.MethodPost, "/api/v1/openapi.json", "GET, HEAD"},
	} {
		res := c.do(req{method: tt.method, path: tt.path, invalid: true})
		if tt.path == "/api/v1/openapi.json" {
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Content-Type") != problem.ContentType {
				t.Errorf("%s %s: %d %q", tt.method, tt.path, res.StatusCode, res.Header.Get("Content-Type"))
			}
			continue
		}
		wantProblem(t, res, problem.MethodNotAllowed)
		if got := res.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	// HEAD of a problem: its status and type, no body.
	res := c.do(req{method: http.MethodHead, path: "/api/v1/jobs/999/content", invalid: true})
	if res.StatusCode != http.StatusNotFound || len(res.body) != 0 || res.Header.Get("Content-Type") != problem.ContentType {
		t.Errorf("HEAD: %d, %d bytes, %q", res.StatusCode, len(res.body), res.Header.Get("Content-Type"))
	}
	// The document is public.
	res = c.do(req{method: http.MethodGet, path: "/api/v1/openapi.json", noToken: true})
	wantAPIStatus(t, res, http.StatusOK)
}
