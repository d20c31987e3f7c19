package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"swapdesk/internal/apperr"
)

// Event sources for job_events.
const (
	SourceWebhook = "webhook"
	SourcePoll    = "poll"
	SourceArchive = "archive"
	SourceSystem  = "system"
	SourceMember  = "member"
)

// JobEvent is one line of a job's status history.
type JobEvent struct {
	At     time.Time
	Status string
	Source string
	Detail string
}

func insertEvent(ctx context.Context, q queryer, now time.Time, jobID int64, status, source, detail string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO job_events (job_id, at, status, source, detail) VALUES (?, ?, ?, ?, ?)`,
		jobID, ms(now), status, source, detail)
	return err
}

const jobEvents = `SELECT at, status, source, detail FROM job_events WHERE job_id = ? ORDER BY id`

// JobEvents returns jobID's history, oldest first.
func (d *DB) JobEvents(ctx context.Context, jobID int64) ([]JobEvent, error) {
	rows, err := d.stmtJobEvents.QueryContext(ctx, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []JobEvent
	for rows.Next() {
		var e JobEvent
		var at int64
		if err := rows.Scan(&at, &e.Status, &e.Source, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Update is a change of a job's state, from what Akool reported by webhook
// or poll, with what the change does to the member's credits as
// internal/credits decided it: the store writes it and decides nothing.
type Update struct {
	Status        JobStatus // JobQueued, JobProcessing, JobSucceeded or JobFailed
	Source        string    // SourceWebhook, SourcePoll or SourceSystem
	ResultURL     string
	VideoDuration float64
	// Charged is what the member is charged; required for a final status
	// (JobSucceeded, JobFailed), when the hold is released first.
	Charged *int64
	// ReleaseNote and ChargeNote are the ledger lines' notes; Detail is the
	// status history's text (for JobFailed, FailReason is used).
	ReleaseNote, ChargeNote, Detail string
	// FailReason is what a failed job's member reads; required for JobFailed.
	FailReason string
	// ExpiresAt is when Akool deletes the result; required for JobSucceeded.
	ExpiresAt time.Time
}

// check reports what a final update lacks.
func (u Update) check() error {
	switch u.Status {
	case JobQueued, JobProcessing:
		return nil
	case JobSucceeded, JobFailed:
	default:
		return fmt.Errorf("apply update: status %q", u.Status)
	}
	switch {
	case u.Charged == nil || *u.Charged < 0:
		return fmt.Errorf("apply update: a %s job needs a charge of 0 or more", u.Status)
	case u.Status == JobSucceeded && u.ExpiresAt.IsZero():
		return fmt.Errorf("apply update: a succeeded job needs its result's expiry")
	case u.Status == JobFailed && u.FailReason == "":
		return fmt.Errorf("apply update: a failed job needs a reason")
	}
	return nil
}

func rank(status JobStatus) int {
	switch status {
	case JobSubmitting:
		return 0
	case JobQueued:
		return 1
	case JobProcessing:
		return 2
	}
	return 3
}

// ApplyUpdate moves job id forward to u.Status and, for a final status,
// settles it exactly once in the same transaction: the whole hold is
// released and u.Charged is charged. An update that would move the job
// backwards, repeat its state, or touch a final job changes nothing and
// returns applied == false. It returns the job as it is after the call, or
// an error for an unknown status or an update that would apply but lacks
// what its status needs (see Update's fields).
func (d *DB) ApplyUpdate(ctx context.Context, id int64, u Update) (job Job, applied bool, err error) {
	if u.Status != JobQueued && u.Status != JobProcessing && u.Status != JobSucceeded && u.Status != JobFailed {
		return Job{}, false, fmt.Errorf("apply update: status %q", u.Status)
	}
	err = d.tx(ctx, func(tx *sql.Tx) error {
		j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
		if err != nil {
			return err
		}
		job = j
		if j.Final() || j.Status == JobSubmitting || rank(u.Status) <= rank(j.Status) {
			return nil
		}
		// Checked only for an update that applies: a duplicate or late one
		// is a no-op whatever it carries.
		if err := u.check(); err != nil {
			return err
		}
		now := d.Now()
		detail := u.Detail
		switch u.Status {
		case JobQueued, JobProcessing:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, updated_at = ? WHERE id = ?`, u.Status, ms(now), id)
		case JobSucceeded:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = 'succeeded', updated_at = ?, finished_at = ?,
					result_url = ?, video_duration = ?, charged_credits = ?, archive_state = 'pending',
					next_archive_at = ?, result_expires_at = ?, next_poll_at = NULL
				WHERE id = ?`, ms(now), ms(now), u.ResultURL, u.VideoDuration, *u.Charged, ms(now), ms(u.ExpiresAt), id)
		case JobFailed:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = 'failed', updated_at = ?, finished_at = ?,
					error_message = ?, charged_credits = ?, next_poll_at = NULL
				WHERE id = ?`, ms(now), ms(now), u.FailReason, *u.Charged, id)
			detail = u.FailReason
		}
		if err != nil {
			return err
		}
		if u.Status == JobSucceeded || u.Status == JobFailed {
			if _, err := releaseHold(ctx, tx, now, j.UserID, id, u.ReleaseNote); err != nil {
				return err
			}
			if err := chargeTx(ctx, tx, now, j.UserID, id, *u.Charged, u.ChargeNote); err != nil {
				return err
			}
		}
		if err := insertEvent(ctx, tx, now, id, string(u.Status), u.Source, detail); err != nil {
			return err
		}
		applied = true
		job, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
		return err
	})
	return job, applied, err
}

