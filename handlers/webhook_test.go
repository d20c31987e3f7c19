package handlers_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"swapdesk/internal/akool"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A flood of forged webhooks is counted in full but logged in a few lines;
// a genuine webhook after it is still accepted.
func TestForgedWebhookFloodIsCountedNotLogged(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	app := newTestApp(t, pollingOnly, func(o *appOptions) {
		o.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	post := func(body []byte) int {
		t.Helper()
		res, err := http.Post(app.srv.URL+"/webhooks/akool", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	ev := akool.WebhookEvent{ID: job.AkoolID, Status: akool.StatusCompleted, Type: "character_swap", URL: "https://evil.example/x.mp4"}
	wrongKey, err := akool.NewWebhookBody(ev, app.simClientID, "WRONGSECRETKEY24CHARSxxx", 1710757981609, "1")
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(wrongKey, []byte(`"nonce":"1"`), []byte(`"nonce":"2"`), 1) // signature no longer matches
	before := strings.Count(logs.String(), "\n")
	const n = 2000
	for i := range n {
		if got := post(forged); got != http.StatusUnauthorized {
			t.Fatalf("forged webhook %d: status %d, want 401", i, got)
		}
	}
	for _, body := range [][]byte{[]byte("not json"), wrongKey} {
		if got := post(body); got != http.StatusUnauthorized {
			t.Fatalf("webhook %.20q: status %d, want 401", body, got)
		}
	}
	if lines := strings.Count(logs.String(), "\n") - before; lines > 5 {
		t.Errorf("%d forged webhooks wrote %d log lines, want at most 5:\n%s", n+2, lines, logs.String())
	}

	res, err := http.Get(app.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`swapdesk_webhook_refused_total{reason="signature"} 2000`,
		`swapdesk_webhook_refused_total{reason="malformed"} 1`,
		`swapdesk_webhook_refused_total{reason="decrypt"} 1`,
		`swapdesk_webhook_refused_total{reason="too_large"} 0`,
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	genuine, err := akool.NewWebhookBody(akool.WebhookEvent{ID: job.AkoolID, Status: akool.StatusProcessing},
		app.simClientID, app.simSecret, 1710757981609, "2")
	if err != nil {
		t.Fatal(err)
	}
	if got := post(genuine); got != http.StatusOK {
		t.Errorf("genuine webhook after the flood: status %d, want 200", got)
	}
	if got := app.webhooks(); got != 1 {
		t.Errorf("%d webhooks stored, want the genuine one", got)
	}
}
