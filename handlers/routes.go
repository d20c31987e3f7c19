package handlers

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"swapdesk/internal/tokens"
	"swapdesk/internal/urls"
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
	only(e, urls.RouteHealthz, s.healthz, http.MethodGet, http.MethodHead)
	only(e, urls.RouteMetrics, echo.WrapHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})), http.MethodGet)
	only(e, urls.RouteWebhook, s.webhook, http.MethodPost)
	only(e, static.Prefix+"*", s.static, http.MethodGet, http.MethodHead)
	// Share links: public, no session.
	only(e, urls.RouteShare, publicHeaders(s.sharePage), http.MethodGet, http.MethodHead)
	only(e, urls.RouteShareVideo, publicHeaders(s.shareVideo), http.MethodGet, http.MethodHead)
	only(e, urls.RouteSharePoster, publicHeaders(s.sharePoster), http.MethodGet, http.MethodHead)
	if s.cfg.SandboxAPI != nil {
		e.Any("/sandbox/akool/*", echo.WrapHandler(s.cfg.SandboxAPI))
	}

	// The JSON API: bearer tokens, no session, no CSRF; every error is a
	// problem (handleAPIError), unknown paths under it included.
	e.Any(urls.RouteAPI, apiNotFound)
	e.Any(urls.RouteAPI+"/*", apiNotFound)
	only(e, urls.RouteAPIOpenAPI, s.openAPI, http.MethodGet, http.MethodHead)
	// apiRoute answers HEAD wherever GET is routed.
	get := func(h echo.HandlerFunc) map[string]echo.HandlerFunc {
		return map[string]echo.HandlerFunc{http.MethodGet: h}
	}
	s.apiRoute(urls.RouteAPIMe, get(s.apiMeGet), s.apiAuth())
	s.apiRoute(urls.RouteAPIEstimate, map[string]echo.HandlerFunc{http.MethodPost: s.apiEstimateJob}, s.apiAuth(tokens.JobsWrite))
	s.apiRoute(urls.RouteAPIJobs, map[string]echo.HandlerFunc{http.MethodGet: s.apiListJobs, http.MethodPost: s.apiCreateJob},
		s.apiAuthByMethod(map[string]string{http.MethodGet: tokens.JobsRead, http.MethodPost: tokens.JobsWrite}))
	s.apiRoute(urls.RouteAPIJob, map[string]echo.HandlerFunc{http.MethodGet: s.apiGetJob, http.MethodDelete: s.apiDeleteJob},
		s.apiAuthByMethod(map[string]string{http.MethodGet: tokens.JobsRead, http.MethodDelete: tokens.JobsWrite}))
	s.apiRoute(urls.RouteAPIJobContent, get(s.apiContent), s.apiAuth(tokens.JobsRead, tokens.GalleryRead))
	s.apiRoute(urls.RouteAPIJobPoster, get(s.apiPoster), s.apiAuth(tokens.JobsRead, tokens.GalleryRead))
	s.apiRoute(urls.RouteAPIGallery, get(s.apiGallery), s.apiAuth(tokens.GalleryRead))

	// Pages: session and CSRF on everything below.
	web := e.Group("", s.loadSession, s.csrf)
	web.GET(urls.RouteLogin, s.loginForm)
	web.POST(urls.RouteLogin, s.login)
	web.POST(urls.RouteLogout, s.logout)
	web.GET(urls.RouteWelcome, s.welcome)
	web.POST(urls.RouteWelcome, s.welcomeSet)

	member := web.Group("", s.requireUser)
	member.GET(urls.RouteDashboard, s.dashboard)
	member.GET(urls.RouteNewJob, s.newJob)
	member.POST(urls.RouteEstimate, s.estimate)
	member.POST(urls.RouteJobs, s.createJob)
	member.GET(urls.RouteJobs, s.listJobs)
	member.GET(urls.RouteJob, s.showJob)
	member.GET(urls.RouteJobCard, s.jobCard)
	member.POST(urls.RouteJobDelete, s.deleteJob)
	member.POST(urls.RouteJobFavorite, s.favorite)
	member.POST(urls.RouteJobHide, s.hideJob)
	member.GET(urls.RouteGallery, s.gallery)
	member.GET(urls.RouteMedia, s.media)
	member.HEAD(urls.RouteMedia, s.media)
	member.POST(urls.RouteGalleryZip, s.galleryZip)
	member.POST(urls.RouteJobShares, s.createShare)
	member.POST(urls.RouteShareRevoke, s.revokeShare)
	member.GET(urls.RouteMediaPoster, s.poster)
	member.GET(urls.RouteMediaPreview, s.preview)
	member.GET(urls.RouteMediaImage, s.characterImage)
	member.GET(urls.RouteAccount, s.account)
	member.POST(urls.AccountAct(urls.AccountPassword), s.accountPassword)
	member.POST(urls.AccountAct(urls.AccountTimeZone), s.accountTimeZone)
	member.GET(urls.RouteAccountTokens, s.accountTokens)
	member.POST(urls.RouteAccountTokens, s.createToken)
	member.POST(urls.RouteAccountTokenRevoke, s.revokeOwnToken)
	member.GET(urls.RouteDocsAPI, s.apiDocs)

	admin := member.Group(urls.RouteAdmin, s.requireAdmin)
	inAdmin := func(route string) string { return strings.TrimPrefix(route, urls.RouteAdmin) }
	admin.GET(inAdmin(urls.RouteAdminUsers), s.adminUsers)
	admin.POST(inAdmin(urls.RouteAdminUsers), s.addMember)
	admin.GET(inAdmin(urls.RouteAdminUser), s.memberPage)
	act := func(a string) string { return inAdmin(urls.RouteAdminUser) + "/" + a }
	admin.POST(act(urls.ActCredits), s.memberCredits)
	admin.POST(act(urls.ActAllowance), s.memberAllowance)
	admin.POST(act(urls.ActDisable), s.memberDisable)
	admin.POST(act(urls.ActEnable), s.memberEnable)
	admin.POST(act(urls.ActRole), s.memberRole)
	admin.POST(act(urls.ActPassword), s.memberPassword)
	admin.POST(act(urls.ActUnlock), s.memberUnlock)
	admin.GET(inAdmin(urls.RouteAdminCredits), s.adminCredits)
	admin.POST(inAdmin(urls.RouteAdminTimeZone), s.setTeamZone)
	admin.GET(inAdmin(urls.RouteAdminLedgerCSV), s.ledgerCSV)
	admin.GET(inAdmin(urls.RouteAdminAudit), s.adminAudit)
	admin.GET(inAdmin(urls.RouteAdminTokens), s.adminTokens)
	admin.POST(inAdmin(urls.RouteAdminTokenRevoke), s.adminRevokeToken)
}

// allMethods are the methods Echo routes (and Any registers).
var allMethods = []string{
	http.MethodConnect, http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodOptions,
	http.MethodPatch, http.MethodPost, echo.PROPFIND, http.MethodPut, http.MethodTrace, echo.REPORT,
}

// only routes methods at path to h and answers any other method there with
// 405. Without that, another method would fall through to the pages'
// catch-all and be refused for its missing CSRF token (a confusing 403).
func only(e *echo.Echo, path string, h echo.HandlerFunc, methods ...string) {
	allow := strings.Join(methods, ", ")
	refuse := func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderAllow, allow)
		return echo.ErrMethodNotAllowed
	}
	for _, m := range allMethods {
		if slices.Contains(methods, m) {
			e.Add(m, path, h)
		} else {
			e.Add(m, path, refuse)
		}
	}
}
