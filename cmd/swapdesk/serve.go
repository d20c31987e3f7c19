package main

import (
	"context"
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
	"syscall"
	"time"

	"swapdesk/db"
	"swapdesk/internal/accounts"
	"swapdesk/internal/app"
)

const defaultAdminEmail = "admin@localhost"

// serve runs the web app until ctx is cancelled, then shuts down in reverse
// order of start-up.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := newFlags("serve", stdout, "Runs the web app (the default command). Each flag overrides the environment variable named in parentheses.")
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
	unlock, err := lockDataDir(cfg.DataDir, cfg.name("SWAPDESK_DATA_DIR"))
	if err != nil {
		return err
	}
	defer unlock()

	// Listen first: the sandbox and the printed URL need the real port.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return usagef("%s: cannot listen on %s: %v", cfg.name("SWAPDESK_ADDR"), cfg.Addr, unwrapOpErr(err))
	}
	defer ln.Close()
	base := listenURL(ln.Addr(), cfg.PublicURL)

	a, err := app.New(ctx, app.Config{
		DataDir:             cfg.DataDir,
		LocalURL:            listenURL(ln.Addr(), ""),
		PublicURL:           cfg.PublicURL,
		SessionKey:          cfg.SessionKey,
		AkoolAPIKey:         cfg.AkoolAPIKey,
		AkoolClientID:       cfg.AkoolClientID,
		AkoolBaseURL:        cfg.AkoolBaseURL,
		AllowPrivateURLs:    cfg.AllowPrivateURLs,
		Media:               cfg.Media,
		AWS:                 cfg.AWS,
		SecureCookies:       cfg.secureCookies(),
		TrustedProxies:      cfg.TrustedProxies,
		SandboxQueueDelay:   cfg.SandboxQueueDelay,
		SandboxProcessDelay: cfg.SandboxProcessDelay,
		Log:                 log,
	})
	if err != nil {
		var se *app.SettingError
		if errors.As(err, &se) {
			return usagef("%s: %s", cfg.name(se.Setting), se.Msg)
		}
		return err
	}
	defer a.Close() // on early returns; Shutdown below closes it otherwise
	a.Start()

	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The first admin comes last, when nothing else can fail: its password
	// is printed once, and a start that failed after creating the account
	// would lose it for good.
	firstLogin, err := ensureFirstAdmin(ctx, a.Store, a.Accounts, cfg)
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
	log.Info("serving", "addr", ln.Addr().String(), "url", base, "sandbox", a.Sandbox != nil, "data_dir", cfg.DataDir, "media", a.Media.String())

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
	// Submissions still waiting for Akool are recorded before the store
	// closes (app.Shutdown logs those that are not).
	waitCtx, cancelWait := context.WithTimeout(context.Background(), submitWait)
	defer cancelWait()
	_ = a.Shutdown(waitCtx)
	return nil
}

// submitWait bounds how long shutdown waits for submissions in flight: the
// create call's own bound (45 s) plus time to record its answer.
const submitWait = time.Minute

// lockDataDir takes an exclusive lock on DATA_DIR/swapdesk.lock for as long
// as serve runs: two servers on one data directory would track, settle and
// archive the same jobs twice. The kernel drops the lock when the process
// ends, however it ends, so there is nothing to clean up after a crash.
// setting names the data directory's setting in errors.
func lockDataDir(dir, setting string) (unlock func(), err error) {
	path := filepath.Join(dir, "swapdesk.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, usagef("%s: cannot create %s: %v", setting, path, unwrapPathErr(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, usagef("%s: %s is in use by another swapdesk serve", setting, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
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
