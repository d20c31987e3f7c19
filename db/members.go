package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// This file holds the SQL of the admin's members pages and the member's own
// account page: allowances and their monthly top-ups, the members list,
// paged ledgers, roles, one-time sign-in links and time zones. The rules
// (how much a top-up is, what a valid zone is) are internal/credits' and
// internal/accounts'.

// Audit actions of the members pages.
const (
	AuditAllowanceSet   = "allowance_set"
	AuditRoleChanged    = "role_changed"
	AuditSigninLink     = "signin_link_created"
	AuditSigninLinkUsed = "signin_link_used"
	AuditTimeZoneSet    = "time_zone_set"
)

// ErrLastAdmin is returned when a change would leave no active admin.
var ErrLastAdmin = errors.New("the last active admin cannot be demoted or disabled")

// SettingTeamTimeZone is the settings key of the team's time zone (an IANA
// name; absent means UTC).
const SettingTeamTimeZone = "team_time_zone"

// allowanceQuery is Allowance's, prepared: every dashboard and New swap
// page asks it.
const allowanceQuery = `SELECT monthly FROM allowances WHERE user_id = ?`

// Allowance returns userID's monthly allowance (0: none).
func (d *DB) Allowance(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := d.stmtAllowance.QueryRowContext(ctx, userID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// SetAllowance sets userID's monthly allowance (0 removes it) and writes
// audit in the same transaction. The current period (such as "2026-12") is
// recorded as applied if it was not yet, with nothing topped up: an
// allowance starts with the next month. Errors: apperr.ErrNotFound for an
// unknown member.
func (d *DB) SetAllowance(ctx context.Context, userID, monthly int64, period string, audit AuditEntry) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
			return err
		}
		now := d.Now()
		var err error
		if monthly == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM allowances WHERE user_id = ?`, userID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO allowances (user_id, monthly, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (user_id) DO UPDATE SET monthly = excluded.monthly, updated_at = excluded.updated_at`,
				userID, monthly, ms(now))
		}
		if err != nil {
			return err
		}
		if monthly > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO allowance_periods (user_id, period, monthly, amount, created_at)
				VALUES (?, ?, ?, 0, ?) ON CONFLICT (user_id, period) DO NOTHING`, userID, period, monthly, ms(now)); err != nil {
				return err
			}
		}
		if audit.Action != "" {
			return insertAudit(ctx, tx, now, audit)
		}
		return nil
	})
}

// AllowancesDue returns the ids of active members with an allowance and no
// top-up recorded for period yet.
func (d *DB) AllowancesDue(ctx context.Context, period string) ([]int64, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT a.user_id FROM allowances a
		JOIN users u ON u.id = a.user_id AND u.disabled_at IS NULL
		WHERE NOT EXISTS (SELECT 1 FROM allowance_periods p WHERE p.user_id = a.user_id AND p.period = ?)
		ORDER BY a.user_id`, period)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// TopUp decides, inside ApplyAllowance's transaction, how many credits a
// member with allowance monthly and balance bal receives (0: none).
type TopUp func(monthly int64, bal Balance) int64

// ApplyAllowance records userID's allowance for period (such as
// "2026-12") in one transaction: the top-up decide returns (if > 0) as an
// `allowance` ledger line, and the period row that makes it happen once.
// It returns the amount written and false when the period was already
// recorded or the member has no allowance (nothing written).
func (d *DB) ApplyAllowance(ctx context.Context, userID int64, period, note string, decide TopUp) (int64, bool, error) {
	var amount int64
	var applied bool
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var monthly int64
		err := tx.QueryRowContext(ctx, `SELECT a.monthly FROM allowances a
			WHERE a.user_id = ? AND NOT EXISTS (SELECT 1 FROM allowance_periods p WHERE p.user_id = a.user_id AND p.period = ?)`,
			userID, period).Scan(&monthly)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		bal, err := balanceTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		now := d.Now()
		amount = decide(monthly, bal)
		var ledgerID sql.NullInt64
		if amount > 0 {
			e, err := insertLedger(ctx, tx, now, LedgerEntry{UserID: userID, Kind: LedgerAllowance, Amount: amount, Note: note})
			if err != nil {
				return err
			}
			ledgerID = sql.NullInt64{Int64: e.ID, Valid: true}
		} else {
			amount = 0
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO allowance_periods (user_id, period, monthly, amount, ledger_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, userID, period, monthly, amount, ledgerID, ms(now)); err != nil {
			return err
		}
		applied = true
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("allowance of user %d for %s: %w", userID, period, err)
	}
	return amount, applied, nil
}

// Member sort keys for Members.
const (
	SortName      = "name"
	SortRole      = "role"
	SortStatus    = "status"
	SortLastLogin = "last"
	SortAvailable = "available"
	SortHeld      = "held"
	SortSpent     = "spent"
	SortAllowance = "allowance"
	SortJobs      = "jobs"
)

