package db_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
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
