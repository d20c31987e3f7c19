package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"swapdesk/internal/apperr"
)

// GalleryQuery selects one page of the team gallery: archived results that
// Viewer may see (the rule of VisibleArchived), newest first.
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
	// (each term a quoted string): only results whose prompt matches, best
	// match first (bm25; see searchIDs), or newest first with Newest.
	Match  string
	Newest bool
	// After continues after the last result of the previous page (nil: the
	// first page). Its kind must fit the query: a search's with Match, a
	// dated one without.
	After *GalleryCursor
	Limit int
	// Prompts fills GalleryItem.Prompt, from each result's job row (the
	// indexes hold no prompt; the web gallery shows none, the API does).
	Prompts bool
}

// GalleryCursor is where a gallery page ended: the last result's id and,
// for a page in created_at order, its CreatedAt; for a search (Search),
// its place in the search's list of matches (Pos, from 0).
type GalleryCursor struct {
	Search    bool
	CreatedAt int64 // ms since the epoch
	ID        int64
	Pos       int
}

// GalleryItem is one result of a gallery page: the columns a tile shows,
// all of them held by the gallery's indexes (migration 0019), so a page
// reads no job row.
type GalleryItem struct {
	ID         int64
	UserID     int64
	Mode       string
	Resolution string
	// Length is the result's length in seconds: the probed video's, else
	// the seconds billed (worked out in the query: a column fewer to read).
	Length         float64
	ChargedCredits *int64
	CreatedAt      time.Time
	Hidden         bool
	Favorite       bool   // Viewer starred it
	Prompt         string // only with GalleryQuery.Prompts
	// pos is a search result's place in the search's list (searchIDs).
	pos int
}

// galleryColumns are GalleryItem's columns from jobs, in galleryRun's
// order; the favorite and, with GalleryQuery.Prompts, the prompt
// (galleryPrompt) follow them. Every index the gallery walks holds them all
// (migration 0019): add one here, add it there. Each column read is a few
// driver calls per row, a sizeable part of a page's query: read no more
// than a tile shows.
const galleryColumns = `jobs.id, jobs.user_id, jobs.mode, jobs.resolution,
	CASE WHEN jobs.video_duration > 0 THEN jobs.video_duration ELSE jobs.billed_seconds END,
	jobs.charged_credits, jobs.created_at, jobs.hidden`

// galleryPrompt is the prompt column with q.Prompts (a read of each
// result's job row), else nothing, which keeps the query on the index
// alone.
func galleryPrompt(q GalleryQuery) string {
	if q.Prompts {
		return `, jobs.prompt`
	}
	return ``
}

// Cursor is where a page ending with it continues; search is set for a
// search's pages.
func (it GalleryItem) Cursor(search bool) GalleryCursor {
	if search {
		return GalleryCursor{Search: true, ID: it.ID, Pos: it.pos}
	}
	return GalleryCursor{CreatedAt: ms(it.CreatedAt), ID: it.ID}
}

// A dated page walks a list of results kept in memory (gallery_lists.go):
// the team's, or one member's. Until the team's list is read, and for
// "starred only" and the API's prompts, it walks the gallery's partial
// covering indexes (migrations 0011, 0019) in the order it shows, newest
// first: the team's in jobs_gallery, one member's in jobs_gallery_member,
// so a page reads about as many index entries as it shows, and no job row,
// whatever the statistics say (TestGalleryQueryPlans). Starred results are
// found from the viewer's favorites (a primary-key range) and sorted.
//
// A search's matches come from a list of every matching job id in the
// order shown (searchIDs, kept between requests until the index changes);
// a page walks that list from where the last one ended and tests the kept
// tiles against the filters and the viewer, so pages, "load more" and the
// same search by teammates cost what a dated page costs. See searchIDs for
// the orders.
const (
	galleryFavorite = `EXISTS (SELECT 1 FROM favorites WHERE favorites.user_id = ? AND favorites.job_id = jobs.id)`
	galleryStarred  = `id IN (SELECT job_id FROM favorites WHERE favorites.user_id = ?)`
)

// Gallery returns one page of the team gallery (see GalleryQuery).
func (d *DB) Gallery(ctx context.Context, q GalleryQuery) ([]GalleryItem, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("gallery: limit %d", q.Limit)
	}
	if q.After != nil && q.After.Search != (q.Match != "") {
		return nil, apperr.Invalidf("This page link belongs to another search; start again from the first page.")
	}
	if q.Match != "" {
		return d.gallerySearch(ctx, q)
	}
	if !readsTiles(q) {
		if page, ok, err := d.galleryListed(ctx, q); ok || err != nil {
			return page, err
		}
	}
	query, args := datedSQL(q)
	if readsTiles(q) {
		return d.galleryRun(ctx, query, args, q.Prompts)
	}
	return d.galleryDated(ctx, q, query, args)
}

// readsTiles reports whether a dated page for q reads its tiles in SQL:
// "starred only" walks the viewer's stars, and the API's prompts are in
// no tile kept.
func readsTiles(q GalleryQuery) bool { return q.Favorites || q.Prompts }

// datedSQL is the query of a dated page for q, and its arguments.
func datedSQL(q GalleryQuery) (string, []any) {
	if readsTiles(q) {
		return gallerySQL(q, galleryColumns+`, `+galleryFavorite+galleryPrompt(q), q.Viewer.UserID)
	}
	return gallerySQL(q, galleryDatedColumns)
}

