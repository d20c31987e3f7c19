package db

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A gallery search ranks its matches by bm25 (FTS5's rank: the words a
// prompt shares with the search, weighed by how rare each word is, in a
// shorter prompt first), ties newest first. Ranking is a pass over each
// word's documents and a length lookup for every match: 9 ms for a word in
// 7% of 100,000 prompts, growing with the archive. So the ranked list of
// ids is made once and kept (searchCache) until the index changes
// (gallery_versions.search, migration 0021), and every page, "load more"
// and teammate's same search walks it; and only the newest rankWindow
// matches are ranked, older ones following newest first, which bounds the
// cost of a new search however common its words are: 2 ms to find a
// word's 7,000 matches, and 1.4 ms for every 1,000 ranked. Newest
// first (GalleryQuery.Newest) lists every match by id, highest first.
//
// Ranked results lie all over the archive, so reading their tiles is a
// seek each; the tiles read are kept too (tileCache), until any column a
// tile shows or a filter tests changes (gallery_versions.tiles), and a
// page tests the filters and the viewer's rule on them in memory. The
// viewer's stars come from d.stars (starsOf); "starred only" and the API's
// prompts read each chunk of results in SQL instead. Dated pages take
// their tiles and stars from the same caches (galleryListed).
const (
	// rankWindow is how many of a search's newest matches are ranked: a
	// hundred and twenty pages, and a new search's p99 under 20 ms with a
	// margin (5,000 came to 19–20 ms in the benchmark).
	rankWindow = 3_000
	// searchCacheLists and searchCacheIDs bound the lists kept: how many,
	// and how many ids in all (8 bytes each).
	searchCacheLists = 64
	searchCacheIDs   = 2_000_000
	// tileCacheMax bounds the tiles kept (about 150 bytes each, 7 MB in
	// all); past it they are all dropped and read again as pages need them.
	tileCacheMax = 50_000
	// searchBlock is how many ids of a list a page tests at a time.
	searchBlock = 64
)

// searchCache keeps searches' lists of matching ids, each with the
// gallery_versions.search it was read at.
type searchCache struct {
	mu    sync.Mutex
	lists map[searchKey]*searchList
	ids   int    // ids held in all
	clock uint64 // counts uses, for evicting the least recently used
}

type searchKey struct {
	match  string
	newest bool
}

type searchList struct {
	version int64
	ids     []int64
	used    uint64
}

// searchIDs returns every job id whose prompt matches match, in the
// search's order, read at gallery_versions.search version or later. The
// slice is shared: callers must not modify it.
func (d *DB) searchIDs(ctx context.Context, match string, newest bool, version int64) ([]int64, error) {
	// The tokenizer folds case: "Robot" finds what "robot" finds.
	key := searchKey{strings.ToLower(match), newest}
	c := &d.searches
	c.mu.Lock()
	if l := c.lists[key]; l != nil && l.version == version {
		c.clock++
		l.used = c.clock
		c.mu.Unlock()
		return l.ids, nil
	}
	c.mu.Unlock()

	// Read at version or later: a change in between makes the next call
	// read it again.
	var ids []int64
	var err error
	if newest {
		ids, err = d.readIDs(ctx, `SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ? ORDER BY rowid DESC`, match)
	} else {
		ids, err = d.searchRanked(ctx, match)
	}
	if err != nil {
		return nil, err
	}
	c.put(key, &searchList{version: version, ids: ids})
	return ids, nil
}

// ForgetSearches drops every search list kept, so the next searches rank
// their matches anew (benchmarks of a first search use it).
func (d *DB) ForgetSearches() {
	c := &d.searches
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.lists)
	c.ids = 0
}

// searchRanked reads match's newest rankWindow matches by rank, then the
// older ones newest first.
func (d *DB) searchRanked(ctx context.Context, match string) ([]int64, error) {
	ids, err := d.readIDs(ctx, `SELECT rowid FROM (SELECT rowid, rank FROM jobs_fts WHERE jobs_fts MATCH ?
		ORDER BY rowid DESC LIMIT `+strconv.Itoa(d.rankWindow())+`) ORDER BY rank, rowid DESC`, match)
	if err != nil || len(ids) < d.rankWindow() {
		return ids, err
	}
	older, err := d.readIDs(ctx, `SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ? AND rowid < ? ORDER BY rowid DESC`,
		match, slices.Min(ids))
	return append(ids, older...), err
}

// rankWindow is rankWindow, or a test's smaller window.
func (d *DB) rankWindow() int {
	if d.testRankWindow > 0 {
		return d.testRankWindow
	}
	return rankWindow
}

// readIDs runs query, which reads one integer column, and returns its
// values.
func (d *DB) readIDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, done, err := d.galleryQuery(ctx, query, args)
	if err != nil {
		return nil, err
	}
	defer done()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, mapErr(err)
		}
		ids = append(ids, id)
	}
	return ids, mapErr(rows.Err())
}

