package db_test

import (
	"context"
	"errors"
	"testing"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

// Only archived results not deleted wait for a poster, and a deleted one
// cannot be given one.
func TestDueForPoster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, owner, _ := archivedJobFixture(t)
	due, err := d.DueForPoster(ctx, 10)
	if err != nil || len(due) != 1 || due[0].ID != owner.job {
		t.Fatalf("due = %v, %v; want job %d", due, err, owner.job)
	}
	if n, err := d.MarkPostersUnavailable(ctx); err != nil || n != 1 {
		t.Fatalf("unavailable: %d, %v", n, err)
	}
	if due, _ := d.DueForPoster(ctx, 10); len(due) != 0 {
		t.Fatalf("an unavailable poster is due")
	}
	if n, err := d.RequeuePosters(ctx, false, false); err != nil || n != 1 {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	if _, err := d.DeleteJob(ctx, owner.job, owner.id); err != nil {
		t.Fatal(err)
	}
	if due, _ := d.DueForPoster(ctx, 10); len(due) != 0 {
		t.Fatalf("a deleted job is due for a poster")
	}
	if err := d.MarkPoster(ctx, owner.job, "posters/x.jpg", ""); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("poster of a deleted job: %v, want ErrNotFound", err)
	}
	if err := d.SetJobImage(ctx, owner.job, "inputs/x.png", "image/png"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("image of a deleted job: %v, want ErrNotFound", err)
	}
}

// The kept character image follows the visibility rule once archived, and
// is its owner's and admins' before.
func TestJobImageForViewer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, owner, other := archivedJobFixture(t)
	if _, err := d.JobImageForViewer(ctx, db.Viewer{UserID: owner.id}, owner.job); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("no image kept: %v, want ErrNotFound", err)
	}
	if err := d.SetJobImage(ctx, owner.job, "inputs/1.png", "image/png"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		hidden bool
		v      db.Viewer
		want   bool
	}{
		{"owner", true, db.Viewer{UserID: owner.id}, true},
		{"admin", true, db.Viewer{UserID: other, Admin: true}, true},
		{"team, shown", false, db.Viewer{UserID: other}, true},
		{"team, hidden", true, db.Viewer{UserID: other}, false},
	} {
		setHidden(t, d, owner.id, owner.job, c.hidden)
		_, err := d.JobImageForViewer(ctx, c.v, owner.job)
		if got := err == nil; got != c.want {
			t.Errorf("%s: visible = %v (%v), want %v", c.name, got, err, c.want)
		}
	}
}
