package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/apperr"
	"swapdesk/views"
)

// handleError is the one place errors become HTTP answers. Users see a
// heading and a message chosen here (or an apperr message written to be
// shown); err.Error() never reaches a browser. Errors >= 500 are logged with
// the request id shown on the page.
func (s *Server) handleError(err error, c echo.Context) {
	if isAPI(c) {
		s.handleAPIError(err, c)
		return
	}
	e := classify(err)
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if c.Response().Committed {
		// Too late for an error page, but not for the log.
		level := slog.LevelInfo
		if e.Status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(c.Request().Context(), level, "error after the response was sent", "id", reqID,
			"method", c.Request().Method, "path", c.Request().URL.Path, "status", c.Response().Status, "err", err)
		return
	}
	if e.Status >= 500 {
		s.log.Error("request failed", "id", reqID, "method", c.Request().Method,
			"path", c.Request().URL.Path, "status", e.Status, "err", err)
	} else {
		e.RequestID = ""
	}
	if e.Status >= 500 {
		e.RequestID = reqID
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	p := s.page(c, e.Heading, "")
	if rerr := render(c, e.Status, views.Error(p, e)); rerr != nil {
		s.log.Error("render error page", "id", reqID, "err", rerr)
		_ = c.String(e.Status, e.Heading)
	}
}

// classify maps an error to a status and user-safe words, by the sentinels
// of internal/apperr (which the errors of media, pricing and jobs unwrap
// to); the words are apperr.Message's where the error has some.
func classify(err error) views.ErrorPage {
	var (
		csrfErr *csrfError
		he      *echo.HTTPError
	)
	switch {
	case errors.As(err, &csrfErr):
		return views.ErrorPage{Status: http.StatusForbidden, Heading: "This form has expired",
			Message: "For your security the form could not be accepted. Go back, reload the page and try again."}
	case errors.Is(err, apperr.ErrForbidden):
		return views.ErrorPage{Status: http.StatusForbidden, Heading: "Not allowed",
			Message: "Your account does not have access to this page. Ask an admin if you need it."}
	case errors.Is(err, apperr.ErrNotFound):
		return notFound()
	case errors.Is(err, apperr.ErrConflict):
		return views.ErrorPage{Status: http.StatusConflict, Heading: "Not possible right now",
			Message: or(apperr.Message(err), "This cannot be done in its current state. Reload the page to see where it stands.")}
	case errors.Is(err, apperr.ErrTooMany):
		return views.ErrorPage{Status: http.StatusTooManyRequests, Heading: "Slow down",
			Message: or(apperr.Message(err), "Too many requests in a short time. Wait a moment and try again.")}
	case errors.Is(err, apperr.ErrInvalid):
		return views.ErrorPage{Status: http.StatusUnprocessableEntity, Heading: "Something is not right",
			Message: or(apperr.Message(err), "Please check what you entered and try again.")}
	case errors.Is(err, apperr.ErrInsufficientCredits):
		return views.ErrorPage{Status: http.StatusPaymentRequired, Heading: "Not enough credits",
			Message: "Your credit balance does not cover this. Ask an admin for more credits."}
	case errors.Is(err, context.Canceled):
		return views.ErrorPage{Status: 499, Heading: "Request cancelled", Message: "The request was cancelled."}
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return notFound()
		case http.StatusMethodNotAllowed:
			return views.ErrorPage{Status: he.Code, Heading: "Not allowed here", Message: "This address does not accept that kind of request."}
		case http.StatusRequestEntityTooLarge:
			return views.ErrorPage{Status: he.Code, Heading: "Too large", Message: "That request is too large."}
		case http.StatusBadRequest:
			return views.ErrorPage{Status: he.Code, Heading: "Bad request", Message: "The request could not be read."}
		case http.StatusServiceUnavailable:
			return views.ErrorPage{Status: he.Code, Heading: "Temporarily unavailable",
				Message: "Swapdesk cannot answer this right now. Please try again in a moment."}
		}
		if he.Code < 500 {
			return views.ErrorPage{Status: he.Code, Heading: http.StatusText(he.Code), Message: "The request could not be completed."}
		}
		if he.Code < 600 {
			return views.ErrorPage{Status: he.Code, Heading: "Something went wrong",
				Message: "An unexpected error stopped this page. It has been logged; please try again in a moment."}
		}
	}
	return views.ErrorPage{Status: http.StatusInternalServerError, Heading: "Something went wrong",
		Message: "An unexpected error stopped this page. It has been logged; please try again in a moment."}
}

// or returns msg, or def when msg is "".
func or(msg, def string) string {
	if msg == "" {
		return def
	}
	return msg
}

func notFound() views.ErrorPage {
	return views.ErrorPage{Status: http.StatusNotFound, Heading: "Page not found",
		Message: "There is nothing at this address. It may have been deleted, or the link is mistyped."}
}
