package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/jobs"
)

// maxWebhookBytes bounds a webhook body; Akool's are a few hundred bytes.
const maxWebhookBytes = 64 << 10

// webhook receives Akool's signed, encrypted callbacks. It answers quickly:
// the tracker stores a verified event once and polls the job at once. A
// body that does not verify gets 401, is not stored (the route is open to
// anyone) and is only logged as a short reason and the sender's address; a
// replay and an unknown job get 200 so Akool stops retrying.
func (s *Server) webhook(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBytes+1))
	if err != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "unreadable body"})
	}
	if len(body) > maxWebhookBytes {
		return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
	}
	if err := s.cfg.Webhooks.HandleWebhook(c.Request().Context(), body); err != nil {
		if errors.Is(err, jobs.ErrWebhookRejected) {
			s.log.Warn("webhook rejected", "ip", c.RealIP(), "err", err)
			return c.JSON(http.StatusUnauthorized, map[string]string{"error": "signature does not verify"})
		}
		s.log.Error("webhook", "err", err)
		return c.JSON(http.StatusInternalServerError, map[string]string{"error": "try again"})
	}
	return c.JSON(http.StatusOK, map[string]string{})
}
