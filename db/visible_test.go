package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

// TestVisibleArchived pins the one visibility rule: the team sees an
// archived result unless its owner hid it; a hidden one only its owner and
// admins; a deleted one nobody.
func TestVisibleArchived(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, owner, other := archivedJobFixture(t)
	job := owner.job
	cases := []struct {
		name   string
		hidden bool
		v      db.Viewer
		want   bool
	}{
		{"owner sees own", false, db.Viewer{UserID: owner.id}, true},
		{"team sees shown", false, db.Viewer{UserID: other}, true},
		{"owner sees own hidden", true, db.Viewer{UserID: owner.id}, true},
		{"admin sees hidden", true, db.Viewer{UserID: other, Admin: true}, true},
		{"team does not see hidden", true, db.Viewer{UserID: other}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setHidden(t, d, owner.id, job, c.hidden)
			_, err := d.VisibleArchived(ctx, c.v, job)
			if got := err == nil; got != c.want {
				t.Fatalf("visible = %v (err %v), want %v", got, err, c.want)
			}
			if err != nil && !errors.Is(err, apperr.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	}
	setHidden(t, d, owner.id, job, false)
	// Only the owner or an admin may hide it.
	if err := d.SetHidden(ctx, db.Viewer{UserID: other}, job, true); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("another member hid it: err = %v, want ErrNotFound", err)
	}
	if err := d.SetHidden(ctx, db.Viewer{UserID: other, Admin: true}, job, false); err != nil {
		t.Fatalf("an admin: %v", err)
	}
	if _, err := d.DeleteJob(ctx, job, owner.id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.VisibleArchived(ctx, db.Viewer{UserID: owner.id, Admin: true}, job); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted job: err = %v, want ErrNotFound", err)
	}
}

type fixtureOwner struct {
	id  int64
	job int64
}

// archivedJobFixture makes two members and one archived job of the first,
// set straight in SQL (the archiver's path is tested elsewhere).
func archivedJobFixture(t *testing.T) (*db.DB, fixtureOwner, int64) {
	t.Helper()
	ctx := context.Background()
	d, path := openTest(t)
	owner, err := d.CreateUser(ctx, "owner@example.com", "Owner", db.RoleMember, "h")
	if err != nil {
		t.Fatal(err)
	}
	other, err := d.CreateUser(ctx, "other@example.com", "Other", db.RoleMember, "h")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Grant(ctx, owner.ID, 0, db.LedgerGrant, 100, ""); err != nil {
		t.Fatal(err)
	}
	job, _, err := d.CreateJobWithHold(ctx, newJob(owner.ID, "key-visible-00001", 20))
	if err != nil {
		t.Fatal(err)
	}
	rawExec(t, path, `UPDATE jobs SET status = 'succeeded', finished_at = created_at,
		archive_state = 'archived', archive_path = 'results/2026-12/1.mp4' WHERE id = ?`, job.ID)
	return d, fixtureOwner{id: owner.ID, job: job.ID}, other.ID
}

func setHidden(t *testing.T, d *db.DB, owner, id int64, hidden bool) {
	t.Helper()
	if err := d.SetHidden(context.Background(), db.Viewer{UserID: owner}, id, hidden); err != nil {
		t.Fatal(err)
	}
}

// rawExec runs one statement on its own connection to the database file.
func rawExec(t *testing.T, path, query string, args ...any) {
	t.Helper()
	conn, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}
