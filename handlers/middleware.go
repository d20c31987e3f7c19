package handlers

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"swapdesk/internal/urls"
)

// csp allows scripts and styles only from our own origin. Images and videos
// may come from the http(s) URLs members type (previews of their inputs;
// media cannot run script, and the probe already accepts http links).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; " +
	"media-src 'self' https: http:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		return next(c)
	}
}

// requestID gives every request an id of our own, for the logs and the
// reference on error pages. One sent by the client is ignored: it could be
// anything, and a reference must point at one request.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderXRequestID, rand.Text())
		return next(c)
	}
}

// recoverPanics turns a panic into a logged 500 through the error handler.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return next(c)
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swapdesk_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "swapdesk_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency)
	}
	return m
}

// metricMethod is the method label: a client may send any token as the
// method, and each would be a new series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// observe logs each request with its request id and records its metrics by
// route pattern (never the raw path, which would explode the label set).
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.now()
		err := next(c)
		if err != nil {
			// Render the error now so the status is known for logs and metrics.
			c.Error(err)
		}
		elapsed := s.now().Sub(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		method := c.Request().Method
		s.metrics.requests.WithLabelValues(route, metricMethod(method), strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(route, metricMethod(method)).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		switch route {
		case urls.RouteHealthz, urls.RouteMetrics, urls.RouteJobCard, urls.RouteEstimate:
			// Probes and every-2-second card polls would drown the log.
			level = slog.LevelDebug
		}
		if route == urls.RouteWebhook && status >= 400 && status < 500 {
			// Refused webhooks are counted and logged at a bounded rate by
			// the handler; a flood of forgeries must not flood the log here.
			level = slog.LevelDebug
		}
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(c.Request().Context(), level, "request",
			"id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", method, "path", c.Request().URL.Path, "route", route,
			"status", status, "ms", float64(elapsed.Microseconds())/1000,
			"ip", c.RealIP())
		return nil
	}
}