// put keeps l under key, evicting the least recently used lists past the
// cache's bounds. A list larger than the whole bound is not kept.
func (c *searchCache) put(key searchKey, l *searchList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil {
		c.lists = map[searchKey]*searchList{}
	}
	if old := c.lists[key]; old != nil {
		c.ids -= len(old.ids)
		delete(c.lists, key)
	}
	if len(l.ids) > searchCacheIDs {
		return
	}
	for len(c.lists) >= searchCacheLists || c.ids+len(l.ids) > searchCacheIDs {
		var oldest searchKey
		var min uint64 = ^uint64(0)
		for k, v := range c.lists {
			if v.used < min {
				oldest, min = k, v.used
			}
		}
		c.ids -= len(c.lists[oldest].ids)
		delete(c.lists, oldest)
	}
	c.clock++
	l.used = c.clock
	c.lists[key] = l
	c.ids += len(l.ids)
}

// gallerySearch is Gallery for a search: it walks the search's list from
// the cursor, keeping the results the filters and the viewer allow, in the
// list's order, until the page is full.
func (d *DB) gallerySearch(ctx context.Context, q GalleryQuery) ([]GalleryItem, error) {
	v, err := d.galleryVersions(ctx)
	if err != nil {
		return nil, err
	}
	searchV, tilesV, starsV := v.search, v.tiles, v.favorites
	ids, err := d.searchIDs(ctx, q.Match, q.Newest, searchV)
	if err != nil {
		return nil, err
	}
	start := 0
	if c := q.After; c != nil {
		start = resumeAt(ids, c)
	}
	if q.Favorites || q.Prompts {
		return d.gallerySearchSQL(ctx, q, ids, start)
	}
	out, err := d.walkTiles(ctx, q, tilesV, ids, start)
	if err != nil {
		return nil, err
	}
	return out, d.starred(ctx, q.Viewer.UserID, starsV, out)
}

// walkTiles walks ids from start, keeping the results whose tiles (read at
// version tilesV) q's filters and viewer allow, in the list's order, until
// the page is full.
func (d *DB) walkTiles(ctx context.Context, q GalleryQuery, tilesV int64, ids []int64, start int) ([]GalleryItem, error) {
	out := make([]GalleryItem, 0, q.Limit)
	block := make([]tileMemo, 0, searchBlock)
	var err error
	for start < len(ids) && len(out) < q.Limit {
		part := ids[start:min(start+searchBlock, len(ids))]
		if block, err = d.tilesOf(ctx, tilesV, part, block[:0]); err != nil {
			return nil, err
		}
		for i, t := range block {
			if t.present && q.allows(&t.item) {
				it := t.item
				it.pos = start + i
				out = append(out, it)
				if len(out) == q.Limit {
					break
				}
			}
		}
		start += len(part)
	}
	return out, nil
}

// allows reports whether q's filters and viewer let it through: the rule
// of galleryWhere, tested in memory on a tile read from jobs_gallery_hits
// (which holds archived results only).
func (q *GalleryQuery) allows(it *GalleryItem) bool {
	v := q.Viewer
	switch {
	case it.Hidden && it.UserID != v.UserID && !v.Admin,
		q.MemberID != 0 && it.UserID != q.MemberID,
		q.Mode != "" && it.Mode != q.Mode,
		q.Resolution != "" && it.Resolution != q.Resolution,
		!q.From.IsZero() && ms(it.CreatedAt) < ms(q.From),
		!q.To.IsZero() && ms(it.CreatedAt) >= ms(q.To):
		return false
	}
	return true
}

// tileCache keeps the tiles of results searches showed, by job id, read
// at gallery_versions.tiles version.
type tileCache struct {
	mu      sync.Mutex
	version int64
	tiles   map[int64]tileMemo
}

// tileMemo is a job's tile; present is unset for a job the gallery does
// not hold (not archived, or deleted).
type tileMemo struct {
	item    GalleryItem
	present bool
}

