package credits_test

import (
	"context"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/credits"
)

func (e *env) allowances() *credits.Allowances {
	return credits.NewAllowances(e.store, func() time.Time { return e.now }, nil)
}

func (e *env) setZone(name string) {
	e.t.Helper()
	if _, err := e.store.SettingOrCreate(context.Background(), db.SettingTeamTimeZone, func() (string, error) { return name, nil }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) apply(a *credits.Allowances) int {
	e.t.Helper()
	n, err := a.Apply(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) allowanceLines(id int64) []db.LedgerEntry {
	e.t.Helper()
	all, err := e.store.LedgerPage(context.Background(), id, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []db.LedgerEntry
	for _, l := range all {
		if l.Kind == db.LedgerAllowance {
			out = append(out, l)
		}
	}
	return out
}

// TestAllowanceOncePerMonthAcrossRestarts: the top-up happens once per
// member per month however often Apply runs (a second server, a restart),
// and again in the next month, even when the server only comes back days
// later; it never takes credits away.
func TestAllowanceOncePerMonthAcrossRestarts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.now = time.Date(2026, 10, 20, 12, 0, 0, 0, time.UTC)
	m := e.member("a@example.com")
	rich := e.member("rich@example.com")
	a1, a2 := e.allowances(), e.allowances() // two servers on one database
	for _, id := range []int64{m.ID, rich.ID} {
		if err := a1.SetAllowance(ctx, 0, id, 100, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Set mid-October: the first top-up is in November, not now.
	if n := e.apply(a1); n != 0 || e.balance(m.ID).Available != 0 {
		t.Fatalf("apply in the month the allowance was set topped up %d members, want 0", n)
	}
	e.now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	if _, err := e.store.Grant(ctx, m.ID, 0, db.LedgerGrant, 30, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Grant(ctx, rich.ID, 0, db.LedgerGrant, 500, ""); err != nil {
		t.Fatal(err)
	}
	if n := e.apply(a1); n != 1 {
		t.Fatalf("first apply topped up %d members, want 1", n)
	}
	for range 3 {
		e.apply(a2)
		e.apply(a1)
	}
	if got := e.balance(m.ID).Available; got != 100 {
		t.Errorf("after November's top-up: available %d, want 100", got)
	}
	if got := e.balance(rich.ID).Available; got != 500 {
		t.Errorf("a member above the allowance: available %d, want 500 (nothing taken away)", got)
	}
	if got := len(e.allowanceLines(m.ID)); got != 1 {
		t.Errorf("allowance lines %d, want 1", got)
	}
	// Spend 70, then the server is down over the month end and starts
	// three days later.
	j, err := e.hold(m.ID, 70, "720p")
	if err != nil {
		t.Fatal(err)
	}
	e.now = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	e.apply(a1)
	e.apply(a2)
	if got := e.balance(m.ID); got.Available != 100 || got.Held != 70 {
		t.Errorf("after December's top-up: %+v, want 100 available and 70 held", got)
	}
	lines := e.allowanceLines(m.ID)
	if len(lines) != 2 || lines[0].Amount != 70 || lines[0].Note != "Monthly allowance 2026-12" {
		t.Errorf("allowance lines %+v, want a second of 70 for 2026-12", lines)
	}
	_ = j
	if bad, err := e.store.CheckBalances(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("balances differ from the ledger: %+v %v", bad, err)
	}
}

// TestAllowanceMonthStartsInTheTeamsTimeZone: the month turns at local
// midnight of the team's zone, including across a DST change.
func TestAllowanceMonthStartsInTheTeamsTimeZone(t *testing.T) {
	for _, tc := range []struct {
		zone         string
		before, at   time.Time // just before and at the local month start
		wantPeriodAt string
	}{
		// Berlin is UTC+1 in winter: December starts at 23:00 UTC on 30 Nov.
		{"Europe/Berlin", time.Date(2026, 11, 30, 22, 59, 59, 0, time.UTC), time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC), "2026-12"},
		// New York: April starts at 04:00 UTC (EDT, after March's DST change).
		{"America/New_York", time.Date(2026, 4, 1, 3, 59, 0, 0, time.UTC), time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC), "2026-04"},
		// Berlin's November (after October's change back, UTC+1) starts at 23:00 UTC on 31 Oct.
		{"Europe/Berlin", time.Date(2026, 10, 31, 22, 30, 0, 0, time.UTC), time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), "2026-11"},
		// Auckland is ahead of UTC: January starts on 31 Dec at 11:00 UTC (NZDT).
		{"Pacific/Auckland", time.Date(2026, 12, 31, 10, 59, 0, 0, time.UTC), time.Date(2026, 12, 31, 11, 0, 0, 0, time.UTC), "2027-01"},
		{"", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2027-01"},
	} {
		t.Run(tc.zone+" "+tc.wantPeriodAt, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if tc.zone != "" {
				e.setZone(tc.zone)
			}
			m := e.member("a@example.com")
			a := e.allowances()
			e.now = tc.before.Add(-40 * 24 * time.Hour) // the month before
			if err := a.SetAllowance(ctx, 0, m.ID, 50, ""); err != nil {
				t.Fatal(err)
			}
			e.now = tc.before.Add(-24 * time.Hour)
			e.apply(a)
			// Spend it all, so the next month's top-up is visible.
			if _, err := e.store.Grant(ctx, m.ID, 0, db.LedgerAdjust, -50, ""); err != nil {
				t.Fatal(err)
			}
			e.now = tc.before
			if n := e.apply(a); n != 0 {
				t.Fatalf("at %v (%s) topped up %d, want 0: the month has not turned there yet", tc.before, tc.zone, n)
			}
			e.now = tc.at
			if n := e.apply(a); n != 1 {
				t.Fatalf("at %v topped up %d, want 1", tc.at, n)
			}
			lines := e.allowanceLines(m.ID)
			if len(lines) != 2 {
				t.Fatalf("allowance lines %+v, want 2", lines)
			}
			if got := lines[0].Note; got != "Monthly allowance "+tc.wantPeriodAt {
				t.Errorf("note %q, want the period %s", got, tc.wantPeriodAt)
			}
			loc := credits.TeamLocation(ctx, e.store)
			if got := credits.NextTopUp(tc.before, loc); !got.Equal(tc.at) {
				t.Errorf("NextTopUp(%v) = %v, want %v", tc.before, got, tc.at)
			}
		})
	}
}

func TestAllowanceValidationAndUsage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.member("a@example.com")
	a := e.allowances()
	for _, v := range []int64{-1, credits.MaxChange + 1} {
		if err := a.SetAllowance(ctx, 0, m.ID, v, ""); fieldErr(err, credits.FieldMonthly) == "" {
			t.Errorf("SetAllowance(%d): %v, want a field error", v, err)
		}
	}
	for _, s := range []string{"1.5", "abc", "1e3", "-3", "99999999999999999999"} {
		if _, err := credits.ParseMonthly(s); fieldErr(err, credits.FieldMonthly) == "" {
			t.Errorf("ParseMonthly(%q): %v, want a field error", s, err)
		}
	}
	if got, _ := e.store.Allowance(ctx, m.ID); got != 0 {
		t.Errorf("allowance after refusals %d, want 0", got)
	}
	for _, tc := range []struct {
		monthly, avail, held, spent int64
		want                        credits.Usage
	}{
		{0, 0, 0, 0, credits.UsageOK},
		{100, 30, 0, 70, credits.UsageOK},
		{100, 20, 0, 80, credits.UsageWarning},
		{100, 10, 40, 50, credits.UsageWarning},
		{100, 0, 0, 100, credits.UsageBlocked},
		{100, 0, 10, 90, credits.UsageBlocked},
		{100, 5, 0, 100, credits.UsageWarning}, // granted more: not blocked
	} {
		got := credits.AllowanceUsage(tc.monthly, db.Balance{Available: tc.avail, Held: tc.held}, tc.spent)
		if got != tc.want {
			t.Errorf("AllowanceUsage(%+v) = %v, want %v", tc, got, tc.want)
		}
	}
}

// TestSpentSinceMatchesTheLedger: "spent since" (a month start in any zone)
// sums day rows kept by a trigger plus one partial day from the ledger;
// it equals the charges' sum for starts on and off UTC midnights.
func TestSpentSinceMatchesTheLedger(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.member("a@example.com")
	if _, err := e.store.Grant(ctx, m.ID, 0, db.LedgerGrant, 100000, ""); err != nil {
		t.Fatal(err)
	}
	type charge struct {
		at     time.Time
		amount int64
	}
	var charges []charge
	base := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for i := range 40 {
		e.now = base.Add(time.Duration(i*157) * time.Minute) // about 4 days, crossing midnights
		j, err := e.hold(m.ID, 50, "720p")
		if err != nil {
			t.Fatal(err)
		}
		got := int64(5 * (1 + i%7))
		e.finish(j, credits.Outcome{Succeeded: true, Reported: &got})
		charges = append(charges, charge{e.now, got})
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	for _, since := range []time.Time{
		base, base.Add(-time.Hour), base.Add(23 * time.Hour), base.Add(36*time.Hour + 30*time.Minute),
		credits.MonthStart(base.Add(72*time.Hour), berlin), credits.MonthStart(base.Add(72*time.Hour), kolkata),
		base.Add(10 * 24 * time.Hour),
	} {
		var want int64
		for _, c := range charges {
			if !c.at.Before(since) {
				want += c.amount
			}
		}
		got, err := e.store.SpentSince(ctx, m.ID, since)
		if err != nil || got != want {
			t.Errorf("SpentSince(%v) = %d, %v; want %d", since, got, err, want)
		}
		rows, err := e.store.Members(ctx, since, db.SortName, false)
		if err != nil || len(rows) != 1 || rows[0].SpentThisMonth != want {
			t.Errorf("Members(%v): %+v, %v; want spent %d", since, rows, err, want)
		}
	}
}
