package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

type healthAnswer struct {
	Status string `json:"status"`
}

// healthz answers 200 when the database answers a query within 2 s.
func (s *Server) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Health.Ping(ctx); err != nil {
		s.log.Error("health check", "err", err)
		return c.JSON(http.StatusServiceUnavailable, healthAnswer{Status: "database unavailable"})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, healthAnswer{Status: "ok"})
}

// static serves the embedded assets; a miss goes to the error handler like
// any other.
func (s *Server) static(c echo.Context) error {
	return s.cfg.Assets.Serve(c.Response(), c.Request())
}
