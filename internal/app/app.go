// Package app is Swapdesk's one composition root: New builds the whole
// graph `swapdesk serve` runs (store, accounts, assets, the Akool client or
// the embedded sandbox, prober, jobs, archiver, tracker, metrics, handlers),
// and the handler tests build theirs with it too, so they run the graph
// that ships.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"swapdesk/db"
	"swapdesk/handlers"
	"swapdesk/internal/accounts"
	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/credits"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/internal/poster"
	"swapdesk/internal/sandbox"
	"swapdesk/internal/shares"
	"swapdesk/internal/storage"
	"swapdesk/internal/tokens"
	"swapdesk/static"
)

// Config is everything New needs, as plain values: cmd/swapdesk reads the
// environment and flags and fills it; tests fill it directly. Nothing here
// reads the environment.
type Config struct {
	// DataDir holds the database (unless Store is given), the archived
	// media and the embedded sandbox's state. It must exist.
	DataDir string
	// Store is an open store to use instead of opening DataDir/swapdesk.db
	// (optional; its caller closes it).
	Store *db.DB
	// LocalURL is this server's own address as this machine reaches it,
	// such as http://localhost:8080: the embedded sandbox is mounted there
	// and calls it back for sample inputs and webhooks.
	LocalURL string
	// PublicURL is the URL people and Akool reach us at (optional).
	PublicURL string
	// SessionKey is the session cookie secret; empty means the one stored
	// in the database, generated on first start.
	SessionKey string
	// AkoolAPIKey is Akool's API key; empty means sandbox mode.
	AkoolAPIKey   string
	AkoolClientID string
	AkoolBaseURL  string
	// AllowPrivateURLs lets media URLs reach private addresses.
	AllowPrivateURLs bool
	// SecureCookies marks the session cookie Secure.
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed.
	TrustedProxies []*net.IPNet
	// SandboxQueueDelay and SandboxProcessDelay are how long the embedded
	// sandbox keeps a job queued and processing (0: no wait).
	SandboxQueueDelay, SandboxProcessDelay time.Duration
	// Log receives every component's logs (optional; discarded).
	Log *slog.Logger

	// Test seams. Their zero values are what serve uses.

	// Now is the clock of the store, the services, the prober, the
	// handlers and the embedded sandbox (default time.Now).
	Now func() time.Time
	// Net holds network hooks (LookupIP and Dial; its other fields are
	// ignored) for every fetch of a link to another server: the prober's,
	// the archiver's and the embedded sandbox's.
	Net media.Options
	// Media is where archived files live (SWAPDESK_MEDIA_URL); the zero
	// value is a file store at DATA_DIR/media.
	Media storage.Location
	// AWS are the credentials for an s3:// Media location.
	AWS storage.Credentials

	// SandboxWebhookBackoff is the embedded sandbox's first pause between
	// webhook attempts (default the emulator's).
	SandboxWebhookBackoff time.Duration
	// SandboxWebhookStatuses are the statuses the embedded sandbox sends
	// webhooks for (default the emulator's: 2, 3 and 4).
	SandboxWebhookStatuses []akool.Status
	// ConfigureProbe, when set, adjusts the prober's options (its limits)
	// before it is built.
	ConfigureProbe func(*media.ProberOptions)
	// PollingOnly sends jobs to Akool without a webhook URL.
	PollingOnly bool
	// SubmitTimeout bounds the create call (default the jobs service's).
	SubmitTimeout time.Duration
	// TrackerRate and TrackerBurst limit the tracker's calls to Akool
	// (default the tracker's).
	TrackerRate  rate.Limit
	TrackerBurst int
	// APIRate and APIBurst limit each API token's requests (default the
	// handlers'; a negative APIRate means no limit).
	APIRate  float64
	APIBurst int
	// ConfigureJobs, when set, may change the jobs service's configuration
	// just before the service is made.
	ConfigureJobs func(*jobs.Config)
	// PasswordHashCost, when set, is the argon2id cost of the password
	// hashes accounts make (default accounts' own). Handler tests set a
	// cheap one; serve never does.
	PasswordHashCost *accounts.HashCost
}

// SettingError is a configuration value New could not use; cmd reports it
// as a usage error naming the setting.
type SettingError struct {
	Setting string // e.g. SWAPDESK_DATA_DIR
	Msg     string
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Msg }

const settingSessionKey = "session_key"

// downloadTimeout bounds one archive download.
const downloadTimeout = 30 * time.Minute

// posterTimeout bounds one ffmpeg run (a poster or a preview).
const posterTimeout = 2 * time.Minute

