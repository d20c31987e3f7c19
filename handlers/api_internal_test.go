package handlers

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"swapdesk/internal/problem"
)

// A panic or an unexpected error under /api/v1 is a 500 problem carrying
// the request id, and the cause is logged, not sent.
func TestAPIPanicsAndErrorsAreInternalProblems(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	s := New(Config{SessionKey: []byte("test-session-key-of-at-least-32-bytes!"), Log: slog.New(slog.NewTextHandler(&logged, nil)),
		Registry: prometheus.NewRegistry()})
	s.echo.GET("/api/v1/panic", func(echo.Context) error { panic("secret detail") })
	s.echo.GET("/api/v1/fail", func(echo.Context) error { return echoErr("database on fire") })
	for _, path := range []string{"/api/v1/panic", "/api/v1/fail"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != problem.ContentType {
			t.Fatalf("%s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		var p problem.Details
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		id := rec.Header().Get(echo.HeaderXRequestID)
		if p.Type != problem.Internal.URI() || p.Status != 500 || p.Instance != path || !strings.Contains(p.Detail, id) || id == "" {
			t.Errorf("%s: %+v (request id %q)", path, p, id)
		}
		if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "fire") {
			t.Errorf("%s: the cause reached the client: %s", path, rec.Body)
		}
	}
	if !strings.Contains(logged.String(), "secret detail") || !strings.Contains(logged.String(), "database on fire") {
		t.Errorf("causes not logged:\n%s", logged.String())
	}
}

type echoErr string

func (e echoErr) Error() string { return string(e) }

func TestAPIPreferWaitHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		headers []string
		want    int
		ok      bool
	}{
		{nil, 0, false},
		{[]string{"wait=5"}, 5, true},
		{[]string{"respond-async, wait=10"}, 10, true},
		{[]string{"handling=lenient", "Wait = 7"}, 7, true},
		{[]string{`wait="3"`}, 3, true},
		{[]string{"wait=61"}, 60, true},
		{[]string{"wait=0"}, 0, true},
		{[]string{"wait=soon"}, 0, false},
		{[]string{"wait=-1"}, 0, false},
		{[]string{"return=minimal"}, 0, false},
	} {
		got, ok := preferWait(tt.headers)
		if got != tt.want || ok != tt.ok {
			t.Errorf("preferWait(%q) = %d, %v; want %d, %v", tt.headers, got, ok, tt.want, tt.ok)
		}
	}
}
