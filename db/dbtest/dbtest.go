// Package dbtest gives tests a real SQLite database built by the same
// migrations as production (never :memory: behind a pool, never a separate
// schema file).
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"swapdesk/db"
)

// Open returns a migrated database in a new temp dir of tb, closed when tb
// ends. A failure to open fails tb.
func Open(tb testing.TB) *db.DB {
	tb.Helper()
	return OpenFile(tb, filepath.Join(tb.TempDir(), "swapdesk.db"))
}

// OpenFile opens the database at path, creating and migrating it as
// needed, and closes it when tb ends. A failure to open fails tb.
func OpenFile(tb testing.TB, path string) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("open database %s: %v", path, err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}
