package handlers

import (
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// csrfToken returns the session's CSRF token.
func csrfToken(c echo.Context) string {
	if sess := sessionOf(c); sess != nil {
		t, _ := sess.Values[keyCSRF].(string)
		return t
	}
	return ""
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
