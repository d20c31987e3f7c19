package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

const (
	sessionCookie  = "swapdesk_session"
	sessionMaxAge  = 30 * 24 * 3600
	keyUserID      = "uid"
	keySessionVer  = "sv"
	keySessionID   = "sid"
	keyCSRF        = "csrf"
	ctxSession     = "swapdesk.session"
	ctxUser        = "swapdesk.user"
	ctxSessionLive = "swapdesk.session.dirty"
)

// newCookieStore derives separate signing and encryption keys from the one
// session secret, so the cookie is both authenticated and unreadable.
func newCookieStore(secret []byte, secure bool) *sessions.CookieStore {
	hashKey := sha256.Sum256(append([]byte("swapdesk/session/hash/"), secret...))
	blockKey := sha256.Sum256(append([]byte("swapdesk/session/block/"), secret...))
	st := sessions.NewCookieStore(hashKey[:], blockKey[:])
	for _, codec := range st.Codecs {
		if sc, ok := codec.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(sessionSerializer{})
		}
	}
	st.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   sessionMaxAge,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	st.MaxAge(sessionMaxAge)
	return st
}

// loadSession reads the session cookie (a bad or old cookie is a fresh
// session), makes sure it carries a CSRF token, loads the signed-in user and
// ends the session when that user was disabled or changed their password.
// A changed session is saved just before the response is written.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, err := s.sessions.Get(c.Request(), sessionCookie)
		if err != nil {
			// Undecodable cookie (rotated key, tampering): start over.
			sess, _ = s.sessions.New(c.Request(), sessionCookie)
		}
		c.Set(ctxSession, sess)
		c.Response().Before(func() {
			if dirty, _ := c.Get(ctxSessionLive).(bool); dirty {
				if err := sess.Save(c.Request(), c.Response().Writer); err != nil {
					s.log.Error("save session", "err", err)
				}
			}
		})
		if _, ok := sess.Values[keyCSRF].(string); !ok {
			sess.Values[keyCSRF] = newToken()
			markDirty(c)
		}
		if uid, ok := sess.Values[keyUserID].(int64); ok {
			// A signed-in session without an id predates them and cannot be
			// revoked: it ends, and its owner signs in once more.
			sid, _ := sess.Values[keySessionID].(string)
			var u db.User
			err := apperr.ErrNotFound
			if sid != "" {
				u, err = s.cfg.Users.UserForSession(c.Request().Context(), uid, sid)
			}
			switch {
			case err == nil && !u.Disabled() && sess.Values[keySessionVer] == u.SessionVersion:
				c.Set(ctxUser, &u)
			case err == nil || errors.Is(err, apperr.ErrNotFound):
				// Signed out elsewhere, disabled, password changed, or
				// deleted: this session is over.
				clearSession(c, sess)
			default:
				return err
			}
		}
		return next(c)
	}
}

func markDirty(c echo.Context) { c.Set(ctxSessionLive, true) }

func sessionOf(c echo.Context) *sessions.Session {
	sess, _ := c.Get(ctxSession).(*sessions.Session)
	return sess
}

// currentUser returns the signed-in user, or nil.
func currentUser(c echo.Context) *db.User {
	u, _ := c.Get(ctxUser).(*db.User)
	return u
}

// csrfToken returns the session's CSRF token.
func csrfToken(c echo.Context) string {
	if sess := sessionOf(c); sess != nil {
		t, _ := sess.Values[keyCSRF].(string)
		return t
	}
	return ""
}

// signIn replaces every session value (a new CSRF token included) so nothing
// from before the login survives into the signed-in session.
func signIn(c echo.Context, u db.User) {
	sess := sessionOf(c)
	sess.Values = map[any]any{
		keyUserID:     u.ID,
		keySessionVer: u.SessionVersion,
		keySessionID:  newToken(),
		keyCSRF:       newToken(),
	}
	sess.Options.MaxAge = sessionMaxAge
	c.Set(ctxUser, &u)
	markDirty(c)
}

