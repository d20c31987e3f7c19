package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"swapdesk/internal/apperr"
	"swapdesk/internal/jobstatus"
)

// JobStatus is a job's state; its label and badge come with it.
type JobStatus = jobstatus.Status

// Job states (DESIGN.md "Job states").
const (
	JobSubmitting  = jobstatus.Submitting
	JobQueued      = jobstatus.Queued
	JobProcessing  = jobstatus.Processing
	JobSucceeded   = jobstatus.Succeeded
	JobFailed      = jobstatus.Failed
	JobRejected    = jobstatus.Rejected
	JobInterrupted = jobstatus.Interrupted
)

// Job is one character swap.
type Job struct {
	ID                int64
	UserID            int64
	IdempotencyKey    string
	InputHash         string // SHA-256 of the form's normalised inputs; "" for old jobs
	Status            JobStatus
	ImageURL          string
	VideoURL          string
	Mode              string
	Resolution        string
	DurationRequested *float64
	DurationDetected  *float64
	BilledSeconds     float64
	EstimateCredits   int64
	ChargedCredits    *int64
	Prompt            string
	AkoolID           string
	ErrorMessage      string
	ResultURL         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	FinishedAt        time.Time

	VideoDuration   float64 // Akool's reported length; 0 until known
	NextPollAt      time.Time
	PollAttempts    int
	ArchiveState    string // "", pending, archived, archive_failed, expired
	ArchivePath     string // relative to the media dir
	ArchiveSHA256   string
	ArchiveSize     int64
	ArchiveAttempts int
	NextArchiveAt   time.Time
	ResultExpiresAt time.Time
	DeletedAt       time.Time

	// The gallery (migration 0010).
	Hidden         bool   // the owner hid it from the team gallery
	ImageKey       string // the character image kept in the media store; "" if not kept
	ImageType      string // its content type
	PosterKey      string // poster (JPEG) in the media store; "" until made
	PreviewKey     string // short muted preview clip (MP4); "" until made
	PosterState    string // "", done, failed, unavailable (no ffmpeg)
	PosterAttempts int
}

// Archive states of succeeded jobs.
const (
	ArchivePending = "pending"
	ArchiveDone    = "archived"
	ArchiveFailed  = "archive_failed"
	ArchiveExpired = "expired"
)

// Final reports whether the job will not change state again.
func (j Job) Final() bool { return j.Status.Final() }

const jobColumns = `id, user_id, idempotency_key, status, image_url, video_url, mode, resolution,
	duration_requested, duration_detected, billed_seconds, estimate_credits, charged_credits, prompt,
	COALESCE(akool_id, ''), error_message, result_url, created_at, updated_at, finished_at,
	COALESCE(video_duration, 0), next_poll_at, poll_attempts, COALESCE(archive_state, ''), archive_path, archive_sha256,
	archive_size, archive_attempts, next_archive_at, result_expires_at, deleted_at, input_hash,
	hidden, image_key, image_type, poster_key, preview_key, poster_state, poster_attempts`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var req, det sql.NullFloat64
	var charged, finished, nextPoll, nextArchive, expires, deleted sql.NullInt64
	var created, updated int64
	err := row.Scan(&j.ID, &j.UserID, &j.IdempotencyKey, &j.Status, &j.ImageURL, &j.VideoURL, &j.Mode, &j.Resolution,
		&req, &det, &j.BilledSeconds, &j.EstimateCredits, &charged, &j.Prompt,
		&j.AkoolID, &j.ErrorMessage, &j.ResultURL, &created, &updated, &finished,
		&j.VideoDuration, &nextPoll, &j.PollAttempts, &j.ArchiveState, &j.ArchivePath, &j.ArchiveSHA256,
		&j.ArchiveSize, &j.ArchiveAttempts, &nextArchive, &expires, &deleted, &j.InputHash,
		&j.Hidden, &j.ImageKey, &j.ImageType, &j.PosterKey, &j.PreviewKey, &j.PosterState, &j.PosterAttempts)
	if err != nil {
		return Job{}, mapErr(err)
	}
	if req.Valid {
		j.DurationRequested = &req.Float64
	}
	if det.Valid {
		j.DurationDetected = &det.Float64
	}
	if charged.Valid {
		j.ChargedCredits = &charged.Int64
	}
	j.CreatedAt, j.UpdatedAt, j.FinishedAt = fromMS(created), fromMS(updated), fromNullMS(finished)
	j.NextPollAt, j.NextArchiveAt = fromNullMS(nextPoll), fromNullMS(nextArchive)
	j.ResultExpiresAt, j.DeletedAt = fromNullMS(expires), fromNullMS(deleted)
	return j, nil
}

