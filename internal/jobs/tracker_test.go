package jobs

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	base, max := 5*time.Second, 60*time.Second
	for n := range 40 {
		raw := base << min(n, 20)
		lo, hi := min(raw, max)*8/10, min(raw*12/10, max)
		for range 200 {
			if got := Backoff(base, max, n); got < lo || got > hi {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, got, lo, hi)
			}
		}
	}
	// Capped delays still spread out.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[Backoff(base, max, 10).Round(time.Second)] = true
	}
	if len(seen) < 3 {
		t.Errorf("capped backoff takes %d values, want a spread", len(seen))
	}
}
