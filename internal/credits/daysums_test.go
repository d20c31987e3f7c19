package credits_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/credits"
)

// TestDaySumsEqualTheLedger: after every kind of ledger write (grants, a
// monthly allowance, holds, charges, one above its estimate, the releases
// of finished, failed and refused jobs, adjustments either way) across a
// month's end, with the team's zone changed from UTC to New York halfway
// (while jobs are held), New York's clocks going back on 1 November, and
// at the end a charge dated two days back (a clock set back),
// the spend-by-day sums equal a direct SUM of the ledger's charges by the
// team's day and member and by day and resolution, and every figure read
// from them (the charts, the totals, the members' months) equals the same
// SUM over the ledger.
func TestDaySumsEqualTheLedger(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "swapdesk.db")
	store := dbtest.OpenFile(t, path)
	e := &env{t: t, store: store, now: time.Date(2026, 10, 29, 12, 0, 0, 0, time.UTC)}
	store.Now = func() time.Time { return e.now }
	e.svc = credits.New(store, store.Now)
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	var members []int64
	for i := range 4 {
		m := e.member(fmt.Sprintf("m%d@example.com", i))
		members = append(members, m.ID)
		if _, err := e.svc.Grant(ctx, credits.Change{MemberID: m.ID, Amount: 5000}); err != nil {
			t.Fatal(err)
		}
	}
	allowances := e.allowances()
	if err := allowances.SetAllowance(ctx, 0, members[0], 9000, ""); err != nil {
		t.Fatal(err)
	}
	resolution := map[int64]string{} // job id -> resolution
	var open []db.Job                // held, not settled yet
	rng := rand.New(rand.NewPCG(11, 1))
	step := func() {
		t.Helper()
		e.now = e.now.Add(time.Duration(40+rng.IntN(80)) * time.Minute)
		m := members[rng.IntN(len(members))]
		switch r := rng.IntN(10); {
		case r == 0:
			if _, err := e.svc.Grant(ctx, credits.Change{MemberID: m, Amount: int64(1 + rng.IntN(100))}); err != nil {
				t.Fatal(err)
			}
		case r == 1:
			amount := int64(rng.IntN(41) - 20)
			if amount == 0 {
				amount = -1
			}
			if _, err := e.svc.Adjust(ctx, credits.Change{MemberID: m, Amount: amount}); err != nil {
				t.Fatal(err)
			}
		case r <= 5 || len(open) == 0:
			j, err := e.hold(m, int64(10+rng.IntN(30)), []string{"480p", "720p", "1080p"}[rng.IntN(3)])
			if err != nil {
				t.Fatal(err)
			}
			resolution[j.ID] = j.Resolution
			open = append(open, j)
		default: // settle the oldest open job
			j := open[0]
			open = open[1:]
			switch rng.IntN(4) {
			case 0: // failed: its hold released, nothing charged
				e.finish(j, credits.Outcome{})
			case 1: // refused by Akool: its hold released
				if err := e.store.EndSubmission(ctx, j.ID, db.JobRejected, "refused", credits.NotTakenNote); err != nil {
					t.Fatal(err)
				}
			case 2: // charged more than its estimate
				over := j.EstimateCredits + 7
				e.finish(j, credits.Outcome{Succeeded: true, Reported: &over})
			default:
				e.finish(j, credits.Outcome{Succeeded: true})
			}
		}
	}

	// check compares the sums, and what is read from them, with the
	// ledger's charges summed directly by loc's days.
	check := func(when string, loc *time.Location) {
		t.Helper()
		type dayKey struct {
			day int64
			uid int64
			res string
		}
		byMember, byRes := map[dayKey]int64{}, map[dayKey]int64{}
		var all []db.LedgerRow
		if err := e.store.EachLedger(ctx, db.LedgerFilter{}, func(r db.LedgerRow) error {
			all = append(all, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			if r.Kind != db.LedgerCharge || r.Amount == 0 {
				continue
			}
			day := credits.DayStart(r.CreatedAt, loc).UnixMilli()
			byMember[dayKey{day: day, uid: r.UserID}] -= r.Amount
			byRes[dayKey{day: day, res: resolution[r.JobID]}] -= r.Amount
		}
		read := func(q string) map[dayKey]int64 {
			t.Helper()
			rows, err := raw.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[dayKey]int64{}
			for rows.Next() {
				var k dayKey
				var c int64
				if err := rows.Scan(&k.day, &k.uid, &k.res, &c); err != nil {
					t.Fatal(err)
				}
				out[k] = c
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got := read(`SELECT day, user_id, '', credits FROM spend_by_day_member`); !maps.Equal(got, byMember) {
			t.Errorf("%s: spend_by_day_member %v\nwant the ledger's %v", when, got, byMember)
		}
		// A member-day's running total: their charges of that day and
		// every day before.
		through := map[dayKey]int64{}
		for k := range byMember {
			for _, r := range all {
				if r.Kind == db.LedgerCharge && r.UserID == k.uid && credits.DayStart(r.CreatedAt, loc).UnixMilli() <= k.day {
					through[k] -= r.Amount
				}
			}
		}
		if got := read(`SELECT day, user_id, '', through FROM spend_by_day_member`); !maps.Equal(got, through) {
			t.Errorf("%s: spend_by_day_member's running totals %v\nwant the ledger's %v", when, got, through)
		}
		if got := read(`SELECT day, 0, resolution, credits FROM spend_by_day_resolution`); !maps.Equal(got, byRes) {
			t.Errorf("%s: spend_by_day_resolution %v\nwant the ledger's %v", when, got, byRes)
		}

		// Every figure read from the sums, against the ledger's lines.
		spentIn := func(uid int64, from, to time.Time) int64 {
			var n int64
			for _, r := range all {
				if r.Kind == db.LedgerCharge && (uid == 0 || r.UserID == uid) && !r.CreatedAt.Before(from) && r.CreatedAt.Before(to) {
					n -= r.Amount
				}
			}
			return n
		}
		const days = 8
		today := credits.DayStart(e.now, loc)
		end := today.AddDate(0, 0, 1)
		monthStart := credits.MonthStart(e.now, loc)
		mem, err := e.svc.SpendByDay(ctx, days, loc, credits.ByMember)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.SpendByDay(ctx, days, loc, credits.ByResolution)
		if err != nil {
			t.Fatal(err)
		}
		top, err := e.svc.TopSpendByDay(ctx, days, loc, 2)
		if err != nil {
			t.Fatal(err)
		}
		first := today.AddDate(0, 0, 1-days)
		var period = map[int64]int64{}
		for _, uid := range members {
			period[uid] = spentIn(uid, first, end)
		}
		topIDs := slices.Clone(members)
		slices.SortStableFunc(topIDs, func(a, b int64) int { return int(period[b] - period[a]) })
		topIDs = topIDs[:2]
		for i := range days {
			from, to := first.AddDate(0, 0, i), first.AddDate(0, 0, i+1)
			want := spentIn(0, from, to)
			if mem[i].Day != from || mem[i].Total != want || res[i].Total != want || top[i].Total != want {
				t.Errorf("%s: %s: by member %s %d, by resolution %d, top %d; want %d",
					when, from.Format(time.DateOnly), mem[i].Day, mem[i].Total, res[i].Total, top[i].Total, want)
			}
			for _, p := range mem[i].Parts {
				if w := spentIn(p.UserID, from, to); p.Credits != w {
					t.Errorf("%s: %s member %d: %d, want %d", when, from.Format(time.DateOnly), p.UserID, p.Credits, w)
				}
			}
			var named int64
			for _, p := range top[i].Parts {
				if !slices.Contains(topIDs, p.UserID) || p.Credits != spentIn(p.UserID, from, to) {
					t.Errorf("%s: %s top part %+v; top members %v", when, from.Format(time.DateOnly), p, topIDs)
				}
				named += p.Credits
			}
			if top[i].Others != want-named {
				t.Errorf("%s: %s others %d, want %d", when, from.Format(time.DateOnly), top[i].Others, want-named)
			}
		}
		tot, err := e.svc.TeamTotals(ctx, loc)
		if err != nil {
			t.Fatal(err)
		}
		far := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
		if tot.SpentThisMonth != spentIn(0, monthStart, far) || tot.SpentAllTime != spentIn(0, time.Time{}, far) {
			t.Errorf("%s: totals %+v; want this month %d, all time %d", when, tot, spentIn(0, monthStart, far), spentIn(0, time.Time{}, far))
		}
		balances, err := e.svc.MemberBalances(ctx, monthStart, end)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := e.store.Members(ctx, monthStart, db.SortName, false)
		if err != nil {
			t.Fatal(err)
		}
		month := map[int64]int64{}
		for _, r := range rows {
			month[r.ID] = r.SpentThisMonth
		}
		for _, b := range balances {
			want := spentIn(b.UserID, monthStart, far)
			since, err := e.store.SpentSince(ctx, b.UserID, monthStart)
			if err != nil {
				t.Fatal(err)
			}
			if b.SpentInPeriod != want || since != want || month[b.UserID] != want {
				t.Errorf("%s: member %d this month: balances %d, SpentSince %d, members list %d; want %d",
					when, b.UserID, b.SpentInPeriod, since, month[b.UserID], want)
			}
		}
		if bad, err := e.store.CheckBalances(ctx); err != nil || len(bad) != 0 {
			t.Errorf("%s: balance rows differ from the ledger: %+v, %v", when, bad, err)
		}
	}

	for e.now.Before(time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)) { // 31 Oct 22:00 in New York
		step()
		if _, err := allowances.Apply(ctx); err != nil { // 1 November in UTC: the allowance
			t.Fatal(err)
		}
	}
	check("UTC, before the zone change", time.UTC)
	if len(open) == 0 {
		t.Fatal("no job held across the zone change")
	}
	if _, err := credits.SetTeamZone(ctx, e.store, 0, "", "America/New_York"); err != nil {
		t.Fatal(err)
	}
	check("New York, right after the zone change", ny)
	for e.now.Before(time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC)) { // past 1 November in New York, and its clocks going back
		step()
	}
	check("New York, after", ny)
	// A clock set back two days: a charge dated before the member's later
	// days moves their running totals too.
	now := e.now
	for _, at := range []time.Time{now, now.Add(-50 * time.Hour)} { // today's charge first, then the earlier one
		e.now = at
		j, err := e.hold(members[3], 25, "720p")
		if err != nil {
			t.Fatal(err)
		}
		resolution[j.ID] = j.Resolution
		e.finish(j, credits.Outcome{Succeeded: true})
	}
	e.now = now
	check("New York, after a charge dated two days back", ny)
	if lines := e.allowanceLines(members[0]); len(lines) != 1 {
		t.Errorf("%d allowance lines, want 1", len(lines))
	}
}
