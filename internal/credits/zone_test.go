package credits_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
)

func TestTeamZoneDefaultsToUTCAndRoundTrips(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	loc := credits.TeamLocation(ctx, e.store)
	if loc != time.UTC {
		var err error
		t.Fatalf("no setting: got %v, %v; want UTC", loc, err)
	}
	admin := e.member("admin@example.com")
	if _, err := credits.SetTeamZone(ctx, e.store, admin.ID, "192.0.2.1", "Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	loc = credits.TeamLocation(ctx, e.store)
	if loc.String() != "Europe/Berlin" {
		var err error
		t.Fatalf("got %v, %v; want Europe/Berlin", loc, err)
	}
	audit, _ := e.store.RecentAudit(ctx, 1)
	if len(audit) != 1 || audit[0].Action != credits.AuditTeamZone || audit[0].ActorID != admin.ID || audit[0].IP != "192.0.2.1" {
		t.Errorf("audit %+v", audit)
	}
}

func TestSetTeamZoneRefusesUnknownZones(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, name := range []string{"", "  ", "Local", "Mars/Olympus", "Europe/Berlin/..", "../../../etc/passwd", string(make([]byte, 100))} {
		_, err := credits.SetTeamZone(ctx, e.store, 0, "", name)
		var inv *apperr.Invalid
		if !errors.As(err, &inv) || inv.Fields[credits.FieldTimeZone] == "" {
			t.Errorf("%q: got %v, want a message at %s", name, err, credits.FieldTimeZone)
		}
	}
	if _, err := e.store.Setting(ctx, db.SettingTeamTimeZone); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("something was stored: %v", err)
	}
	if a, _ := e.store.RecentAudit(ctx, 1); len(a) != 0 {
		t.Errorf("audited: %+v", a)
	}
}

func TestProjectMonth(t *testing.T) {
	utc := time.UTC
	for _, tc := range []struct {
		spent int64
		now   time.Time
		want  int64
	}{
		{0, time.Date(2026, 11, 16, 0, 0, 0, 0, utc), 0},
		{150, time.Date(2026, 11, 16, 0, 0, 0, 0, utc), 300}, // half of November
		{100, time.Date(2026, 2, 15, 0, 0, 0, 0, utc), 200},  // half of February
		{10, time.Date(2026, 11, 1, 0, 0, 0, 0, utc), 10},    // no time elapsed
		{31, time.Date(2026, 12, 31, 0, 0, 0, 0, utc), 32},   // 30 days of 31
	} {
		if got := credits.ProjectMonth(tc.spent, tc.now, utc); got != tc.want {
			t.Errorf("ProjectMonth(%d, %v): got %d, want %d", tc.spent, tc.now, got, tc.want)
		}
	}
}

func TestReconcile(t *testing.T) {
	r := credits.Reconcile(credits.Totals{Available: 700, Held: 100}, 500)
	if r.Promised != 800 || r.Shortfall != 300 || !r.Over() {
		t.Errorf("got %+v", r)
	}
	r = credits.Reconcile(credits.Totals{Available: 700, Held: 100}, 800)
	if r.Shortfall != 0 || r.Over() {
		t.Errorf("got %+v", r)
	}
}

// The Akool balance is fetched once per TTL, concurrent misses share one
// fetch, and failures are kept for a shorter time.
func TestAccountBalanceCachesAndSharesOneFetch(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	calls := 0
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var fail error
	acct := credits.NewAccountBalance(func(ctx context.Context) (float64, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		started <- struct{}{}
		<-release
		return 42, fail
	}, clock)

	var wg sync.WaitGroup
	results := make(chan float64, 8)
	for range 8 {
		wg.Go(func() {
			a, err := acct.Get(context.Background())
			if err != nil {
				t.Error(err)
			}
			results <- a.Credit
		})
	}
	<-started
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		if r != 42 {
			t.Errorf("got %v", r)
		}
	}
	if calls != 1 {
		t.Errorf("8 concurrent gets made %d fetches, want 1", calls)
	}
	release = make(chan struct{})
	close(release)
	advance(credits.AccountCacheTTL - time.Second)
	acct.Get(context.Background())
	if calls != 1 {
		t.Errorf("fetched again within the TTL")
	}
	advance(2 * time.Second)
	fail = errors.New("akool down")
	if _, err := acct.Get(context.Background()); err == nil {
		t.Error("the failure was not returned")
	}
	<-started
	if calls != 2 {
		t.Errorf("calls %d, want 2", calls)
	}
	fail = nil
	acct.Get(context.Background())
	if calls != 2 {
		t.Error("a failure was not kept for a while")
	}
	advance(credits.AccountFailTTL)
	if a, err := acct.Get(context.Background()); err != nil || a.Credit != 42 || calls != 3 {
		t.Errorf("after the failure TTL: %v, %v, %d calls", a, err, calls)
	}
}
