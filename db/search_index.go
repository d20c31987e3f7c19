package db

import (
	"context"
	"database/sql"
	"fmt"
)

// The prompt search's FTS5 index (jobs_fts) is a set of segments: each
// write transaction that indexes a prompt adds a small one, and FTS5's
// automerge only merges segments of the same level, so the count grows
// with the archive (19 after 100,000 prompts). A search seeks every
// segment for each word: one segment made a one-word search's FTS query
// ≈3.5× cheaper (204 → 57 µs at 100,000 prompts). SearchIndexSegments and
// MergeSearchIndex let the app keep it near one (jobs.SearchIndex).

// SearchIndexSegments returns how many segments the prompt search's index
// has: one row of jobs_fts_idx, FTS5's b-tree over its leaf pages, at
// least names each.
func (d *DB) SearchIndexSegments(ctx context.Context) (int, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT count(DISTINCT segid) FROM jobs_fts_idx`).Scan(&n)
	return n, mapErr(err)
}

// MergeSearchIndex does up to pages leaf pages of work merging the prompt
// search's index segments, of every level, toward one (FTS5's 'merge' with
// a negative count), in one write transaction, so the lock it takes is as
// short as pages makes it. Calling it again continues a merge it left
// unfinished. Search results are the same before and after.
func (d *DB) MergeSearchIndex(ctx context.Context, pages int) error {
	if pages <= 0 {
		return fmt.Errorf("merge search index: pages %d", pages)
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs_fts (jobs_fts, rank) VALUES ('merge', ?)`, -pages)
		return err
	})
}