// NewJob is what CreateJobWithHold writes.
type NewJob struct {
	UserID            int64
	IdempotencyKey    string
	InputHash         string
	ImageURL          string
	VideoURL          string
	Mode              string
	Resolution        string
	DurationRequested *float64
	DurationDetected  *float64
	BilledSeconds     float64
	EstimateCredits   int64
	Prompt            string
	// HoldNote is the hold's ledger note, as internal/credits words it.
	HoldNote string
}

// CreateJobWithHold writes the job as submitting and holds its estimate in
// one IMMEDIATE transaction, so concurrent submits by one member can never
// take the balance below zero. When the member already submitted this
// idempotency key it returns that job and created == false, holding nothing
// more (whatever its InputHash: the caller compares). It returns
// *apperr.InsufficientCredits when the balance is short.
func (d *DB) CreateJobWithHold(ctx context.Context, n NewJob) (job Job, created bool, err error) {
	err = d.tx(ctx, func(tx *sql.Tx) error {
		existing, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE user_id = ? AND idempotency_key = ?`,
			n.UserID, n.IdempotencyKey))
		if err == nil {
			job = existing
			return nil
		}
		if !errors.Is(err, apperr.ErrNotFound) {
			return err
		}
		now := d.Now()
		job, err = scanJob(tx.QueryRowContext(ctx, `INSERT INTO jobs (user_id, idempotency_key, input_hash, status, image_url, video_url,
				mode, resolution, duration_requested, duration_detected, billed_seconds, estimate_credits, prompt,
				created_at, updated_at)
			VALUES (?, ?, ?, 'submitting', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+jobColumns,
			n.UserID, n.IdempotencyKey, n.InputHash, n.ImageURL, n.VideoURL, n.Mode, n.Resolution, n.DurationRequested, n.DurationDetected,
			n.BilledSeconds, n.EstimateCredits, n.Prompt, ms(now), ms(now)))
		if err != nil {
			return err
		}
		// A refused hold rolls the job back with it.
		if err := holdTx(ctx, tx, now, n.UserID, job.ID, n.EstimateCredits, n.HoldNote); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return Job{}, false, err
	}
	return job, created, nil
}

// JobByIdempotencyKey returns the job userID created with the form token
// key, deleted or not, or an error wrapping apperr.ErrNotFound.
func (d *DB) JobByIdempotencyKey(ctx context.Context, userID int64, key string) (Job, error) {
	return scanJob(d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE user_id = ? AND idempotency_key = ?`,
		userID, key))
}

// MarkSubmitted records Akool's id for a submitting job, moves it to status
// (queued or processing) and schedules its first poll at firstPoll. It
// returns an error wrapping apperr.ErrConflict when the job is no longer
// submitting.
func (d *DB) MarkSubmitted(ctx context.Context, jobID int64, akoolID string, status JobStatus, firstPoll time.Time) error {
	if status != JobQueued && status != JobProcessing {
		return fmt.Errorf("mark submitted: status %q", status)
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		now := d.Now()
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET akool_id = ?, status = ?, updated_at = ?, next_poll_at = ?
			WHERE id = ? AND status = 'submitting'`, akoolID, status, ms(now), ms(firstPoll), jobID)
		if err := expectOne(res, err, "job is no longer submitting"); err != nil {
			return err
		}
		return insertEvent(ctx, tx, now, jobID, string(status), "submit", "Akool accepted the job ("+akoolID+")")
	})
}

