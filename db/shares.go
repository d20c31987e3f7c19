package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"swapdesk/internal/apperr"
)

// Share is a public link to one result. Only a hash of its token is kept.
type Share struct {
	ID        int64
	JobID     int64
	CreatedBy int64
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero unless revoked
	RevokedBy int64
}

const (
	shareColumns          = `id, job_id, created_by, created_at, expires_at, revoked_at, COALESCE(revoked_by, 0)`
	shareColumnsQualified = `shares.id, shares.job_id, shares.created_by, shares.created_at, shares.expires_at,
		shares.revoked_at, COALESCE(shares.revoked_by, 0)`
)

func scanShare(row interface{ Scan(...any) error }) (Share, error) {
	var s Share
	var created, expires int64
	var revoked sql.NullInt64
	if err := row.Scan(&s.ID, &s.JobID, &s.CreatedBy, &created, &expires, &revoked, &s.RevokedBy); err != nil {
		return Share{}, mapErr(err)
	}
	s.CreatedAt, s.ExpiresAt, s.RevokedAt = fromMS(created), fromMS(expires), fromNullMS(revoked)
	return s, nil
}

// CreateShare records a link to job jobID made by v, whose token hashes to
// tokenHash (32 bytes), usable until expires. The job must be archived, not
// deleted and v's own (or v an admin): otherwise the error wraps
// apperr.ErrNotFound and nothing is written.
func (d *DB) CreateShare(ctx context.Context, v Viewer, jobID int64, tokenHash []byte, expires time.Time) (Share, error) {
	if len(tokenHash) != 32 {
		return Share{}, fmt.Errorf("create share: token hash of %d bytes", len(tokenHash))
	}
	var s Share
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE id = ? AND `+archivedResult+`
			AND (user_id = ? OR ? = 1)`, jobID, v.UserID, v.Admin).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("share job %d: %w", jobID, apperr.ErrNotFound)
		}
		var err error
		s, err = scanShare(tx.QueryRowContext(ctx, `INSERT INTO shares (job_id, created_by, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?) RETURNING `+shareColumns, jobID, v.UserID, tokenHash, ms(d.Now()), ms(expires)))
		return err
	})
	return s, err
}

// SharedJob returns the share whose token hashes to tokenHash and its job,
// when the share is neither revoked nor expired at now and the job is still
// archived and not deleted; otherwise an error wrapping apperr.ErrNotFound,
// the same whichever check failed. One indexed lookup by the hash decides
// it all.
func (d *DB) SharedJob(ctx context.Context, tokenHash []byte, now time.Time) (Share, Job, error) {
	var s Share
	// The share's columns are renamed in a subquery so that jobColumns and
	// archivedResult stay unqualified and unambiguous.
	j, err := scanJob(withExtra{d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+`, share_id, share_by, share_created, share_expires
		FROM (SELECT id AS share_id, job_id AS share_job, created_by AS share_by, created_at AS share_created,
				expires_at AS share_expires
			FROM shares WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?)
		JOIN jobs ON jobs.id = share_job
		WHERE `+archivedResult, tokenHash, ms(now)), []any{&s.ID, &s.CreatedBy, msTime{&s.CreatedAt}, msTime{&s.ExpiresAt}}})
	if err != nil {
		return Share{}, Job{}, err
	}
	s.JobID = j.ID
	return s, j, nil
}

// msTime scans a millisecond timestamp into a time.Time.
type msTime struct{ t *time.Time }

func (m msTime) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("timestamp of type %T", src)
	}
	*m.t = fromMS(v)
	return nil
}

// SharesForJob returns job jobID's links, newest first.
func (d *DB) SharesForJob(ctx context.Context, jobID int64) ([]Share, error) {
	rows, err := d.stmtSharesForJob.QueryContext(ctx, jobID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		s, err := scanShare(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, mapErr(rows.Err())
}

// RevokeShare revokes share id for v, who must own its job or be an admin;
// the job must not be deleted. A share already revoked stays as it was
// (revoking twice is not an error). Anyone else, or an unknown share, gets
// an error wrapping apperr.ErrNotFound. It returns the share.
func (d *DB) RevokeShare(ctx context.Context, v Viewer, id int64) (Share, error) {
	var s Share
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanShare(tx.QueryRowContext(ctx, `SELECT `+shareColumnsQualified+` FROM shares
			JOIN jobs ON jobs.id = shares.job_id
			WHERE shares.id = ? AND jobs.deleted_at IS NULL AND (jobs.user_id = ? OR ? = 1)`, id, v.UserID, v.Admin))
		if err != nil {
			return err
		}
		if !s.RevokedAt.IsZero() {
			return nil
		}
		now := d.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE shares SET revoked_at = ?, revoked_by = ? WHERE id = ?`, ms(now), v.UserID, id); err != nil {
			return err
		}
		s.RevokedAt, s.RevokedBy = fromMS(ms(now)), v.UserID
		return nil
	})
	return s, err
}
