package credits_test

import (
	"context"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/credits"
)

// Days and months are the team's calendar's, not UTC's: New York's
// 1 November 2026 lasts 25 hours (clocks go back), and a charge late on
// 31 October there is November in UTC.
func TestSpendByDayAndTotalsFollowTheTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	e := newEnv(t)
	ctx := context.Background()
	ana, bo := e.member("ana@example.com"), e.member("bo@example.com")
	for _, id := range []int64{ana.ID, bo.ID} {
		if _, err := e.svc.Grant(ctx, credits.Change{MemberID: id, Amount: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	charge := func(at time.Time, member int64, resolution string, credit int64) {
		t.Helper()
		e.now = at
		j, err := e.hold(member, credit, resolution)
		if err != nil {
			t.Fatal(err)
		}
		e.finish(j, credits.Outcome{Succeeded: true})
	}
	charge(time.Date(2026, 10, 31, 22, 0, 0, 0, ny), ana.ID, "720p", 10) // 1 Nov 02:00 UTC
	charge(time.Date(2026, 11, 1, 23, 30, 0, 0, ny), ana.ID, "480p", 5)  // 25 h after 1 Nov 00:00 would be 2 Nov
	charge(time.Date(2026, 11, 2, 10, 0, 0, 0, ny), bo.ID, "1080p", 15)
	charge(time.Date(2026, 11, 2, 11, 0, 0, 0, ny), ana.ID, "1080p", 30)
	e.now = time.Date(2026, 11, 2, 15, 0, 0, 0, ny)

	days, err := e.svc.SpendByDay(ctx, 3, ny, credits.ByResolution)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		day   string
		total int64
		parts map[string]int64
	}{
		{"2026-10-31", 10, map[string]int64{"720p": 10}},
		{"2026-11-01", 5, map[string]int64{"480p": 5}},
		{"2026-11-02", 45, map[string]int64{"1080p": 45}},
	}
	if len(days) != len(want) {
		t.Fatalf("%d days, want %d", len(days), len(want))
	}
	for i, w := range want {
		d := days[i]
		got := map[string]int64{}
		for _, p := range d.Parts {
			got[p.Resolution] += p.Credits
		}
		if d.Day.Format("2006-01-02") != w.day || d.Day.Location() != ny || d.Day.Hour() != 0 || d.Total != w.total || !equal(got, w.parts) {
			t.Errorf("day %d: %s total %d parts %v; want %s total %d parts %v", i, d.Day, d.Total, got, w.day, w.total, w.parts)
		}
	}

	byMember, err := e.svc.SpendByDay(ctx, 1, ny, credits.ByMember)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int64{}
	for _, p := range byMember[0].Parts {
		got[p.UserID] += p.Credits
	}
	if len(byMember) != 1 || got[ana.ID] != 30 || got[bo.ID] != 15 {
		t.Errorf("today by member: %+v", byMember)
	}

	// The top spender of today, and everyone else as Others.
	top, err := e.svc.TopSpendByDay(ctx, 1, ny, 1)
	if err != nil || len(top) != 1 || len(top[0].Parts) != 1 || top[0].Parts[0].UserID != ana.ID ||
		top[0].Parts[0].Credits != 30 || top[0].Others != 15 || top[0].Total != 45 {
		t.Errorf("today's top spender: %+v, %v; want ana 30, others 15", top, err)
	}

	tot, err := e.svc.TeamTotals(ctx, ny)
	if err != nil {
		t.Fatal(err)
	}
	if want := (credits.Totals{Granted: 2000, Held: 0, Available: 1940, SpentThisMonth: 50, SpentAllTime: 60}); tot != want {
		t.Errorf("totals %+v, want %+v", tot, want)
	}
	// In UTC the 31 October charge is November's.
	if utc, _ := e.svc.TeamTotals(ctx, time.UTC); utc.SpentThisMonth != 60 {
		t.Errorf("UTC month spend %d, want 60", utc.SpentThisMonth)
	}

	mb, err := e.svc.MemberBalances(ctx, credits.MonthStart(e.now, ny), e.now)
	if err != nil {
		t.Fatal(err)
	}
	wantMB := []db.MemberBalance{
		{UserID: ana.ID, Email: "ana@example.com", Name: "ana", Balance: db.Balance{Granted: 1000, Spent: 45, Available: 955}, SpentInPeriod: 35},
		{UserID: bo.ID, Email: "bo@example.com", Name: "bo", Balance: db.Balance{Granted: 1000, Spent: 15, Available: 985}, SpentInPeriod: 15},
	}
	if len(mb) != 2 || mb[0] != wantMB[0] || mb[1] != wantMB[1] {
		t.Errorf("member balances %+v, want %+v", mb, wantMB)
	}

	if _, err := e.svc.SpendByDay(ctx, 0, ny, credits.ByMember); err == nil {
		t.Error("0 days accepted")
	}
	if _, err := e.svc.SpendByDay(ctx, 30, ny, "mode"); err == nil {
		t.Error("an unknown grouping accepted")
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