// EndSubmission ends a submitting job that Akool did not take: status is
// JobRejected (Akool refused it) or JobInterrupted (no usable answer, so it
// may or may not run), message the member's words for it (also its history
// line). The hold is released in the same transaction, with releaseNote as
// the ledger's note.
func (d *DB) EndSubmission(ctx context.Context, jobID int64, status JobStatus, message, releaseNote string) error {
	if status != JobRejected && status != JobInterrupted {
		return fmt.Errorf("end submission: status %q", status)
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		now := d.Now()
		var userID int64
		err := tx.QueryRowContext(ctx, `UPDATE jobs SET status = ?, error_message = ?, updated_at = ?, finished_at = ?
			WHERE id = ? AND status = 'submitting' RETURNING user_id`, status, message, ms(now), ms(now), jobID).Scan(&userID)
		if err != nil {
			return fmt.Errorf("end submission of job %d: %w", jobID, err)
		}
		if _, err = releaseHold(ctx, tx, now, userID, jobID, releaseNote); err != nil {
			return err
		}
		return insertEvent(ctx, tx, now, jobID, string(status), "submit", message)
	})
}

// Interruption is how jobs found submitting at start-up are ended, in the
// words of the services that decide it.
type Interruption struct {
	Message     string // the member's words, the job's error message
	ReleaseNote string // the hold's release, in the ledger
	Detail      string // the job's status history line
}

