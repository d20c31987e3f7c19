package db_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

// TestJobPageAnswersWhatItsPartsWould checks JobPage, one query, against
// the queries it replaces on the job page (JobForViewer, else
// VisibleArchived; then ArchivedNeighbors and IsFavorite for an archived
// result), for the owner, another member and an admin, over shown, hidden,
// unarchived, deleted and missing jobs.
func TestJobPageAnswersWhatItsPartsWould(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	var users [3]db.User
	for i, role := range []string{db.RoleMember, db.RoleMember, db.RoleAdmin} {
		u, err := d.CreateUser(ctx, fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("U%d", i), role, "h")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Grant(ctx, u.ID, 0, db.LedgerGrant, 1000, ""); err != nil {
			t.Fatal(err)
		}
		users[i] = u
	}
	owner, other, admin := users[0], users[1], users[2]
	// Oldest first: the owner's archived, hidden, running, archived,
	// deleted; the other member's archived; the owner's archived newest.
	type spec struct {
		user              int64
		archived, running bool
		hidden, deleted   bool
	}
	specs := []spec{
		{user: owner.ID, archived: true},
		{user: owner.ID, archived: true, hidden: true},
		{user: owner.ID, running: true},
		{user: owner.ID, archived: true},
		{user: owner.ID, archived: true, deleted: true},
		{user: other.ID, archived: true},
		{user: owner.ID, archived: true, hidden: true},
	}
	var ids []int64
	for i, s := range specs {
		j, _, err := d.CreateJobWithHold(ctx, newJob(s.user, fmt.Sprintf("key-jobpage-%05d", i), 20))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
		if !s.running {
			rawExec(t, path, `UPDATE jobs SET status = 'succeeded', finished_at = created_at WHERE id = ?`, j.ID)
		}
		if s.archived {
			rawExec(t, path, `UPDATE jobs SET archive_state = 'archived', archive_path = ? WHERE id = ?`,
				fmt.Sprintf("results/2026-12/%d.mp4", j.ID), j.ID)
		}
		if s.hidden {
			setHidden(t, d, s.user, j.ID, true)
		}
	}
	// Stars: the other member starred the owner's first and their own, the
	// admin a hidden one; the owner their own fourth.
	for _, f := range []struct {
		v  db.User
		id int64
	}{{other, ids[0]}, {other, ids[5]}, {admin, ids[1]}, {owner, ids[3]}} {
		if err := d.SetFavorite(ctx, db.Viewer{UserID: f.v.ID, Admin: f.v.IsAdmin()}, f.id, true); err != nil {
			t.Fatalf("star %d for %s: %v", f.id, f.v.Email, err)
		}
	}
	for i, s := range specs {
		if s.deleted {
			if _, err := d.DeleteJob(ctx, ids[i], s.user); err != nil {
				t.Fatal(err)
			}
		}
	}

	// want is what the job page read before JobPage.
	want := func(v db.Viewer, id int64) (db.JobPage, error) {
		j, err := d.JobForViewer(ctx, id, v.UserID, v.Admin)
		if errors.Is(err, apperr.ErrNotFound) {
			j, err = d.VisibleArchived(ctx, v, id)
		}
		if err != nil {
			return db.JobPage{}, err
		}
		p := db.JobPage{Job: j}
		if j.ArchiveState == db.ArchiveDone {
			if p.Neighbors, err = d.ArchivedNeighbors(ctx, v, id); err != nil {
				return db.JobPage{}, err
			}
			if j.ArchivePath != "" {
				if p.Favorite, err = d.IsFavorite(ctx, v.UserID, id); err != nil {
					return db.JobPage{}, err
				}
			}
		}
		return p, nil
	}
	seen := map[string]int{}
	for _, u := range users {
		v := db.Viewer{UserID: u.ID, Admin: u.IsAdmin()}
		for _, id := range append(ids, ids[len(ids)-1]+1, 0) {
			t.Run(fmt.Sprintf("%s/job %d", u.Email, id), func(t *testing.T) {
				wantPage, wantErr := want(v, id)
				got, err := d.JobPage(ctx, v, id)
				if wantErr != nil {
					if !errors.Is(wantErr, apperr.ErrNotFound) {
						t.Fatal(wantErr)
					}
					if !errors.Is(err, apperr.ErrNotFound) {
						t.Fatalf("got %+v, err %v; want ErrNotFound", got, err)
					}
					seen["not found"]++
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, wantPage) {
					t.Fatalf("got  %+v\nwant %+v", got, wantPage)
				}
				seen["found"]++
				if got.Favorite {
					seen["starred"]++
				}
			})
		}
	}
	// The cases above are not vacuous: each viewer saw some pages, was
	// refused others, and saw stars.
	if seen["found"] < 10 || seen["not found"] < 8 || seen["starred"] < 3 {
		t.Errorf("cases seen: %v", seen)
	}

	// And the answers themselves, spelled out for a few.
	cases := []struct {
		name  string
		v     db.User
		id    int64
		found bool
		n     db.Neighbors
		fav   bool
	}{
		// The other member skips the owner's hidden results and the
		// deleted one: 0 and 3 are next to each other, then their own 5.
		{"teammate on the first", other, ids[0], true, db.Neighbors{Newer: ids[3]}, true},
		{"teammate on the fourth", other, ids[3], true, db.Neighbors{Newer: ids[5], Older: ids[0]}, false},
		{"teammate on a hidden one", other, ids[1], false, db.Neighbors{}, false},
		{"teammate on a running one", other, ids[2], false, db.Neighbors{}, false},
		{"teammate on a deleted one", other, ids[4], false, db.Neighbors{}, false},
		// The owner sees their hidden ones as neighbours.
		{"owner on the first", owner, ids[0], true, db.Neighbors{Newer: ids[1]}, false},
		{"owner on the fourth", owner, ids[3], true, db.Neighbors{Newer: ids[5], Older: ids[1]}, true},
		{"owner on a running one", owner, ids[2], true, db.Neighbors{}, false},
		{"owner on a deleted one", owner, ids[4], false, db.Neighbors{}, false},
		{"owner on the teammate's", owner, ids[5], true, db.Neighbors{Newer: ids[6], Older: ids[3]}, false},
		// An admin sees every hidden one.
		{"admin on a hidden one", admin, ids[1], true, db.Neighbors{Newer: ids[3], Older: ids[0]}, true},
		{"admin on the newest", admin, ids[6], true, db.Neighbors{Older: ids[5]}, false},
		{"admin on a deleted one", admin, ids[4], false, db.Neighbors{}, false},
	}
	for _, c := range cases {
		got, err := d.JobPage(ctx, db.Viewer{UserID: c.v.ID, Admin: c.v.IsAdmin()}, c.id)
		if !c.found {
			if !errors.Is(err, apperr.ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Job.ID != c.id || got.Neighbors != c.n || got.Favorite != c.fav {
			t.Errorf("%s: got job %d, %+v, star %v; want job %d, %+v, star %v", c.name,
				got.Job.ID, got.Neighbors, got.Favorite, c.id, c.n, c.fav)
		}
	}
}

// TestJobRecordAnswersWhatItsPartsWould checks JobRecord, one query,
// against JobEvents, LedgerForJob and SharesForJob, with share links asked
// for and not.
func TestJobRecordAnswersWhatItsPartsWould(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	u, err := d.CreateUser(ctx, "owner@example.com", "Owner", db.RoleMember, "h")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Grant(ctx, u.ID, 0, db.LedgerGrant, 100, ""); err != nil {
		t.Fatal(err)
	}
	job, _, err := d.CreateJobWithHold(ctx, newJob(u.ID, "key-record-00001", 20))
	if err != nil {
		t.Fatal(err)
	}
	id := job.ID
	rawExec(t, path, `UPDATE jobs SET status = 'succeeded', finished_at = created_at,
		archive_state = 'archived', archive_path = 'results/2026-12/1.mp4' WHERE id = ?`, id)
	owner := fixtureOwner{id: u.ID, job: id}
	for i, ev := range []struct{ status, detail string }{
		{"processing", ""}, {"succeeded", "Akool finished"}, {db.ArchiveDone, "12 MB, sha256 abc"},
	} {
		rawExec(t, path, `INSERT INTO job_events (job_id, at, status, source, detail) VALUES (?, ?, ?, 'poll', ?)`,
			id, time.Date(2026, 12, 1, 9, 0, i, 0, time.UTC).UnixMilli(), ev.status, ev.detail)
	}
	v := db.Viewer{UserID: owner.id}
	// Another job's lines stay out of this one's record.
	if _, _, err := d.CreateJobWithHold(ctx, newJob(owner.id, "key-record-other", 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Grant(ctx, owner.id, 0, db.LedgerGrant, 5, "not about a job"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetHidden(ctx, v, id, true); err != nil {
		t.Fatal(err)
	}
	var shares []db.Share
	for i := range 3 {
		sh, err := d.CreateShare(ctx, v, id, []byte(fmt.Sprintf("%032d", i)), time.Now().Add(time.Duration(i+1)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, sh)
	}
	if _, err := d.RevokeShare(ctx, v, shares[1].ID); err != nil {
		t.Fatal(err)
	}

	events, err := d.JobEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := d.LedgerForJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	links, err := d.SharesForJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || len(ledger) == 0 || len(links) != 3 || links[1].RevokedAt.IsZero() {
		t.Fatalf("fixture: %d events, %d ledger lines, %d links (%+v)", len(events), len(ledger), len(links), links)
	}
	for _, withShares := range []bool{true, false} {
		got, err := d.JobRecord(ctx, id, withShares)
		if err != nil {
			t.Fatal(err)
		}
		want := db.JobRecord{Events: events, Ledger: ledger}
		if withShares {
			want.Shares = links
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("withShares %v:\n got %+v\nwant %+v", withShares, got, want)
		}
	}
	// A job with no lines of any kind (none exists under this id).
	if got, err := d.JobRecord(ctx, id+100, true); err != nil || !reflect.DeepEqual(got, db.JobRecord{}) {
		t.Errorf("no such job: got %+v, err %v", got, err)
	}
}
