package db

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The running count kept by migration 0009's triggers equals a count of the
// jobs themselves after every kind of change: inserts in any state, status
// changes between open and final states both ways, soft deletes and
// undeletes, a job moving to another member, and hard deletes.
func TestRunningCountFollowsEveryChange(t *testing.T) {
	t.Parallel()
	d := openInternal(t)
	ctx := context.Background()
	var users [3]int64
	for i := range users {
		u, err := d.CreateUser(ctx, fmt.Sprintf("u%d@example.com", i), "U", RoleMember, "x")
		if err != nil {
			t.Fatal(err)
		}
		users[i] = u.ID
	}
	statuses := []JobStatus{JobSubmitting, JobQueued, JobProcessing, JobSucceeded, JobFailed, JobRejected, JobInterrupted}
	rng := rand.New(rand.NewPCG(9, 9))
	check := func(step string) {
		t.Helper()
		for _, u := range users {
			var want int
			if err := d.sql.QueryRow(`SELECT COUNT(*) FROM jobs WHERE user_id = ?
				AND status IN ('submitting', 'queued', 'processing') AND deleted_at IS NULL`, u).Scan(&want); err != nil {
				t.Fatal(err)
			}
			got, err := d.CountRunning(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("after %s: CountRunning(%d) = %d, want %d", step, u, got, want)
			}
		}
	}
	check("nothing")
	ids := []int64{}
	for i := range 400 {
		var step string
		var err error
		switch op := rng.IntN(10); {
		case op < 3 || len(ids) == 0:
			var id int64
			step = "insert"
			err = d.sql.QueryRow(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode,
					resolution, billed_seconds, estimate_credits, created_at, updated_at)
				VALUES (?, ?, ?, 'https://x/c.png', 'https://x/m.mp4', 'animate', '720p', 10, 20, 0, 0) RETURNING id`,
				users[rng.IntN(3)], fmt.Sprintf("running-test-%08d", i), statuses[rng.IntN(len(statuses))]).Scan(&id)
			ids = append(ids, id)
		case op < 6:
			step = "status change"
			_, err = d.sql.Exec(`UPDATE jobs SET status = ? WHERE id = ?`, statuses[rng.IntN(len(statuses))], ids[rng.IntN(len(ids))])
		case op < 7:
			step = "soft delete"
			_, err = d.sql.Exec(`UPDATE jobs SET deleted_at = 1 WHERE id = ?`, ids[rng.IntN(len(ids))])
		case op < 8:
			step = "undelete"
			_, err = d.sql.Exec(`UPDATE jobs SET deleted_at = NULL WHERE id = ?`, ids[rng.IntN(len(ids))])
		case op < 9:
			step = "new owner"
			_, err = d.sql.Exec(`UPDATE jobs SET user_id = ? WHERE id = ?`, users[rng.IntN(3)], ids[rng.IntN(len(ids))])
		default:
			step = "hard delete"
			k := rng.IntN(len(ids))
			_, err = d.sql.Exec(`DELETE FROM jobs WHERE id = ?`, ids[k])
			ids = append(ids[:k], ids[k+1:]...)
		}
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		check(fmt.Sprintf("step %d (%s)", i, step))
	}
}
