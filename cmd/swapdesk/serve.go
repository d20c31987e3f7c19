package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"swapdesk/db"
	"swapdesk/handlers"
	"swapdesk/internal/accounts"
	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/internal/storage"
	"swapdesk/static"
)

const (
	defaultAdminEmail = "admin@localhost"
	settingSessionKey = "session_key"
)

// serve runs the web app until ctx is cancelled, then shuts down in reverse
// order of start-up.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := newFlags("serve", stdout)
	finish := bindConfig(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := finish()
	if err != nil {
		return err
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	store, err := db.Open(ctx, dbPath(cfg.DataDir))
	if err != nil {
		return fmt.Errorf("database %s: %w", dbPath(cfg.DataDir), err)
	}
	defer store.Close()

	mediaStore, err := storage.Open(ctx, cfg.Media, cfg.AWS)
	if err != nil {
		return usagef("SWAPDESK_MEDIA_URL: %v", err)
	}
	defer mediaStore.Close()
	// Nothing writes yet (the data dir is ours): what a killed process left
	// half-written can go.
	if n, err := mediaStore.RemoveTemp(ctx); err != nil {
		log.Warn("remove unfinished media writes", "store", mediaStore.String(), "err", err)
	} else if n > 0 {
		log.Info("removed unfinished media writes left by an earlier run", "count", n)
	}

	sessionKey, err := loadSessionKey(ctx, store, cfg.SessionKey)
	if err != nil {
		return err
	}
	accts := accounts.New(store, log, nil)

	assets, err := static.New()
	if err != nil {
		return err
	}
	if missing := assets.Missing(); len(missing) > 0 {
		log.Warn("front-end assets missing; run `make vendor` (pages still work, without live updates)", "missing", missing)
	}
	if cfg.AllowPrivateURLs {
		log.Warn("SWAPDESK_ALLOW_PRIVATE_URLS is on: media URLs may reach private and loopback addresses. Use only for tests and the sandbox.")
	}

	// Listen first: the sandbox and the printed URL need the real port.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return usagef("SWAPDESK_ADDR: cannot listen on %s: %v", cfg.Addr, unwrapOpErr(err))
	}
	defer ln.Close()
	base := listenURL(ln.Addr(), cfg.PublicURL)
	loopback := listenURL(ln.Addr(), "")

	sandbox := cfg.AkoolAPIKey == ""
	akoolCfg := akool.Config{BaseURL: cfg.AkoolBaseURL, APIKey: cfg.AkoolAPIKey, Logger: log.With("component", "akool")}
	var sim *akoolsim.Sim
	if sandbox {
		sim, akoolCfg.APIKey = newEmbeddedSandbox(loopback, cfg, log)
		defer sim.Close()
		akoolCfg.BaseURL = loopback + SandboxPrefix
	}
	client, err := akool.New(akoolCfg)
	if err != nil {
		return fmt.Errorf("akool client: %w", err)
	}

	var prober jobs.Prober = media.NewProber(media.NewFetcher(media.Options{AllowPrivate: cfg.AllowPrivateURLs}), media.ProberOptions{})
	if sandbox && !cfg.AllowPrivateURLs {
		prober = newSampleProber(prober, portOf(ln.Addr()))
	}
	// Webhooks reach us at the public URL; the embedded sandbox calls our
	// loopback address. Without either, polling alone tracks jobs.
	webhookURL, clientID, clientSecret := "", cfg.AkoolClientID, cfg.AkoolAPIKey
	switch {
	case cfg.PublicURL != "":
		webhookURL = cfg.PublicURL + "/webhooks/akool"
	case sandbox:
		webhookURL = loopback + "/webhooks/akool"
	}
	if sandbox {
		_, clientID, clientSecret = sim.Credentials()
	}
	if webhookURL != "" && clientID == "" {
		log.Warn("AKOOL_CLIENT_ID is not set: webhooks cannot be verified and will be refused; polling tracks jobs")
		webhookURL = ""
	}
	jobSvc := jobs.New(jobs.Config{Store: store, Probe: prober, Akool: client, Log: log.With("component", "jobs"), WebhookURL: webhookURL})
	if err := jobSvc.Recover(ctx); err != nil {
		return err
	}

	const downloadTimeout = 30 * time.Minute
	var opener jobs.Opener = media.NewFetcher(media.Options{AllowPrivate: cfg.AllowPrivateURLs, Timeout: downloadTimeout})
	if sandbox && !cfg.AllowPrivateURLs {
		opener = newSandboxOpener(opener, portOf(ln.Addr()), downloadTimeout)
	}
	archiver := jobs.NewArchiver(jobs.ArchiverConfig{Store: store, Open: opener, Media: mediaStore, Log: log.With("component", "archiver")})
	// The tracker has its own backoff and global rate limit: its client must
	// not retry by itself, or one poll becomes several calls the limiter
	// never sees.
	pollCfg := akoolCfg
	pollCfg.Retry = akool.RetryPolicy{MaxAttempts: 1}
	pollClient, err := akool.New(pollCfg)
	if err != nil {
		return fmt.Errorf("akool poll client: %w", err)
	}
	tracker := jobs.NewTracker(jobs.TrackerConfig{
		Store: store, Akool: pollClient, Log: log.With("component", "tracker"),
		ClientID: clientID, ClientSecret: clientSecret,
		// With real webhooks, polling is only the safety net (20 s to 5 min).
		Webhooks:  webhookURL != "" && !sandbox,
		OnSettled: func(db.Job) { archiver.Kick() },
	})
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Go(func() { tracker.Run(bgCtx) })
	background.Go(func() { archiver.Run(bgCtx) })
	defer func() {
		stopBackground()
		background.Wait()
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hcfg := handlers.Config{
		Log:            log,
		Users:          store,
		Auth:           accts,
		Audit:          store,
		Directory:      store,
		Health:         store,
		Jobs:           jobSvc,
		JobStore:       store,
		Webhooks:       tracker,
		Media:          mediaStore,
		Assets:         assets,
		SessionKey:     sessionKey,
		SecureCookies:  cfg.secureCookies(),
		TrustedProxies: cfg.TrustedProxies,
		Sandbox:        sandbox,
		Registry:       reg,
	}
	if sim != nil {
		hcfg.SandboxAPI = http.StripPrefix(SandboxPrefix, sim)
	}
	app := handlers.New(hcfg)

	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The first admin comes last, when nothing else can fail: its password
	// is printed once, and a start that failed after creating the account
	// would lose it for good.
	firstLogin, err := ensureFirstAdmin(ctx, store, accts, cfg)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if firstLogin != "" {
		fmt.Fprintf(stdout, "Swapdesk is running at %s — sign in as %s\n", base, firstLogin)
	} else {
		fmt.Fprintf(stdout, "Swapdesk is running at %s\n", base)
	}
	log.Info("serving", "addr", ln.Addr().String(), "url", base, "sandbox", sandbox, "data_dir", cfg.DataDir, "media", mediaStore.String())

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Error("graceful shutdown", "err", err)
	}
	// A submission may still be waiting for Akool (its call outlives the
	// request). Record its answer before the store closes; otherwise the next
	// start would mark a job Akool is running as interrupted.
	waitCtx, cancelWait := context.WithTimeout(context.Background(), submitWait)
	defer cancelWait()
	if err := jobSvc.Wait(waitCtx); err != nil {
		log.Error("shut down with submissions still waiting for Akool; they will show as interrupted", "err", err)
	}
	return nil
}

