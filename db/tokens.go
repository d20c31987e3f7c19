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

// Audit actions for personal API tokens.
const (
	AuditTokenCreated = "token_created"
	AuditTokenRevoked = "token_revoked"
)

// APIToken is a member's personal API token. Only a hash of the token is
// kept; Prefix is its first characters, for telling tokens apart.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Scopes     string // space-separated
	Prefix     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time // zero if never used
	RevokedAt  time.Time // zero unless revoked
	RevokedBy  int64

	// Hash is the stored SHA-256, set by TokenByHash only.
	Hash []byte
	// Set by AllTokens only: the owner's email and name.
	OwnerEmail, OwnerName string
	// OwnerDisabled, set by TokensForUser and AllTokens: the owner is
	// disabled, so the token does not work (TokenByHash refuses it) until
	// they are enabled again.
	OwnerDisabled bool
}

const tokenColumns = `t.id, t.user_id, t.name, t.scopes, t.prefix, t.created_at, t.expires_at, t.last_used_at,
	t.revoked_at, COALESCE(t.revoked_by, 0)`

func scanToken(row interface{ Scan(...any) error }, more ...any) (APIToken, error) {
	var t APIToken
	var created, expires int64
	var used, revoked sql.NullInt64
	if err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Name, &t.Scopes, &t.Prefix, &created, &expires, &used,
		&revoked, &t.RevokedBy}, more...)...); err != nil {
		return APIToken{}, mapErr(err)
	}
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	t.LastUsedAt, t.RevokedAt = fromNullMS(used), fromNullMS(revoked)
	return t, nil
}

// CreateToken records a token for member userID whose secret hashes to
// tokenHash (32 bytes), and audits it, in one transaction. formKey is the
// one-time key of the form that asked for it ("" for none): when userID
// already has a token made with it (a form posted again), CreateToken
// returns that token and created == false, writing nothing. A disabled or
// unknown member gets an error wrapping apperr.ErrNotFound and nothing is
// written.
func (d *DB) CreateToken(ctx context.Context, actorID int64, t APIToken, tokenHash []byte, formKey, ip string) (out APIToken, created bool, err error) {
	if len(tokenHash) != 32 {
		return APIToken{}, false, fmt.Errorf("create token: token hash of %d bytes", len(tokenHash))
	}
	key := sql.NullString{String: formKey, Valid: formKey != ""}
	err = d.tx(ctx, func(tx *sql.Tx) error {
		// Inside the write transaction, so two posts of one form cannot
		// both miss and both create (and the unique index stands behind).
		if key.Valid {
			out, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t
				WHERE t.user_id = ? AND t.form_key = ?`, t.UserID, key))
			if err == nil || !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var email string
		err = tx.QueryRowContext(ctx, `SELECT email FROM users WHERE id = ? AND disabled_at IS NULL`, t.UserID).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token for member %d: %w", t.UserID, apperr.ErrNotFound)
		}
		if err != nil {
			return err
		}
		now := d.Now()
		out, err = scanToken(tx.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, scopes, token_hash, prefix, created_at, expires_at, form_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+strings.ReplaceAll(tokenColumns, "t.", ""),
			t.UserID, t.Name, t.Scopes, tokenHash, t.Prefix, ms(now), ms(t.ExpiresAt), key))
		if err != nil {
			return err
		}
		created = true
		return insertAudit(ctx, tx, now, AuditEntry{ActorID: actorID, Action: AuditTokenCreated,
			Subject: email,
			Detail:  fmt.Sprintf("member=%d token=%d name=%q prefix=%s scopes=%q expires=%s", t.UserID, out.ID, out.Name, out.Prefix, out.Scopes, out.ExpiresAt.UTC().Format(time.DateOnly)),
			IP:      ip})
	})
	if err != nil {
		return APIToken{}, false, err
	}
	return out, created, nil
}

// TokenByHash returns the token whose secret hashes to tokenHash and its
// owner, when the token is neither revoked nor expired at now and its
// owner is not disabled; otherwise an error wrapping apperr.ErrNotFound,
// the same whichever check failed. One indexed lookup decides it all.
func (d *DB) TokenByHash(ctx context.Context, tokenHash []byte, now time.Time) (APIToken, User, error) {
	var u User
	var disabled sql.NullInt64
	var created, updated int64
	var tokHash []byte
	t, err := scanToken(d.sql.QueryRowContext(ctx, `SELECT `+tokenColumns+`, t.token_hash,
			u.id, u.email, u.name, u.role, u.password_hash, u.session_version, u.disabled_at, u.created_at, u.updated_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND u.disabled_at IS NULL`, tokenHash, ms(now)),
		&tokHash, &u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.SessionVersion, &disabled, &created, &updated)
	if err != nil {
		return APIToken{}, User{}, err
	}
	u.DisabledAt, u.CreatedAt, u.UpdatedAt = fromNullMS(disabled), fromMS(created), fromMS(updated)
	t.Hash = tokHash
	return t, u, nil
}

// TouchToken records that token id was used at now, unless it was already
// recorded within the last minute (so a busy script does not write on
// every request).
func (d *DB) TouchToken(ctx context.Context, id int64, now time.Time) error {
	_, err := d.sql.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`, ms(now), id, ms(now.Add(-time.Minute)))
	return mapErr(err)
}

// TokensForUser returns member userID's tokens, newest first, revoked and
// expired ones included.
func (d *DB) TokensForUser(ctx context.Context, userID int64) ([]APIToken, error) {
	return d.listTokens(ctx, `SELECT `+tokenColumns+`, '', '', u.disabled_at IS NOT NULL
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.user_id = ? ORDER BY t.id DESC`, userID)
}

// AllTokens returns every member's tokens that are neither revoked nor
// expired at now, newest first, with their owners' email and name, a
// disabled member's included (OwnerDisabled).
func (d *DB) AllTokens(ctx context.Context, now time.Time) ([]APIToken, error) {
	return d.listTokens(ctx, `SELECT `+tokenColumns+`, u.email, u.name, u.disabled_at IS NOT NULL
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.revoked_at IS NULL AND t.expires_at > ? ORDER BY t.id DESC`, ms(now))
}

func (d *DB) listTokens(ctx context.Context, query string, args ...any) ([]APIToken, error) {
	rows, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var email, name string
		var disabled bool
		t, err := scanToken(rows, &email, &name, &disabled)
		if err != nil {
			return nil, err
		}
		t.OwnerEmail, t.OwnerName, t.OwnerDisabled = email, name, disabled
		out = append(out, t)
	}
	return out, mapErr(rows.Err())
}

// RevokeToken revokes token id for v, who must own it or be an admin, and
// audits it, in one transaction. A token already revoked stays as it was.
// Anyone else, or an unknown token, gets an error wrapping
// apperr.ErrNotFound and nothing is written.
func (d *DB) RevokeToken(ctx context.Context, v Viewer, id int64, ip string) (APIToken, error) {
	var t APIToken
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		var email string
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+`, u.email FROM api_tokens t
			JOIN users u ON u.id = t.user_id
			WHERE t.id = ? AND (t.user_id = ? OR ? = 1)`, id, v.UserID, v.Admin), &email)
		if err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		now := d.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?`, ms(now), v.UserID, id); err != nil {
			return err
		}
		t.RevokedAt, t.RevokedBy = now, v.UserID
		return insertAudit(ctx, tx, now, AuditEntry{ActorID: v.UserID, Action: AuditTokenRevoked,
			Subject: email, Detail: fmt.Sprintf("member=%d token=%d name=%q prefix=%s", t.UserID, t.ID, t.Name, t.Prefix), IP: ip})
	})
	return t, err
}
