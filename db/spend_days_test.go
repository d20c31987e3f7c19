package db_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"swapdesk/db"
)

// dayEdges are the midnights of n days in loc ending with the day of end.
func dayEdges(end time.Time, n int, loc *time.Location) []time.Time {
	end = end.In(loc)
	out := make([]time.Time, n+1)
	for i := range out {
		out[i] = time.Date(end.Year(), end.Month(), end.Day()-n+1+i, 0, 0, 0, 0, loc)
	}
	return out
}

// The day sums answer exactly what reading the charges answers, in UTC
// (the migration's days) and in New York after SetSpendDays (DST change
// included), for charges written before and after; edges that are not the
// kept days' midnights read the charges.
func TestSpendDaySumsMatchTheCharges(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	d, path := openTest(t)
	var users []db.User
	for i := range 3 {
		u, _ := d.CreateUser(ctx, fmt.Sprintf("m%d@example.com", i), "M", db.RoleMember, "h")
		d.Grant(ctx, u.ID, 0, db.LedgerGrant, 1_000_000, "")
		users = append(users, u)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	charge := func(count int) {
		for range count {
			n++
			now := start.Add(time.Duration(rng.Int64N(int64(75 * 24 * time.Hour))))
			d.Now = func() time.Time { return now }
			u := users[rng.IntN(len(users))]
			j := newJob(u.ID, fmt.Sprintf("spend-days-key-%06d", n), 30)
			j.Resolution = []string{"480p", "720p", "1080p"}[rng.IntN(3)]
			job, _, err := d.CreateJobWithHold(ctx, j)
			if err != nil {
				t.Fatal(err)
			}
			d.MarkSubmitted(ctx, job.ID, fmt.Sprintf("akool-%d", n), db.JobQueued, now)
			c := int64(1 + rng.IntN(30))
			if _, _, err := d.ApplyUpdate(ctx, job.ID, db.Update{Status: db.JobSucceeded, Source: db.SourcePoll,
				Charged: &c, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := time.Date(2026, 12, 14, 12, 0, 0, 0, time.UTC)
	type answer struct {
		Res, Mem []db.RangeSpend
		Top      []db.RangeSpend // the 2 biggest of 3 members, and the rest
		Tot      db.TeamTotals
		Bal      []db.MemberBalance
	}
	ask := func(loc *time.Location, shift time.Duration) answer {
		t.Helper()
		edges := dayEdges(end, 80, loc)
		for i := range edges {
			edges[i] = edges[i].Add(shift)
		}
		var a answer
		var err error
		if a.Res, err = d.SpendByRange(ctx, edges, db.SpendByResolution); err != nil {
			t.Fatal(err)
		}
		if a.Mem, err = d.SpendByRange(ctx, edges, db.SpendByMember); err != nil {
			t.Fatal(err)
		}
		if a.Top, err = d.SpendByRangeTop(ctx, edges, 2); err != nil {
			t.Fatal(err)
		}
		if a.Tot, err = d.TeamTotals(ctx, edges[40]); err != nil {
			t.Fatal(err)
		}
		if a.Bal, err = d.MemberBalances(ctx, edges[30], edges[60]); err != nil {
			t.Fatal(err)
		}
		return a
	}
	// A millisecond off midnight reads the charges: the reference.
	reference := func(loc *time.Location) answer {
		// Shift the charges' side instead: edges 1 ms later select the same
		// charges unless one was written in that millisecond (none are:
		// charge times are random nanoseconds, stored as ms).
		return ask(loc, time.Millisecond)
	}
	charge(300)
	if got, want := ask(time.UTC, 0), reference(time.UTC); !reflect.DeepEqual(got, want) {
		t.Errorf("UTC: day sums %+v\nwant the charges' %+v", got, want)
	}
	if err := d.SetSpendDays(ctx, ny); err != nil {
		t.Fatal(err)
	}
	charge(200) // written by the trigger into New York's days
	if got, want := ask(ny, 0), reference(ny); !reflect.DeepEqual(got, want) {
		t.Errorf("New York: day sums %+v\nwant the charges' %+v", got, want)
	}
	if got, want := ask(time.UTC, 0), reference(time.UTC); !reflect.DeepEqual(got, want) {
		t.Errorf("UTC after the switch: %+v\nwant %+v", got, want)
	}

	// The sums are what is read on day edges: a bogus sum shows.
	raw := rawOpen(t, path)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, ny)
	if _, err := raw.Exec(`INSERT INTO spend_by_day_resolution (day, resolution, credits) VALUES (?, 'bogus', 1000000)
		ON CONFLICT DO UPDATE SET credits = credits + 1000000`, day.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if got, want := ask(ny, 0), reference(ny); reflect.DeepEqual(got.Res, want.Res) {
		t.Error("the day sums were not read on New York's midnights")
	}
}

// SpendByRangeTop keeps the n members charged the most over the whole
// period (ties to the lower id) and folds everyone else's charges of each
// range into one row of UserID 0, so each range still adds up to
// SpendByRange's.
func TestSpendByRangeTopAddsUpToEveryMembersSpend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	var ids []int64
	for i := range 4 {
		u, _ := d.CreateUser(ctx, fmt.Sprintf("top%d@example.com", i), "M", db.RoleMember, "h")
		d.Grant(ctx, u.ID, 0, db.LedgerGrant, 1_000_000, "")
		ids = append(ids, u.ID)
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	n := 0
	charge := func(at time.Time, uid, c int64) {
		t.Helper()
		n++
		d.Now = func() time.Time { return at }
		job, _, err := d.CreateJobWithHold(ctx, newJob(uid, fmt.Sprintf("spend-top-key-%06d", n), 100))
		if err != nil {
			t.Fatal(err)
		}
		d.MarkSubmitted(ctx, job.ID, fmt.Sprintf("akool-top-%d", n), db.JobQueued, at)
		if _, _, err := d.ApplyUpdate(ctx, job.ID, db.Update{Status: db.JobSucceeded, Source: db.SourcePoll,
			Charged: &c, ExpiresAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Over the two days: ids[0] 30, ids[1] 30 (a tie, won by the lower id),
	// ids[2] 25, ids[3] 1; the top 2 are ids[0] and ids[1].
	charge(day.Add(time.Hour), ids[0], 10)
	charge(day.Add(2*time.Hour), ids[2], 25)
	charge(day.Add(3*time.Hour), ids[3], 1)
	charge(day.Add(25*time.Hour), ids[0], 20)
	charge(day.Add(26*time.Hour), ids[1], 30)
	edges := []time.Time{day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 2), day.AddDate(0, 0, 3)}
	want := []db.RangeSpend{
		{Range: 0, UserID: ids[0], Credits: 10}, {Range: 0, Credits: 26},
		{Range: 1, UserID: ids[0], Credits: 20}, {Range: 1, UserID: ids[1], Credits: 30},
	}
	for _, shift := range []time.Duration{0, time.Millisecond} { // day sums, then the charges
		e := slices.Clone(edges)
		for i := range e {
			e[i] = e[i].Add(shift)
		}
		got, err := d.SpendByRangeTop(ctx, e, 2)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("shift %v: %+v, %v\nwant %+v", shift, got, err, want)
		}
	}
	if _, err := d.SpendByRangeTop(ctx, edges, 0); err == nil {
		t.Error("top 0 accepted")
	}
}