// galleryDatedColumns are what a dated page reads from its index: the ids
// in order, and the versions of the tiles and stars it takes from memory
// (read once, by the same statement, so they are those of the ids read).
const galleryDatedColumns = `id,
	(SELECT tiles FROM gallery_versions WHERE id = 1), (SELECT favorites FROM gallery_versions WHERE id = 1)`

// galleryDated is Gallery for a page in created_at order that no list kept
// serves: the index walk finds the page's ids (filters and the viewer's
// rule in SQL), and their
// tiles and stars come from memory (tileCache, starsOf), read when a
// change has moved their version. Reading only the ids costs a third of
// reading the tiles and each tile's star with them.
func (d *DB) galleryDated(ctx context.Context, q GalleryQuery, query string, args []any) ([]GalleryItem, error) {
	rows, done, err := d.galleryQuery(ctx, query, args)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, q.Limit)
	var id, tilesV, starsV int64
	for rows.Next() {
		if err := rows.Scan(&id, &tilesV, &starsV); err != nil {
			done()
			return nil, mapErr(err)
		}
		ids = append(ids, id)
	}
	err = rows.Err()
	done()
	if err != nil || len(ids) == 0 {
		return nil, mapErr(err)
	}
	tiles, err := d.tilesOf(ctx, tilesV, ids, make([]tileMemo, 0, len(ids)))
	if err != nil {
		return nil, err
	}
	out := make([]GalleryItem, 0, len(tiles))
	for _, t := range tiles {
		// Gone since the ids were read (deleted, say): left out, as a
		// page read a moment later would.
		if t.present {
			out = append(out, t.item)
		}
	}
	return out, d.starred(ctx, q.Viewer.UserID, starsV, out)
}

// galleryQuery runs query, prepared once and kept (galleryStmts); done
// closes the rows and, past the cache's bound, the statement.
func (d *DB) galleryQuery(ctx context.Context, query string, args []any) (rows *sql.Rows, done func(), err error) {
	st, oneUse, err := d.galleryStmts.get(ctx, d.sql, query)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	if rows, err = st.QueryContext(ctx, args...); err != nil {
		if oneUse {
			st.Close()
		}
		return nil, nil, mapErr(err)
	}
	return rows, func() {
		rows.Close()
		if oneUse {
			st.Close()
		}
	}, nil
}

// galleryRun runs one of the gallery's queries; prompts says whether it
// reads the prompt column.
func (d *DB) galleryRun(ctx context.Context, query string, args []any, prompts bool) ([]GalleryItem, error) {
	rows, done, err := d.galleryQuery(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make([]GalleryItem, 0, 32)
	// One set of scan targets for every row, as ListJobCards.
	var it GalleryItem
	var charged sql.NullInt64
	var created int64
	dest := []any{&it.ID, &it.UserID, &it.Mode, &it.Resolution, &it.Length,
		&charged, &created, &it.Hidden, &it.Favorite, &it.Prompt}
	if !prompts {
		dest = dest[:len(dest)-1]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, mapErr(err)
		}
		row := it
		if charged.Valid {
			n := charged.Int64
			row.ChargedCredits = &n
		}
		row.CreatedAt = fromMS(created)
		out = append(out, row)
	}
	return out, mapErr(rows.Err())
}

// galleryWhere is q's conditions but the cursor's, and their arguments:
// the archived rule, the viewer's and the filters.
func galleryWhere(q GalleryQuery) ([]string, []any) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	// The filters first: SQLite tests the terms in this order on each
	// index entry, and the archived rule, which every entry passes (the
	// indexes hold archived results only), is three column reads.
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
	add(visibleToViewer, q.Viewer.UserID, q.Viewer.Admin)
	add(archivedResult)
	return where, args
}

// gallerySQL is Gallery's query for q without a search, reading cols
// (whose parameters are colArgs), and its arguments.
func gallerySQL(q GalleryQuery, cols string, colArgs ...any) (string, []any) {
	where, args := galleryWhere(q)
	if c := q.After; c != nil {
		// created_at <= ? alone is the index range; the rest breaks ties.
		where = append(where, `created_at <= ? AND (created_at < ? OR id < ?)`)
		args = append(args, c.CreatedAt, c.CreatedAt, c.ID)
	}
	from := `jobs INDEXED BY jobs_gallery`
	switch {
	case q.Favorites:
		from = `jobs NOT INDEXED`
	case q.MemberID != 0:
		from = `jobs INDEXED BY jobs_gallery_member`
	}
	query := `SELECT ` + cols + ` FROM ` + from + `
		WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY created_at DESC, id DESC LIMIT ?`
	return query, append(append(colArgs, args...), q.Limit)
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
// the columns it does not show. The list is kept between calls and read
// again only when users_version (migration 0020) says the users changed;
// the version is read before the list, so a change in between makes the
// next call read it again. The slice is shared: callers must not modify it.
func (d *DB) GalleryMembers(ctx context.Context) ([]Member, error) {
	var version int64
	if err := d.stmtUsersVersion.QueryRowContext(ctx).Scan(&version); err != nil {
		return nil, mapErr(err)
	}
	d.members.mu.Lock()
	if d.members.list != nil && d.members.version == version {
		list := d.members.list
		d.members.mu.Unlock()
		return list, nil
	}
	d.members.mu.Unlock()
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
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	d.members.mu.Lock()
	d.members.list, d.members.version = out, version
	d.members.mu.Unlock()
	return out, nil
}

// membersCache is GalleryMembers' list and the users_version it was read
// at.
type membersCache struct {
	mu      sync.Mutex
	version int64
	list    []Member
}
