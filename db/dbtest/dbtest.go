// Package dbtest gives tests a real SQLite database built by the same
// migrations as production (never :memory: behind a pool, never a separate
// schema file).
//
// Migrating a database costs about 1.5 s under the race detector, and
// almost every test wants a fresh one, so each test binary migrates once,
// into a template, and every test gets its own copy of that file: the
// bytes production's migrations wrote, opened by production's db.Open,
// which finds every migration applied and applies none. The tests of the
// migrations themselves (package db) still start from an empty file.
package dbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"swapdesk/db"
)

// Open returns a migrated database in a new temp dir of tb, closed when tb
// ends: a copy of the template (see Template) opened with db.Open. A
// failure to open fails tb.
func Open(tb testing.TB) *db.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "swapdesk.db")
	Template(tb, path)
	return OpenFile(tb, path)
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

// Template writes a database with every migration applied and nothing
// else to path, which must not exist, with the mode db.Open gives a new
// database (0600). It is the same for every call in one test binary: the
// first call migrates an empty database with db.Open, closes it (which
// checkpoints its write-ahead log into the file) and keeps the file's
// bytes. A failure fails tb.
func Template(tb testing.TB, path string) {
	tb.Helper()
	b, err := template()
	if err != nil {
		tb.Fatalf("template database: %v", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		tb.Fatalf("template database: %v", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		tb.Fatalf("template database: %v", err)
	}
	if err := f.Close(); err != nil {
		tb.Fatalf("template database: %v", err)
	}
}

var template = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "swapdesk-dbtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "swapdesk.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := d.Close(); err != nil {
		return nil, err
	}
	// Closing the last connection checkpoints the log and deletes it; a
	// log left behind would hold pages the copy lacks.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s-wal left with %d bytes after close", path, fi.Size())
	}
	return os.ReadFile(path)
})