// JobByAkoolID returns the job Akool knows as akoolID, or an error wrapping
// apperr.ErrNotFound.
func (d *DB) JobByAkoolID(ctx context.Context, akoolID string) (Job, error) {
	return scanJob(d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE akool_id = ?`, akoolID))
}

// DueForPoll returns up to limit open jobs whose next poll is due at now,
// most overdue first.
func (d *DB) DueForPoll(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	return d.jobsWhere(ctx, `status IN ('queued', 'processing') AND next_poll_at <= ? ORDER BY next_poll_at LIMIT ?`, ms(now), limit)
}

// SchedulePoll sets when job id is polled next and how many polls it has
// had. Final jobs are left alone.
func (d *DB) SchedulePoll(ctx context.Context, id int64, at time.Time, attempts int) error {
	_, err := d.sql.ExecContext(ctx, `UPDATE jobs SET next_poll_at = ?, poll_attempts = ?
		WHERE id = ? AND status IN ('queued', 'processing')`, ms(at), attempts, id)
	return mapErr(err)
}

// DueForArchive returns up to limit succeeded jobs whose archive attempt is
// due at now.
func (d *DB) DueForArchive(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	return d.jobsWhere(ctx, `archive_state = 'pending' AND next_archive_at <= ? ORDER BY next_archive_at LIMIT ?`, ms(now), limit)
}

// ScheduleArchive records a failed archive attempt and when to try again.
func (d *DB) ScheduleArchive(ctx context.Context, id int64, at time.Time, attempts int, detail string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET next_archive_at = ?, archive_attempts = ?
			WHERE id = ? AND archive_state = 'pending'`, ms(at), attempts, id)
		if err := expectOne(res, err, "job is not waiting to be archived"); err != nil {
			return err
		}
		return insertEvent(ctx, tx, d.Now(), id, "archive_retry", SourceArchive, detail)
	})
}

// MarkArchived records the archived copy of job id: its path (relative to
// the media dir), SHA-256 and size.
func (d *DB) MarkArchived(ctx context.Context, id int64, path, sha256 string, size int64) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET archive_state = 'archived', archive_path = ?, archive_sha256 = ?,
				archive_size = ?, next_archive_at = NULL
			WHERE id = ? AND archive_state = 'pending'`, path, sha256, size, id)
		if err := expectOne(res, err, "job is not waiting to be archived"); err != nil {
			return err
		}
		return insertEvent(ctx, tx, d.Now(), id, ArchiveDone, SourceArchive, fmt.Sprintf("%d bytes, sha256 %s", size, sha256))
	})
}

// EndArchive gives up archiving job id with state ArchiveExpired (Akool's
// URL died first) or ArchiveFailed (the result cannot be archived).
func (d *DB) EndArchive(ctx context.Context, id int64, state, detail string) error {
	if state != ArchiveExpired && state != ArchiveFailed {
		return fmt.Errorf("end archive: state %q", state)
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET archive_state = ?, next_archive_at = NULL
			WHERE id = ? AND archive_state = 'pending'`, state, id)
		if err := expectOne(res, err, "job is not waiting to be archived"); err != nil {
			return err
		}
		return insertEvent(ctx, tx, d.Now(), id, state, SourceArchive, detail)
	})
}

// WebhookRecord is a verified webhook as stored. Webhooks that do not
// verify are never stored: the endpoint is open to anyone.
type WebhookRecord struct {
	AkoolID string
	Status  int
	// Signature is the webhook's signature in lowercase hex. A webhook whose
	// signature was accepted before is a replay (or Akool's retry) and
	// changes nothing.
	Signature string
	// Body is the four signed fields re-encoded as JSON.
	Body string
}

// Webhook outcomes, as AcceptWebhook reports and stores them.
const (
	WebhookDuplicate  = "duplicate"
	WebhookUnknownJob = "ignored: unknown job"
	WebhookJobFinal   = "ignored: job already final"
	WebhookPollPulled = "poll scheduled"
	WebhookPollDue    = "poll already due"
)

