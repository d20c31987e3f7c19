package db

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// openInternal is dbtest.Open for this package's internal tests, which
// cannot import dbtest (it imports db): a copy of a database this test
// binary migrated once, opened with Open.
func openInternal(t *testing.T) *DB {
	t.Helper()
	b, err := internalTemplate()
	if err != nil {
		t.Fatalf("template database: %v", err)
	}
	path := filepath.Join(t.TempDir(), "swapdesk.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// internalTemplate is the bytes of a database Open migrated from empty and
// closed again, which checkpoints its log into the file (as dbtest's
// template).
var internalTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "swapdesk-dbtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "swapdesk.db")
	d, err := Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := d.Close(); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s-wal left with %d bytes after close", path, fi.Size())
	}
	return os.ReadFile(path)
})
