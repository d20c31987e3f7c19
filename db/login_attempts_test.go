package db_test

import (
	"context"
	"testing"
	"time"

	"swapdesk/db"
)

func TestLoginAttemptsWindowAllOrNoneAndGiveBack(t *testing.T) {
	t.Parallel()
	d, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ip := db.LoginLimit{Key: "ip:a", Max: 3}
	acct := db.LoginLimit{Key: "account:k", Account: "k@example.com", Max: 2}
	take := func(at time.Time, limits ...db.LoginLimit) (db.LoginTicket, bool, time.Duration) {
		t.Helper()
		tk, ok, wait, err := d.TakeLoginAttempt(ctx, limits, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tk, ok, wait
	}
	if _, ok, _ := take(t0, ip, acct); !ok {
		t.Fatal("first attempt refused")
	}
	second, ok, _ := take(t0.Add(time.Second), ip, acct)
	if !ok {
		t.Fatal("second of 2 attempts refused")
	}
	_, ok, wait := take(t0.Add(2*time.Second), ip, acct)
	if ok || wait != 58*time.Second {
		t.Fatalf("third attempt: allowed %v, wait %v; want refused, 58s", ok, wait)
	}
	// The refused attempt counted nowhere: the address has one left.
	if _, ok, _ := take(t0.Add(2*time.Second), ip); !ok {
		t.Fatal("a refused attempt was counted against the address")
	}
	if _, ok, _ := take(t0.Add(2*time.Second), ip); ok {
		t.Fatal("address allowed a 4th attempt of 3")
	}
	// An attempt given back frees its place in each count.
	if err := d.GiveBackLoginAttempt(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := take(t0.Add(3*time.Second), ip, acct); !ok {
		t.Error("refused after an attempt was given back")
	}
	// A new window starts afresh, and a ticket from the old one does not
	// uncount an attempt of the new.
	old, _, _ := take(t0.Add(4*time.Second), db.LoginLimit{Key: "w", Max: 2})
	take(t0.Add(5*time.Second), db.LoginLimit{Key: "w", Max: 2})
	w := db.LoginLimit{Key: "w", Max: 2}
	if _, ok, _ := take(t0.Add(64*time.Second), w); !ok {
		t.Fatal("refused after the window passed")
	}
	take(t0.Add(64*time.Second), w)
	if err := d.GiveBackLoginAttempt(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := take(t0.Add(64*time.Second), w); ok {
		t.Error("a ticket from an old window uncounted an attempt of the new one")
	}
	// Clearing an account forgets its counts, not the address's.
	if n, err := d.ClearLoginAttempts(ctx, "k@example.com"); err != nil || n != 0 {
		t.Errorf("clear after its window passed: %d, %v; want 0 (pruned)", n, err)
	}
	take(t0.Add(65*time.Second), acct)
	take(t0.Add(65*time.Second), acct)
	if n, err := d.ClearLoginAttempts(ctx, "k@example.com"); err != nil || n != 1 {
		t.Errorf("clear: %d, %v; want 1 count cleared", n, err)
	}
	if _, ok, _ := take(t0.Add(66*time.Second), acct); !ok {
		t.Error("refused after the account was cleared")
	}
	if err := d.ResetLoginAttempts(ctx, acct.Key); err != nil {
		t.Fatal(err)
	}
}
