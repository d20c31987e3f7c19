package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/pricing"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// galleryStore reads the team gallery and keeps stars and visibility.
type galleryStore interface {
	Gallery(ctx context.Context, q db.GalleryQuery) ([]db.GalleryItem, error)
	GalleryMembers(ctx context.Context) ([]db.Member, error)
	SetFavorite(ctx context.Context, v db.Viewer, id int64, favorite bool) error
	IsFavorite(ctx context.Context, userID, id int64) (bool, error)
	SetHidden(ctx context.Context, v db.Viewer, id int64, hidden bool) error
}

const (
	// galleryPerPage is how many tiles one gallery page shows.
	galleryPerPage = 24
	// gallerySearchMax bounds the search box, in characters.
	gallerySearchMax = 200
	// gallerySearchTerms bounds the words a search requires.
	gallerySearchTerms = 12
	// galleryDate is the date filters' format (UTC for now).
	galleryDate = "2006-01-02"
)

// galleryFilter is the gallery's query string, as given.
type galleryFilter struct {
	Q, Sort, Member, Mode, Resolution, From, To, Fav, Cursor string
}

// A search's orders (field sort): best match first, the default, or
// newest first. Without a search the gallery is newest first either way.
const (
	gallerySortBest   = "best"
	gallerySortNewest = "newest"
)

// bindGalleryFilter reads the gallery's query, as the page and the API
// share it: the search trimmed, fav=0 (an unchecked box) as no filter.
func bindGalleryFilter(c echo.Context) galleryFilter {
	f := galleryFilter{Q: strings.TrimSpace(c.QueryParam(fields.Q)), Sort: c.QueryParam(fields.Sort), Member: c.QueryParam(fields.Member), Mode: c.QueryParam(fields.Mode),
		Resolution: c.QueryParam(fields.Resolution), From: c.QueryParam(fields.From), To: c.QueryParam(fields.To),
		Fav: c.QueryParam(fields.Fav), Cursor: c.QueryParam(fields.Cursor)}
	if f.Fav == "0" { // the unchecked box: no filter
		f.Fav = ""
	}
	if f.Sort == gallerySortBest { // the default, said aloud
		f.Sort = ""
	}
	return f
}

// values is the filter as a query string, without the cursor and without
// empty fields: the canonical form page links carry (and cursors sign).
func (f galleryFilter) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{fields.Q, f.Q}, {fields.Sort, f.Sort}, {fields.Member, f.Member}, {fields.Mode, f.Mode},
		{fields.Resolution, f.Resolution}, {fields.From, f.From}, {fields.To, f.To}, {fields.Fav, f.Fav}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// galleryModes and galleryResolutions are the filters' options (shared:
// views only read them).
var galleryModes, galleryResolutions = func() (modes, res []views.Option) {
	for _, md := range pricing.Modes() {
		modes = append(modes, views.Option{Value: string(md), Label: string(md)})
	}
	for _, r := range pricing.Resolutions() {
		res = append(res, views.Option{Value: string(r), Label: string(r)})
	}
	return modes, res
}()

// filtered reports whether f filters (values is not empty).
func (f galleryFilter) filtered() bool {
	f.Cursor = ""
	return f != galleryFilter{}
}

// gallery is GET /gallery: the team's archived results that the member may
// see, newest first, filtered by the query
// string, a page at a time. A bad filter or page link is a 422/400 page
// saying what is wrong, never a 500.
func (s *Server) gallery(c echo.Context) error {
	f := bindGalleryFilter(c)
	u := currentUser(c)
	ctx := c.Request().Context()
	members, err := s.galleryMemberView(ctx)
	if err != nil {
		return err
	}
	m := views.GalleryPage{
		Filter: views.GalleryFilter{Q: f.Q, Sort: f.Sort, Member: f.Member, Mode: f.Mode, Resolution: f.Resolution,
			From: f.From, To: f.To, Fav: f.Fav == "1"},
		Filtered:    f.filtered(),
		CSRF:        csrfToken(c),
		More:        f.Cursor != "",
		Members:     members.opts,
		Modes:       galleryModes,
		Resolutions: galleryResolutions,
	}

	q, errs := galleryQuery(f, db.Viewer{UserID: u.ID, Admin: u.IsAdmin()}, members.member)
	m.Errors = errs
	if _, long := errs[fields.Q]; long {
		m.Filter.Q = string([]rune(f.Q)[:gallerySearchMax])
	}
	status := http.StatusOK
	switch {
	case len(m.Errors) > 0:
		status = http.StatusUnprocessableEntity
	case f.Q != "" && q.Match == "":
		// Only punctuation: nothing can match; say so, not an error.
	default:
		if f.Cursor != "" {
			after, err := s.decodeCursor(f.Cursor, f.values())
			if err != nil {
				m.Message = "This page link is not valid (it may have been cut or changed). Start again from the first page."
				status = http.StatusBadRequest
				break
			}
			q.After = &after
		}
		items, err := s.cfg.Gallery.Gallery(ctx, q)
		var invalid *apperr.Invalid
		if errors.As(err, &invalid) {
			m.Message, status = invalid.Message, http.StatusBadRequest
			break
		}
		if err != nil {
			return err
		}
		if len(items) > galleryPerPage {
			items = items[:galleryPerPage]
			next := f.values()
			next.Set(fields.Cursor, s.encodeCursor(items[len(items)-1].Cursor(q.Match != ""), f.values()))
			m.NextURL = urls.GalleryWith(next)
		}
		now, csrf := s.now(), csrfToken(c)
		m.Tiles = make([]views.GalleryTile, 0, len(items))
		for _, it := range items {
			owner := members.names[it.UserID]
			if it.UserID == u.ID {
				owner = "you"
			}
			m.Tiles = append(m.Tiles, galleryTile(it, owner, csrf, now))
		}
	}
	h := c.Response().Header()
	h.Set("Vary", "HX-Request, HX-Target")
	h.Set("Cache-Control", "private, no-cache")
	switch {
	case isHTMX(c) && c.Request().Header.Get("HX-History-Restore-Request") != "true" && f.Cursor != "" &&
		c.Request().Header.Get("HX-Target") != "gallery-results":
		return render(c, status, views.GalleryMore(m))
	case isHTMX(c) && c.Request().Header.Get("HX-Target") == "gallery-results":
		return render(c, status, views.GalleryResults(m))
	}
	return render(c, status, views.GalleryView(s.page(c, "Gallery", views.NavGallery), m))
}

