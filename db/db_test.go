package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/apperr"
)

// openTest opens a copy of the migrated template (see dbtest.Template)
// and returns its path too.
func openTest(t *testing.T) (*db.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "swapdesk.db")
	dbtest.Template(t, path)
	return dbtest.OpenFile(t, path), path
}

func TestMigrationsTwiceAreANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// From an empty file, not the template: the first open migrates.
	path := filepath.Join(t.TempDir(), "swapdesk.db")
	d := dbtest.OpenFile(t, path)
	v1, err := d.SchemaVersion(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("version after first open = %d, %v", v1, err)
	}
	if _, err := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d2, err := db.Open(ctx, path)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer d2.Close()
	v2, _ := d2.SchemaVersion(ctx)
	if v2 != v1 {
		t.Errorf("version changed on reopen: %d -> %d", v1, v2)
	}
	if n, _ := d2.CountUsers(ctx); n != 1 {
		t.Errorf("users after reopen = %d, want 1 (data kept)", n)
	}
}

func TestRefusesDatabaseNewerThanBinary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	d.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = db.Open(ctx, path)
	if !errors.Is(err, db.ErrTooNew) {
		t.Fatalf("open newer database: err = %v, want ErrTooNew", err)
	}
}

func TestPragmasApplyToEveryConnection(t *testing.T) {
	t.Parallel()
	_, path := openTest(t)
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(3)
	ctx := context.Background()
	var conns []*sql.Conn
	for i := 0; i < 3; i++ {
		c, err := raw.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		var fk, busy int
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
		c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy)
		if mode != "wal" || fk != 1 || busy != 10000 {
			t.Errorf("conn %d: journal_mode=%s foreign_keys=%d busy_timeout=%d", i, mode, fk, busy)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestUserErrorsMapToSentinels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	if _, err := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h"); err != nil {
		t.Fatal(err)
	}
	_, err := d.CreateUser(ctx, "A@EXAMPLE.COM", "A2", db.RoleMember, "h")
	if !errors.Is(err, apperr.ErrConflict) {
		t.Errorf("duplicate email (other case): err = %v, want ErrConflict", err)
	}
	if _, err := d.UserByID(ctx, 42); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("missing user: err = %v, want ErrNotFound", err)
	}
	if err := d.SetPassword(ctx, 42, "x"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("SetPassword missing user: err = %v, want ErrNotFound", err)
	}
	if _, err := d.CreateUser(ctx, "b@example.com", "B", "owner", "h"); err == nil {
		t.Error("role outside admin/member accepted")
	}
}

func TestSessionVersionBumps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	if err := d.SetPassword(ctx, u.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	got, _ := d.UserByID(ctx, u.ID)
	if got.SessionVersion != u.SessionVersion+2 || !got.Disabled() || got.PasswordHash != "h2" {
		t.Errorf("after passwd+disable: version %d (from %d), disabled %v, hash %q",
			got.SessionVersion, u.SessionVersion, got.Disabled(), got.PasswordHash)
	}
}

func TestSettingOrCreateKeepsFirstValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	calls := 0
	gen := func() (string, error) { calls++; return "v" + string(rune('0'+calls)), nil }
	a, err := d.SettingOrCreate(ctx, "k", gen)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := d.SettingOrCreate(ctx, "k", gen)
	if a != "v1" || b != "v1" || calls != 1 {
		t.Errorf("got %q then %q after %d generations, want v1 twice and one generation", a, b, calls)
	}
	if _, err := d.Setting(ctx, "absent"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("absent setting: %v", err)
	}
}

func TestBackupWritesAReadableCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	to := filepath.Join(t.TempDir(), "copy.db")
	if err := d.Backup(ctx, to); err != nil {
		t.Fatal(err)
	}
	c, err := db.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, _ := c.CountUsers(ctx); n != 1 {
		t.Errorf("copy has %d users, want 1", n)
	}
}

func rawOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// A data directory may contain characters that mean something in a URI; the
// database must still land at exactly the path asked for.
func TestOpenPathWithURICharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, name := range []string{"has #hash", "has ?query", "has %25 percent", "all # ? % here"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "swapdesk.db")
			d, err := db.Open(ctx, path)
			if err != nil {
				t.Fatalf("open %q: %v", path, err)
			}
			if _, err := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h"); err != nil {
				t.Fatal(err)
			}
			d.Close()
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Contains(names, "swapdesk.db") {
				t.Fatalf("%s holds %v, want swapdesk.db there", dir, names)
			}
			d2, err := db.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			if n, _ := d2.CountUsers(ctx); n != 1 {
				t.Errorf("reopened database has %d users, want 1 (a different file was used)", n)
			}
		})
	}
}