// InterruptSubmitting marks every job still submitting (the process died
// between the hold and Akool's answer) as interrupted with in.Message and
// releases its hold. It returns the jobs it changed.
func (d *DB) InterruptSubmitting(ctx context.Context, in Interruption) ([]Job, error) {
	var out []Job
	err := d.tx(ctx, func(tx *sql.Tx) error {
		now := d.Now()
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET status = 'interrupted', updated_at = ?, finished_at = ?, error_message = ?
			WHERE status = 'submitting' RETURNING `+jobColumns, ms(now), ms(now), in.Message)
		if err != nil {
			return err
		}
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, j := range out {
			if _, err := releaseHold(ctx, tx, now, j.UserID, j.ID, in.ReleaseNote); err != nil {
				return err
			}
			if err := insertEvent(ctx, tx, now, j.ID, string(JobInterrupted), SourceSystem, in.Detail); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// The queries behind JobForViewer: each job card poll runs one of them, so
// they must stay primary-key lookups (TestListQueryPlans).
const (
	jobForMember = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ? AND user_id = ? AND deleted_at IS NULL`
	jobForAdmin  = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ? AND deleted_at IS NULL`
)

// JobForViewer returns job id when viewerID owns it or is an admin, and an
// error wrapping apperr.ErrNotFound otherwise (never revealing that another
// member's job exists) or when it was deleted.
func (d *DB) JobForViewer(ctx context.Context, id, viewerID int64, admin bool) (Job, error) {
	if admin {
		return scanJob(d.stmtJobForAdmin.QueryRowContext(ctx, id))
	}
	return scanJob(d.stmtJobForMember.QueryRowContext(ctx, id, viewerID))
}

// jobPageQuery is JobPage's query, prepared: every job page runs it. ?1 is
// the job, ?2 the viewer, ?3 whether the viewer is an admin. The
// neighbours and the star are read only for an archived result, the only
// pages that show them.
const jobPageQuery = `SELECT ` + jobColumns + `,
	CASE WHEN archive_state = 'archived' THEN
		(SELECT id FROM jobs WHERE id > ?1 AND ` + archivedResult + ` AND (hidden = 0 OR user_id = ?2 OR ?3 = 1) ORDER BY id ASC LIMIT 1) END,
	CASE WHEN archive_state = 'archived' THEN
		(SELECT id FROM jobs WHERE id < ?1 AND ` + archivedResult + ` AND (hidden = 0 OR user_id = ?2 OR ?3 = 1) ORDER BY id DESC LIMIT 1) END,
	CASE WHEN archive_state = 'archived' AND archive_path <> '' THEN
		EXISTS (SELECT 1 FROM favorites WHERE favorites.user_id = ?2 AND favorites.job_id = ?1) ELSE 0 END
	FROM jobs
	WHERE id = ?1 AND deleted_at IS NULL
		AND (user_id = ?2 OR ?3 = 1 OR (` + archivedResult + ` AND hidden = 0))`

// JobPage is a job as its page shows it: the job, the archived results
// next to it and whether the viewer starred it.
type JobPage struct {
	Job Job
	// Neighbors are ArchivedNeighbors' answer; zero unless Job's result is
	// archived.
	Neighbors Neighbors
	// Favorite is IsFavorite's answer; false unless Job's result is
	// archived.
	Favorite bool
}

// JobPage returns job id with its neighbours and star, in one query, when v
// may open its page: v owns it or is an admin (JobForViewer), or it is an
// archived result v may see (VisibleArchived). Otherwise, or when it was
// deleted, the error wraps apperr.ErrNotFound.
func (d *DB) JobPage(ctx context.Context, v Viewer, id int64) (JobPage, error) {
	var p JobPage
	var newer, older sql.NullInt64
	j, err := scanJob(scanMore{d.stmtJobPage.QueryRowContext(ctx, id, v.UserID, v.Admin), []any{&newer, &older, &p.Favorite}})
	if err != nil {
		return JobPage{}, err
	}
	p.Job, p.Neighbors = j, Neighbors{Newer: newer.Int64, Older: older.Int64}
	return p, nil
}

// jobRecordQuery is JobRecord's query, prepared: every job page runs it.
// Each row is an event (0), a ledger line (1) or a share link (2), with its
// fields in shared columns; the second column orders each kind (a share's
// is its negated id: newest first). ?2 asks for share links.
const jobRecordQuery = `
	SELECT 0, id, at, status, source, detail, 0, 0, 0, NULL FROM job_events WHERE job_id = ?1
	UNION ALL
	SELECT 1, id, created_at, kind, note, '', amount, user_id, COALESCE(actor_id, 0), NULL FROM ledger WHERE job_id = ?1
	UNION ALL
	SELECT 2, -id, created_at, '', '', '', created_by, COALESCE(revoked_by, 0), expires_at, revoked_at FROM shares
		WHERE job_id = ?1 AND ?2
	ORDER BY 1, 2`

// JobRecord is what a job's page lists: its history, its ledger lines and
// its share links.
type JobRecord struct {
	Events []JobEvent    // as JobEvents: oldest first
	Ledger []LedgerEntry // as LedgerForJob: oldest first
	Shares []Share       // as SharesForJob: newest first; nil unless asked for
}

// JobRecord returns job jobID's events, its ledger lines and, when
// withShares, its share links, in one query.
func (d *DB) JobRecord(ctx context.Context, jobID int64, withShares bool) (JobRecord, error) {
	var r JobRecord
	rows, err := d.stmtJobRecord.QueryContext(ctx, jobID, withShares)
	if err != nil {
		return r, mapErr(err)
	}
	defer rows.Close()
	var (
		kind                int
		key, at, n1, n2, n3 int64
		s1, s2, s3          string
		revoked             sql.NullInt64
	)
	for rows.Next() {
		if err := rows.Scan(&kind, &key, &at, &s1, &s2, &s3, &n1, &n2, &n3, &revoked); err != nil {
			return JobRecord{}, mapErr(err)
		}
		switch kind {
		case 0:
			r.Events = append(r.Events, JobEvent{At: fromMS(at), Status: s1, Source: s2, Detail: s3})
		case 1:
			r.Ledger = append(r.Ledger, LedgerEntry{ID: key, UserID: n2, Kind: s1, Amount: n1, JobID: jobID, ActorID: n3,
				Note: s2, CreatedAt: fromMS(at)})
		case 2:
			r.Shares = append(r.Shares, Share{ID: -key, JobID: jobID, CreatedBy: n1, CreatedAt: fromMS(at),
				ExpiresAt: fromMS(n3), RevokedAt: fromNullMS(revoked), RevokedBy: n2})
		}
	}
	if err := rows.Err(); err != nil {
		return JobRecord{}, mapErr(err)
	}
	return r, nil
}

// scanMore scans a row's first columns with scanJob (or the like) and the
// rest into more.
type scanMore struct {
	row  interface{ Scan(...any) error }
	more []any
}

func (s scanMore) Scan(dest ...any) error { return s.row.Scan(append(dest, s.more...)...) }

// JobByID returns job id for internal use (no ownership check).
func (d *DB) JobByID(ctx context.Context, id int64) (Job, error) {
	return scanJob(d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
}

// CountJobs returns how many jobs exist (all states).
func (d *DB) CountJobs(ctx context.Context) (int, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n)
	return n, err
}

func expectOne(res sql.Result, err error, conflict string) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w: %s", apperr.ErrConflict, conflict)
	}
	return nil
}

// RecentJobs returns userID's newest jobs, newest first.
func (d *DB) RecentJobs(ctx context.Context, userID int64, limit int) ([]Job, error) {
	return d.ListJobs(ctx, JobQuery{UserID: userID, Limit: limit})
}
