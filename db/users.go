package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Roles.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// User is an account. PasswordHash never leaves the server.
type User struct {
	ID             int64
	Email          string
	Name           string
	Role           string
	PasswordHash   string
	SessionVersion int64
	DisabledAt     time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// IsAdmin reports whether u has the admin role.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// Disabled reports whether the account is disabled.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

const userColumns = `id, email, name, role, password_hash, session_version, disabled_at, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }, more ...any) (User, error) {
	var u User
	var disabled sql.NullInt64
	var created, updated int64
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.SessionVersion, &disabled, &created, &updated},
		more...)...)
	if err != nil {
		return User{}, mapErr(err)
	}
	u.DisabledAt = fromNullMS(disabled)
	u.CreatedAt = fromMS(created)
	u.UpdatedAt = fromMS(updated)
	return u, nil
}

// CreateUser inserts u and returns it with its id. It returns an error
// wrapping apperr.ErrConflict when the email is taken.
func (d *DB) CreateUser(ctx context.Context, email, name, role, passwordHash string) (User, error) {
	now := ms(d.Now())
	row := d.sql.QueryRowContext(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+userColumns, email, name, role, passwordHash, now, now)
	u, err := scanUser(row)
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserByID returns the user with id, or an error wrapping apperr.ErrNotFound.
func (d *DB) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(d.stmtUserByID.QueryRowContext(ctx, id))
}

// sessionUserQuery loads a signed-in user on every request, refusing a
// revoked session in the same indexed query so a request still costs one,
// and reads the user's running-job count (every page's title shows it)
// along, which saves every page a query of its own.
//
// It reads only what a request needs (who, their role, whether the session
// still holds): no page uses the password hash or the account's dates.
const sessionUserQuery = `SELECT id, email, name, role, session_version, disabled_at,
	COALESCE((SELECT n FROM running_jobs WHERE user_id = users.id), 0)
	FROM users WHERE id = ? AND NOT EXISTS (SELECT 1 FROM revoked_sessions WHERE id = ?)`

// SessionUser is a signed-in user as a request loads it. Its User has
// ID, Email, Name, Role, SessionVersion and DisabledAt; PasswordHash,
// CreatedAt and UpdatedAt are left zero (UserByID reads them).
type SessionUser struct {
	User
	// Running is how many of the user's jobs are not final (CountRunning).
	Running int
}

// UserForSession returns user id for a request in session sessionID. It
// returns an error wrapping apperr.ErrNotFound when there is no such user or
// the session was revoked.
func (d *DB) UserForSession(ctx context.Context, id int64, sessionID string) (SessionUser, error) {
	var su SessionUser
	var disabled sql.NullInt64
	u := &su.User
	err := d.stmtUserForSession.QueryRowContext(ctx, id, sessionID).Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.SessionVersion,
		&disabled, &su.Running)
	if err != nil {
		return SessionUser{}, mapErr(err)
	}
	u.DisabledAt = fromNullMS(disabled)
	return su, nil
}

// RevokeSession ends session sessionID for good: UserForSession refuses it
// from now on. until is when the session's cookie expires by itself; the
// record is kept that long, and records past theirs are pruned here.
func (d *DB) RevokeSession(ctx context.Context, sessionID string, until time.Time) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_sessions (id, expires_at) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`, sessionID, ms(until)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM revoked_sessions WHERE expires_at < ?`, ms(d.Now()))
		return err
	})
}

// UserByEmail returns the user with email (case-insensitive), or an error
// wrapping apperr.ErrNotFound.
func (d *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(d.sql.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
}

// ListUsers returns every user ordered by email.
func (d *DB) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
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

// CountUsers returns how many accounts exist.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// SetPassword replaces the password hash of user id and ends that user's
// sessions. It returns an error wrapping apperr.ErrNotFound for no such user.
func (d *DB) SetPassword(ctx context.Context, id int64, passwordHash string) error {
	return d.updateUser(ctx, `UPDATE users SET password_hash = ?, session_version = session_version + 1, updated_at = ? WHERE id = ?`,
		passwordHash, ms(d.Now()), id)
}

// SetDisabled disables (or re-enables) user id; disabling ends its sessions.
// It returns ErrLastAdmin when disabling would leave no active admin, and an
// error wrapping apperr.ErrNotFound for no such user.
func (d *DB) SetDisabled(ctx context.Context, id int64, disabled bool) error {
	now := ms(d.Now())
	if disabled {
		// Never the last active admin: nobody could run the team then.
		return mapErr(d.tx(ctx, func(tx *sql.Tx) error {
			if err := keepAnAdmin(ctx, tx, id); err != nil {
				return err
			}
			return updateUserTx(ctx, tx, `UPDATE users SET disabled_at = COALESCE(disabled_at, ?), session_version = session_version + 1, updated_at = ? WHERE id = ?`,
				now, now, id)
		}))
	}
	return d.updateUser(ctx, `UPDATE users SET disabled_at = NULL, updated_at = ? WHERE id = ?`, now, id)
}

func (d *DB) updateUser(ctx context.Context, query string, args ...any) error {
	res, err := d.sql.ExecContext(ctx, query, args...)
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return mapErr(sql.ErrNoRows)
	}
	return nil
}
