package credits_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
)

// TestRandomSequencesKeepBalancesEqualToTheLedger runs random sequences of
// grants, adjustments, allowances (set, and applied as months pass), holds,
// releases, charges and failures over a few
// members and checks after every step that each balance row equals its
// ledger's sum, that no balance is below zero, and that what is held is
// exactly the estimates of the open jobs. Akool's charges here stay within
// the estimate: a charge above it may take a balance below zero on purpose
// (see Settle). CREDITS_SEED=n replays a failing run.
func TestRandomSequencesKeepBalancesEqualToTheLedger(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CREDITS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CREDITS_SEED: %v", err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with CREDITS_SEED=%d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e := newEnv(t)
	ctx := context.Background()
	const members, steps = 3, 300
	var ids []int64
	open := map[int64][]db.Job{} // member -> jobs holding credits
	allow := credits.NewAllowances(e.store, func() time.Time { return e.now }, nil)
	for i := range members {
		ids = append(ids, e.member(fmt.Sprintf("m%d@example.com", i)).ID)
	}
	for step := range steps {
		id := ids[rng.IntN(len(ids))]
		before := e.balance(id)
		var op string
		var err error
		switch k := rng.IntN(8); {
		case k == 6:
			monthly := rng.Int64N(4) * 50
			op = fmt.Sprintf("allowance %d", monthly)
			err = allow.SetAllowance(ctx, 0, id, monthly, "")
		case k == 7:
			// A month passes (sometimes less: then Apply must do nothing).
			e.now = e.now.Add(time.Duration(rng.IntN(40*24)) * time.Hour)
			op = "apply allowances at " + e.now.Format(time.DateTime)
			_, err = allow.Apply(ctx)
		case k == 0:
			op = "grant"
			_, err = e.svc.Grant(ctx, credits.Change{MemberID: id, Amount: 1 + rng.Int64N(100)})
		case k == 1:
			amount := rng.Int64N(120) - 80
			op = fmt.Sprintf("adjust %+d", amount)
			_, err = e.svc.Adjust(ctx, credits.Change{MemberID: id, Amount: amount})
			wantRefused := amount == 0 || before.Available+amount < 0
			if got := fieldErr(err, credits.FieldAmount) != ""; got != wantRefused {
				t.Fatalf("step %d: %s with %+v: err %v, want refused %v", step, op, before, err, wantRefused)
			}
			err = nil
		case k == 2 || k == 3:
			estimate := 5 * (1 + rng.Int64N(12))
			op = fmt.Sprintf("hold %d", estimate)
			var j db.Job
			j, err = e.hold(id, estimate, "720p")
			if errors.Is(err, apperr.ErrInsufficientCredits) != (before.Available < estimate) {
				t.Fatalf("step %d: %s with %+v: err %v", step, op, before, err)
			}
			if err == nil {
				open[id] = append(open[id], j)
			} else if errors.Is(err, apperr.ErrInsufficientCredits) {
				err = nil
			}
		default:
			js := open[id]
			if len(js) == 0 {
				continue
			}
			i := rng.IntN(len(js))
			j := js[i]
			open[id] = append(js[:i], js[i+1:]...)
			switch rng.IntN(3) {
			case 0:
				op = fmt.Sprintf("release job %d", j.ID)
				err = e.store.EndSubmission(ctx, j.ID, db.JobRejected, "refused", credits.NotTakenNote)
			case 1:
				op = fmt.Sprintf("fail job %d", j.ID)
				e.finish(j, credits.Outcome{})
			default:
				var reported *int64
				if rng.IntN(4) > 0 {
					r := rng.Int64N(j.EstimateCredits + 1)
					reported = &r
				}
				op = fmt.Sprintf("charge job %d (reported %v)", j.ID, reported)
				e.finish(j, credits.Outcome{Succeeded: true, Reported: reported})
			}
		}
		if err != nil {
			t.Fatalf("step %d: %s: %v", step, op, err)
		}
		if bad, err := e.store.CheckBalances(ctx); err != nil || len(bad) != 0 {
			t.Fatalf("step %d: after %s the balance rows differ from the ledger: %+v, %v", step, op, bad, err)
		}
		for _, m := range ids {
			b := e.balance(m)
			var held int64
			for _, j := range open[m] {
				held += j.EstimateCredits
			}
			if b.Available < 0 || b.Held != held {
				t.Fatalf("step %d: after %s member %d has %+v; want available >= 0 and held %d", step, op, m, b, held)
			}
		}
	}
}