// galleryQuery checks the gallery's filters (f, its search trimmed) and
// builds the query they ask for, for viewer v; member reports whether an
// id is a member's. errs maps each bad parameter to its message (the page
// shows them inline, the API lists them).
func galleryQuery(f galleryFilter, v db.Viewer, member func(int64) bool) (q db.GalleryQuery, errs map[string]string) {
	errs = map[string]string{}
	q = db.GalleryQuery{Viewer: v, Mode: f.Mode, Resolution: f.Resolution, Favorites: f.Fav == "1", Limit: galleryPerPage + 1}
	if n := utf8.RuneCountInString(f.Q); n > gallerySearchMax {
		errs[fields.Q] = fmt.Sprintf("Search for at most %d characters (this search has %d).", gallerySearchMax, n)
	} else if f.Q != "" {
		q.Match = db.MatchTerms(f.Q, gallerySearchTerms)
	}
	switch f.Sort {
	case "":
	case gallerySortNewest:
		q.Newest = true
	default:
		errs[fields.Sort] = "Order a search by best match (best) or newest first (newest)."
	}
	if f.Member != "" {
		id, err := strconv.ParseInt(f.Member, 10, 64)
		if err != nil || !member(id) {
			errs[fields.Member] = "There is no such member."
		}
		q.MemberID = id
	}
	if f.Mode != "" && pricing.Mode(f.Mode).Description() == "" {
		errs[fields.Mode] = "Choose the mode animate or replace."
	}
	if f.Resolution != "" && pricing.Resolution(f.Resolution).Rate() == 0 {
		errs[fields.Resolution] = "Choose the resolution 480p, 720p or 1080p."
	}
	var from, to time.Time
	var err error
	if f.From != "" {
		if from, err = time.Parse(galleryDate, f.From); err != nil {
			errs[fields.From] = "Give the start date as YYYY-MM-DD, for example 2026-11-25."
		}
	}
	if f.To != "" {
		if to, err = time.Parse(galleryDate, f.To); err != nil {
			errs[fields.To] = "Give the end date as YYYY-MM-DD, for example 2026-11-25."
		}
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		errs[fields.To] = "The end date is before the start date."
	}
	q.From = from
	if !to.IsZero() {
		q.To = to.AddDate(0, 0, 1) // the whole end day
	}
	if f.Fav != "" && f.Fav != "1" {
		errs[fields.Fav] = "Starred only is fav=1."
	}
	return q, errs
}

// galleryTile is it's tile; owner is its owner's name ("you" for the
// viewer's own).
func galleryTile(it db.GalleryItem, owner, csrf string, now time.Time) views.GalleryTile {
	t := views.GalleryTile{
		ID: it.ID, Length: secs(it.Length), Resolution: it.Resolution, Mode: it.Mode, Owner: owner,
		CreatedAt: it.CreatedAt, Relative: relative(now, it.CreatedAt), Hidden: it.Hidden,
		Star: views.Star{JobID: it.ID, On: it.Favorite, CSRF: csrf},
	}
	if it.ChargedCredits != nil {
		t.Credits = strconv.FormatInt(*it.ChargedCredits, 10) + " credits"
	}
	return t
}

// relative says how long ago t was, for people: "just now", "5 min ago",
// "3 h ago", "yesterday", "4 days ago", then the date.
func relative(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	case d < 48*time.Hour:
		return "yesterday"
	case d < 7*24*time.Hour:
		return strconv.Itoa(int(d.Hours()/24)) + " days ago"
	case t.UTC().Year() == now.UTC().Year():
		return t.UTC().Format("2 Jan")
	}
	return t.UTC().Format("2 Jan 2006")
}

