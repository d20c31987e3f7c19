package handlers

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"swapdesk/static"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newBareServer is the real router and middleware with routes of the
// test's own added, for failures no real route can be made to have.
func newBareServer(t *testing.T, add func(e *echo.Echo)) (*httptest.Server, *syncBuffer) {
	t.Helper()
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s := New(Config{
		Log:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Assets:     assets,
		SessionKey: []byte("test-session-key-of-at-least-32-bytes!"),
		Registry:   prometheus.NewRegistry(),
	})
	add(s.echo)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, logs
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestFailuresAreCountedLoggedAndAnswered(t *testing.T) {
	t.Parallel()
	srv, logs := newBareServer(t, func(e *echo.Echo) {
		e.GET("/t/panic", func(echo.Context) error { panic("boom in a handler") })
		e.GET("/t/unavailable", func(echo.Context) error { return echo.ErrServiceUnavailable })
		e.GET("/t/bad-gateway", func(echo.Context) error { return echo.NewHTTPError(http.StatusBadGateway, "upstream said no") })
		e.GET("/t/late", func(c echo.Context) error {
			if err := c.String(http.StatusOK, "half a page"); err != nil {
				return err
			}
			return errors.New("failed after the response was sent")
		})
	})
	tests := []struct {
		path    string
		status  int
		heading string
		log     string
	}{
		{"/t/panic", 500, "Something went wrong", "boom in a handler"},
		{"/t/unavailable", 503, "Temporarily unavailable", `status=503`},
		{"/t/bad-gateway", 502, "Something went wrong", "upstream said no"},
		{"/t/late", 200, "", "failed after the response was sent"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(t, srv.URL+tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.heading != "" && !strings.Contains(body, "<h1>"+tt.heading+"</h1>") {
				t.Errorf("page lacks the heading %q:\n%s", tt.heading, body)
			}
			if strings.Contains(body, tt.log) && tt.status != 200 {
				t.Errorf("the page shows the internal error %q", tt.log)
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, logs.String())
			}
		})
	}
	_, metrics := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`swapdesk_http_requests_total{method="GET",route="/t/panic",status="500"} 1`,
		`swapdesk_http_requests_total{method="GET",route="/t/unavailable",status="503"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
