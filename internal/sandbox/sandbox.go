// Package sandbox is the glue that runs Akool's emulator (internal/akoolsim)
// inside `swapdesk serve` when no Akool key is configured: it starts the
// emulator, and routes the requests that reach this server's own address
// (sample inputs, webhooks, the emulator's results) to loopback, while every
// other link goes through internal/media's address rule.
package sandbox

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/static"
)

// Prefix is where `serve` mounts the emulator when no Akool key is
// configured.
const Prefix = "/sandbox/akool"

// sandboxCredits is the in-process sandbox account's starting balance.
const sandboxCredits = 1_000_000

// Config is what the embedded emulator takes from the app's configuration.
type Config struct {
	// DataDir holds the emulator's state (account, jobs, results).
	DataDir string
	// PublicURL is the URL people and Akool reach us at ("" if none): links
	// on its origin are links to this server too.
	PublicURL string
	// AllowPrivateURLs lifts the address rule, as for the prober.
	AllowPrivateURLs bool
	// QueueDelay and ProcessDelay are how long a job stays queued and
	// processing; 0 means no wait.
	QueueDelay, ProcessDelay time.Duration

	// Test seams; the zero values are what serve uses.
	// Now is the emulator's clock (default time.Now).
	Now func() time.Time
	// WebhookBackoff is the emulator's first pause between webhook
	// attempts (default its own).
	WebhookBackoff time.Duration
	// WebhookStatuses are the statuses webhooks are sent for (default the
	// emulator's).
	WebhookStatuses []akool.Status
	// Net holds network hooks for links to other servers: its LookupIP and
	// Dial are used, its other fields ignored.
	Net media.Options
}

// Start starts the emulator that `serve` mounts at Prefix, and returns it
// with its API key. Its state (account, jobs, results) lives in the data
// dir, so a restart mid-job loses nothing. base is this server's loopback
// URL.
//
// Playing Akool, the emulator downloads the links members submit and posts
// webhooks, so it gets the same address rule as our own prober: only this
// server's own sample inputs and webhook endpoint may be reached on a
// private address (see httpClient).
func Start(base string, cfg Config, log *slog.Logger) (*akoolsim.Sim, string) {
	sim := akoolsim.New(akoolsim.Config{
		StatePath:       filepath.Join(cfg.DataDir, "sandbox", "akool.json"),
		Credits:         sandboxCredits,
		BaseURL:         base + Prefix,
		QueueDelay:      SimDelay(cfg.QueueDelay),
		ProcessDelay:    SimDelay(cfg.ProcessDelay),
		Now:             cfg.Now,
		WebhookBackoff:  cfg.WebhookBackoff,
		WebhookStatuses: cfg.WebhookStatuses,
		Logger:          log.With("component", "sandbox"),
		HTTPClient:      httpClient(base, cfg),
	})
	apiKey, _, _ := sim.Credentials()
	return sim, apiKey
}

// sandboxFetchTimeout bounds each of the emulator's requests, the whole
// video download included.
const sandboxFetchTimeout = 30 * time.Second

// httpClient is the emulator's HTTP client. Links to this server's
// sample inputs and webhook endpoint (on our own port, or on the public
// URL's origin) go to our loopback address; everything else goes through
// media's address rule (SWAPDESK_ALLOW_PRIVATE_URLS lifts it, as for the
// prober), ignores proxies and has every redirect checked again. Otherwise
// a member's server, once its link passed our probe, could redirect the
// emulator's later download to a metadata service or a private host, and
// the job's failure reason would tell whether it answered.
func httpClient(base string, cfg Config) *http.Client {
	own := ownServer{port: portOfURL(base)}
	if u, err := url.Parse(cfg.PublicURL); err == nil && cfg.PublicURL != "" && u.Host != "" {
		own.public = u
	}
	remote := media.NewHTTPClient(media.Options{AllowPrivate: cfg.AllowPrivateURLs, Timeout: sandboxFetchTimeout,
		LookupIP: cfg.Net.LookupIP, Dial: cfg.Net.Dial})
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

// SimDelay maps our 0 ("no wait") to the emulator's NoDelay (its 0 means
// "default").
func SimDelay(d time.Duration) time.Duration {
	if d == 0 {
		return akoolsim.NoDelay
	}
	return d
}

// SampleProber lets the sandbox probe its own sample inputs, which live on
// this server's loopback address, while every other link goes through the
// normal prober and its address rule. It only ever contacts 127.0.0.1 on our
// own port, for paths under /static/samples/, with no redirects.
type SampleProber struct {
	remote, local jobs.Prober
	port          string
}

// NewSampleProber returns remote wrapped to probe links to our samples on
// port locally.
func NewSampleProber(remote jobs.Prober, port string) *SampleProber {
	f := media.NewFetcher(media.Options{AllowPrivate: true, MaxRedirects: -1, Timeout: 5 * time.Second})
	return &SampleProber{remote: remote, local: media.NewProber(f, media.ProberOptions{}), port: port}
}

func (p *SampleProber) route(raw string) (jobs.Prober, string) {
	u, err := url.Parse(raw)
	if err == nil && u.RawQuery == "" {
		if local, ok := (ownServer{port: p.port}).link(u, static.Prefix+"samples/"); ok {
			return p.local, local.String()
		}
	}
	return p.remote, raw
}

func (p *SampleProber) ProbeImage(ctx context.Context, raw string) (media.ImageInfo, error) {
	pr, u := p.route(raw)
	return pr.ProbeImage(ctx, u)
}

func (p *SampleProber) ProbeVideo(ctx context.Context, raw string) (media.VideoInfo, error) {
	pr, u := p.route(raw)
	return pr.ProbeVideo(ctx, u)
}

// portOfURL is the port of a URL such as our loopback base, "" if none.
func portOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Port()
}
