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
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{RedirectCode: 308}))
	e.Use(
		middleware.RequestID(),
		s.recoverPanics,
		s.observe,
		securityHeaders,
		middleware.BodyLimit("1M"),
	)

	// Machine routes: no session, no CSRF.
	e.GET("/healthz", s.healthz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})))
	e.POST("/webhooks/akool", s.webhook)
	e.GET(static.Prefix+"*", echo.WrapHandler(s.cfg.Assets))
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
	member.HEAD("/media/:id", s.media)

	admin := member.Group("/admin", s.requireAdmin)
	admin.GET("/users", s.adminUsers)
}
