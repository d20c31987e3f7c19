package handlers

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"swapdesk/internal/apidoc"
	"swapdesk/internal/urls"
)

// The OpenAPI document lists exactly the operations the router serves
// under /api/v1, read from the router itself: a route added without its
// operation, or an operation left after its route went, fails here. A
// method is served when the router does not answer it with 405; HEAD is
// served wherever GET is.
func TestAPIDocumentMatchesRouter(t *testing.T) {
	s := New(Config{SessionKey: []byte("test-session-key-of-at-least-32-bytes!"), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: prometheus.NewRegistry()})
	served := map[string][]string{} // document path -> methods
	for _, r := range s.echo.Routes() {
		if !strings.HasPrefix(r.Path, urls.RouteAPI+"/") || strings.HasSuffix(r.Path, "*") {
			continue
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(r.Method, strings.ReplaceAll(r.Path, ":id", "1"), nil))
		if rec.Code == http.StatusMethodNotAllowed {
			continue
		}
		p := strings.ReplaceAll(r.Path, ":id", "{id}")
		served[p] = append(served[p], r.Method)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(apidoc.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" || m == "summary" || m == "description" || m == "servers" {
				continue
			}
			documented[p] = append(documented[p], strings.ToUpper(m))
		}
	}
	if len(served) == 0 {
		t.Fatal("no API routes found")
	}
	for p := range served {
		slices.Sort(served[p])
	}
	for p := range documented {
		slices.Sort(documented[p])
	}
	for p, ms := range served {
		if got := documented[p]; !slices.Equal(got, ms) {
			t.Errorf("%s: served %v, documented %v", p, ms, got)
		}
		if slices.Contains(ms, http.MethodGet) != slices.Contains(ms, http.MethodHead) {
			t.Errorf("%s: served %v: HEAD goes with GET", p, ms)
		}
	}
	for p, ms := range documented {
		if _, ok := served[p]; !ok {
			t.Errorf("%s: documented %v, not served", p, ms)
		}
	}
}
