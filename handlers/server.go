// Package handlers is Swapdesk's web layer: the Echo router, middleware,
// forms and the one error handler. Handlers hold small interfaces declared
// next to them, never *sql.DB.
package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"swapdesk/db"
	"swapdesk/internal/jobs"
	"swapdesk/internal/ratelimit"
	"swapdesk/internal/tokens"
	"swapdesk/static"
)

// userStore loads the signed-in user on every request and ends sessions
// on sign-out.
type userStore interface {
	UserByID(ctx context.Context, id int64) (db.User, error)
	// UserForSession loads the user unless sessionID was revoked, in one
	// query; either miss wraps apperr.ErrNotFound.
	UserForSession(ctx context.Context, id int64, sessionID string) (db.SessionUser, error)
	RevokeSession(ctx context.Context, sessionID string, until time.Time) error
}

// authenticator signs people in.
type authenticator interface {
	Authenticate(ctx context.Context, email, password, ip string) (db.User, error)
}

// auditor records sign-outs.
type auditor interface {
	Audit(ctx context.Context, e db.AuditEntry) error
}

// directory lists accounts for admins.
type directory interface {
	ListUsers(ctx context.Context) ([]db.User, error)
}

// webhookReceiver applies Akool's webhooks.
type webhookReceiver interface {
	HandleWebhook(ctx context.Context, body []byte) error
}

// pinger checks the database for /healthz.
type pinger interface {
	Ping(ctx context.Context) error
}

// Config is everything the web layer needs. All fields are required unless
// marked optional.
type Config struct {
	Log       *slog.Logger
	Users     userStore
	Auth      authenticator
	Audit     auditor
	Directory directory
	// Members, MemberActs, Credits and Allowances serve the members pages
	// and /account.
	Members    memberStore
	MemberActs memberActs
	Credits    creditService
	Allowances allowanceSetter
	Jobs       jobService
	JobStore   jobStore
	Webhooks   webhookReceiver
	// Gallery reads the team gallery and keeps stars and visibility.
	Gallery galleryStore
	// Media is the media store holding archived videos.
	Media mediaStore
	// Selection finds what of a zip selection a member may have.
	Selection selectionStore
	// Shares makes and resolves share links.
	Shares shareService
	// Tokens makes, checks and revokes personal API tokens.
	Tokens *tokens.Service
	// APIRate and APIBurst limit each API token's requests: a token bucket
	// refilled at APIRate a second holding APIBurst (defaults 10 and 20;
	// a negative APIRate means no limit).
	APIRate  float64
	APIBurst int
	// JobWatch tells API requests waiting on a job (Prefer: wait) that it
	// changed (optional; without it they re-read the job every 2 s).
	JobWatch *jobs.Watch
	// APIJobs pages through a member's jobs for the API.
	APIJobs apiJobLister
	// PublicURL is scheme://host people reach us at (optional; else the
	// request's host), for the share links shown.
	PublicURL string
	// Frames finds posters, preview clips and kept character images.
	Frames     frameStore
	Health     pinger
	Assets     *static.Assets
	SessionKey []byte
	// SecureCookies marks the session cookie Secure (public URL is https).
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (optional; without them the connecting address is
	// the client).
	TrustedProxies []*net.IPNet
	// Sandbox shows the "results are simulated" banner.
	Sandbox bool
	// SandboxAPI is the embedded Akool emulator, mounted at /sandbox/akool
	// (optional; sandbox mode only).
	SandboxAPI http.Handler
	// Registry receives the HTTP metrics; /metrics serves it.
	Registry *prometheus.Registry
	// Now is the clock (optional; time.Now).
	Now func() time.Time
	// Overview, Admin and AkoolAccount serve the admin credit overview,
	// ledger and audit pages.
	Overview     creditOverview
	Admin        adminStore
	AkoolAccount akoolAccount
}

// Server is the web application.
type Server struct {
	cfg      Config
	log      *slog.Logger
	echo     *echo.Echo
	sessions *sessions.CookieStore
	metrics  *httpMetrics
	refusals *refusalLog
	now      func() time.Time
	// cursorKey signs the gallery's page links (derived from SessionKey).
	cursorKey []byte
	// apiLimits is the per-token request limit of the JSON API.
	apiLimits *ratelimit.Keyed
	// galleryMembers is the gallery's view of the member list.
	galleryMembers galleryMemberCache
}

// New builds the router with every route and middleware.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Log,
		sessions:  newCookieStore(cfg.SessionKey, cfg.SecureCookies),
		metrics:   newHTTPMetrics(cfg.Registry),
		refusals:  newRefusalLog(cfg.Registry, cfg.Log, cfg.Now),
		now:       cfg.Now,
		apiLimits: newTokenLimiter(cfg.APIRate, cfg.APIBurst),
	}
	mac := hmac.New(sha256.New, cfg.SessionKey)
	mac.Write([]byte("swapdesk gallery cursor"))
	s.cursorKey = mac.Sum(nil)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	s.echo = e
	s.routes()
	return s
}

// ipExtractor finds the client's address, which rate limits and the audit
// log key on. X-Forwarded-For is believed only from the configured proxies,
// read from the right, up to the first address that is not one of them; no
// range is trusted by default (Echo would trust every private network).
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }
