package db

import (
	"context"
	"database/sql"
	"time"
)

// JobCard is what a job's card shows of it. Lists of cards (the jobs list,
// the dashboard) read these columns only: a page of 20 full rows cost more
// to read than the rest of the page.
type JobCard struct {
	ID              int64
	UserID          int64
	Status          JobStatus
	Mode            string
	Resolution      string
	BilledSeconds   float64
	EstimateCredits int64
	ChargedCredits  *int64
	ErrorMessage    string
	CreatedAt       time.Time
	FinishedAt      time.Time
	ArchiveState    string
	ImageKey        string // the kept character image, the thumbnail until a poster exists
	ResultURL       string
	ResultExpiresAt time.Time
}

// Final reports whether the job will not change state again.
func (j JobCard) Final() bool { return j.Status.Final() }

// Card returns what the job's card shows of j.
func (j Job) Card() JobCard {
	return JobCard{
		ID: j.ID, UserID: j.UserID, Status: j.Status, Mode: j.Mode, Resolution: j.Resolution,
		BilledSeconds: j.BilledSeconds, EstimateCredits: j.EstimateCredits, ChargedCredits: j.ChargedCredits,
		ErrorMessage: j.ErrorMessage, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt, ArchiveState: j.ArchiveState,
		ResultURL: j.ResultURL, ResultExpiresAt: j.ResultExpiresAt, ImageKey: j.ImageKey,
	}
}

const jobCardColumns = `id, user_id, status, mode, resolution, billed_seconds, estimate_credits, charged_credits,
	error_message, created_at, finished_at, COALESCE(archive_state, ''), result_url, result_expires_at, image_key`

// ListJobCards is ListJobs reading only what the cards show: newest first,
// q.Limit of them, of q.UserID (0: everyone's), older than q.Before, never
// deleted ones.
func (d *DB) ListJobCards(ctx context.Context, q JobQuery) ([]JobCard, error) {
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	var rows *sql.Rows
	var err error
	if q.UserID != 0 {
		rows, err = d.stmtListMemberCards.QueryContext(ctx, q.UserID, before, q.Limit)
	} else {
		rows, err = d.stmtListAllCards.QueryContext(ctx, before, q.Limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]JobCard, 0, q.Limit)
	// One set of scan targets for every row (each row's own cost five
	// allocations and the argument list): a row is copied out of j.
	var j JobCard
	var status string
	var charged, finished, expires sql.NullInt64
	var created int64
	dest := []any{&j.ID, &j.UserID, &status, &j.Mode, &j.Resolution, &j.BilledSeconds,
		&j.EstimateCredits, &charged, &j.ErrorMessage, &created, &finished, &j.ArchiveState, &j.ResultURL, &expires, &j.ImageKey}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, mapErr(err)
		}
		row := j
		row.Status = JobStatus(status)
		if charged.Valid {
			n := charged.Int64
			row.ChargedCredits = &n
		}
		row.CreatedAt, row.FinishedAt, row.ResultExpiresAt = fromMS(created), fromNullMS(finished), fromNullMS(expires)
		out = append(out, row)
	}
	return out, rows.Err()
}
