package db

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"swapdesk/internal/apperr"
)

// GalleryQuery selects one page of the team gallery: archived results that
// Viewer may see (the rule of VisibleArchived), newest first, or best match
// first when Match is set.
type GalleryQuery struct {
	Viewer Viewer
	// MemberID keeps one member's results (0: everyone's).
	MemberID   int64
	Mode       string // "" for any
	Resolution string // "" for any
	// From and To bound created_at: From <= created_at < To (zero: open).
	From, To time.Time
	// Favorites keeps the results Viewer starred.
	Favorites bool
	// Match is an FTS5 query over prompts, already made safe by the caller
	// (each term a quoted string): results are ranked by bm25.
	Match string
	// After continues after the last result of the previous page (nil: the
	// first page). Its kind must fit the query: ranked with Match, dated
	// without.
	After *GalleryCursor
	Limit int
}

// GalleryCursor is where a gallery page ended: the last result's id and
// its sort key (CreatedAt for newest first, Rank for a search).
type GalleryCursor struct {
	Ranked    bool
	CreatedAt int64 // ms since the epoch
	Rank      float64
	ID        int64
}

// GalleryItem is one result of a gallery page: the columns a tile shows
// (reading whole job rows cost more than the rest of the query).
type GalleryItem struct {
	ID             int64
	UserID         int64
	Mode           string
	Resolution     string
	VideoDuration  float64 // 0 when not probed
	BilledSeconds  float64
	ChargedCredits *int64
	CreatedAt      time.Time
	Hidden         bool
	Prompt         string
	Favorite       bool    // Viewer starred it
	Rank           float64 // bm25 (smaller is better); 0 without a search
}

// galleryColumns are GalleryItem's columns from jobs, in galleryRun's
// order; the favorite and the rank follow them.
const galleryColumns = `jobs.id, jobs.user_id, jobs.mode, jobs.resolution, COALESCE(jobs.video_duration, 0),
	jobs.billed_seconds, jobs.charged_credits, jobs.created_at, jobs.hidden, jobs.prompt`

// Cursor is where a page ending with it continues.
func (it GalleryItem) Cursor(ranked bool) GalleryCursor {
	return GalleryCursor{Ranked: ranked, CreatedAt: ms(it.CreatedAt), Rank: it.Rank, ID: it.ID}
}

// The gallery walks its partial indexes (migration 0011) in the order it
// shows, newest first: the team's in jobs_gallery, one member's in
// jobs_gallery_member, so a page reads about as many rows as it shows,
// whatever the statistics say (TestGalleryQueryPlans). Starred results are
// found from the viewer's favorites (a primary-key range) and sorted. A
// search walks the FTS index newest first, keeps the matches the filters
// and the viewer allow (from the narrow jobs_gallery_hits) and ranks the
// newest SearchRankWindow of them.
const (
	galleryFavorite = `EXISTS (SELECT 1 FROM favorites WHERE favorites.user_id = ? AND favorites.job_id = jobs.id)`
	galleryStarred  = `id IN (SELECT job_id FROM favorites WHERE favorites.user_id = ?)`
)

// SearchRankWindow is how many matches a search ranks: the newest that
// the filters and the viewer allow. bm25 costs a lookup of each ranked
// document's length (about 2.5 µs a match, measured on 100k prompts): a
// word in 7% of them took 14 ms ranked in full, and the ranking grew with
// the archive. Older matches than the window are reached with the date
// filters (or more words), which narrow the window's matches.
const SearchRankWindow = 1000

// Gallery returns one page of the team gallery (see GalleryQuery).
func (d *DB) Gallery(ctx context.Context, q GalleryQuery) ([]GalleryItem, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("gallery: limit %d", q.Limit)
	}
	if q.After != nil && q.After.Ranked != (q.Match != "") {
		return nil, apperr.Invalidf("This page link belongs to another search; start again from the first page.")
	}
	query, args := gallerySQL(q)
	return d.galleryRun(ctx, query, args)
}

