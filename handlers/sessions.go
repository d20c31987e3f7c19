package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
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
	ctxRunning     = "swapdesk.user.running"
	ctxSessionLive = "swapdesk.session.dirty"
)

// newCookieStore derives separate signing and encryption keys from the one
// session secret, so the cookie is both authenticated and unreadable, and
// remembers the cookies it has decoded (decodedCookies).
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
	// After MaxAge, which sets it on the *securecookie.SecureCookie codecs.
	for i, codec := range st.Codecs {
		st.Codecs[i] = newDecodedCookies(codec, sessionMaxAge, time.Now)
	}
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
			var su db.SessionUser
			err := apperr.ErrNotFound
			if sid != "" {
				su, err = s.cfg.Users.UserForSession(c.Request().Context(), uid, sid)
			}
			u := su.User
			switch {
			case err == nil && !u.Disabled() && sess.Values[keySessionVer] == u.SessionVersion:
				c.Set(ctxUser, &u)
				c.Set(ctxRunning, runningCount{userID: u.ID, n: su.Running})
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
