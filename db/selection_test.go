package db_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

// VisibleArchivedIn applies the one visibility rule to a batch: the same
// answers as VisibleArchived, id by id, with unknown ids left out.
func TestVisibleArchivedIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, owner, other := archivedJobFixture(t)
	ids := []int64{owner.job, 999999, -1}
	for _, hidden := range []bool{false, true} {
		setHidden(t, d, owner.id, owner.job, hidden)
		for _, v := range []db.Viewer{{UserID: owner.id}, {UserID: other}, {UserID: other, Admin: true}} {
			got, err := d.VisibleArchivedIn(ctx, v, ids)
			if err != nil {
				t.Fatal(err)
			}
			_, one := d.VisibleArchived(ctx, v, owner.job)
			if want := one == nil; (len(got) == 1) != want || len(got) > 1 {
				t.Errorf("hidden %v, viewer %+v: got %d results, want visible = %v", hidden, v, len(got), want)
			}
			if len(got) == 1 && (got[0].ID != owner.job || got[0].Member != "Owner") {
				t.Errorf("got job %d by %q, want %d by Owner", got[0].ID, got[0].Member, owner.job)
			}
		}
	}
	if _, err := d.DeleteJob(ctx, owner.job, owner.id); err != nil {
		t.Fatal(err)
	}
	if got, err := d.VisibleArchivedIn(ctx, db.Viewer{UserID: owner.id, Admin: true}, ids); err != nil || len(got) != 0 {
		t.Errorf("deleted job: %d results (%v), want none", len(got), err)
	}
}

// A share answers only while it is unrevoked, unexpired and its job still
// archived and not deleted; hiding the job does not stop it.
func TestShareLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, owner, other := archivedJobFixture(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }
	hash := sha256.Sum256([]byte("token"))
	if _, err := d.CreateShare(ctx, db.Viewer{UserID: other}, owner.job, hash[:], now.Add(time.Hour)); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("another member shared it: %v", err)
	}
	s, err := d.CreateShare(ctx, db.Viewer{UserID: owner.id}, owner.job, hash[:], now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	open := func() error {
		_, j, err := d.SharedJob(ctx, hash[:], now)
		if err == nil && j.ID != owner.job {
			t.Fatalf("shared job %d, want %d", j.ID, owner.job)
		}
		return err
	}
	if err := open(); err != nil {
		t.Fatal(err)
	}
	setHidden(t, d, owner.id, owner.job, true)
	if err := open(); err != nil {
		t.Errorf("hidden job's share: %v", err)
	}
	other32 := sha256.Sum256([]byte("other"))
	if _, _, err := d.SharedJob(ctx, other32[:], now); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
	now = now.Add(time.Hour)
	if err := open(); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("at expiry: %v, want ErrNotFound", err)
	}
	now = now.Add(-time.Minute)
	if _, err := d.RevokeShare(ctx, db.Viewer{UserID: other}, s.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("another member revoked it: %v", err)
	}
	r, err := d.RevokeShare(ctx, db.Viewer{UserID: other, Admin: true}, s.ID)
	if err != nil || r.RevokedBy != other || r.RevokedAt.IsZero() {
		t.Fatalf("admin revoke: %+v, %v", r, err)
	}
	if err := open(); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("revoked: %v, want ErrNotFound", err)
	}
	list, err := d.SharesForJob(ctx, owner.job)
	if err != nil || len(list) != 1 || list[0].RevokedBy != other || !slices.Equal([]int64{list[0].ID}, []int64{s.ID}) {
		t.Errorf("shares of the job: %+v, %v", list, err)
	}
	// A second link, then the job is deleted: it stops too.
	h2 := sha256.Sum256([]byte("token2"))
	if _, err := d.CreateShare(ctx, db.Viewer{UserID: owner.id}, owner.job, h2[:], now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DeleteJob(ctx, owner.job, owner.id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.SharedJob(ctx, h2[:], now); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("deleted job's share: %v", err)
	}
	if _, err := d.CreateShare(ctx, db.Viewer{UserID: owner.id}, owner.job, bytes.Repeat([]byte{1}, 32), now.Add(time.Hour)); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("shared a deleted job: %v", err)
	}
}