// tilesOf appends the tiles of ids to out, in their order, reading those
// not kept at version in one query and keeping them.
func (d *DB) tilesOf(ctx context.Context, version int64, ids []int64, out []tileMemo) ([]tileMemo, error) {
	c := &d.tiles
	var missing []int64
	c.mu.Lock()
	if c.version != version || c.tiles == nil {
		c.version, c.tiles = version, make(map[int64]tileMemo, 1024)
	}
	for _, id := range ids {
		t, ok := c.tiles[id]
		if !ok {
			missing = append(missing, id)
		}
		out = append(out, t)
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	items, err := d.galleryRun(ctx, `SELECT `+galleryColumns+`, 0
		FROM jobs INDEXED BY jobs_gallery_hits
		WHERE id IN (SELECT value FROM json_each(?)) AND `+archivedResult, []any{jsonIDs(missing)}, false)
	if err != nil {
		return nil, err
	}
	read := make(map[int64]tileMemo, len(missing))
	for _, id := range missing {
		read[id] = tileMemo{}
	}
	for _, it := range items {
		read[it.ID] = tileMemo{item: it, present: true}
	}
	for i, id := range ids {
		if t, ok := read[id]; ok {
			out[len(out)-len(ids)+i] = t
		}
	}
	c.mu.Lock()
	// Read at version or later: kept only if no later version was seen
	// meanwhile (a later one started a new map).
	if c.version == version {
		if len(c.tiles)+len(read) > tileCacheMax {
			clear(c.tiles)
		}
		for id, t := range read {
			c.tiles[id] = t
		}
	}
	c.mu.Unlock()
	return out, nil
}

// starred marks the results of items that user starred, from the user's
// stars read at gallery_versions.favorites version.
func (d *DB) starred(ctx context.Context, user, version int64, items []GalleryItem) error {
	if len(items) == 0 {
		return nil
	}
	stars, err := d.starsOf(ctx, version, user)
	if err != nil {
		return err
	}
	for i := range items {
		_, items[i].Favorite = slices.BinarySearch(stars, items[i].ID)
	}
	return nil
}

// stars keeps members' starred job ids, each member's sorted, read at
// gallery_versions.favorites version (d.stars): a page marks its tiles'
// stars in memory instead of a lookup per tile (a quarter of a dated
// page's query). A star given or taken by anyone moves the version and
// every member's stars are read again, one indexed range each, as their
// pages need them. starCacheIDs bounds the stars kept (8 bytes each).
const starCacheIDs = 1_000_000

// starsOf returns the ids of the jobs user starred, ascending, read at
// version or later. The slice is shared: callers must not modify it.
func (d *DB) starsOf(ctx context.Context, version, user int64) ([]int64, error) {
	if ids, ok := d.stars.get(version, user); ok {
		return ids, nil
	}
	ids, err := d.readIDs(ctx, `SELECT job_id FROM favorites WHERE user_id = ? ORDER BY job_id`, user)
	if err != nil {
		return nil, err
	}
	d.stars.put(version, user, ids, len(ids), starCacheIDs)
	return ids, nil
}

// gallerySearchSQL pages through ids from start reading each chunk with
// q's filters in SQL: for "starred only" (the viewer's stars) and the
// API's prompts, which no tile keeps.
func (d *DB) gallerySearchSQL(ctx context.Context, q GalleryQuery, ids []int64, start int) ([]GalleryItem, error) {
	query, args := gallerySearchQuery(q)
	out := make([]GalleryItem, 0, q.Limit)
	byID := map[int64]GalleryItem{}
	// The first chunk is the page and a few more (most matches pass the
	// filters); it grows when the filters keep few.
	chunk := q.Limit + q.Limit/4 + 1
	for start < len(ids) && len(out) < q.Limit {
		part := ids[start:min(start+chunk, len(ids))]
		args[1] = jsonIDs(part)
		items, err := d.galleryRun(ctx, query, args, q.Prompts)
		if err != nil {
			return nil, err
		}
		clear(byID)
		for _, it := range items {
			byID[it.ID] = it
		}
		for i, id := range part {
			if it, ok := byID[id]; ok {
				it.pos = start + i
				out = append(out, it)
				if len(out) == q.Limit {
					break
				}
			}
		}
		start += len(part)
		chunk = min(chunk*4, 4096)
	}
	return out, nil
}

// jsonIDs is ids as a JSON array, for json_each.
func jsonIDs(ids []int64) string {
	b := make([]byte, 0, 2+8*len(ids))
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// gallerySearchQuery is gallerySearchSQL's query for q: the results among
// a chunk of ids, a JSON array in args[1], that q's filters and viewer
// allow.
func gallerySearchQuery(q GalleryQuery) (string, []any) {
	where, args := galleryWhere(q)
	query := `SELECT ` + galleryColumns + `, ` + galleryFavorite + galleryPrompt(q) + `
		FROM jobs INDEXED BY jobs_gallery_hits
		WHERE id IN (SELECT value FROM json_each(?)) AND ` + strings.Join(where, ` AND `)
	return query, append([]any{q.Viewer.UserID, "[]"}, args...)
}

// resumeAt is where in ids a search continues after cursor c: after c's
// result, found at its place or, when the list changed since (a new match
// ranked before it), wherever it is now; past c's place when it is gone.
func resumeAt(ids []int64, c *GalleryCursor) int {
	if c.Pos >= 0 && c.Pos < len(ids) && ids[c.Pos] == c.ID {
		return c.Pos + 1
	}
	if i := slices.Index(ids, c.ID); i >= 0 {
		return i + 1
	}
	return min(max(c.Pos+1, 0), len(ids))
}

// galleryVersions are gallery_versions' counters (migrations 0021, 0023,
// 0024): what the kept lists, tiles and stars were read at.
type galleryVersions struct {
	search, tiles, favorites, lists int64
}

// galleryVersions reads the counters, in one statement.
func (d *DB) galleryVersions(ctx context.Context) (galleryVersions, error) {
	var v galleryVersions
	err := d.stmtGalleryVersions.QueryRowContext(ctx).Scan(&v.search, &v.tiles, &v.favorites, &v.lists)
	return v, mapErr(err)
}
