package db

import (
	"context"
	"sort"
	"sync"
)

// A page of one member's results (the member filter, alone or with others)
// walks that member's list of results, newest first, kept in memory
// (memberCache) until any tile changes (gallery_versions.tiles), and tests
// the other filters and the viewer's rule on the tiles kept (tileCache),
// as a search's pages do. The index walk it replaces tested every entry of
// the member's index against the filters, six for each result shown with a
// mode and a resolution chosen: in SQL, a third of the page's cost; in
// memory, a map lookup each.
const (
	// memberCacheIDs bounds the ids kept in all (16 bytes each with their
	// times); past it the lists are dropped and read again as pages need
	// them. A member with more results than that is paged in SQL.
	memberCacheIDs = 1_000_000
)

// memberCache keeps members' lists of results, read at
// gallery_versions.tiles version.
type memberCache struct {
	mu      sync.Mutex
	version int64
	lists   map[int64]*memberList
	ids     int
}

// memberList is a member's results newest first (created_at, then id,
// descending): ids[i] was made at created[i] (ms).
type memberList struct {
	ids, created []int64
}

// memberResults returns member's list read at version or later, or nil
// when it is larger than the cache's whole bound. The list is shared:
// callers must not modify it.
func (d *DB) memberResults(ctx context.Context, version, member int64) (*memberList, error) {
	c := &d.memberLists
	c.mu.Lock()
	if c.version == version && c.lists != nil {
		if l, ok := c.lists[member]; ok {
			c.mu.Unlock()
			return l, nil
		}
	}
	c.mu.Unlock()
	rows, done, err := d.galleryQuery(ctx, `SELECT id, created_at FROM jobs INDEXED BY jobs_gallery_member
		WHERE user_id = ? AND `+archivedResult+` ORDER BY created_at DESC, id DESC LIMIT ?`,
		[]any{member, memberCacheIDs + 1})
	if err != nil {
		return nil, err
	}
	l := &memberList{}
	for rows.Next() {
		var id, created int64
		if err := rows.Scan(&id, &created); err != nil {
			done()
			return nil, mapErr(err)
		}
		l.ids = append(l.ids, id)
		l.created = append(l.created, created)
	}
	err = rows.Err()
	done()
	if err != nil {
		return nil, mapErr(err)
	}
	if len(l.ids) > memberCacheIDs {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Read at version or later: kept only while no later version was seen
	// (a later one starts a new map).
	if c.version != version || c.lists == nil {
		if c.version > version && c.lists != nil {
			return l, nil
		}
		c.version, c.lists, c.ids = version, map[int64]*memberList{}, 0
	}
	if c.ids+len(l.ids) > memberCacheIDs {
		clear(c.lists)
		c.ids = 0
	}
	c.lists[member] = l
	c.ids += len(l.ids)
	return l, nil
}

// galleryMember is Gallery for a dated page of one member's results (see
// memberCache); ok is false when the member's list is too large to keep
// and the page must be read in SQL.
func (d *DB) galleryMember(ctx context.Context, q GalleryQuery) (page []GalleryItem, ok bool, err error) {
	var searchV, tilesV, starsV int64
	if err := d.stmtGalleryVersions.QueryRowContext(ctx).Scan(&searchV, &tilesV, &starsV); err != nil {
		return nil, false, mapErr(err)
	}
	l, err := d.memberResults(ctx, tilesV, q.MemberID)
	if err != nil || l == nil {
		return nil, false, err
	}
	// The list is newest first: the page starts after the cursor and
	// before To, and ends at From.
	newer := func(created, id int64) int {
		return sort.Search(len(l.ids), func(i int) bool {
			return l.created[i] < created || (l.created[i] == created && l.ids[i] < id)
		})
	}
	start, end := 0, len(l.ids)
	if c := q.After; c != nil {
		start = newer(c.CreatedAt, c.ID)
	}
	if !q.To.IsZero() {
		start = max(start, sort.Search(len(l.created), func(i int) bool { return l.created[i] < ms(q.To) }))
	}
	if !q.From.IsZero() {
		end = sort.Search(len(l.created), func(i int) bool { return l.created[i] < ms(q.From) })
	}
	if start >= end {
		return []GalleryItem{}, true, nil
	}
	out, err := d.walkTiles(ctx, q, tilesV, l.ids[:end], start)
	if err != nil {
		return nil, false, err
	}
	return out, true, d.starred(ctx, q.Viewer.UserID, starsV, out)
}
