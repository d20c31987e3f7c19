package jobs

import (
	"context"
	"errors"
	"testing"

	"swapdesk/db"
	"swapdesk/internal/akool"
	"swapdesk/internal/credits"
)

// The ledger notes and history lines of a job Akool never ran are the
// services' words (internal/credits for the ledger, this package for the
// history), which the store writes as given.
func TestJobsAkoolNeverRanCarryTheServicesWords(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 100)
	f.akool.create = func(context.Context, akool.CreateRequest) (*akool.Job, error) {
		return nil, errors.New("connection reset")
	}
	job, _, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	// A job left submitting, as a crash between the hold and Akool's answer
	// leaves it.
	stuck, _, err := f.store.CreateJobWithHold(ctx, db.NewJob{UserID: f.userID, IdempotencyKey: "form-token-000000000002",
		Mode: "animate", Resolution: "720p", BilledSeconds: 5, EstimateCredits: 10, HoldNote: credits.HoldNote})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}

	notes := func(id int64) []string {
		t.Helper()
		entries, err := f.store.LedgerForJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Note)
		}
		return out
	}
	if got := notes(job.ID); len(got) != 2 || got[0] != credits.HoldNote || got[1] != credits.NotTakenNote {
		t.Errorf("refused job's ledger notes %q, want %q then %q", got, credits.HoldNote, credits.NotTakenNote)
	}
	if got := notes(stuck.ID); len(got) != 2 || got[0] != credits.HoldNote || got[1] != credits.InterruptedNote {
		t.Errorf("interrupted job's ledger notes %q, want %q then %q", got, credits.HoldNote, credits.InterruptedNote)
	}
	events, err := f.store.JobEvents(ctx, stuck.ID)
	if err != nil || len(events) == 0 || events[0].Detail != interruptedDetail {
		t.Errorf("interrupted job's history %+v, %v; want %q", events, err, interruptedDetail)
	}
}
