package ratelimit_test

import (
	"testing"
	"time"

	"swapdesk/internal/ratelimit"
)

func TestKeyedBucketsAreSeparateAndRefill(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	k := ratelimit.New(2, 3) // 2 a second, bursts of 3
	for i := range 3 {
		if _, ok := k.Allow(1, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	wait, ok := k.Allow(1, now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: ok %v, wait %v; want a refusal and 500ms", ok, wait)
	}
	// A refusal takes nothing: half a second later exactly one is back.
	if _, ok := k.Allow(1, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused after the wait it gave")
	}
	if _, ok := k.Allow(1, now.Add(500*time.Millisecond)); ok {
		t.Fatal("two allowed after half a second")
	}
	// Another key has its own bucket.
	if _, ok := k.Allow(2, now); !ok {
		t.Fatal("another key refused")
	}
	// Idle buckets are forgotten and come back full.
	later := now.Add(2 * time.Minute)
	for i := range 3 {
		if _, ok := k.Allow(1, later); !ok {
			t.Fatalf("after idling, request %d refused", i+1)
		}
	}
}

func TestNilAllowsAll(t *testing.T) {
	var k *ratelimit.Keyed
	if _, ok := k.Allow(1, time.Now()); !ok {
		t.Fatal("a nil limiter refused")
	}
}