var memberOrder = map[string]string{
	SortName:      `u.name COLLATE NOCASE`,
	SortRole:      `u.role`,
	SortStatus:    `u.disabled_at IS NOT NULL`,
	SortLastLogin: `last_login`,
	SortAvailable: `available`,
	SortHeld:      `held`,
	SortSpent:     `spent_month`,
	SortAllowance: `monthly`,
	SortJobs:      `jobs`,
}

// MemberSortKnown reports whether key is a sort key Members knows.
func MemberSortKnown(key string) bool { _, ok := memberOrder[key]; return ok }

// MemberRow is one member on the members list.
type MemberRow struct {
	User
	Balance
	SpentThisMonth int64
	Monthly        int64 // allowance; 0 none
	Jobs           int64 // not deleted
	LastLogin      time.Time
}

// Members returns every account with its balance, what it was charged
// since monthStart, its allowance, job count and last sign-in, ordered by
// sort (a Sort* key; unknown means name) then id.
func (d *DB) Members(ctx context.Context, monthStart time.Time, sort string, desc bool) ([]MemberRow, error) {
	order, ok := memberOrder[sort]
	if !ok {
		order = memberOrder[SortName]
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	rows, err := d.sql.QueryContext(ctx, `WITH month AS (
			SELECT user_id, SUM(spent) AS spent FROM (
				SELECT user_id, -amount AS spent FROM ledger INDEXED BY ledger_charges
				WHERE kind = 'charge' AND created_at >= ?1 AND created_at < `+spendEdge+`
				UNION ALL
				SELECT user_id, -amount FROM ledger INDEXED BY ledger_charges
				WHERE kind = 'charge' AND created_at >= `+spendTail+`
				UNION ALL
				SELECT mu.id, `+spentBefore("mu.id", allDays)+` - `+spentBefore("mu.id", spendEdge)+` FROM users mu)
			GROUP BY user_id)
		SELECT u.id, u.email, u.name, u.role, u.password_hash, u.session_version, u.disabled_at, u.created_at, u.updated_at,
			COALESCE(b.granted, 0), COALESCE(b.held, 0), COALESCE(b.spent, 0),
			COALESCE(b.granted, 0) - COALESCE(b.held, 0) - COALESCE(b.spent, 0) AS available,
			COALESCE(b.held, 0) AS held,
			COALESCE(m.spent, 0) AS spent_month,
			COALESCE(a.monthly, 0) AS monthly,
			(SELECT COUNT(*) FROM jobs j WHERE j.user_id = u.id AND j.deleted_at IS NULL) AS jobs,
			COALESCE((SELECT MAX(l.at) FROM audit_log l WHERE l.action = 'login' AND l.subject = u.email), 0) AS last_login
		FROM users u
		LEFT JOIN member_balances b ON b.user_id = u.id
		LEFT JOIN month m ON m.user_id = u.id
		LEFT JOIN allowances a ON a.user_id = u.id
		ORDER BY `+order+` `+dir+`, u.id`, ms(monthStart))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MemberRow
	for rows.Next() {
		var r MemberRow
		var disabled sql.NullInt64
		var created, updated, last, avail, held int64
		if err := rows.Scan(&r.ID, &r.Email, &r.Name, &r.Role, &r.PasswordHash, &r.SessionVersion, &disabled, &created, &updated,
			&r.Granted, &r.Held, &r.Spent, &avail, &held, &r.SpentThisMonth, &r.Monthly, &r.Jobs, &last); err != nil {
			return nil, err
		}
		r.DisabledAt, r.CreatedAt, r.UpdatedAt = fromNullMS(disabled), fromMS(created), fromMS(updated)
		r.Available = avail
		if last > 0 {
			r.LastLogin = fromMS(last)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SpentSince returns what userID was charged from since on: whole team
// days from their day sums' running totals (db/spend_days.go), the
// charges of since's partial day from the ledger.
func (d *DB) SpentSince(ctx context.Context, userID int64, since time.Time) (int64, error) {
	var n int64
	err := d.sql.QueryRowContext(ctx, `SELECT
			(SELECT COALESCE(-SUM(amount), 0) FROM ledger INDEXED BY ledger_charges
				WHERE kind = 'charge' AND created_at >= ?1 AND created_at < `+spendEdge+` AND user_id = ?2) +
			(SELECT COALESCE(-SUM(amount), 0) FROM ledger INDEXED BY ledger_charges
				WHERE kind = 'charge' AND created_at >= `+spendTail+` AND user_id = ?2) +
			`+spentBefore("?2", allDays)+` - `+spentBefore("?2", spendEdge)+``,
		ms(since), userID).Scan(&n)
	return n, err
}

// LedgerPage returns up to limit of userID's entries with id < before (all
// when before <= 0), newest first.
func (d *DB) LedgerPage(ctx context.Context, userID, before int64, limit int) ([]LedgerEntry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	return d.ledgerWhere(ctx, `user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, userID, before, limit)
}

// SetRole changes userID's role, writing audit in the same transaction.
// Errors: ErrLastAdmin when it would demote the last active admin;
// apperr.ErrNotFound for an unknown member.
func (d *DB) SetRole(ctx context.Context, userID int64, role string, audit AuditEntry) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if role != RoleAdmin {
			if err := keepAnAdmin(ctx, tx, userID); err != nil {
				return err
			}
		}
		now := d.Now()
		if err := updateUserTx(ctx, tx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, role, ms(now), userID); err != nil {
			return err
		}
		if audit.Action != "" {
			return insertAudit(ctx, tx, now, audit)
		}
		return nil
	})
}

// keepAnAdmin refuses, inside a write transaction, a change that takes
// userID out of the active admins when no other active admin remains.
func keepAnAdmin(ctx context.Context, q queryer, userID int64) error {
	var self, others int
	if err := q.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(id = ?), 0), COALESCE(SUM(id <> ?), 0)
		FROM users WHERE role = 'admin' AND disabled_at IS NULL`, userID, userID).Scan(&self, &others); err != nil {
		return err
	}
	if self > 0 && others == 0 {
		return ErrLastAdmin
	}
	return nil
}

func updateUserTx(ctx context.Context, q queryer, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// SigninLink is a one-time sign-in link as stored.
type SigninLink struct {
	UserID    int64
	ExpiresAt time.Time
	UsedAt    time.Time
}

// CreateSigninLink stores a link (by its token's hash) for userID.
func (d *DB) CreateSigninLink(ctx context.Context, tokenHash string, userID int64, expires time.Time, audit AuditEntry) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		now := d.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO signin_links (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
			tokenHash, userID, ms(expires), ms(now)); err != nil {
			return err
		}
		if audit.Action != "" {
			return insertAudit(ctx, tx, now, audit)
		}
		return nil
	})
}

// SigninLinkByHash returns the link with tokenHash, or an error wrapping
// apperr.ErrNotFound.
func (d *DB) SigninLinkByHash(ctx context.Context, tokenHash string) (SigninLink, error) {
	var l SigninLink
	var exp int64
	var used sql.NullInt64
	err := d.sql.QueryRowContext(ctx, `SELECT user_id, expires_at, used_at FROM signin_links WHERE token_hash = ?`, tokenHash).
		Scan(&l.UserID, &exp, &used)
	if err != nil {
		return SigninLink{}, mapErr(err)
	}
	l.ExpiresAt, l.UsedAt = fromMS(exp), fromNullMS(used)
	return l, nil
}

// UseSigninLink marks the link used and sets its member's password (ending
// their sessions) in one transaction, provided that it is still unused and
// unexpired at now, and returns the member. Errors: apperr.ErrNotFound for
// no such link, or one used or expired meanwhile.
func (d *DB) UseSigninLink(ctx context.Context, tokenHash string, now time.Time, passwordHash string, audit AuditEntry) (User, error) {
	var u User
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var userID int64
		if err := tx.QueryRowContext(ctx, `UPDATE signin_links SET used_at = ?
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
			ms(now), tokenHash, ms(now)).Scan(&userID); err != nil {
			return err
		}
		if err := updateUserTx(ctx, tx, `UPDATE users SET password_hash = ?, session_version = session_version + 1, updated_at = ?
			WHERE id = ?`, passwordHash, ms(now), userID); err != nil {
			return err
		}
		var err error
		if u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
			return err
		}
		if audit.Action != "" {
			audit.Subject = u.Email
			return insertAudit(ctx, tx, now, audit)
		}
		return nil
	})
	return u, err
}

// TimeZone returns userID's own time zone, "" when they follow the team's.
func (d *DB) TimeZone(ctx context.Context, userID int64) (string, error) {
	var tz string
	err := d.sql.QueryRowContext(ctx, `SELECT time_zone FROM user_prefs WHERE user_id = ?`, userID).Scan(&tz)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return tz, err
}

// SetTimeZone stores userID's time zone ("" = the team's) with its audit
// line.
func (d *DB) SetTimeZone(ctx context.Context, userID int64, tz string, audit AuditEntry) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		now := d.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_prefs (user_id, time_zone) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET time_zone = excluded.time_zone`, userID, tz); err != nil {
			return err
		}
		if audit.Action != "" {
			return insertAudit(ctx, tx, now, audit)
		}
		return nil
	})
}

// ActiveAdmins returns the active admins, by name.
func (d *DB) ActiveAdmins(ctx context.Context) ([]User, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE role = 'admin' AND disabled_at IS NULL ORDER BY name COLLATE NOCASE, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}