// WebhookResult is what AcceptWebhook did.
type WebhookResult struct {
	Outcome string // one of the Webhook* outcomes
	Job     Job    // the webhook's job; zero for duplicates and unknown jobs
}

// Open reports whether the webhook's job is still being tracked.
func (r WebhookResult) Open() bool {
	return r.Outcome == WebhookPollPulled || r.Outcome == WebhookPollDue
}

// AcceptWebhook records a verified webhook once per signature and, when its
// job is open and its next poll is not due yet at now, moves that poll to
// now and restarts its backoff. A webhook whose signature was recorded
// before changes nothing and returns WebhookDuplicate. Everything happens
// in one IMMEDIATE transaction, so concurrent replays are serialized and a
// failure leaves nothing half done (Akool retries what we did not answer
// with 200).
func (d *DB) AcceptWebhook(ctx context.Context, w WebhookRecord, now time.Time) (WebhookResult, error) {
	if w.Signature == "" || w.AkoolID == "" {
		return WebhookResult{}, fmt.Errorf("accept webhook: signature and Akool id are required")
	}
	var res WebhookResult
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var seen int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_events WHERE signature = ?`, w.Signature).Scan(&seen)
		if err != nil {
			return err
		}
		if seen > 0 {
			res.Outcome = WebhookDuplicate
			return nil
		}
		job, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE akool_id = ?`, w.AkoolID))
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			res.Outcome = WebhookUnknownJob
		case err != nil:
			return err
		case job.Status != JobQueued && job.Status != JobProcessing:
			res.Outcome, res.Job = WebhookJobFinal, job
		case job.NextPollAt.After(now):
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET next_poll_at = ?, poll_attempts = 0 WHERE id = ?`, ms(now), job.ID); err != nil {
				return err
			}
			job.NextPollAt, job.PollAttempts = fromMS(ms(now)), 0
			res.Outcome, res.Job = WebhookPollPulled, job
		default:
			res.Outcome, res.Job = WebhookPollDue, job
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO webhook_events (received_at, akool_id, status, verified, outcome, body, signature)
			VALUES (?, ?, ?, 1, ?, ?, ?)`, ms(now), w.AkoolID, w.Status, res.Outcome, w.Body, w.Signature)
		return err
	})
	return res, err
}

// PullPollForward moves job id's next poll to now when the job is open and
// its poll is not due yet, restarting the backoff. It reports whether it
// moved it.
func (d *DB) PullPollForward(ctx context.Context, id int64, now time.Time) (bool, error) {
	res, err := d.sql.ExecContext(ctx, `UPDATE jobs SET next_poll_at = ?, poll_attempts = 0
		WHERE id = ? AND status IN ('queued', 'processing') AND next_poll_at > ?`, ms(now), id, ms(now))
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// PruneWebhooks deletes the webhooks received before before and returns
// how many it deleted.
func (d *DB) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.sql.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < ?`, ms(before))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// CountWebhooks returns how many webhooks were stored (for tests and ops).
func (d *DB) CountWebhooks(ctx context.Context) (int, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_events`).Scan(&n)
	return n, err
}

// JobQuery selects a page of jobs, newest first.
type JobQuery struct {
	UserID int64 // 0 for every member's (admins)
	Before int64 // keyset: only jobs with id < Before; 0 for the first page
	Limit  int
}

// ListJobs returns one page of jobs (not deleted), newest first.
func (d *DB) ListJobs(ctx context.Context, q JobQuery) ([]Job, error) {
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	if q.UserID != 0 {
		return scanJobs(d.stmtListMemberJobs.QueryContext(ctx, q.UserID, before, q.Limit))
	}
	return scanJobs(d.stmtListAllJobs.QueryContext(ctx, before, q.Limit))
}

// The list queries name their access path, so statistics (ANALYZE, or
// PRAGMA optimize) cannot turn a page of 20 into a scan and sort of every
// job: a member's page walks jobs_user_id (user_id, id DESC); everyone's
// walks the table itself in rowid order (NOT INDEXED still allows the rowid
// range), skipping the few deleted rows. TestListQueryPlans checks both
// after ANALYZE on 100k jobs.
const (
	listMemberJobs = `FROM jobs INDEXED BY jobs_user_id
		WHERE user_id = ? AND id < ? AND deleted_at IS NULL ORDER BY id DESC LIMIT ?`
	// listMemberCards is listMemberJobs for the cards' columns only
	// (jobCardColumns): all of them are in jobs_member_cards (migration
	// 0015), so no job row is read.
	listMemberCards = `FROM jobs INDEXED BY jobs_member_cards
		WHERE user_id = ? AND id < ? AND deleted_at IS NULL ORDER BY id DESC LIMIT ?`
	listAllJobs = `FROM jobs NOT INDEXED
		WHERE id < ? AND deleted_at IS NULL ORDER BY id DESC LIMIT ?`
	// countRunning reads the member's one row of running_jobs, the count
	// triggers keep with every change to a job (migration 0009), instead of
	// counting rows: the member's whole history in jobs_user_id, or the
	// team's open jobs in jobs_open, cost more than the rest of a page.
	countRunning = `SELECT COALESCE((SELECT n FROM running_jobs WHERE user_id = ?), 0)`
)

