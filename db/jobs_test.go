package db_test

import (
	"context"
	"errors"
	"testing"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

// A job keeps the hash of the inputs its form token was used with, and can
// be found by that token (its owner's only).
func TestJobByIdempotencyKeyAndInputHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	ana, _ := d.CreateUser(ctx, "ana@example.com", "Ana", db.RoleMember, "h")
	bo, _ := d.CreateUser(ctx, "bo@example.com", "Bo", db.RoleMember, "h")
	if _, err := d.Grant(ctx, ana.ID, 0, db.LedgerGrant, 100, "test"); err != nil {
		t.Fatal(err)
	}
	const key = "form-token-0000000001"
	if _, err := d.JobByIdempotencyKey(ctx, ana.ID, key); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("before: err = %v, want ErrNotFound", err)
	}
	n := newJob(ana.ID, key, 30)
	n.InputHash = "a3f1"
	job, created, err := d.CreateJobWithHold(ctx, n)
	if err != nil || !created || job.InputHash != "a3f1" {
		t.Fatalf("create: %+v, %v, %v", job, created, err)
	}
	got, err := d.JobByIdempotencyKey(ctx, ana.ID, key)
	if err != nil || got.ID != job.ID || got.InputHash != "a3f1" {
		t.Errorf("by key: %+v, %v; want job %d with its hash", got, err, job.ID)
	}
	if _, err := d.JobByIdempotencyKey(ctx, bo.ID, key); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("another member's token: err = %v, want ErrNotFound", err)
	}
	// The same token again returns the first job, with its own hash, for the
	// caller to compare; nothing more is held.
	n.InputHash = "b7c2"
	again, created, err := d.CreateJobWithHold(ctx, n)
	if err != nil || created || again.ID != job.ID || again.InputHash != "a3f1" {
		t.Errorf("same token: %+v, %v, %v; want the first job, not created", again, created, err)
	}
	if b, _ := d.Balance(ctx, ana.ID); b.Held != 30 {
		t.Errorf("held %d, want 30", b.Held)
	}
}