// galleryRun runs one of the gallery's queries.
func (d *DB) galleryRun(ctx context.Context, query string, args []any) ([]GalleryItem, error) {
	st, oneUse, err := d.galleryStmts.get(ctx, d.sql, query)
	if err != nil {
		return nil, mapErr(err)
	}
	if oneUse {
		defer st.Close()
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := make([]GalleryItem, 0, 32)
	for rows.Next() {
		var it GalleryItem
		var charged sql.NullInt64
		var created int64
		if err := rows.Scan(&it.ID, &it.UserID, &it.Mode, &it.Resolution, &it.VideoDuration, &it.BilledSeconds,
			&charged, &created, &it.Hidden, &it.Prompt, &it.Favorite, &it.Rank); err != nil {
			return nil, mapErr(err)
		}
		if charged.Valid {
			it.ChargedCredits = &charged.Int64
		}
		it.CreatedAt = fromMS(created)
		out = append(out, it)
	}
	return out, mapErr(rows.Err())
}

// gallerySQL is Gallery's query for q, and its arguments.
func gallerySQL(q GalleryQuery) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	add(archivedResult)
	add(visibleToViewer, q.Viewer.UserID, q.Viewer.Admin)
	if q.MemberID != 0 {
		add(`user_id = ?`, q.MemberID)
	}
	if q.Mode != "" {
		add(`mode = ?`, q.Mode)
	}
	if q.Resolution != "" {
		add(`resolution = ?`, q.Resolution)
	}
	if !q.From.IsZero() {
		add(`created_at >= ?`, ms(q.From))
	}
	if !q.To.IsZero() {
		add(`created_at < ?`, ms(q.To))
	}
	if q.Favorites {
		add(galleryStarred, q.Viewer.UserID)
	}
	var keyset string
	if c := q.After; c != nil {
		if c.Ranked {
			keyset = ` WHERE hit_rank >= ? AND (hit_rank > ? OR hit_id < ?)`
		} else {
			// created_at <= ? alone is the index range; the rest breaks ties.
			add(`created_at <= ? AND (created_at < ? OR id < ?)`, c.CreatedAt, c.CreatedAt, c.ID)
		}
	}
	cond := strings.Join(where, ` AND `)

	if q.Match != "" {
		// The newest SearchRankWindow matches the filters allow, from the
		// FTS index in rowid order and the narrow jobs_gallery_hits (no
		// wide row read), ranked; then the page's rows.
		query := `SELECT ` + galleryColumns + `, ` + galleryFavorite + `, top.hit_rank
			FROM (SELECT hit_id, hit_rank
				FROM (SELECT jobs_fts.rowid AS hit_id, bm25(jobs_fts) AS hit_rank
					FROM jobs_fts CROSS JOIN jobs INDEXED BY jobs_gallery_hits ON jobs.id = jobs_fts.rowid
					WHERE jobs_fts MATCH ? AND ` + cond + `
					ORDER BY jobs_fts.rowid DESC LIMIT ` + strconv.Itoa(SearchRankWindow) + `)` + keyset + `
				ORDER BY hit_rank, hit_id DESC LIMIT ?) AS top
			CROSS JOIN jobs ON jobs.id = top.hit_id
			ORDER BY top.hit_rank, jobs.id DESC`
		args = append([]any{q.Viewer.UserID, q.Match}, args...)
		if c := q.After; c != nil {
			args = append(args, c.Rank, c.Rank, c.ID)
		}
		return query, append(args, q.Limit)
	}
	from := `jobs INDEXED BY jobs_gallery`
	switch {
	case q.Favorites:
		from = `jobs NOT INDEXED`
	case q.MemberID != 0:
		from = `jobs INDEXED BY jobs_gallery_member`
	}
	query := `SELECT ` + galleryColumns + `, ` + galleryFavorite + `, 0 FROM ` + from + `
		WHERE ` + cond + ` ORDER BY created_at DESC, id DESC LIMIT ?`
	return query, append(append([]any{q.Viewer.UserID}, args...), q.Limit)
}

// MatchTerms turns what a member typed into a safe FTS5 query: each word
// (split on white space) a quoted string, with any double quote doubled,
// all of them required (AND). FTS syntax typed in (NEAR, AND, *, -, :,
// quotes) is searched for as text, never run. Words without a letter or
// digit, which no prompt's index holds, are left out; "" when none is left.
func MatchTerms(s string, maxTerms int) string {
	var terms []string
	for _, w := range strings.Fields(s) {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
		if len(terms) == maxTerms {
			break
		}
	}
	return strings.Join(terms, " AND ")
}

// SetFavorite stars job id for v (or takes the star away). Only a result
// v may see can be starred; for any other, or a deleted one, the error
// wraps apperr.ErrNotFound and nothing is written.
func (d *DB) SetFavorite(ctx context.Context, v Viewer, id int64, favorite bool) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ? AND `+archivedResult+` AND `+visibleToViewer,
			id, v.UserID, v.Admin).Scan(&one)
		if err != nil {
			return fmt.Errorf("favorite job %d: %w", id, mapErr(err))
		}
		if favorite {
			_, err = tx.ExecContext(ctx, `INSERT INTO favorites (user_id, job_id, created_at) VALUES (?, ?, ?)
				ON CONFLICT (user_id, job_id) DO NOTHING`, v.UserID, id, ms(d.Now()))
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM favorites WHERE user_id = ? AND job_id = ?`, v.UserID, id)
		}
		return err
	})
}

// IsFavorite reports whether userID starred job id.
func (d *DB) IsFavorite(ctx context.Context, userID, id int64) (bool, error) {
	var fav bool
	err := d.stmtIsFavorite.QueryRowContext(ctx, userID, id).Scan(&fav)
	return fav, mapErr(err)
}

// stmtCache keeps prepared statements by their text: parsing a gallery
// query cost as much as running it. Gallery's texts are a few hundred at
// most (one per combination of filters), so the cache is bounded by them;
// past maxCachedStmts, statements are prepared for one use.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const maxCachedStmts = 1024

// get returns query prepared; oneUse is set when the caller must close it.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (st *sql.Stmt, oneUse bool, err error) {
	c.mu.Lock()
	st, ok := c.m[query]
	c.mu.Unlock()
	if ok {
		return st, false, nil
	}
	if st, err = db.PrepareContext(ctx, query); err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok {
		st.Close()
		return prev, false, nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	if len(c.m) >= maxCachedStmts {
		return st, true, nil
	}
	c.m[query] = st
	return st, false, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, st := range c.m {
		st.Close()
		delete(c.m, k)
	}
}

// Member is a user as the gallery's member filter names them.
type Member struct {
	ID   int64
	Name string
}

// GalleryMembers returns every user's id and name, ordered by email (as
// ListUsers): the gallery's member filter, read on every page, without
// the columns it does not show.
func (d *DB) GalleryMembers(ctx context.Context) ([]Member, error) {
	st, _, err := d.galleryStmts.get(ctx, d.sql, `SELECT id, name FROM users ORDER BY email`)
	if err != nil {
		return nil, mapErr(err)
	}
	rows, err := st.QueryContext(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := make([]Member, 0, 64)
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.Name); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, m)
	}
	return out, mapErr(rows.Err())
}
