package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

func newJob(userID int64, key string, credits int64) db.NewJob {
	return db.NewJob{
		UserID: userID, IdempotencyKey: key, ImageURL: "https://example.com/a.png", VideoURL: "https://example.com/b.mp4",
		Mode: "animate", Resolution: "720p", BilledSeconds: 10, EstimateCredits: credits,
	}
}

func TestConcurrentHoldsNeverOverdraw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	if _, err := d.Grant(ctx, u.ID, 0, db.LedgerGrant, 200, "covers 10 jobs of 20"); err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, short, other := 0, 0, []error{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, ok, err := d.CreateJobWithHold(ctx, newJob(u.ID, fmt.Sprintf("key-%016d", i), 20))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && ok:
				created++
			case errors.Is(err, apperr.ErrInsufficientCredits):
				short++
			default:
				other = append(other, err)
			}
		}(i)
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	bal, _ := d.Balance(ctx, u.ID)
	if created != 10 || short != 40 || bal.Available != 0 || bal.Held != 200 {
		t.Errorf("created %d, refused %d, balance %+v; want 10, 40, available 0 held 200", created, short, bal)
	}
	if jobs, _ := d.CountJobs(ctx); jobs != 10 {
		t.Errorf("%d job rows, want 10 (a refused hold writes no job)", jobs)
	}
}

func TestIdempotencyKeyCreatesOneJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	d.Grant(ctx, u.ID, 0, db.LedgerGrant, 100, "")
	j1, c1, err := d.CreateJobWithHold(ctx, newJob(u.ID, "same-key-0000000001", 20))
	if err != nil || !c1 {
		t.Fatal(err)
	}
	j2, c2, err := d.CreateJobWithHold(ctx, newJob(u.ID, "same-key-0000000001", 20))
	if err != nil || c2 || j2.ID != j1.ID {
		t.Errorf("resubmit: job %d created %v err %v; want job %d, not created", j2.ID, c2, err, j1.ID)
	}
	if bal, _ := d.Balance(ctx, u.ID); bal.Available != 80 {
		t.Errorf("available %d, want 80 (one hold)", bal.Available)
	}
}

func TestRejectAndInterruptReleaseHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	d.Grant(ctx, u.ID, 0, db.LedgerGrant, 100, "")
	a, _, _ := d.CreateJobWithHold(ctx, newJob(u.ID, "job-a-00000000000001", 30))
	b, _, _ := d.CreateJobWithHold(ctx, newJob(u.ID, "job-b-00000000000001", 20))
	c, _, _ := d.CreateJobWithHold(ctx, newJob(u.ID, "job-c-00000000000001", 10))
	if err := d.MarkSubmitted(ctx, c.ID, "689174694b4dbdd4ab3d28c9", db.JobQueued, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := d.EndSubmission(ctx, a.ID, db.JobRejected, "Akool refused", "the caller's release note"); err != nil {
		t.Fatal(err)
	}
	if err := d.EndSubmission(ctx, a.ID, db.JobRejected, "again", "again"); err == nil {
		t.Error("rejecting a rejected job succeeded")
	}
	interrupted, err := d.InterruptSubmitting(ctx, db.Interruption{Message: "stopped mid-send",
		ReleaseNote: "the caller's interruption note", Detail: "the caller's history line"})
	if err != nil || len(interrupted) != 1 || interrupted[0].ID != b.ID {
		t.Fatalf("interrupted %v, %v; want job %d only", interrupted, err, b.ID)
	}
	if got, _ := d.JobByID(ctx, b.ID); got.ErrorMessage != "stopped mid-send" {
		t.Errorf("interrupted job's message %q, want the caller's", got.ErrorMessage)
	}
	// The store writes the words it is given; it has none of its own.
	for _, tt := range []struct {
		job  int64
		want string
	}{{a.ID, "the caller's release note"}, {b.ID, "the caller's interruption note"}} {
		entries, err := d.LedgerForJob(ctx, tt.job)
		if err != nil || len(entries) != 2 || entries[1].Note != tt.want {
			t.Errorf("job %d's ledger %+v, %v; want its release noted %q", tt.job, entries, err, tt.want)
		}
	}
	if events, err := d.JobEvents(ctx, b.ID); err != nil || len(events) == 0 || events[len(events)-1].Detail != "the caller's history line" {
		t.Errorf("interrupted job's history %+v, %v; want the caller's line", events, err)
	}
	bal, _ := d.Balance(ctx, u.ID)
	if bal.Available != 90 || bal.Held != 10 {
		t.Errorf("balance %+v, want available 90 held 10 (only the queued job holds)", bal)
	}
	if err := d.MarkSubmitted(ctx, b.ID, "x", db.JobQueued, time.Now()); !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("submitting an interrupted job: %v, want ErrConflict", err)
	}
}

func TestLedgerIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	d.Grant(ctx, u.ID, 0, db.LedgerGrant, 100, "")
	d.Close()
	raw := rawOpen(t, path)
	if _, err := raw.Exec(`UPDATE ledger SET amount = 1000000`); err == nil {
		t.Error("UPDATE on the ledger succeeded")
	}
	if _, err := raw.Exec(`DELETE FROM ledger`); err == nil {
		t.Error("DELETE on the ledger succeeded")
	}
	if _, err := raw.Exec(`INSERT INTO ledger (user_id, kind, amount, created_at) VALUES (?, 'grant', -5, 0)`, u.ID); err == nil {
		t.Error("a negative grant was accepted")
	}
}

func TestGrantUnknownUser(t *testing.T) {
	t.Parallel()
	d, _ := openTest(t)
	if _, err := d.Grant(context.Background(), 999, 0, db.LedgerGrant, 5, ""); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("grant to unknown user: %v", err)
	}
}
