package handlers

import (
	"context"
	"strconv"
	"sync/atomic"

	"swapdesk/db"
	"swapdesk/views"
)

// galleryMembers is what the gallery makes of the member list: each
// member's name by id (tiles, the member filter's check) and the filter's
// options. GalleryMembers shares one list until the users change, so these
// are built once per list, not on every page (a 50-entry map and 50
// formatted ids were ≈5% of a page's allocations).
type galleryMembers struct {
	from  *db.Member // the list's first element: the same list, the same view
	n     int
	names map[int64]string
	opts  []views.Option // shared: callers must not modify it
}

// member reports whether id is a member's.
func (g *galleryMembers) member(id int64) bool {
	_, ok := g.names[id]
	return ok
}

// galleryMemberView returns the gallery's view of the current member list.
func (s *Server) galleryMemberView(ctx context.Context) (*galleryMembers, error) {
	users, err := s.cfg.Gallery.GalleryMembers(ctx)
	if err != nil {
		return nil, err
	}
	var from *db.Member
	if len(users) > 0 {
		from = &users[0]
	}
	if g := s.galleryMembers.Load(); g != nil && g.from == from && g.n == len(users) {
		return g, nil
	}
	g := &galleryMembers{from: from, n: len(users), names: make(map[int64]string, len(users)),
		opts: make([]views.Option, 0, len(users))}
	for _, x := range users {
		g.names[x.ID] = x.Name
		g.opts = append(g.opts, views.Option{Value: strconv.FormatInt(x.ID, 10), Label: x.Name})
	}
	s.galleryMembers.Store(g)
	return g, nil
}

// galleryMemberCache holds the last galleryMembers built.
type galleryMemberCache = atomic.Pointer[galleryMembers]