func clearSession(c echo.Context, sess *sessions.Session) {
	sess.Values = map[any]any{keyCSRF: newToken()}
	c.Set(ctxUser, (*db.User)(nil))
	markDirty(c)
}

// sessionID returns the id of the signed-in session, or "".
func sessionID(c echo.Context) string {
	if sess := sessionOf(c); sess != nil {
		id, _ := sess.Values[keySessionID].(string)
		return id
	}
	return ""
}

// endSession removes the cookie altogether (logout).
func endSession(c echo.Context) {
	sess := sessionOf(c)
	sess.Values = map[any]any{}
	sess.Options.MaxAge = -1
	c.Set(ctxUser, (*db.User)(nil))
	markDirty(c)
}

// addFlash queues a message for the next page rendered.
func addFlash(c echo.Context, kind, msg string) {
	if sess := sessionOf(c); sess != nil {
		sess.AddFlash(views.Flash{Kind: kind, Message: msg})
		markDirty(c)
	}
}

func takeFlashes(c echo.Context) []views.Flash {
	sess := sessionOf(c)
	if sess == nil {
		return nil
	}
	raw := sess.Flashes()
	if len(raw) == 0 {
		return nil
	}
	markDirty(c)
	out := make([]views.Flash, 0, len(raw))
	for _, f := range raw {
		if fl, ok := f.(views.Flash); ok {
			out = append(out, fl)
		}
	}
	return out
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrf refuses unsafe requests that do not carry the session's token in the
// form field "csrf" of the body or the X-CSRF-Token header (htmx). A token
// in the URL's query does not count: URLs end up in logs, history and
// Referer headers, and a link must never be able to act for the member.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		want := csrfToken(c)
		got := c.Request().Header.Get(fields.CSRFHeader)
		if got == "" {
			// A form Go refuses to parse (over 10,000 fields: a zip of
			// everything selected, say) would read as a missing token;
			// say what is wrong instead.
			if err := c.Request().ParseForm(); err != nil {
				return apperr.Invalidf("This form could not be read: it sent too many fields, or was malformed. " +
					"If you selected many items, select fewer and try again.")
			}
			// PostFormValue reads the body only; FormValue would also
			// take the query string.
			got = c.Request().PostFormValue(fields.CSRF)
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

var errCSRF = &csrfError{}

type csrfError struct{}

func (*csrfError) Error() string { return "missing or wrong CSRF token" }

// requireUser sends signed-out visitors to the login page, remembering where
// they were going.
func (s *Server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) != nil {
			return next(c)
		}
		return redirect(c, loginURL(c))
	}
}

// loginURL is the login page with next set to where the person was going:
// the page itself for a plain GET; for an htmx request (a card poll, say)
// the page it was made from, from HX-Current-URL, never the fragment, which
// is no page to land on.
func loginURL(c echo.Context) string {
	r := c.Request()
	next := ""
	switch {
	case isHTMX(c):
		if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && u.Path != "" {
			next = u.RequestURI()
		}
	case r.Method == http.MethodGet:
		next = r.URL.RequestURI()
	}
	return urls.LoginNext(safeNext(next))
}

// requireAdmin answers 403 to anyone but an admin.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := currentUser(c); u == nil || !u.IsAdmin() {
			return apperr.ErrForbidden
		}
		return next(c)
	}
}

// redirect answers 303, or HX-Redirect for htmx requests so the whole page
// navigates instead of swapping a page into a fragment.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// safeNext returns next when it is a local path, else "/". It refuses
// absolute URLs, scheme-relative "//host" and backslash tricks.
func safeNext(next string) string {
	if next == "" || len(next) > 2000 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	// Encoded slashes and backslashes ("/%2F%2Fevil") are harmless to a
	// browser but become "//evil" to whatever decodes the path next.
	if strings.HasPrefix(u.Path, "//") || strings.Contains(u.Path, "\\") {
		return "/"
	}
	if strings.HasPrefix(u.Path, urls.RouteLogin) || strings.HasPrefix(u.Path, urls.RouteLogout) {
		return "/"
	}
	return next
}
