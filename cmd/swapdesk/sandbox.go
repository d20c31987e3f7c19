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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"swapdesk/internal/akoolsim"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/static"
)

// SandboxPrefix is where `serve` mounts the emulator when no Akool key is
// configured.
const SandboxPrefix = "/sandbox/akool"

// sandboxCredits is the in-process sandbox account's starting balance.
const sandboxCredits = 1_000_000

// newEmbeddedSandbox starts the emulator that `serve` mounts at
// SandboxPrefix. Its state (account, jobs, results) lives in the data dir,
// so a restart mid-job loses nothing. base is this server's loopback URL.
//
// Playing Akool, the emulator downloads the links members submit and posts
// webhooks, so it gets the same address rule as our own prober: only this
// server's own sample inputs and webhook endpoint may be reached on a
// private address (see sandboxHTTPClient).
func newEmbeddedSandbox(base string, cfg config, log *slog.Logger) (*akoolsim.Sim, string) {
	return startEmbeddedSandbox(base, cfg, log, media.Options{})
}

// startEmbeddedSandbox is newEmbeddedSandbox with network hooks for tests
// (netHooks' LookupIP and Dial; its other fields are ignored).
func startEmbeddedSandbox(base string, cfg config, log *slog.Logger, netHooks media.Options) (*akoolsim.Sim, string) {
	sim := akoolsim.New(akoolsim.Config{
		StatePath:    filepath.Join(cfg.DataDir, "sandbox", "akool.json"),
		Credits:      sandboxCredits,
		BaseURL:      base + SandboxPrefix,
		QueueDelay:   simDelay(cfg.SandboxQueueDelay),
		ProcessDelay: simDelay(cfg.SandboxProcessDelay),
		Logger:       log.With("component", "sandbox"),
		HTTPClient:   sandboxHTTPClient(base, cfg, netHooks),
	})
	apiKey, _, _ := sim.Credentials()
	return sim, apiKey
}

// sandboxFetchTimeout bounds each of the emulator's requests, the whole
// video download included.
const sandboxFetchTimeout = 30 * time.Second

// sandboxHTTPClient is the emulator's HTTP client. Links to this server's
// sample inputs and webhook endpoint (on our own port, or on the public
// URL's origin) go to our loopback address; everything else goes through
// media's address rule (SWAPDESK_ALLOW_PRIVATE_URLS lifts it, as for the
// prober), ignores proxies and has every redirect checked again. Otherwise
// a member's server, once its link passed our probe, could redirect the
// emulator's later download to a metadata service or a private host, and
// the job's failure reason would tell whether it answered.
func sandboxHTTPClient(base string, cfg config, netHooks media.Options) *http.Client {
	own := ownServer{port: portOfURL(base)}
	if u, err := url.Parse(cfg.PublicURL); err == nil && cfg.PublicURL != "" && u.Host != "" {
		own.public = u
	}
	remote := media.NewHTTPClient(media.Options{AllowPrivate: cfg.AllowPrivateURLs, Timeout: sandboxFetchTimeout,
		LookupIP: netHooks.LookupIP, Dial: netHooks.Dial})
	local := media.NewHTTPClient(media.Options{AllowPrivate: true, MaxRedirects: -1, Timeout: sandboxFetchTimeout})
	return &http.Client{
		Transport: &sandboxTransport{own: own, local: local.Transport, remote: remote.Transport},
		// A redirect is judged as a new link by the remote rules: it may not
		// lead to a private address, not even ours.
		CheckRedirect: remote.CheckRedirect,
		Timeout:       sandboxFetchTimeout,
	}
}

// sandboxPaths are the pages of ours the emulator may fetch or post to.
var sandboxPaths = []string{static.Prefix + "samples/", "/webhooks/akool"}

// sandboxTransport routes the emulator's requests: to our own loopback
// address for our sample inputs and webhooks, to remote for the rest.
type sandboxTransport struct {
	own           ownServer
	local, remote http.RoundTripper
}

func (t *sandboxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if u, ok := t.own.link(req.URL, sandboxPaths...); ok {
		r := req.Clone(req.Context())
		r.URL, r.Host = u, u.Host
		return t.local.RoundTrip(r)
	}
	return t.remote.RoundTrip(req)
}

// ownServer recognises links to this server, however their host is
// written: a plain http link on our own port (the sample links use the
// host the member's browser used), or one on the public URL's origin.
type ownServer struct {
	port   string
	public *url.URL // nil without SWAPDESK_PUBLIC_URL
}

// link returns u rewritten to our loopback address when u is a link to
// this server whose path is under one of prefixes (or equal to one), with
// no credentials and no "..".
func (o ownServer) link(u *url.URL, prefixes ...string) (*url.URL, bool) {
	if u == nil || u.User != nil || o.port == "" || strings.Contains(u.Path, "..") {
		return nil, false
	}
	ours := u.Scheme == "http" && u.Port() == o.port
	if p := o.public; p != nil && strings.EqualFold(u.Scheme, p.Scheme) && strings.EqualFold(u.Host, p.Host) {
		ours = true
	}
	if !ours {
		return nil, false
	}
	for _, prefix := range prefixes {
		if strings.HasPrefix(u.Path, prefix) {
			return &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", o.port), Path: u.Path, RawQuery: u.RawQuery}, true
		}
	}
	return nil, false
}

// simDelay maps our 0 ("no wait") to the emulator's NoDelay (its 0 means
// "default").
func simDelay(d time.Duration) time.Duration {
	if d == 0 {
		return akoolsim.NoDelay
	}
	return d
}

