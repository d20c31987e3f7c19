package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"swapdesk/internal/apperr"
)

// This file holds all of the credit ledger's SQL. The rules (how much, when,
// with which note) are internal/credits'; the store writes what it is given,
// keeping two things true in every transaction: each member's balance row
// equals the sum of their ledger lines, and a line that reserves or takes
// back credits (a hold, a negative adjustment) is written only if the
// member's available balance stays >= 0.

// Ledger entry kinds. Amounts are signed effects on the available balance.
const (
	LedgerGrant  = "grant"
	LedgerAdjust = "adjust"
	// LedgerAllowance is a monthly allowance's top-up (db/members.go).
	LedgerAllowance = "allowance"
	LedgerHold      = "hold"
	LedgerRelease   = "release"
	LedgerCharge    = "charge"
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
	Granted   int64 // grants, adjustments and allowances
	Held      int64 // reserved for jobs not yet settled
	Spent     int64 // charged for finished jobs
	Available int64 // Granted - Held - Spent: what a new job may use
}

// effect splits a ledger line into its change of granted, held and spent.
func effect(kind string, amount int64) (granted, held, spent int64, err error) {
	switch kind {
	case LedgerGrant, LedgerAdjust, LedgerAllowance:
		return amount, 0, 0, nil
	case LedgerHold, LedgerRelease:
		return 0, -amount, 0, nil
	case LedgerCharge:
		return 0, 0, -amount, nil
	}
	return 0, 0, 0, fmt.Errorf("ledger: unknown kind %q", kind)
}

// ledgerSums is the per-member sum of the ledger in the balance row's
// terms; the migration that made member_balances backfilled it the same way.
const ledgerSums = `SELECT user_id,
		COALESCE(SUM(CASE WHEN kind IN ('grant', 'adjust', 'allowance') THEN amount END), 0) AS granted,
		COALESCE(-SUM(CASE WHEN kind IN ('hold', 'release') THEN amount END), 0) AS held,
		COALESCE(-SUM(CASE WHEN kind = 'charge' THEN amount END), 0) AS spent
	FROM ledger`

const balanceQuery = `SELECT granted, held, spent FROM member_balances WHERE user_id = ?`

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// balanceTx reads userID's balance row inside tx (or the pool); a member
// with no ledger lines has none, and a zero balance.
func balanceTx(ctx context.Context, q queryer, userID int64) (Balance, error) {
	return scanBalance(q.QueryRowContext(ctx, balanceQuery, userID))
}

func scanBalance(row *sql.Row) (Balance, error) {
	var b Balance
	err := row.Scan(&b.Granted, &b.Held, &b.Spent)
	if errors.Is(err, sql.ErrNoRows) {
		return Balance{}, nil
	}
	if err != nil {
		return Balance{}, err
	}
	b.Available = b.Granted - b.Held - b.Spent
	return b, nil
}

// Balance returns userID's balance: one primary-key lookup of its balance
// row, however long the member's ledger.
func (d *DB) Balance(ctx context.Context, userID int64) (Balance, error) {
	return scanBalance(d.stmtBalance.QueryRowContext(ctx, userID))
}

// CreditChange is a grant or an adjustment as internal/credits decided it.
type CreditChange struct {
	UserID  int64
	ActorID int64  // 0 for the command line
	Kind    string // LedgerGrant or LedgerAdjust
	Amount  int64
	Note    string
	// Audit, when its Action is set, is written in the same transaction
	// (stamped with the store's clock).
	Audit AuditEntry
}

