package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Ledger entry kinds. Amounts are signed effects on the available balance.
const (
	LedgerGrant   = "grant"
	LedgerAdjust  = "adjust"
	LedgerHold    = "hold"
	LedgerRelease = "release"
	LedgerCharge  = "charge"
)

// LedgerEntry is one line of the append-only credit ledger.
type LedgerEntry struct {
	ID        int64
	UserID    int64
	Kind      string
	Amount    int64
	JobID     int64 // 0 when not about a job
	ActorID   int64 // 0 for the system or the command line
	Note      string
	CreatedAt time.Time
}

// Balance is a member's credits, all derived from the ledger.
type Balance struct {
	Granted   int64 // grants and adjustments
	Held      int64 // reserved for jobs not yet settled
	Spent     int64 // charged for finished jobs
	Available int64 // Granted - Held - Spent: what a new job may use
}

// balanceTx sums user's ledger inside tx (or the pool when tx is nil).
func balanceTx(ctx context.Context, q queryer, userID int64) (Balance, error) {
	var b Balance
	err := q.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN kind IN ('grant', 'adjust') THEN amount END), 0),
			COALESCE(-SUM(CASE WHEN kind IN ('hold', 'release') THEN amount END), 0),
			COALESCE(-SUM(CASE WHEN kind = 'charge' THEN amount END), 0),
			COALESCE(SUM(amount), 0)
		FROM ledger WHERE user_id = ?`, userID).Scan(&b.Granted, &b.Held, &b.Spent, &b.Available)
	return b, err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Balance returns userID's balance.
func (d *DB) Balance(ctx context.Context, userID int64) (Balance, error) {
	return balanceTx(ctx, d.sql, userID)
}

// Grant adds amount (> 0) credits to userID, or adjusts by a signed amount
// when kind is LedgerAdjust. It returns an error wrapping apperr.ErrNotFound
// for an unknown user.
func (d *DB) Grant(ctx context.Context, userID, actorID int64, kind string, amount int64, note string) (LedgerEntry, error) {
	if kind != LedgerGrant && kind != LedgerAdjust {
		return LedgerEntry{}, fmt.Errorf("grant: kind %q is not grant or adjust", kind)
	}
	var e LedgerEntry
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
			return err
		}
		var err error
		e, err = insertLedger(ctx, tx, d.Now(), LedgerEntry{UserID: userID, Kind: kind, Amount: amount, ActorID: actorID, Note: note})
		return err
	})
	return e, err
}

func insertLedger(ctx context.Context, q queryer, now time.Time, e LedgerEntry) (LedgerEntry, error) {
	e.CreatedAt = time.UnixMilli(now.UnixMilli())
	res, err := q.ExecContext(ctx, `INSERT INTO ledger (user_id, kind, amount, job_id, actor_id, note, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.UserID, e.Kind, e.Amount, nullID(e.JobID), nullID(e.ActorID), e.Note, ms(now))
	if err != nil {
		return LedgerEntry{}, fmt.Errorf("ledger %s: %w", e.Kind, err)
	}
	e.ID, err = res.LastInsertId()
	return e, err
}

// releaseHold returns whatever is still held for jobID to its member (a
// no-op when nothing is held), so it is safe to call more than once.
func releaseHold(ctx context.Context, q queryer, now time.Time, userID, jobID int64, note string) (int64, error) {
	var held int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(-SUM(amount), 0) FROM ledger
		WHERE job_id = ? AND kind IN ('hold', 'release')`, jobID).Scan(&held); err != nil {
		return 0, err
	}
	if held <= 0 {
		return 0, nil
	}
	_, err := insertLedger(ctx, q, now, LedgerEntry{UserID: userID, Kind: LedgerRelease, Amount: held, JobID: jobID, Note: note})
	return held, err
}

// LedgerForUser returns userID's newest entries, newest first.
func (d *DB) LedgerForUser(ctx context.Context, userID int64, limit int) ([]LedgerEntry, error) {
	return d.ledgerWhere(ctx, `user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit)
}

// LedgerForJob returns the entries about jobID, oldest first.
func (d *DB) LedgerForJob(ctx context.Context, jobID int64) ([]LedgerEntry, error) {
	return d.ledgerWhere(ctx, `job_id = ? ORDER BY id`, jobID)
}

func (d *DB) ledgerWhere(ctx context.Context, where string, args ...any) ([]LedgerEntry, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, user_id, kind, amount, COALESCE(job_id, 0), COALESCE(actor_id, 0), note, created_at
		FROM ledger WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LedgerEntry
	for rows.Next() {
		var e LedgerEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.UserID, &e.Kind, &e.Amount, &e.JobID, &e.ActorID, &e.Note, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func nullID(id int64) sql.NullInt64 {
	return sql.NullInt64{Int64: id, Valid: id != 0}
}