// sampleProber lets the sandbox probe its own sample inputs, which live on
// this server's loopback address, while every other link goes through the
// normal prober and its address rule. It only ever contacts 127.0.0.1 on our
// own port, for paths under /static/samples/, with no redirects.
type sampleProber struct {
	remote, local jobs.Prober
	port          string
}

func newSampleProber(remote jobs.Prober, port string) *sampleProber {
	f := media.NewFetcher(media.Options{AllowPrivate: true, MaxRedirects: -1, Timeout: 5 * time.Second})
	return &sampleProber{remote: remote, local: media.NewProber(f, media.ProberOptions{}), port: port}
}

func (p *sampleProber) route(raw string) (jobs.Prober, string) {
	u, err := url.Parse(raw)
	if err == nil && u.RawQuery == "" {
		if local, ok := (ownServer{port: p.port}).link(u, static.Prefix+"samples/"); ok {
			return p.local, local.String()
		}
	}
	return p.remote, raw
}

func (p *sampleProber) ProbeImage(ctx context.Context, raw string) (media.ImageInfo, error) {
	pr, u := p.route(raw)
	return pr.ProbeImage(ctx, u)
}

func (p *sampleProber) ProbeVideo(ctx context.Context, raw string) (media.VideoInfo, error) {
	pr, u := p.route(raw)
	return pr.ProbeVideo(ctx, u)
}

// sandboxCommand runs the emulator alone: `swapdesk sandbox --addr :9090`.
func sandboxCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := newFlags("sandbox", stdout)
	addr := fs.String("addr", ":9090", "listen address")
	credits := fs.Int("credits", 10_000, "starting credit balance of the emulated account")
	queue := fs.Duration("queue-delay", 3*time.Second, "time a job stays queued (0s: none)")
	process := fs.Duration("process-delay", 20*time.Second, "time a job stays processing (0s: none)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := checkAddr(*addr); err != nil {
		return usagef("sandbox --addr: %v", err)
	}
	if *credits < 0 {
		return usagef("sandbox --credits: must be 0 or more")
	}
	if *queue < 0 || *process < 0 {
		return usagef("sandbox --queue-delay and --process-delay: must be 0s or more")
	}
	creds, err := sandboxCredentials(getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usagef("sandbox --addr: cannot listen on %s: %v", *addr, unwrapOpErr(err))
	}
	base := listenURL(ln.Addr(), "")
	sim := akoolsim.New(akoolsim.Config{
		APIKey: creds.apiKey, ClientID: creds.clientID, ClientSecret: creds.secret, Credits: *credits,
		// The emulator's 0 means its default; ours means no wait.
		BaseURL: base, QueueDelay: simDelay(*queue), ProcessDelay: simDelay(*process), Logger: log,
	})
	defer sim.Close()
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Akool sandbox is running at %s with %d credits\n", base, *credits)
	if len(creds.generated) > 0 {
		// Only what we made up: values taken from the environment are not echoed.
		fmt.Fprintf(stdout, "AKOOL_BASE_URL=%s\n", base)
		for _, name := range creds.generated {
			fmt.Fprintf(stdout, "%s=%s\n", name, creds.value(name))
		}
	}
	select {
	case err := <-served:
		return fmt.Errorf("sandbox server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}

// sandboxCreds is the emulated account of `swapdesk sandbox`.
type sandboxCreds struct {
	apiKey, clientID, secret string
	generated                []string // names of the variables that were not set, in print order
}

func (c sandboxCreds) value(name string) string {
	switch name {
	case "AKOOL_API_KEY":
		return c.apiKey
	case "AKOOL_CLIENT_ID":
		return c.clientID
	}
	return c.secret
}

// sandboxCredentials takes the account from AKOOL_API_KEY, AKOOL_CLIENT_ID
// and AKOOL_CLIENT_SECRET and generates only what is missing. As on Akool,
// the API key and the clientSecret are one value: either one given sets
// both. It returns a usage error for a secret that cannot be an AES key.
func sandboxCredentials(getenv func(string) string) (sandboxCreds, error) {
	c := sandboxCreds{apiKey: getenv("AKOOL_API_KEY"), clientID: getenv("AKOOL_CLIENT_ID"), secret: getenv("AKOOL_CLIENT_SECRET")}
	genKey, genID, _ := akoolsim.GenerateCredentials()
	switch {
	case c.apiKey == "" && c.secret == "":
		c.apiKey, c.secret = genKey, genKey
		c.generated = append(c.generated, "AKOOL_API_KEY")
	case c.apiKey == "":
		c.apiKey = c.secret
	case c.secret == "":
		c.secret = c.apiKey
	}
	if c.clientID == "" {
		c.clientID = genID
		c.generated = append(c.generated, "AKOOL_CLIENT_ID")
	}
	if slices.Contains(c.generated, "AKOOL_API_KEY") {
		c.generated = append(c.generated, "AKOOL_CLIENT_SECRET")
	}
	switch len(c.secret) {
	case 16, 24, 32:
	default:
		return sandboxCreds{}, usagef("AKOOL_CLIENT_SECRET: must be 16, 24 or 32 characters (it is the AES key of webhooks)")
	}
	return c, nil
}

// portOfURL is the port of a URL such as our loopback base, "" if none.
func portOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Port()
}

func portOf(addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	if _, err := strconv.Atoi(port); err != nil {
		return ""
	}
	return port
}
