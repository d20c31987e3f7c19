package handlers

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func refusedCount(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "swapdesk_webhook_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no swapdesk_webhook_refused_total{reason=%q}", reason)
	return 0
}

// The first refusals are logged one by one, the rest in one summary per
// minute; after a quiet minute they are logged one by one again. The test
// runs the summary timer itself and moves a fake clock.
func TestRefusedWebhooksAreLoggedAtABoundedRate(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	r := newRefusalLog(reg, slog.New(slog.NewTextHandler(logs, nil)), func() time.Time { return now })
	var due []time.Duration
	var summary func()
	r.afterFunc = func(d time.Duration, f func()) { due, summary = append(due, d), f }
	lines := func() []string { return strings.Split(strings.TrimSpace(logs.String()), "\n") }

	for range 2000 {
		r.refused(reasonSignature, "203.0.113.9", nil)
		now = now.Add(10 * time.Millisecond) // 20 s in all
	}
	r.refused(reasonDecrypt, "203.0.113.9", nil)
	if got := refusedCount(t, reg, reasonSignature); got != 2000 {
		t.Errorf("signature refusals counted: %v, want 2000", got)
	}
	if got := len(lines()); got != refusalBurst {
		t.Fatalf("2001 refusals wrote %d lines before the summary, want %d:\n%s", got, refusalBurst, logs)
	}
	if len(due) != 1 || due[0] != time.Minute-50*time.Millisecond {
		t.Fatalf("summaries scheduled: %v, want one at the end of the minute", due)
	}
	now = now.Add(40 * time.Second)
	summary()
	last := lines()[len(lines())-1]
	for _, want := range []string{"count=1996", "signature=1995", "decrypt=1", "last_ip=203.0.113.9"} {
		if !strings.Contains(last, want) {
			t.Errorf("summary %q lacks %s", last, want)
		}
	}

	// The flood goes on: its refusals go to the next summary only.
	r.refused(reasonSignature, "203.0.113.9", nil)
	if got := len(lines()); got != refusalBurst+1 {
		t.Errorf("a refusal during a continuing flood was logged on its own")
	}
	now = now.Add(time.Minute)
	summary()
	if last := lines()[len(lines())-1]; !strings.Contains(last, "count=1") {
		t.Errorf("second summary %q, want count=1", last)
	}

	// A minute later without refusals, the next is logged on its own.
	now = now.Add(2 * time.Minute)
	r.refused(reasonMalformed, "198.51.100.1", nil)
	if last := lines()[len(lines())-1]; !strings.Contains(last, "reason=malformed") || len(lines()) != refusalBurst+3 {
		t.Errorf("after a quiet minute, last line %q (of %d), want the refusal itself", last, len(lines()))
	}
}