// App is the built graph. Its fields are the parts serve and the tests
// reach; New sets them all (Sandbox only in sandbox mode).
type App struct {
	Store    *db.DB
	Accounts *accounts.Service
	// Credits grants and takes back credits.
	Credits *credits.Service
	// Tokens makes, checks and revokes personal API tokens.
	Tokens *tokens.Service
	// Allowances applies monthly allowances; Start runs its loop.
	Allowances *credits.Allowances
	Jobs       *jobs.Service
	Tracker    *jobs.Tracker
	Archiver   *jobs.Archiver
	// Posters makes posters and preview clips of archived results.
	Posters *jobs.Posters
	// Inputs keeps copies of submitted character images.
	Inputs *jobs.Inputs
	// SearchIndex keeps the prompt search's index in few segments.
	SearchIndex *jobs.SearchIndex
	// Sandbox is the embedded Akool emulator; nil when a real key is set.
	Sandbox *akoolsim.Sim
	// Media is the media store every archived file goes through.
	Media storage.Store
	// MediaDir is the file store's root directory; empty for other stores.
	MediaDir string

	handler http.Handler
	log     *slog.Logger
	// closers run in reverse order by Close.
	closers []func()

	stopBackground context.CancelFunc
	background     sync.WaitGroup
}

// New builds the whole application. Nothing runs in the background until
// Start. On error everything built so far is closed again.
func New(ctx context.Context, cfg Config) (_ *App, err error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	store := cfg.Store
	if store == nil {
		path := filepath.Join(cfg.DataDir, "swapdesk.db")
		if store, err = db.Open(ctx, path); err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
		a.closers = append(a.closers, func() { store.Close() })
	}
	if cfg.Now != nil {
		store.Now = cfg.Now
	}
	a.Store = store

	sessionKey, err := loadSessionKey(ctx, store, cfg.SessionKey)
	if err != nil {
		return nil, err
	}
	var acctOpts []accounts.Option
	if cfg.PasswordHashCost != nil {
		acctOpts = append(acctOpts, accounts.WithHashCost(*cfg.PasswordHashCost))
	}
	accts := accounts.New(store, log, cfg.Now, acctOpts...)
	a.Accounts = accts

	assets, err := static.New()
	if err != nil {
		return nil, err
	}
	if missing := assets.Missing(); len(missing) > 0 {
		log.Warn("front-end assets missing; run `make vendor` (pages still work, without live updates)", "missing", missing)
	}
	if cfg.AllowPrivateURLs {
		log.Warn("SWAPDESK_ALLOW_PRIVATE_URLS is on: media URLs may reach private and loopback addresses. Use only for tests and the sandbox.")
	}

	loopback := cfg.LocalURL
	port := portOfURL(loopback)
	inSandbox := cfg.AkoolAPIKey == ""
	akoolCfg := akool.Config{BaseURL: cfg.AkoolBaseURL, APIKey: cfg.AkoolAPIKey, Logger: log.With("component", "akool")}
	var sim *akoolsim.Sim
	if inSandbox {
		sim, akoolCfg.APIKey = sandbox.Start(loopback, sandbox.Config{DataDir: cfg.DataDir, PublicURL: cfg.PublicURL,
			AllowPrivateURLs: cfg.AllowPrivateURLs, QueueDelay: cfg.SandboxQueueDelay, ProcessDelay: cfg.SandboxProcessDelay,
			Now: cfg.Now, WebhookBackoff: cfg.SandboxWebhookBackoff, WebhookStatuses: cfg.SandboxWebhookStatuses, Net: cfg.Net}, log)
		a.closers = append(a.closers, sim.Close)
		akoolCfg.BaseURL = loopback + sandbox.Prefix
		a.Sandbox = sim
	}
	client, err := akool.New(akoolCfg)
	if err != nil {
		return nil, fmt.Errorf("akool client: %w", err)
	}

	probeOpts := media.ProberOptions{Now: cfg.Now}
	if cfg.ConfigureProbe != nil {
		cfg.ConfigureProbe(&probeOpts)
	}
	var prober jobs.Prober = media.NewProber(media.NewFetcher(media.Options{AllowPrivate: cfg.AllowPrivateURLs,
		LookupIP: cfg.Net.LookupIP, Dial: cfg.Net.Dial}), probeOpts)
	if inSandbox && !cfg.AllowPrivateURLs {
		prober = sandbox.NewSampleProber(prober, port)
	}
	// Webhooks reach us at the public URL; the embedded sandbox calls our
	// loopback address. Without either, polling alone tracks jobs.
	webhookURL, clientID, clientSecret := "", cfg.AkoolClientID, cfg.AkoolAPIKey
	switch {
	case cfg.PublicURL != "":
		webhookURL = cfg.PublicURL + "/webhooks/akool"
	case inSandbox:
		webhookURL = loopback + "/webhooks/akool"
	}
	if inSandbox {
		_, clientID, clientSecret = sim.Credentials()
	}
	if webhookURL != "" && clientID == "" {
		log.Warn("AKOOL_CLIENT_ID is not set: webhooks cannot be verified and will be refused; polling tracks jobs")
		webhookURL = ""
	}
	if cfg.PollingOnly {
		webhookURL = ""
	}
	var inputs *jobs.Inputs // built with the media store, before anything runs
	jobsCfg := jobs.Config{Store: store, Probe: prober, Akool: client, Log: log.With("component", "jobs"), WebhookURL: webhookURL,
		Now: cfg.Now, SubmitTimeout: cfg.SubmitTimeout, OnSubmitted: func(j db.Job) { inputs.Keep(j) }}
	if cfg.ConfigureJobs != nil {
		cfg.ConfigureJobs(&jobsCfg)
	}
	jobSvc := jobs.New(jobsCfg)
	if err := jobSvc.Recover(ctx); err != nil {
		return nil, err
	}
	a.Jobs = jobSvc

	loc, mediaSetting := cfg.Media, "SWAPDESK_MEDIA_URL"
	if loc.Scheme == "" {
		loc, mediaSetting = storage.Location{Scheme: "file", Dir: filepath.Join(cfg.DataDir, "media")}, "SWAPDESK_DATA_DIR"
	}
	if loc.Scheme == "file" {
		if err := os.MkdirAll(loc.Dir, 0o750); err != nil {
			return nil, &SettingError{Setting: mediaSetting, Msg: fmt.Sprintf("cannot create %s: %v", loc.Dir, unwrapPathErr(err))}
		}
		a.MediaDir = loc.Dir
	}
	mediaStore, err := storage.Open(ctx, loc, cfg.AWS)
	if err != nil {
		return nil, &SettingError{Setting: mediaSetting, Msg: err.Error()}
	}
	a.closers = append(a.closers, func() { mediaStore.Close() })
	a.Media = mediaStore
	// Nothing writes yet (serve holds the data dir's lock): what a killed
	// process left half-written can go.
	if n, err := mediaStore.RemoveTemp(ctx); err != nil {
		log.Warn("remove unfinished media writes", "store", mediaStore.String(), "err", err)
	} else if n > 0 {
		log.Info("removed unfinished media writes left by an earlier run", "count", n)
	}
	var opener jobs.Opener = media.NewFetcher(media.Options{AllowPrivate: cfg.AllowPrivateURLs, Timeout: downloadTimeout,
		LookupIP: cfg.Net.LookupIP, Dial: cfg.Net.Dial})
	if inSandbox && !cfg.AllowPrivateURLs {
		opener = sandbox.NewOpener(opener, port, downloadTimeout)
	}
	inputs = jobs.NewInputs(jobs.InputsConfig{Store: store, Open: opener, Media: mediaStore, Log: log.With("component", "inputs")})
	a.Inputs = inputs
	// ffmpeg reads a copy of the result (up to 2 GiB) from the data dir,
	// not /tmp, which may be a small tmpfs.
	posterTmp, err := jobs.PosterTempDir(cfg.DataDir)
	if err != nil {
		return nil, &SettingError{Setting: "SWAPDESK_DATA_DIR", Msg: err.Error()}
	}
	postersCfg := jobs.PostersConfig{Store: store, Media: mediaStore, Log: log.With("component", "posters"), Now: cfg.Now,
		TempDir: posterTmp}
	if maker, err := poster.New(posterTimeout); err == nil {
		postersCfg.Maker = maker
		log.Info("posters and previews are made with ffmpeg", "ffmpeg", maker.Path())
	} else {
		log.Warn("ffmpeg is not on PATH: results get no posters or previews; pages show the character image instead")
	}
	posters := jobs.NewPosters(postersCfg)
	a.Posters = posters
	// The watch wakes API requests waiting on a job (Prefer: wait).
	watch := jobs.NewWatch()
	archiver := jobs.NewArchiver(jobs.ArchiverConfig{Store: store, Open: opener, Media: mediaStore, Log: log.With("component", "archiver"),
		Now: cfg.Now, OnArchived: func(j db.Job) { posters.Kick(); watch.Changed(j.ID) }})
	a.Archiver = archiver
	a.SearchIndex = jobs.NewSearchIndex(jobs.SearchIndexConfig{Store: store, Log: log.With("component", "search-index")})
	// The tracker has its own backoff and global rate limit: its client must
	// not retry by itself, or one poll becomes several calls the limiter
	// never sees.
	pollCfg := akoolCfg
	pollCfg.Retry = akool.RetryPolicy{MaxAttempts: 1}
	pollClient, err := akool.New(pollCfg)
	if err != nil {
		return nil, fmt.Errorf("akool poll client: %w", err)
	}
	tracker := jobs.NewTracker(jobs.TrackerConfig{
		Store: store, Akool: pollClient, Log: log.With("component", "tracker"), Now: cfg.Now,
		ClientID: clientID, ClientSecret: clientSecret,
		// With real webhooks, polling is only the safety net (20 s to 5 min).
		Webhooks:  webhookURL != "" && !inSandbox,
		OnSettled: func(j db.Job) { archiver.Kick(); watch.Changed(j.ID) },
		Rate:      cfg.TrackerRate, Burst: cfg.TrackerBurst,
	})
	a.Tracker = tracker

	allowances := credits.NewAllowances(store, cfg.Now, log.With("component", "allowances"))
	a.Allowances = allowances
	a.Credits = credits.New(store, cfg.Now)
	a.Tokens = tokens.New(store, cfg.Now)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hcfg := handlers.Config{
		Log:            log,
		Users:          store,
		Auth:           accts,
		Audit:          store,
		Directory:      store,
		Members:        store,
		MemberActs:     accounts.NewMembers(accts, store),
		Credits:        a.Credits,
		Allowances:     allowances,
		Health:         store,
		Jobs:           jobSvc,
		JobStore:       store,
		Gallery:        store,
		Webhooks:       tracker,
		Media:          mediaStore,
		Selection:      store,
		Shares:         shares.New(store, cfg.Now),
		Tokens:         a.Tokens,
		APIRate:        cfg.APIRate,
		APIBurst:       cfg.APIBurst,
		JobWatch:       watch,
		APIJobs:        store,
		PublicURL:      cfg.PublicURL,
		Frames:         store,
		Assets:         assets,
		SessionKey:     sessionKey,
		SecureCookies:  cfg.SecureCookies,
		TrustedProxies: cfg.TrustedProxies,
		Sandbox:        inSandbox,
		Registry:       reg,
		Now:            cfg.Now,
		Overview:       a.Credits,
		Admin:          store,
		AkoolAccount:   credits.NewAccountBalance(client.Quota, cfg.Now),
	}
	if sim != nil {
		hcfg.SandboxAPI = http.StripPrefix(sandbox.Prefix, sim)
	}
	a.handler = handlers.New(hcfg)
	return a, nil
}