// Page links carry an opaque cursor: the last result's sort key and id,
// and a MAC over them and the filters (keyed from the session key), so a
// changed or spliced cursor is refused with a 400, never run.
func (s *Server) cursorMAC(payload string, filter url.Values) []byte {
	h := hmac.New(sha256.New, s.cursorKey)
	h.Write([]byte(payload))
	h.Write([]byte{0})
	h.Write([]byte(filter.Encode()))
	return h.Sum(nil)[:16]
}

func (s *Server) encodeCursor(c db.GalleryCursor, filter url.Values) string {
	var payload string
	if c.Search {
		payload = "s." + strconv.Itoa(c.Pos) + "." + strconv.FormatInt(c.ID, 10)
	} else {
		payload = "d." + strconv.FormatInt(c.CreatedAt, 10) + "." + strconv.FormatInt(c.ID, 10)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.cursorMAC(payload, filter))
}

var errBadCursor = errors.New("bad gallery cursor")

func (s *Server) decodeCursor(token string, filter url.Values) (db.GalleryCursor, error) {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 {
		return db.GalleryCursor{}, errBadCursor
	}
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.cursorMAC(string(payload), filter)) {
		return db.GalleryCursor{}, errBadCursor
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 3 {
		return db.GalleryCursor{}, errBadCursor
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || id <= 0 {
		return db.GalleryCursor{}, errBadCursor
	}
	c := db.GalleryCursor{ID: id}
	switch parts[0] {
	case "d":
		c.CreatedAt, err = strconv.ParseInt(parts[1], 10, 64)
	case "s":
		c.Search = true
		c.Pos, err = strconv.Atoi(parts[1])
		if c.Pos < 0 || c.Pos > 1<<31 {
			err = errBadCursor
		}
	default:
		err = errBadCursor
	}
	if err != nil {
		return db.GalleryCursor{}, errBadCursor
	}
	return c, nil
}

// favorite is POST /jobs/:id/favorite (favorite = 1 or 0): stars a result
// the member may see, or takes the star away. htmx gets the star back;
// a plain form post goes back where it came from (303).
func (s *Server) favorite(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.ErrNotFound
	}
	var on bool
	switch c.FormValue(fields.Favorite) {
	case "1":
		on = true
	case "0":
	default:
		return apperr.Invalidf("favorite must be 1 (star) or 0 (remove the star).")
	}
	u := currentUser(c)
	if err := s.cfg.Gallery.SetFavorite(c.Request().Context(), db.Viewer{UserID: u.ID, Admin: u.IsAdmin()}, id, on); err != nil {
		return err
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.StarButton(views.Star{JobID: id, On: on, CSRF: csrfToken(c)}))
	}
	return redirect(c, backTo(c, urls.Gallery()))
}

// hideJob is POST /jobs/:id/hide (hidden = 1 or 0): the owner (or an
// admin) hides a result from the team gallery, or shows it again.
func (s *Server) hideJob(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.ErrNotFound
	}
	var hidden bool
	switch c.FormValue(fields.Hidden) {
	case "1":
		hidden = true
	case "0":
	default:
		return apperr.Invalidf("hidden must be 1 (hide) or 0 (show).")
	}
	u := currentUser(c)
	if err := s.cfg.Gallery.SetHidden(c.Request().Context(), db.Viewer{UserID: u.ID, Admin: u.IsAdmin()}, id, hidden); err != nil {
		return err
	}
	if hidden {
		addFlash(c, views.FlashSuccess, fmt.Sprintf("Swap #%d is hidden from the team gallery; you and admins still see it.", id))
	} else {
		addFlash(c, views.FlashSuccess, fmt.Sprintf("Swap #%d is shown in the team gallery again.", id))
	}
	return redirect(c, urls.Job(id))
}

// backTo is the page a plain form post came from, when it is one of ours
// (same host, a path on this site), else fallback.
func backTo(c echo.Context, fallback string) string {
	ref, err := url.Parse(c.Request().Referer())
	if err != nil || ref.Host != c.Request().Host || !strings.HasPrefix(ref.Path, "/") || strings.HasPrefix(ref.Path, "//") {
		return fallback
	}
	return safeNext(ref.RequestURI())
}

// jobGallery is the job page's gallery panel, for an archived result; fav
// is whether the viewer starred it.
func (s *Server) jobGallery(c echo.Context, j db.Job, fav bool) *views.JobGallery {
	if j.ArchiveState != db.ArchiveDone || j.ArchivePath == "" {
		return nil
	}
	u := currentUser(c)
	return &views.JobGallery{JobID: j.ID, Hidden: j.Hidden, CanHide: j.UserID == u.ID || u.IsAdmin(),
		Star: views.Star{JobID: j.ID, On: fav, CSRF: csrfToken(c)}, CSRF: csrfToken(c)}
}
