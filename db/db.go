// Package db opens Swapdesk's SQLite database, applies its migrations and
// holds the store: hand-written SQL with explicit columns, scoped by owner
// wherever ownership matters. It imports no web package.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"swapdesk/internal/apperr"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrTooNew is returned by Open when the database was migrated by a newer
// Swapdesk than this binary.
var ErrTooNew = errors.New("database was created by a newer Swapdesk; upgrade the binary")

// DB is the store. Its methods are safe for concurrent use.
type DB struct {
	sql *sql.DB
	// Now is the store's clock; tests replace it.
	Now func() time.Time
	// Statements run on every request (the signed-in user), every card
	// poll or every page (the running count, the job lists, the balance),
	// prepared once: parsing them anew cost more than running them.
	stmtUserByID, stmtUserForSession, stmtJobForMember, stmtJobForAdmin, stmtBalance *sql.Stmt
	stmtCountRunning, stmtListMemberJobs, stmtListAllJobs, stmtJobEvents             *sql.Stmt
	// galleryStmts are the gallery's queries, prepared on first use (their
	// text depends on the filters).
	galleryStmts                                                              stmtCache
	stmtListMemberCards, stmtListAllCards, stmtLedgerForJob, stmtSharesForJob *sql.Stmt
	// The job page of an archived result asks for its neighbours and star;
	// the dashboard and New swap for the member's allowance.
	stmtArchivedNeighbors, stmtIsFavorite, stmtAllowance, stmtJobPage, stmtJobRecord *sql.Stmt
	// The gallery's member filter: the users' version, and the list read
	// at it.
	stmtUsersVersion *sql.Stmt
	members          membersCache
	// The gallery's searches: gallery_versions, the lists of matches and
	// the results' tiles read at them (gallery_search.go).
	stmtGalleryVersions *sql.Stmt
	searches            searchCache
	tiles               tileCache
	stars               versionedCache[[]int64]    // by member (starsOf)
	memberLists         versionedCache[*datedList] // by member (memberResults)
	team                teamCache
	// closing ends with Close; background is the work Close waits for.
	closing    context.Context
	close      context.CancelFunc
	background sync.WaitGroup
	// testRankWindow replaces rankWindow in tests (0: rankWindow).
	testRankWindow int
}

// DSN returns the modernc DSN for the database file at path: WAL, a busy
// timeout, foreign keys and IMMEDIATE transactions on every connection.
//
// The path travels as an escaped file: URI of its absolute form, so a '#',
// '?' or '%' in a directory name stays part of the name instead of starting
// SQLite's query or fragment. The busy timeout comes first: the pragmas run
// in order, and switching a fresh database to WAL needs a lock another
// process may be holding.
//
// Reads go through a memory map of the database file (mmap_size, up to
// 256 MiB): a page not in a connection's own 2 MB cache is then a memory
// read of the OS page cache the 8 connections share, not a pread into each
// one's copy. A job page reads one job of a 100k-job history at random,
// and a fifth of its handler time was those preads. Pages still in the WAL
// are read as before; writes are unchanged.
func DSN(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "mmap_size(268435456)")
	q.Set("_txlock", "immediate")
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}).String()
}

// Open opens (creating if needed) the database at path and applies pending
// migrations. It returns ErrTooNew for a database newer than the binary.
// A new database file is readable by its owner only: it holds password
// hashes and the session key.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	sqldb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// SQLite allows one writer; a small pool keeps readers concurrent in WAL
	// mode without piling up writers waiting on the busy timeout.
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{sql: sqldb, Now: time.Now}
	d.closing, d.close = context.WithCancel(context.Background())
	if err := d.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	if err := d.prepare(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return d, nil
}

