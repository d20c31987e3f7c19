package db_test

import (
	"context"
	"testing"
	"time"

	"swapdesk/db"
)

// Migration 0008 fills each member's balance row from their ledger, and
// CheckBalances finds a row that no longer matches it.
func TestBalanceRowsAreBackfilledAndChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	ana, _ := d.CreateUser(ctx, "ana@example.com", "Ana", db.RoleMember, "h")
	bo, _ := d.CreateUser(ctx, "bo@example.com", "Bo", db.RoleMember, "h")
	d.CreateUser(ctx, "cy@example.com", "Cy", db.RoleMember, "h") // no ledger at all
	d.Grant(ctx, ana.ID, 0, db.LedgerGrant, 100, "")
	d.Grant(ctx, ana.ID, 0, db.LedgerAdjust, -10, "")
	d.Grant(ctx, bo.ID, 0, db.LedgerGrant, 50, "")
	if _, _, err := d.CreateJobWithHold(ctx, newJob(ana.ID, "backfill-key-000001", 30)); err != nil {
		t.Fatal(err)
	}
	done, _, _ := d.CreateJobWithHold(ctx, newJob(bo.ID, "backfill-key-000002", 20))
	d.MarkSubmitted(ctx, done.ID, "akool-backfill-2", db.JobQueued, time.Now())
	charged := int64(15)
	if _, _, err := d.ApplyUpdate(ctx, done.ID, db.Update{Status: db.JobSucceeded, Source: db.SourcePoll,
		Charged: &charged, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	want := map[int64]db.Balance{
		ana.ID: {Granted: 90, Held: 30, Spent: 0, Available: 60},
		bo.ID:  {Granted: 50, Held: 0, Spent: 15, Available: 35},
	}
	check := func(when string) {
		t.Helper()
		for id, w := range want {
			if got, _ := d.Balance(ctx, id); got != w {
				t.Errorf("%s: member %d balance %+v, want %+v", when, id, got, w)
			}
		}
		if bad, err := d.CheckBalances(ctx); err != nil || len(bad) != 0 {
			t.Errorf("%s: mismatches %+v, %v", when, bad, err)
		}
	}
	check("kept by every write")

	// As if the database were made before 0008: no balance rows.
	d.Close()
	raw := rawOpen(t, path)
	for _, q := range []string{`DROP INDEX ledger_charges`, `DROP TABLE member_balances`,
		`DELETE FROM schema_migrations WHERE version = 8`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check("backfilled")

	raw = rawOpen(t, path)
	if _, err := raw.Exec(`UPDATE member_balances SET held = held + 1 WHERE user_id = ?`, ana.ID); err != nil {
		t.Fatal(err)
	}
	bad, err := d.CheckBalances(ctx)
	if err != nil || len(bad) != 1 || bad[0].UserID != ana.ID || bad[0].Email != "ana@example.com" ||
		bad[0].Stored.Held != 31 || bad[0].Ledger != want[ana.ID] {
		t.Errorf("after corrupting ana's row: %+v, %v", bad, err)
	}
}

// An update that finishes a job must carry what the credits service
// decided: the store has no defaults of its own to fall back on.
func TestFinalUpdateNeedsItsDecision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	d.Grant(ctx, u.ID, 0, db.LedgerGrant, 100, "")
	j, _, _ := d.CreateJobWithHold(ctx, newJob(u.ID, "decision-key-000001", 30))
	d.MarkSubmitted(ctx, j.ID, "akool-decision-1", db.JobQueued, time.Now())
	zero := int64(0)
	for name, up := range map[string]db.Update{
		"succeeded without a charge": {Status: db.JobSucceeded, ExpiresAt: time.Now()},
		"succeeded without expiry":   {Status: db.JobSucceeded, Charged: &zero},
		"failed without a charge":    {Status: db.JobFailed, FailReason: "x"},
		"failed without a reason":    {Status: db.JobFailed, Charged: &zero},
	} {
		if _, _, err := d.ApplyUpdate(ctx, j.ID, up); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got, _ := d.JobByID(ctx, j.ID); got.Status != db.JobQueued {
		t.Errorf("status %s after refused updates, want queued", got.Status)
	}
}
