package db

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// This file holds the admin overview's reads: the ledger and the audit log
// filtered and paged, interrupted jobs, and settings written with an audit
// entry.

// LedgerKinds are every ledger kind, in the order filters offer them.
var LedgerKinds = []string{LedgerGrant, LedgerAllowance, LedgerAdjust, LedgerHold, LedgerRelease, LedgerCharge}

// LedgerFilter selects ledger lines. Zero fields do not filter.
type LedgerFilter struct {
	UserID int64
	Kind   string
	From   time.Time // created at or after
	To     time.Time // created before
	// Before is the keyset cursor of LedgerFiltered: only lines with id <
	// Before (0: the newest page).
	Before int64
	Limit  int
}

// LedgerRow is a ledger line with its member's email and name.
type LedgerRow struct {
	LedgerEntry
	Email string
	Name  string
}

func (f LedgerFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.UserID != 0 {
		conds, args = append(conds, "l.user_id = ?"), append(args, f.UserID)
	}
	if f.Kind != "" {
		conds, args = append(conds, "l.kind = ?"), append(args, f.Kind)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "l.created_at >= ?"), append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "l.created_at < ?"), append(args, ms(f.To))
	}
	if f.Before > 0 {
		conds, args = append(conds, "l.id < ?"), append(args, f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const ledgerRowSelect = `SELECT l.id, l.user_id, l.kind, l.amount, COALESCE(l.job_id, 0), COALESCE(l.actor_id, 0), l.note, l.created_at,
		u.email, u.name
	FROM ledger l JOIN users u ON u.id = l.user_id`

func scanLedgerRow(rows *sql.Rows) (LedgerRow, error) {
	var r LedgerRow
	var at int64
	err := rows.Scan(&r.ID, &r.UserID, &r.Kind, &r.Amount, &r.JobID, &r.ActorID, &r.Note, &at, &r.Email, &r.Name)
	r.CreatedAt = fromMS(at)
	return r, err
}

// LedgerFiltered returns up to f.Limit lines matching f, newest first. The next
// page is f with Before set to the last line's id.
func (d *DB) LedgerFiltered(ctx context.Context, f LedgerFilter) ([]LedgerRow, error) {
	where, args := f.where()
	rows, err := d.sql.QueryContext(ctx, ledgerRowSelect+where+` ORDER BY l.id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LedgerRow
	for rows.Next() {
		r, err := scanLedgerRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EachLedger calls fn with every line matching f (Before and Limit are
// ignored), oldest first, one row at a time: nothing is collected, so a
// million lines stream in constant memory. It stops at fn's first error
// and returns it.
func (d *DB) EachLedger(ctx context.Context, f LedgerFilter, fn func(LedgerRow) error) error {
	f.Before, f.Limit = 0, 0
	where, args := f.where()
	rows, err := d.sql.QueryContext(ctx, ledgerRowSelect+where+` ORDER BY l.id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanLedgerRow(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditFilter selects audit entries. Zero fields do not filter.
type AuditFilter struct {
	ActorID int64
	Action  string
	From    time.Time
	To      time.Time
	Before  int64 // keyset cursor: only entries with id < Before
	Limit   int
}

// AuditRow is an audit entry with its actor's email ("" for the system or
// the command line, or an actor since deleted).
type AuditRow struct {
	AuditEntry
	ActorEmail string
}

// AuditPage returns up to f.Limit entries matching f, newest first.
func (d *DB) AuditPage(ctx context.Context, f AuditFilter) ([]AuditRow, error) {
	var conds []string
	var args []any
	if f.ActorID != 0 {
		conds, args = append(conds, "a.actor_id = ?"), append(args, f.ActorID)
	}
	if f.Action != "" {
		conds, args = append(conds, "a.action = ?"), append(args, f.Action)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "a.at >= ?"), append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "a.at < ?"), append(args, ms(f.To))
	}
	if f.Before > 0 {
		conds, args = append(conds, "a.id < ?"), append(args, f.Before)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT a.id, a.at, COALESCE(a.actor_id, 0), a.action, a.subject, a.detail, a.ip,
			COALESCE(u.email, '')
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id`+where+` ORDER BY a.id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		var r AuditRow
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.ActorID, &r.Action, &r.Subject, &r.Detail, &r.IP, &r.ActorEmail); err != nil {
			return nil, err
		}
		r.At = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AuditActions returns the distinct actions in the audit log, sorted (for
// the filter's choices).
func (d *DB) AuditActions(ctx context.Context) ([]string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT DISTINCT action FROM audit_log INDEXED BY audit_log_action ORDER BY action`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// InterruptedJob is a job interrupted between its hold and Akool's answer,
// with its member's email.
type InterruptedJob struct {
	Job
	Email string
}

// InterruptedJobs returns up to limit interrupted jobs, newest first.
func (d *DB) InterruptedJobs(ctx context.Context, limit int) ([]InterruptedJob, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+jobColumns+`, (SELECT email FROM users WHERE users.id = jobs.user_id)
		FROM jobs INDEXED BY jobs_interrupted WHERE status = 'interrupted' ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []InterruptedJob
	for rows.Next() {
		var email string
		j, err := scanJob(scanTail{rows, &email})
		if err != nil {
			return nil, err
		}
		out = append(out, InterruptedJob{Job: j, Email: email})
	}
	return out, rows.Err()
}

// scanTail scans a row whose leading columns are scanJob's and whose last
// one goes to tail.
type scanTail struct {
	rows *sql.Rows
	tail any
}

func (s scanTail) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.tail)...) }

// SetSetting stores value under key and, when audit's Action is set, the
// audit entry, in one transaction.
func (d *DB) SetSetting(ctx context.Context, key, value string, audit AuditEntry) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		now := d.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, ms(now)); err != nil {
			return err
		}
		if audit.Action != "" {
			return insertAudit(ctx, tx, now, audit)
		}
		return nil
	})
}
