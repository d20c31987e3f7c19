package db

import (
	"context"
	"database/sql"
	"slices"
	"sort"
	"sync"
	"time"
)

// A dated page walks a list of results newest first kept in memory: one
// member's list for the member filter (d.memberLists), the team's for any
// other page (teamCache). Each entry holds what the filters and the
// viewer's rule test (owner, mode, resolution, hidden, time), so a page is
// one statement (gallery_versions), a walk in memory however selective its
// filters, and the tiles of the results it shows (tileCache). The index
// walk it replaces tested every index entry against the filters in SQL —
// six for each result shown with a mode and a resolution chosen — and read
// each shown one's columns. "Starred only" and the API's prompts stay in
// SQL (readsTiles).
//
// Both lists are read again when what they hold changes
// (gallery_versions.lists, migration 0024): a result entering or leaving
// the gallery, or its owner, mode, resolution, time or hidden flag.
// A member's list (hundreds or thousands of results) is read on the
// request that needs it. The team's (100,000 results: 120–170 ms) is read in
// the background: until it is, pages walk the index as before.
const (
	// memberCacheIDs bounds the member lists' results kept in all (27
	// bytes each); past it they are dropped and read again as pages need
	// them. A member with more results is paged in SQL.
	memberCacheIDs = 1_000_000
	// teamListMax bounds the team's list (27 bytes a result); a larger
	// gallery is paged in SQL.
	teamListMax = 1_000_000
	// teamRebuildFactor spaces the team list's readings: the next starts
	// no sooner than this many times the last one's duration after it
	// ended, so a burst of changes costs at most a tenth of a core.
	teamRebuildFactor = 10
)

// datedList is results newest first (created_at, then id, descending),
// as read at gallery_versions.lists version: result i is ids[i], made by
// users[i] at created[i] (ms), with attrs[i]. Modes and resolutions are
// kept once each, in modes and resolutions.
type datedList struct {
	version             int64
	ids, created, users []int64
	attrs               []listAttrs
	modes, resolutions  []string
}

// listAttrs are a result's mode and resolution (indexes in its list's
// modes and resolutions) and whether it is hidden.
type listAttrs struct {
	mode, resolution uint8
	hidden           bool
}

// datedColumns are a list's columns: the version is read by the same
// statement, so it is the one the results were read at.
const datedColumns = `SELECT id, created_at, user_id, mode, resolution, hidden,
	(SELECT lists FROM gallery_versions WHERE id = 1)`

// readDated reads a list of results with query, which selects
// datedColumns newest first, at most max of them (one more is asked for);
// nil when there are more, or more than 256 modes or resolutions. seen is
// a version read before: an empty list, which reads no version, is one
// read at seen or later.
func (d *DB) readDated(ctx context.Context, seen int64, query string, max int, args ...any) (*datedList, error) {
	rows, done, err := d.galleryQuery(ctx, query, append(args, max+1))
	if err != nil {
		return nil, err
	}
	defer done()
	l := &datedList{version: seen}
	intern := func(known *[]string, b []byte) (uint8, bool) {
		for i, k := range *known {
			if k == string(b) {
				return uint8(i), true
			}
		}
		if len(*known) == 256 {
			return 0, false
		}
		*known = append(*known, string(b))
		return uint8(len(*known) - 1), true
	}
	var id, created, user int64
	var mode, res sql.RawBytes
	var hidden bool
	for rows.Next() {
		if err := rows.Scan(&id, &created, &user, &mode, &res, &hidden, &l.version); err != nil {
			return nil, mapErr(err)
		}
		m, ok1 := intern(&l.modes, mode)
		r, ok2 := intern(&l.resolutions, res)
		if !ok1 || !ok2 || len(l.ids) == max {
			return nil, nil
		}
		l.ids = append(l.ids, id)
		l.created = append(l.created, created)
		l.users = append(l.users, user)
		l.attrs = append(l.attrs, listAttrs{mode: m, resolution: r, hidden: hidden})
	}
	return l, mapErr(rows.Err())
}

// page returns the ids of the results from start to end (exclusive) that
// q's filters and viewer allow, in order, at most q.Limit of them.
func (l *datedList) page(q *GalleryQuery, start, end int) []int64 {
	find := func(known []string, v string) int {
		if v == "" {
			return -1 // any
		}
		if i := slices.Index(known, v); i >= 0 {
			return i
		}
		return -2 // none
	}
	mode, res := find(l.modes, q.Mode), find(l.resolutions, q.Resolution)
	if mode == -2 || res == -2 {
		return nil
	}
	v := q.Viewer
	out := make([]int64, 0, q.Limit)
	for i := start; i < end && len(out) < q.Limit; i++ {
		a, user := l.attrs[i], l.users[i]
		switch {
		case a.hidden && user != v.UserID && !v.Admin,
			q.MemberID != 0 && user != q.MemberID,
			mode >= 0 && int(a.mode) != mode,
			res >= 0 && int(a.resolution) != res:
			continue
		}
		out = append(out, l.ids[i])
	}
	return out
}

