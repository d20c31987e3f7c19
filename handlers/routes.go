package handlers

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"swapdesk/static"
)

// routes lists every route of the application, top to bottom.
func (s *Server) routes() {
	e := s.echo
	// Before routing, so that every answer, the trailing-slash redirect
	// included, has a request id and the security headers, is logged and
	// counted, and a panic anywhere is a counted 500.
	e.Pre(
		requestID,
		s.observe,
		s.recoverPanics,
		securityHeaders,
		middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: 308}),
	)
	e.Use(middleware.BodyLimit("1M"))

	// Machine routes: no session, no CSRF.
	e.GET("/healthz", s.healthz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})))
	e.POST("/webhooks/akool", s.webhook)
	e.GET(static.Prefix+"*", s.static)
	if s.cfg.SandboxAPI != nil {
		e.Any("/sandbox/akool/*", echo.WrapHandler(s.cfg.SandboxAPI))
	}

	// Pages: session and CSRF on everything below.
	web := e.Group("", s.loadSession, s.csrf)
	web.GET("/login", s.loginForm)
	web.POST("/login", s.login)
	web.POST("/logout", s.logout)

	member := web.Group("", s.requireUser)
	member.GET("/", s.dashboard)
	member.GET("/jobs/new", s.newJob)
	member.POST("/jobs/estimate", s.estimate)
	member.POST("/jobs", s.createJob)
	member.GET("/jobs", s.listJobs)
	member.GET("/jobs/:id", s.showJob)
	member.GET("/jobs/:id/card", s.jobCard)
	member.POST("/jobs/:id/delete", s.deleteJob)
	member.GET("/media/:id", s.media)

	admin := member.Group("/admin", s.requireAdmin)
	admin.GET("/users", s.adminUsers)
}