// submitWait bounds how long shutdown waits for submissions in flight: the
// create call's own bound (45 s) plus time to record its answer.
const submitWait = time.Minute

// lockDataDir takes an exclusive lock on DATA_DIR/swapdesk.lock for as long
// as serve runs: two servers on one data directory would track, settle and
// archive the same jobs twice. The kernel drops the lock when the process
// ends, however it ends, so there is nothing to clean up after a crash.
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, "swapdesk.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, usagef("SWAPDESK_DATA_DIR: cannot create %s: %v", path, unwrapPathErr(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, usagef("SWAPDESK_DATA_DIR: %s is in use by another swapdesk serve", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
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

// ensureFirstAdmin creates the first admin when there are no users, and
// returns "email / password" to print once (empty when nothing was created).
func ensureFirstAdmin(ctx context.Context, store *db.DB, accts *accounts.Service, cfg config) (string, error) {
	n, err := store.CountUsers(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	email, password := cfg.AdminEmail, cfg.AdminPassword
	if email == "" {
		email = defaultAdminEmail
		if password, err = accounts.RandomPassword(); err != nil {
			return "", err
		}
	}
	if _, err := accts.CreateUser(ctx, 0, accounts.NewUser{Email: email, Name: "Admin", Admin: true, Password: password}); err != nil {
		return "", usagef("SWAPDESK_ADMIN_EMAIL/SWAPDESK_ADMIN_PASSWORD: cannot create the first admin: %v", err)
	}
	if cfg.AdminPassword != "" {
		return email + " / (the password in SWAPDESK_ADMIN_PASSWORD)", nil
	}
	return email + " / " + password, nil
}

// listenURL is the URL to print: the public URL when configured, else the
// listener's address with a friendly host.
func listenURL(addr net.Addr, public string) string {
	if public != "" {
		return public
	}
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}).String()
}

func unwrapOpErr(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