// memberResults returns member's list at version, from d.memberLists or
// read, or nil when it is larger than the cache's whole bound. The list is
// shared: callers must not modify it.
func (d *DB) memberResults(ctx context.Context, version, member int64) (*datedList, error) {
	if l, ok := d.memberLists.get(version, member); ok {
		return l, nil
	}
	l, err := d.readDated(ctx, version, datedColumns+` FROM jobs INDEXED BY jobs_gallery_member
		WHERE user_id = ? AND `+archivedResult+` ORDER BY created_at DESC, id DESC LIMIT ?`, memberCacheIDs, member)
	if err != nil || l == nil {
		return nil, err
	}
	d.memberLists.put(l.version, member, l, len(l.ids), memberCacheIDs)
	return l, nil
}

// teamCache keeps the team's list, read in the background.
type teamCache struct {
	mu       sync.Mutex
	list     *datedList
	reading  bool
	notUntil time.Time // no reading starts before
}

// teamResults returns the team's list when one read at version is kept;
// otherwise nil, and a reading starts in the background unless one is
// under way or the last ended too recently.
func (d *DB) teamResults(version int64) *datedList {
	c := &d.team
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list != nil && c.list.version == version {
		return c.list
	}
	if c.reading || time.Now().Before(c.notUntil) || d.closing.Err() != nil {
		return nil
	}
	c.reading = true
	d.background.Add(1)
	go func() {
		defer d.background.Done()
		start := time.Now()
		ctx, cancel := context.WithTimeout(d.closing, time.Minute)
		l, _ := d.readDated(ctx, version, datedColumns+` FROM jobs INDEXED BY jobs_gallery
			WHERE `+archivedResult+` ORDER BY created_at DESC, id DESC LIMIT ?`, teamListMax)
		cancel()
		// An error or a gallery past the bound keeps no list; pages walk
		// the index, and the next reading waits its turn as after any.
		c.mu.Lock()
		defer c.mu.Unlock()
		c.reading = false
		c.notUntil = time.Now().Add(teamRebuildFactor * time.Since(start))
		if l != nil && (c.list == nil || l.version >= c.list.version) {
			c.list = l
		}
	}()
	return nil
}

// galleryListed is Gallery for a dated page from a list kept in memory:
// the member's with q.MemberID, the team's otherwise. ok is false when no
// list serves it and the page must be read in SQL.
func (d *DB) galleryListed(ctx context.Context, q GalleryQuery) (page []GalleryItem, ok bool, err error) {
	v, err := d.galleryVersions(ctx)
	if err != nil {
		return nil, false, err
	}
	var l *datedList
	if q.MemberID != 0 {
		if l, err = d.memberResults(ctx, v.lists, q.MemberID); err != nil {
			return nil, false, err
		}
	} else {
		l = d.teamResults(v.lists)
	}
	if l == nil {
		return nil, false, nil
	}
	// The list is newest first: the page starts after the cursor and
	// before To, and ends at From.
	start, end := 0, len(l.ids)
	if c := q.After; c != nil {
		start = sort.Search(len(l.ids), func(i int) bool {
			return l.created[i] < c.CreatedAt || (l.created[i] == c.CreatedAt && l.ids[i] < c.ID)
		})
	}
	if !q.To.IsZero() {
		start = max(start, sort.Search(len(l.created), func(i int) bool { return l.created[i] < ms(q.To) }))
	}
	if !q.From.IsZero() {
		end = sort.Search(len(l.created), func(i int) bool { return l.created[i] < ms(q.From) })
	}
	ids := l.page(&q, start, end)
	if len(ids) == 0 {
		return []GalleryItem{}, true, nil
	}
	// Every id is in the gallery at v (a list at v.lists holds what is):
	// their tiles are those kept at v.tiles.
	tiles, err := d.tilesOf(ctx, v.tiles, ids, make([]tileMemo, 0, len(ids)))
	if err != nil {
		return nil, false, err
	}
	out := make([]GalleryItem, 0, len(tiles))
	for _, t := range tiles {
		if t.present {
			out = append(out, t.item)
		}
	}
	return out, true, d.starred(ctx, q.Viewer.UserID, v.favorites, out)
}