// Two processes starting on a fresh database at once must both come up.
func TestConcurrentOpensOfAFreshDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "swapdesk.db")
	const n = 6
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			d, err := db.Open(ctx, path)
			if err == nil {
				d.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v, _ := d.SchemaVersion(ctx)
	var applied int
	if err := rawOpen(t, path).QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != v {
		t.Errorf("schema_migrations has %d rows for version %d: a migration was recorded twice or skipped", applied, v)
	}
}

// The database holds password hashes: only its owner may read it.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "swapdesk.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h"); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(dir, "copy.db")
	if err := d.Backup(ctx, to); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", to} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", filepath.Base(p), got)
		}
	}
}

func TestRevokedSessionIsRefusedAndPrunedLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }
	u, err := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.UserForSession(ctx, u.ID, "session-a"); err != nil || got.ID != u.ID {
		t.Fatalf("live session: %v, %v", got.ID, err)
	}
	if err := d.RevokeSession(ctx, "session-a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := d.RevokeSession(ctx, "session-a", now.Add(time.Minute)); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if _, err := d.UserForSession(ctx, u.ID, "session-a"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("revoked session: err = %v, want ErrNotFound", err)
	}
	if _, err := d.UserForSession(ctx, u.ID, "session-b"); err != nil {
		t.Errorf("another session of the same user: %v", err)
	}
	if _, err := d.UserForSession(ctx, 999, "session-b"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unknown user: err = %v, want ErrNotFound", err)
	}

	// Past its expiry a record is pruned by the next revocation.
	now = now.Add(2 * time.Hour)
	if err := d.RevokeSession(ctx, "session-b", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, err := rawOpen(t, path).Query(`SELECT id FROM revoked_sessions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if !slices.Equal(ids, []string{"session-b"}) {
		t.Errorf("revoked sessions kept: %v, want only session-b", ids)
	}
}

// Every request runs the session query: it must stay two primary-key
// lookups, however many sessions were revoked.
func TestSessionUserQueryUsesPrimaryKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	for i := range 50 {
		d.RevokeSession(ctx, fmt.Sprintf("s%d", i), time.Now().Add(time.Hour))
	}
	raw := rawOpen(t, path)
	if _, err := raw.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	rows, err := raw.Query(`EXPLAIN QUERY PLAN `+db.SessionUserQuery, u.ID, "s1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "\n")
	for _, want := range []string{"SEARCH users USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH revoked_sessions USING PRIMARY KEY (id=?)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("plan lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "SCAN") {
		t.Errorf("plan scans a table:\n%s", joined)
	}
}

// Switching a fresh database to WAL reads its header and then upgrades that
// read lock to a write lock, and SQLite answers an upgrade that meets
// another writer with SQLITE_BUSY at once, without calling the busy handler
// (waiting could deadlock). So another connection writing the fresh file
// (another process opening it too, switching it to WAL first) made Open
// fail however long busy_timeout was. Open must wait for it instead.
func TestOpenWaitsForAWriterOfAFreshDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "swapdesk.db")
	// A writer in rollback-journal mode, as a fresh file starts, holding
	// its reserved lock until released.
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	const held = 500 * time.Millisecond
	released := make(chan struct{})
	go func() {
		time.Sleep(held)
		_, _ = conn.ExecContext(ctx, `COMMIT`)
		close(released)
	}()
	start := time.Now()
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatalf("open while another connection writes the fresh file: %v", err)
	}
	defer d.Close()
	<-released
	if waited := time.Since(start); waited < held/2 {
		t.Errorf("open took %v, yet the writer held its lock for %v", waited, held)
	}
	if v, err := d.SchemaVersion(ctx); err != nil || v == 0 {
		t.Errorf("schema version %d, %v after open", v, err)
	}
}

// A session's user comes with their running-job count, as CountRunning
// gives it, so a page needs no query of its own for its title.
func TestSessionUserCarriesTheRunningCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	d.Grant(ctx, u.ID, 0, db.LedgerGrant, 100, "")
	for i, want := range []int{0, 1, 2} {
		if i > 0 {
			if _, _, err := d.CreateJobWithHold(ctx, newJob(u.ID, fmt.Sprintf("running-key-%08d", i), 10)); err != nil {
				t.Fatal(err)
			}
		}
		su, err := d.UserForSession(ctx, u.ID, "session-a")
		n, _ := d.CountRunning(ctx, u.ID)
		if err != nil || su.ID != u.ID || su.Running != want || n != want {
			t.Errorf("after %d jobs: user %d running %d (CountRunning %d), %v; want %d", i, su.ID, su.Running, n, err, want)
		}
	}
}
