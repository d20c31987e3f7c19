package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"swapdesk/internal/apperr"
)

// Poster states (jobs.poster_state, migration 0010).
const (
	PosterNone        = ""            // not made yet
	PosterDone        = "done"        // poster (and preview) in the media store
	PosterFailed      = "failed"      // given up after retries
	PosterUnavailable = "unavailable" // no ffmpeg: the character image stands in
)

// posterDue walks jobs_poster_due (migration 0012), newest first: the
// results the gallery shows first get their posters first.
const posterDue = `FROM jobs INDEXED BY jobs_poster_due
	WHERE poster_state = '' AND archive_state = 'archived' AND deleted_at IS NULL`

// DueForPoster returns up to limit archived results without a poster yet,
// newest first.
func (d *DB) DueForPoster(ctx context.Context, limit int) ([]Job, error) {
	return d.jobsFrom(ctx, posterDue+` ORDER BY id DESC LIMIT ?`, limit)
}

// MarkPoster records job id's poster and preview clip (previewKey may be
// empty when only the poster could be made). It returns an error wrapping
// apperr.ErrNotFound when the job was deleted or is no longer archived:
// the caller removes the files it wrote.
func (d *DB) MarkPoster(ctx context.Context, id int64, posterKey, previewKey string) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE jobs SET poster_state = 'done', poster_key = ?, preview_key = ?
		WHERE id = ? AND `+archivedResult, posterKey, previewKey, id)
	return oneOrNotFound(res, err, id)
}

// PosterAttempt records a failed attempt at job id's poster; with final it
// gives up (state 'failed').
func (d *DB) PosterAttempt(ctx context.Context, id int64, attempts int, final bool) error {
	state := PosterNone
	if final {
		state = PosterFailed
	}
	_, err := d.sql.ExecContext(ctx, `UPDATE jobs SET poster_attempts = ?, poster_state = ?
		WHERE id = ? AND poster_state = ''`, attempts, state, id)
	return mapErr(err)
}

// MarkPostersUnavailable records that no poster can be made for the
// results waiting for one (ffmpeg is missing) and returns how many.
func (d *DB) MarkPostersUnavailable(ctx context.Context) (int64, error) {
	res, err := d.sql.ExecContext(ctx, `UPDATE jobs SET poster_state = 'unavailable'
		WHERE poster_state = '' AND `+archivedResult)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// RequeuePosters puts archived results back in line for a poster: those
// marked unavailable (ffmpeg is here now), with failed also those given up
// on, with all every one (to remake them). It returns how many.
func (d *DB) RequeuePosters(ctx context.Context, failed, all bool) (int64, error) {
	states := `poster_state = 'unavailable'`
	switch {
	case all:
		states = `poster_state <> ''`
	case failed:
		states = `poster_state IN ('unavailable', 'failed')`
	}
	res, err := d.sql.ExecContext(ctx, `UPDATE jobs SET poster_state = '', poster_attempts = 0
		WHERE `+states+` AND `+archivedResult)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// SetJobImage records the kept copy of job id's character image. It
// returns an error wrapping apperr.ErrNotFound when the job was deleted:
// the caller removes the file it wrote.
func (d *DB) SetJobImage(ctx context.Context, id int64, key, contentType string) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE jobs SET image_key = ?, image_type = ?
		WHERE id = ? AND deleted_at IS NULL`, key, contentType, id)
	return oneOrNotFound(res, err, id)
}

// JobImageForViewer returns job id when it has a kept character image and
// v may see it: the owner and admins always (the job need not have
// finished), the rest of the team when its result is archived and not
// hidden (the visibility rule of VisibleArchived). Otherwise the error
// wraps apperr.ErrNotFound.
func (d *DB) JobImageForViewer(ctx context.Context, v Viewer, id int64) (Job, error) {
	return scanJob(d.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE id = ? AND image_key <> '' AND deleted_at IS NULL
			AND (user_id = ? OR ? = 1 OR (`+archivedResult+` AND `+visibleToViewer+`))`,
		id, v.UserID, v.Admin, v.UserID, v.Admin))
}

// Neighbors are the results shown before and after one in a list, newest
// first: Newer is the previous one, Older the next; 0 when there is none.
type Neighbors struct {
	Newer, Older int64
}

// archivedNeighbors is ArchivedNeighbors' query, prepared (every job page
// of an archived result runs it).
const archivedNeighbors = `SELECT
	(SELECT id FROM jobs WHERE id > ? AND ` + archivedResult + ` AND ` + visibleToViewer + ` ORDER BY id ASC LIMIT 1),
	(SELECT id FROM jobs WHERE id < ? AND ` + archivedResult + ` AND ` + visibleToViewer + ` ORDER BY id DESC LIMIT 1)`

// isFavorite is IsFavorite's query, prepared likewise: the star of every
// archived result's job page.
var isFavorite = `SELECT ` + strings.Replace(galleryFavorite, "jobs.id", "?", 1)

// ArchivedNeighbors returns the archived results v may see just newer and
// just older than job id (the team's results, newest first, with the
// visibility rule of VisibleArchived).
//
// The gallery's filters are not applied here: a gallery-navigation query
// with the same filters replaces this when the gallery lands.
func (d *DB) ArchivedNeighbors(ctx context.Context, v Viewer, id int64) (Neighbors, error) {
	var n Neighbors
	var newer, older sql.NullInt64
	err := d.stmtArchivedNeighbors.QueryRowContext(ctx, id, v.UserID, v.Admin, id, v.UserID, v.Admin).Scan(&newer, &older)
	if err != nil {
		return n, mapErr(err)
	}
	n.Newer, n.Older = newer.Int64, older.Int64
	return n, nil
}

func oneOrNotFound(res sql.Result, err error, id int64) error {
	if err != nil {
		return mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("job %d: %w", id, apperr.ErrNotFound)
	}
	return nil
}

// PosterCounts returns how many archived results are in each poster state.
func (d *DB) PosterCounts(ctx context.Context) (map[string]int, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT poster_state, COUNT(*) FROM jobs WHERE `+archivedResult+` GROUP BY poster_state`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, mapErr(err)
		}
		out[state] = n
	}
	return out, mapErr(rows.Err())
}