// Handler is the web application: every route, the embedded sandbox's
// included.
func (a *App) Handler() http.Handler { return a.handler }

// Start runs the tracker, the archiver, the poster and input makers, the
// monthly allowances (at once, then at each month start) and the search
// index's upkeep in the background until
// Shutdown (or Close). Call it at most once.
func (a *App) Start() {
	bgCtx, stop := context.WithCancel(context.Background())
	a.stopBackground = stop
	a.background.Go(func() { a.Tracker.Run(bgCtx) })
	a.background.Go(func() { a.Archiver.Run(bgCtx) })
	a.background.Go(func() { a.Posters.Run(bgCtx) })
	a.background.Go(func() { a.Inputs.Run(bgCtx) })
	a.background.Go(func() { a.Allowances.Run(bgCtx) })
	a.background.Go(func() { a.SearchIndex.Run(bgCtx) })
}

// Shutdown stops the application after the HTTP server has stopped: it
// waits, until ctx ends, for submissions still waiting for Akool, then
// closes everything in reverse order of start-up. It returns ctx's error
// when submissions were still waiting (they will show as interrupted).
func (a *App) Shutdown(ctx context.Context) error {
	// A submission may still be waiting for Akool (its call outlives the
	// request). Record its answer before the store closes; otherwise the next
	// start would mark a job Akool is running as interrupted.
	err := a.Jobs.Wait(ctx)
	if err != nil {
		a.log.Error("shut down with submissions still waiting for Akool; they will show as interrupted", "err", err)
	}
	a.Close()
	return err
}

// Close stops the background loops and closes what New opened, in reverse
// order, without waiting for submissions (see Shutdown). It is safe to
// call more than once.
func (a *App) Close() {
	if a.stopBackground != nil {
		a.stopBackground()
		a.background.Wait()
		a.stopBackground = nil
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// loadSessionKey uses SWAPDESK_SESSION_KEY when set; otherwise the key
// stored in the database, generated on first start, so restarts keep people
// signed in.
func loadSessionKey(ctx context.Context, store *db.DB, fromEnv string) ([]byte, error) {
	if fromEnv != "" {
		return []byte(fromEnv), nil
	}
	key, err := store.SettingOrCreate(ctx, settingSessionKey, func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	})
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return []byte(key), nil
}

// portOfURL is the port of a URL such as our loopback base, "" if none.
func portOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Port()
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