// AddCredits writes c's ledger line (and its audit entry) in one
// transaction and returns the line and the member's balance after it. A
// line that takes credits away is written only if the member's available
// balance stays >= 0. Errors: apperr.ErrNotFound for an unknown member,
// *apperr.InsufficientCredits when available would go below zero.
func (d *DB) AddCredits(ctx context.Context, c CreditChange) (LedgerEntry, Balance, error) {
	if c.Kind != LedgerGrant && c.Kind != LedgerAdjust {
		return LedgerEntry{}, Balance{}, fmt.Errorf("add credits: kind %q is not grant or adjust", c.Kind)
	}
	var e LedgerEntry
	var bal Balance
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, c.UserID)); err != nil {
			return err
		}
		if c.Amount < 0 {
			if err := reserve(ctx, tx, c.UserID, -c.Amount); err != nil {
				return err
			}
		}
		now := d.Now()
		var err error
		e, err = insertLedger(ctx, tx, now, LedgerEntry{UserID: c.UserID, Kind: c.Kind, Amount: c.Amount, ActorID: c.ActorID, Note: c.Note})
		if err != nil {
			return err
		}
		if c.Audit.Action != "" {
			if err := insertAudit(ctx, tx, now, c.Audit); err != nil {
				return err
			}
		}
		bal, err = balanceTx(ctx, tx, c.UserID)
		return err
	})
	return e, bal, err
}

// Grant writes a grant (amount > 0) or, with kind LedgerAdjust, a signed
// adjustment for userID, unchecked and unaudited: for tests and seeding.
// People's grants go through internal/credits. Errors as AddCredits.
func (d *DB) Grant(ctx context.Context, userID, actorID int64, kind string, amount int64, note string) (LedgerEntry, error) {
	e, _, err := d.AddCredits(ctx, CreditChange{UserID: userID, ActorID: actorID, Kind: kind, Amount: amount, Note: note})
	return e, err
}

// reserve checks, inside a write transaction, that userID can give up
// amount credits without their available balance going below zero, and
// returns *apperr.InsufficientCredits if not.
func reserve(ctx context.Context, q queryer, userID, amount int64) error {
	bal, err := balanceTx(ctx, q, userID)
	if err != nil {
		return err
	}
	if bal.Available < amount {
		return &apperr.InsufficientCredits{Available: bal.Available, Needed: amount}
	}
	return nil
}

// insertLedger appends e and moves its member's balance row by the same
// amount. Every ledger line is written here, inside its caller's
// transaction, so the row never drifts from the ledger's sum.
func insertLedger(ctx context.Context, q queryer, now time.Time, e LedgerEntry) (LedgerEntry, error) {
	granted, held, spent, err := effect(e.Kind, e.Amount)
	if err != nil {
		return LedgerEntry{}, err
	}
	e.CreatedAt = time.UnixMilli(now.UnixMilli())
	res, err := q.ExecContext(ctx, `INSERT INTO ledger (user_id, kind, amount, job_id, actor_id, note, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.UserID, e.Kind, e.Amount, nullID(e.JobID), nullID(e.ActorID), e.Note, ms(now))
	if err != nil {
		return LedgerEntry{}, fmt.Errorf("ledger %s: %w", e.Kind, err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return LedgerEntry{}, err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO member_balances (user_id, granted, held, spent) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET granted = granted + excluded.granted,
			held = held + excluded.held, spent = spent + excluded.spent`, e.UserID, granted, held, spent)
	if err != nil {
		return LedgerEntry{}, fmt.Errorf("balance of user %d: %w", e.UserID, err)
	}
	return e, nil
}