// createPrivate creates an empty file at path with mode 0600 unless one
// exists. SQLite gives its -wal and -shm files the mode of the database
// file, so they are private too.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func (d *DB) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&d.stmtUserByID, `SELECT ` + userColumns + ` FROM users WHERE id = ?`},
		{&d.stmtUserForSession, sessionUserQuery},
		{&d.stmtJobForMember, jobForMember},
		{&d.stmtJobForAdmin, jobForAdmin},
		{&d.stmtBalance, balanceQuery},
		{&d.stmtCountRunning, countRunning},
		{&d.stmtListMemberJobs, `SELECT ` + jobColumns + ` ` + listMemberJobs},
		{&d.stmtListAllJobs, `SELECT ` + jobColumns + ` ` + listAllJobs},
		{&d.stmtJobEvents, jobEvents},
		{&d.stmtListMemberCards, `SELECT ` + jobCardColumns + ` ` + listMemberCards},
		{&d.stmtListAllCards, `SELECT ` + jobCardColumns + ` ` + listAllJobs},
		{&d.stmtLedgerForJob, ledgerForJob},
		{&d.stmtSharesForJob, `SELECT ` + shareColumns + ` FROM shares WHERE job_id = ? ORDER BY id DESC`},
		{&d.stmtArchivedNeighbors, archivedNeighbors},
		{&d.stmtIsFavorite, isFavorite},
		{&d.stmtJobPage, jobPageQuery},
		{&d.stmtJobRecord, jobRecordQuery},
		{&d.stmtAllowance, allowanceQuery},
		{&d.stmtUsersVersion, `SELECT n FROM users_version WHERE id = 1`},
		{&d.stmtGalleryVersions, `SELECT search, tiles, favorites, lists FROM gallery_versions WHERE id = 1`},
	} {
		st, err := d.sql.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.stmt = st
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error {
	d.close()
	d.background.Wait()
	for _, st := range []*sql.Stmt{d.stmtUserByID, d.stmtUserForSession, d.stmtJobForMember, d.stmtJobForAdmin, d.stmtBalance,
		d.stmtCountRunning, d.stmtListMemberJobs, d.stmtListAllJobs, d.stmtJobEvents,
		d.stmtListMemberCards, d.stmtListAllCards, d.stmtLedgerForJob, d.stmtSharesForJob,
		d.stmtArchivedNeighbors, d.stmtIsFavorite, d.stmtAllowance, d.stmtUsersVersion, d.stmtJobPage, d.stmtJobRecord,
		d.stmtGalleryVersions} {
		if st != nil {
			st.Close()
		}
	}
	d.galleryStmts.close()
	return d.sql.Close()
}

// Ping checks that the database answers a query.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.sql.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %q: %w", name, err)
		}
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies every embedded migration not yet recorded, each in its own
// transaction, and refuses a database that knows a later version. Each
// transaction reads the version again after taking the write lock, so
// processes opening a fresh database together apply each migration once.
func (d *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	err = d.openTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := d.openTx(ctx, func(tx *sql.Tx) error {
			var current, applied int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0), COUNT(*) FILTER (WHERE version = ?)
				FROM schema_migrations`, m.version).Scan(&current, &applied); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if current > len(ms) {
				return fmt.Errorf("%w (database version %d, binary knows %d)", ErrTooNew, current, len(ms))
			}
			// Each version is looked up itself, not compared with the
			// highest: a version missing below it is applied, never skipped.
			if applied > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, d.Now().UnixMilli())
			return err
		})
		if errors.Is(err, ErrTooNew) {
			return err
		}
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
	}
	return nil
}

// openBusyWait bounds how long Open waits out SQLITE_BUSY answers that
// came without SQLite's own busy wait; it matches the DSN's busy_timeout.
const openBusyWait = 10 * time.Second

// openTx is tx for the steps of Open, tried again while SQLite answers
// SQLITE_BUSY, for up to openBusyWait with a doubling pause. busy_timeout
// does not cover them all: the first connection to a fresh database switches
// it to WAL (a pragma the pool runs on connecting, so BEGIN fails with it),
// which reads the header and then upgrades that read lock to write the
// file format, and SQLite refuses an upgrade that meets another writer (a
// process opening the same fresh file) at once, without the busy handler,
// since both waiting could deadlock. Letting go and starting over cannot.
func (d *DB) openTx(ctx context.Context, fn func(*sql.Tx) error) error {
	deadline := time.Now().Add(openBusyWait)
	pause := 5 * time.Millisecond
	for {
		err := d.tx(ctx, fn)
		if err == nil || !isBusy(err) || time.Now().Add(pause).After(deadline) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, in any of its
// extended forms, by its code.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// SchemaVersion returns the highest migration applied.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := d.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// tx runs fn in a transaction (BEGIN IMMEDIATE through the DSN), committing
// when fn returns nil and rolling back otherwise.
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

// mapErr turns driver errors into the app's sentinels by SQLite error code,
// never by message text.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", apperr.ErrNotFound, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", apperr.ErrConflict, err)
		}
	}
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

// Backup writes a consistent copy of the database to path, which must not
// exist. The copy is readable by its owner only, like the database.
func (d *DB) Backup(ctx context.Context, path string) error {
	// VACUUM INTO accepts an empty file; creating it first sets its mode and
	// refuses a path that appeared since the caller looked.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if _, err := d.sql.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