// CountRunning returns how many of userID's jobs are not final yet.
func (d *DB) CountRunning(ctx context.Context, userID int64) (int, error) {
	var n int
	err := d.stmtCountRunning.QueryRowContext(ctx, userID).Scan(&n)
	return n, err
}

// DeleteJob hides a final job of userID's (soft delete: the ledger keeps
// its lines) and returns it so the caller can remove its archive file. It
// returns an error wrapping apperr.ErrNotFound for no such job and
// apperr.ErrConflict for a job that is still running.
func (d *DB) DeleteJob(ctx context.Context, id, userID int64) (Job, error) {
	var job Job
	err := d.tx(ctx, func(tx *sql.Tx) error {
		j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
			WHERE id = ? AND user_id = ? AND deleted_at IS NULL`, id, userID))
		if err != nil {
			return err
		}
		if !j.Final() {
			return fmt.Errorf("%w: job %d is still running", apperr.ErrConflict, id)
		}
		now := d.Now()
		// The archived copy goes with the job (the caller removes the file):
		// no archive state, path or pending attempt is left to claim one.
		// (NULL, not a 'deleted' state: the column's CHECK predates it and
		// changing it needs a table rebuild.)
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET deleted_at = ?, updated_at = ?,
				archive_state = NULL, archive_path = '', archive_sha256 = '', archive_size = 0, next_archive_at = NULL
			WHERE id = ?`, ms(now), ms(now), id); err != nil {
			return err
		}
		job = j
		return insertEvent(ctx, tx, now, id, "deleted", SourceMember, "")
	})
	return job, err
}

// Viewer is who asks to see a job's result: the gallery, /media and zips
// apply one rule to it (see VisibleArchived).
type Viewer struct {
	UserID int64
	Admin  bool
}

// visibleToViewer is the one visibility rule, as SQL over jobs with the
// viewer's id and admin flag as its two arguments: a result the team can
// see unless its owner hid it; a hidden one only its owner and admins.
const visibleToViewer = `(hidden = 0 OR user_id = ? OR ? = 1)`

// archivedResult is a succeeded job whose result is in the media store and
// that was not deleted.
const archivedResult = `archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL`

// VisibleArchived returns job id when its result is archived, it was not
// deleted and v may see it (see visibleToViewer), or an error wrapping
// apperr.ErrNotFound, whichever of those fails: a hidden job answers as if
// it did not exist.
func (d *DB) VisibleArchived(ctx context.Context, v Viewer, id int64) (Job, error) {
	return scanJob(d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE id = ? AND `+archivedResult+` AND `+visibleToViewer, id, v.UserID, v.Admin))
}

// SetHidden hides job id from the team gallery (or shows it again). Only
// its owner or an admin may; for anyone else, or a deleted job, the error
// wraps apperr.ErrNotFound.
func (d *DB) SetHidden(ctx context.Context, v Viewer, id int64, hidden bool) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET hidden = ?, updated_at = ?
			WHERE id = ? AND deleted_at IS NULL AND (user_id = ? OR ? = 1)`, hidden, ms(d.Now()), id, v.UserID, v.Admin)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("job %d: %w", id, apperr.ErrNotFound)
		}
		return nil
	})
}

// ArchivedMedia returns job id when it has an archived copy and was not
// deleted, whoever owns it and whether hidden or not, or an error wrapping
// apperr.ErrNotFound. Use VisibleArchived for anything a person asks for.
func (d *DB) ArchivedMedia(ctx context.Context, id int64) (Job, error) {
	return scanJob(d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE id = ? AND `+archivedResult, id))
}

func (d *DB) jobsWhere(ctx context.Context, where string, args ...any) ([]Job, error) {
	return d.jobsFrom(ctx, `FROM jobs WHERE `+where, args...)
}

// jobsFrom runs SELECT jobColumns followed by from (FROM, WHERE, ORDER...).
func (d *DB) jobsFrom(ctx context.Context, from string, args ...any) ([]Job, error) {
	return scanJobs(d.sql.QueryContext(ctx, `SELECT `+jobColumns+` `+from, args...))
}

// scanJobs reads every job of a query's rows (SELECT jobColumns ...).
func scanJobs(rows *sql.Rows, err error) ([]Job, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
