package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

func (s *Server) loginForm(c echo.Context) error {
	next := safeNext(c.QueryParam(fields.Next))
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	if next == urls.Dashboard() {
		next = ""
	}
	return render(c, http.StatusOK, views.Login(s.page(c, "Sign in", ""), views.LoginForm{Next: next}))
}

func (s *Server) login(c echo.Context) error {
	v, err := formValues(c)
	if err != nil {
		return err
	}
	email, password, next := v.Get(fields.Email), v.Get(fields.Password), v.Get(fields.Next)
	u, err := s.cfg.Auth.Authenticate(c.Request().Context(), email, password, c.RealIP())
	if err != nil {
		var invalid *apperr.Invalid
		var tooMany *apperr.TooMany
		form := views.LoginForm{Email: truncate(email, 254), Next: next}
		switch {
		case errors.As(err, &tooMany):
			form.Error = tooMany.Message
			return render(c, http.StatusTooManyRequests, views.Login(s.page(c, "Sign in", ""), form))
		case errors.As(err, &invalid):
			form.Error = invalid.Message
			return render(c, http.StatusUnprocessableEntity, views.Login(s.page(c, "Sign in", ""), form))
		}
		return err
	}
	signIn(c, u)
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

// logout ends the session on the server too, so a copy of the cookie taken
// before (another tab, a stolen backup) no longer signs anyone in.
func (s *Server) logout(c echo.Context) error {
	if id := sessionID(c); id != "" {
		// Kept until any copy of the cookie would have expired by itself.
		until := s.now().Add(sessionMaxAge * time.Second)
		if err := s.cfg.Users.RevokeSession(c.Request().Context(), id, until); err != nil {
			return fmt.Errorf("revoke session: %w", err)
		}
	}
	if u := currentUser(c); u != nil {
		if err := s.cfg.Audit.Audit(c.Request().Context(), db.AuditEntry{
			ActorID: u.ID, Action: db.AuditLogout, Subject: u.Email, IP: c.RealIP(),
		}); err != nil {
			s.log.Error("audit logout", "err", err)
		}
	}
	endSession(c)
	return redirect(c, urls.Login())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
