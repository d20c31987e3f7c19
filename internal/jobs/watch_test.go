package jobs

import (
	"testing"
	"time"
)

func TestWatchWakesWaitersOfThatJobOnly(t *testing.T) {
	w := NewWatch()
	a, stopA := w.Wait(1)
	b, stopB := w.Wait(2)
	defer stopB()
	w.Changed(1)
	select {
	case <-a:
	case <-time.After(time.Second):
		t.Fatal("waiter of job 1 not woken")
	}
	select {
	case <-b:
		t.Fatal("waiter of job 2 woken by job 1")
	default:
	}
	stopA() // after the wake-up: harmless
	stopB()
	if len(w.waiters) != 0 {
		t.Fatalf("waiters left: %v", w.waiters)
	}
	var nilWatch *Watch
	nilWatch.Changed(3)
}

func TestClientKey(t *testing.T) {
	k1, err := ClientKey("batch-2026-12-01/char-07")
	if err != nil || len(k1) != 47 || k1[:4] != "api_" {
		t.Fatalf("got %q, %v", k1, err)
	}
	if k2, _ := ClientKey("batch-2026-12-01/char-08"); k2 == k1 {
		t.Fatal("two keys, one stored key")
	}
	for _, bad := range []string{"", string(make([]byte, 256)), "tab\there", "é"} {
		if _, err := ClientKey(bad); err == nil {
			t.Errorf("ClientKey(%q): no error", bad)
		}
	}
	long := make([]byte, 255)
	for i := range long {
		long[i] = 'k'
	}
	if _, err := ClientKey(string(long)); err != nil {
		t.Errorf("255 chars: %v", err)
	}
}
