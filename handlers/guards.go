package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/apperr"
	"swapdesk/internal/urls"
)

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
