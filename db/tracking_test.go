package db

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// seedPlanJobs writes n jobs in one statement: most of users[0], a tenth
// of users[1] and users[2]; most final, one in 500 queued (all of
// users[0]'s), one in 100 deleted.
func seedPlanJobs(t *testing.T, d *DB, users [3]int64, n int) {
	t.Helper()
	_, err := d.sql.Exec(`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?)
		INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode,
			resolution, billed_seconds, estimate_credits, created_at, updated_at, deleted_at)
		SELECT CASE WHEN i % 20 = 0 THEN ? WHEN i % 10 = 0 THEN ? ELSE ? END,
			printf('plan-seed-key-%08d', i),
			CASE WHEN i % 500 = 3 THEN 'queued' WHEN i % 7 = 0 THEN 'failed' ELSE 'succeeded' END,
			'https://x/c.png', 'https://x/m.mp4', 'animate', '720p', 10, 20, i, i,
			CASE WHEN i % 100 = 1 THEN i END
		FROM s`, n, users[1], users[2], users[0])
	if err != nil {
		t.Fatal(err)
	}
}

func (d *DB) plan(t *testing.T, query string, args ...any) string {
	t.Helper()
	rows, err := d.sql.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

// The jobs list, the running count and the card's job lookup keep their plans on 100k jobs, with
// and without statistics: a page never scans or sorts every job. (Under
// -race the table has 5k jobs: the queries name their access paths, so
// the plans do not depend on the size; the 100k run is the plain one.)
func TestListQueryPlans(t *testing.T) {
	t.Parallel()
	jobs := 100_000
	if raceDetector {
		jobs = 5_000
	}
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
	seedPlanJobs(t, d, users, jobs)
	const top = int64(1<<63 - 1)
	cases := []struct {
		name, query string
		args        []any
		want        string
	}{
		{"everyone's page", `SELECT id ` + listAllJobs, []any{top, 21}, "SEARCH jobs USING INTEGER PRIMARY KEY (rowid<?)"},
		{"everyone's later page", `SELECT id ` + listAllJobs, []any{int64(jobs / 2), 21}, "SEARCH jobs USING INTEGER PRIMARY KEY (rowid<?)"},
		{"the big member's page", `SELECT id ` + listMemberJobs, []any{users[0], top, 21}, "SEARCH jobs USING INDEX jobs_user_id (user_id=? AND id<?)"},
		{"a small member's page", `SELECT id ` + listMemberJobs, []any{users[2], top, 21}, "SEARCH jobs USING INDEX jobs_user_id (user_id=? AND id<?)"},
		{"the big member's cards", `SELECT ` + jobCardColumns + ` ` + listMemberCards, []any{users[0], top, 21}, "SEARCH jobs USING COVERING INDEX jobs_member_cards (user_id=? AND id<?)"},
		{"a small member's later cards", `SELECT ` + jobCardColumns + ` ` + listMemberCards, []any{users[2], int64(jobs / 2), 5}, "SEARCH jobs USING COVERING INDEX jobs_member_cards (user_id=? AND id<?)"},
		{"running count", countRunning, []any{users[0]}, "SCAN CONSTANT ROW; SCALAR SUBQUERY 1; SEARCH running_jobs USING INTEGER PRIMARY KEY (rowid=?)"},
		{"a member's card", jobForMember, []any{int64(jobs / 2), users[0]}, "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"},
		{"an admin's card", jobForAdmin, []any{int64(jobs / 2)}, "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"},
	}
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := d.sql.Exec(`ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range cases {
			if got := d.plan(t, tc.query, tc.args...); got != tc.want {
				t.Errorf("%s (analyzed %v):\n got %s\nwant %s", tc.name, analyzed, got, tc.want)
			}
		}
	}
	// And they answer what they should.
	page, err := d.ListJobs(ctx, JobQuery{Limit: 21})
	if err != nil || len(page) != 21 || page[0].ID != int64(jobs) {
		t.Fatalf("everyone's first page: %d jobs, err %v", len(page), err)
	}
	for _, j := range page {
		if !j.DeletedAt.IsZero() {
			t.Errorf("deleted job %d listed", j.ID)
		}
	}
	// The cards' lists answer the same jobs, with what the cards show.
	for _, q := range []JobQuery{{Limit: 21}, {UserID: users[0], Limit: 21}, {UserID: users[2], Before: int64(jobs / 2), Limit: 5}} {
		full, err := d.ListJobs(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		cards, err := d.ListJobCards(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(cards) != len(full) {
			t.Fatalf("%+v: %d cards, %d jobs", q, len(cards), len(full))
		}
		for i := range full {
			if !reflect.DeepEqual(cards[i], full[i].Card()) {
				t.Errorf("%+v: card %+v, want %+v", q, cards[i], full[i].Card())
			}
		}
	}
	if n, err := d.CountRunning(ctx, users[0]); err != nil || n != jobs/500 {
		t.Errorf("running for the big member: %d, %v; want %d", n, err, jobs/500)
	}
}

// Concurrent copies of one webhook are accepted once.
func TestAcceptWebhookOncePerSignature(t *testing.T) {
	t.Parallel()
	d := openInternal(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	w := WebhookRecord{AkoolID: "abc", Status: 3, Signature: strings.Repeat("ab", 20), Body: `{"signature":"` + strings.Repeat("ab", 20) + `"}`}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for range 8 {
		wg.Go(func() {
			res, err := d.AcceptWebhook(ctx, w, now)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			outcomes[res.Outcome]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if outcomes[WebhookUnknownJob] != 1 || outcomes[WebhookDuplicate] != 7 {
		t.Errorf("outcomes %v, want one accepted (unknown job) and 7 duplicates", outcomes)
	}
	if n, _ := d.CountWebhooks(ctx); n != 1 {
		t.Errorf("%d stored, want 1", n)
	}
	// Another signature for the same job is news.
	w.Signature, w.Body = strings.Repeat("cd", 20), `{"signature":"`+strings.Repeat("cd", 20)+`"}`
	if res, err := d.AcceptWebhook(ctx, w, now); err != nil || res.Outcome != WebhookUnknownJob {
		t.Errorf("a second signature: %q, %v", res.Outcome, err)
	}
}