// holdTx holds amount for jobID, refusing with *apperr.InsufficientCredits
// when it would take userID's available balance below zero.
func holdTx(ctx context.Context, q queryer, now time.Time, userID, jobID, amount int64, note string) error {
	if err := reserve(ctx, q, userID, amount); err != nil {
		return err
	}
	_, err := insertLedger(ctx, q, now, LedgerEntry{UserID: userID, Kind: LedgerHold, Amount: -amount, JobID: jobID, Note: note})
	return err
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

// chargeTx charges amount (>= 0; nothing is written for 0) for jobID.
func chargeTx(ctx context.Context, q queryer, now time.Time, userID, jobID, amount int64, note string) error {
	if amount < 0 {
		return fmt.Errorf("charge job %d: negative amount %d", jobID, amount)
	}
	if amount == 0 {
		return nil
	}
	_, err := insertLedger(ctx, q, now, LedgerEntry{UserID: userID, Kind: LedgerCharge, Amount: -amount, JobID: jobID, Note: note})
	return err
}

// LedgerForUser returns userID's newest entries, newest first.
func (d *DB) LedgerForUser(ctx context.Context, userID int64, limit int) ([]LedgerEntry, error) {
	return d.ledgerWhere(ctx, `user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit)
}

const (
	ledgerColumns = `id, user_id, kind, amount, COALESCE(job_id, 0), COALESCE(actor_id, 0), note, created_at`
	// ledgerForJob runs on every job page: prepared (see DB).
	ledgerForJob = `SELECT ` + ledgerColumns + ` FROM ledger WHERE job_id = ? ORDER BY id`
)

// LedgerForJob returns the entries about jobID, oldest first.
func (d *DB) LedgerForJob(ctx context.Context, jobID int64) ([]LedgerEntry, error) {
	return scanLedger(d.stmtLedgerForJob.QueryContext(ctx, jobID))
}

func (d *DB) ledgerWhere(ctx context.Context, where string, args ...any) ([]LedgerEntry, error) {
	return scanLedger(d.sql.QueryContext(ctx, `SELECT `+ledgerColumns+` FROM ledger WHERE `+where, args...))
}

func scanLedger(rows *sql.Rows, err error) ([]LedgerEntry, error) {
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

// TeamTotals are the whole team's credits.
type TeamTotals struct {
	Balance          // summed over every member
	SpentSince int64 // charged from the time TeamTotals was given
}

// TeamTotals sums every member's balance row, and the charges made from
// since on.
func (d *DB) TeamTotals(ctx context.Context, since time.Time) (TeamTotals, error) {
	var t TeamTotals
	spentSince := `(SELECT COALESCE(-SUM(amount), 0) FROM ledger INDEXED BY ledger_charges WHERE kind = 'charge' AND created_at >= ?)`
	if ok, err := onDayEdges(ctx, d.sql, []time.Time{since}); err != nil {
		return t, err
	} else if ok {
		spentSince = `(SELECT COALESCE(SUM(credits), 0) FROM spend_by_day_resolution WHERE day >= ?)`
	}
	err := d.sql.QueryRowContext(ctx, `SELECT
			(SELECT COALESCE(SUM(granted), 0) FROM member_balances),
			(SELECT COALESCE(SUM(held), 0) FROM member_balances),
			(SELECT COALESCE(SUM(spent), 0) FROM member_balances),
			`+spentSince,
		ms(since)).Scan(&t.Granted, &t.Held, &t.Spent, &t.SpentSince)
	t.Available = t.Granted - t.Held - t.Spent
	return t, err
}

// MemberBalance is one member's balance with their spend in a period.
type MemberBalance struct {
	UserID int64
	Email  string
	Name   string
	Balance
	SpentInPeriod int64
}

// MemberBalances returns every member's balance (disabled members too),
// with what each was charged in [from, to), ordered by user id.
func (d *DB) MemberBalances(ctx context.Context, from, to time.Time) ([]MemberBalance, error) {
	period := `SELECT user_id, -SUM(amount) AS spent FROM ledger INDEXED BY ledger_charges
			WHERE kind = 'charge' AND created_at >= ?1 AND created_at < ?2 GROUP BY user_id`
	if ok, err := onDayEdges(ctx, d.sql, []time.Time{from, to}); err != nil {
		return nil, err
	} else if ok {
		// Two seeks per member in the day sums' running totals.
		period = `SELECT pu.id AS user_id, ` + spentBefore("pu.id", "?2") + ` - ` + spentBefore("pu.id", "?1") + ` AS spent FROM users pu`
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT u.id, u.email, u.name,
			COALESCE(b.granted, 0), COALESCE(b.held, 0), COALESCE(b.spent, 0), COALESCE(p.spent, 0)
		FROM users u
		LEFT JOIN member_balances b ON b.user_id = u.id
		LEFT JOIN (`+period+`) p ON p.user_id = u.id
		ORDER BY u.id`, ms(from), ms(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MemberBalance
	for rows.Next() {
		var m MemberBalance
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name, &m.Granted, &m.Held, &m.Spent, &m.SpentInPeriod); err != nil {
			return nil, err
		}
		m.Available = m.Granted - m.Held - m.Spent
		out = append(out, m)
	}
	return out, rows.Err()
}

// Spend groupings for SpendByRange.
const (
	SpendByResolution = "resolution"
	SpendByMember     = "member"
)

// RangeSpend is what was charged in one of SpendByRange's ranges for one
// resolution or one member.
type RangeSpend struct {
	Range      int    // index of the range: [edges[Range], edges[Range+1])
	Resolution string // SpendByResolution: the job's; "" for a charge without a job
	UserID     int64  // SpendByMember
	Credits    int64
}

// SpendByRange sums the charges in each range [edges[i], edges[i+1]),
// grouped by the job's resolution or by member. The caller chooses the
// edges (days in a time zone, say). Ranges with no charges are left out.
func (d *DB) SpendByRange(ctx context.Context, edges []time.Time, by string) ([]RangeSpend, error) {
	if len(edges) < 2 {
		return nil, nil
	}
	var key string
	switch by {
	case SpendByResolution:
		key = `COALESCE(j.resolution, ''), 0`
	case SpendByMember:
		key = `'', l.user_id`
	default:
		return nil, fmt.Errorf("spend by range: grouping %q", by)
	}
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(edges)-1), ",")
	args := make([]any, 0, 3*(len(edges)-1))
	for i := range len(edges) - 1 {
		args = append(args, i, ms(edges[i]), ms(edges[i+1]))
	}
	query := `WITH r (i, lo, hi) AS (VALUES ` + values + `)
		SELECT r.i, ` + key + `, -SUM(l.amount)
		FROM r
		JOIN ledger l INDEXED BY ledger_charges ON l.kind = 'charge' AND l.created_at >= r.lo AND l.created_at < r.hi
		LEFT JOIN jobs j ON j.id = l.job_id
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
	if ok, err := onDayEdges(ctx, d.sql, edges); err != nil {
		return nil, err
	} else if ok {
		// Whole days: the day sums (db/spend_days.go).
		return d.spendByDays(ctx, edges, by)
	}
	rows, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RangeSpend
	for rows.Next() {
		var s RangeSpend
		if err := rows.Scan(&s.Range, &s.Resolution, &s.UserID, &s.Credits); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// BalanceMismatch is a member whose balance row differs from their
// ledger's sum.
type BalanceMismatch struct {
	UserID int64
	Email  string
	Stored Balance // the balance row
	Ledger Balance // the sum of the ledger
}

// CheckBalances compares every member's balance row with the sum of their
// ledger and returns the members where they differ (none when all is well).
// It reads the whole ledger once.
func (d *DB) CheckBalances(ctx context.Context) ([]BalanceMismatch, error) {
	rows, err := d.sql.QueryContext(ctx, `WITH l AS (`+ledgerSums+` GROUP BY user_id)
		SELECT u.id, u.email,
			COALESCE(b.granted, 0), COALESCE(b.held, 0), COALESCE(b.spent, 0),
			COALESCE(l.granted, 0), COALESCE(l.held, 0), COALESCE(l.spent, 0)
		FROM users u
		LEFT JOIN member_balances b ON b.user_id = u.id
		LEFT JOIN l ON l.user_id = u.id
		WHERE COALESCE(b.granted, 0) <> COALESCE(l.granted, 0)
			OR COALESCE(b.held, 0) <> COALESCE(l.held, 0)
			OR COALESCE(b.spent, 0) <> COALESCE(l.spent, 0)
		ORDER BY u.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BalanceMismatch
	for rows.Next() {
		var m BalanceMismatch
		if err := rows.Scan(&m.UserID, &m.Email, &m.Stored.Granted, &m.Stored.Held, &m.Stored.Spent,
			&m.Ledger.Granted, &m.Ledger.Held, &m.Ledger.Spent); err != nil {
			return nil, err
		}
		m.Stored.Available = m.Stored.Granted - m.Stored.Held - m.Stored.Spent
		m.Ledger.Available = m.Ledger.Granted - m.Ledger.Held - m.Ledger.Spent
		out = append(out, m)
	}
	return out, rows.Err()
}
