package db

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// Prompts indexed one transaction at a time, as members submit them, leave
// the search index in several segments; merging them leaves one, and every
// search finds the same jobs in the same order.
func TestMergeSearchIndex(t *testing.T) {
	t.Parallel()
	d := openInternal(t)
	ctx := context.Background()
	users := galleryUsers(t, d, 3)
	seedGallery(t, d, users, 2_000)
	words := []string{"warm", "cold", "neon", "robot", "dance", "rain", "light"}
	for i := range 400 {
		_, err := d.sql.ExecContext(ctx, `INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url,
				mode, resolution, billed_seconds, estimate_credits, created_at, updated_at, prompt)
			VALUES (?, ?, 'queued', 'https://x/c.png', 'https://x/m.mp4', 'animate', '720p', 10, 20, ?, ?, ?)`,
			users[i%3], fmt.Sprintf("search-index-key-%06d", i), 3_000_000+i, 3_000_000+i,
			fmt.Sprintf("%s %s number%d", words[i%7], words[(i/7)%7], i))
		if err != nil {
			t.Fatal(err)
		}
	}
	// A deletion and an edit, indexed since, are merged too.
	if _, err := d.sql.ExecContext(ctx, `DELETE FROM jobs WHERE idempotency_key = 'search-index-key-000007'`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.sql.ExecContext(ctx, `UPDATE jobs SET prompt = 'golden robot' WHERE idempotency_key = 'search-index-key-000008'`); err != nil {
		t.Fatal(err)
	}
	searches := []string{`"warm"`, `"robot"`, `"neon" AND "dance"`, `"number123"`, `"number7"`, `"golden"`, `"cold" AND "rain"`}
	matches := func() [][]int64 {
		var out [][]int64
		for _, q := range searches {
			rows, err := d.sql.QueryContext(ctx, `SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ? ORDER BY rowid DESC`, q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			out = append(out, ids)
		}
		return out
	}
	before := matches()
	segs, err := d.SearchIndexSegments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if segs < 3 {
		t.Fatalf("got %d segments after 400 single inserts, want several (the test needs them)", segs)
	}
	// Small steps, so a merge is left unfinished and continued.
	steps := 0
	for n := segs; n > 1; steps++ {
		if steps == 1000 {
			t.Fatalf("still %d segments after %d merge steps", n, steps)
		}
		if err := d.MergeSearchIndex(ctx, 4); err != nil {
			t.Fatal(err)
		}
		if n, err = d.SearchIndexSegments(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if steps < 2 {
		t.Errorf("merged in %d step of 4 pages; want a merge continued across steps", steps)
	}
	t.Logf("%d segments merged into one in %d steps of 4 pages", segs, steps)
	after := matches()
	for i, q := range searches {
		if !slices.Equal(after[i], before[i]) {
			t.Errorf("MATCH %s after merging %d segments: got %d ids %v…, want %d ids %v…", q, segs, len(after[i]), head(after[i]), len(before[i]), head(before[i]))
		}
		if empty := q == `"number7"`; empty != (len(before[i]) == 0) {
			t.Errorf("MATCH %s finds %d jobs before merging", q, len(before[i]))
		}
	}
	if _, err := d.sql.ExecContext(ctx, `INSERT INTO jobs_fts (jobs_fts) VALUES ('integrity-check')`); err != nil {
		t.Errorf("integrity-check after merging: %v", err)
	}
	if err := d.MergeSearchIndex(ctx, 0); err == nil {
		t.Error("MergeSearchIndex(0): no error")
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 5)] }
