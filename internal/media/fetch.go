package media

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for Options.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxRedirects = 3
	DefaultUserAgent    = "Swapdesk-LinkCheck/1.0"
)

// Options configure a Fetcher. The zero value is the safe production setup.
type Options struct {
	// AllowPrivate lifts the address rule (loopback, private, link-local...)
	// and nothing else. Only for tests and the offline sandbox.
	AllowPrivate bool

	// Timeout bounds one request from dialing to the end of reading its body
	// (default DefaultTimeout). Make a separate Fetcher with a longer timeout
	// for large downloads.
	Timeout time.Duration

	// MaxRedirects is how many redirects one request may follow: 0 means
	// DefaultMaxRedirects, a negative value means none. Values above
	// DefaultMaxRedirects are lowered to it.
	MaxRedirects int

	// LookupIP resolves a host name (default net.DefaultResolver.LookupIP
	// with network "ip"). Every address it returns is checked before any is
	// dialed; tests use it to simulate names resolving to private addresses.
	LookupIP func(ctx context.Context, host string) ([]net.IP, error)

	// Dial, if set, opens the TCP connection to an address that has already
	// passed the address rule (default: a net.Dialer whose Control hook checks
	// the address once more on the socket). Tests use it to route a made-up
	// public address to a local test server.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	// UserAgent is sent with every request (default DefaultUserAgent).
	UserAgent string
}

// Fetcher makes GET requests to member-supplied links under the address
// rule, with byte and time caps. It sends no cookies, no credentials, no
// Authorization and no Referer, and ignores proxy environment variables.
// A Fetcher is safe for concurrent use.
type Fetcher struct {
	allowPrivate bool
	timeout      time.Duration
	maxRedirects int
	lookupIP     func(ctx context.Context, host string) ([]net.IP, error)
	dial         func(ctx context.Context, network, address string) (net.Conn, error)
	userAgent    string
	client       *http.Client

	requests  atomic.Int64
	bytesRead atomic.Int64
}

// NewFetcher returns a Fetcher configured by opts.
func NewFetcher(opts Options) *Fetcher {
	f := &Fetcher{
		allowPrivate: opts.AllowPrivate,
		timeout:      opts.Timeout,
		maxRedirects: opts.MaxRedirects,
		lookupIP:     opts.LookupIP,
		dial:         opts.Dial,
		userAgent:    opts.UserAgent,
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	switch {
	case f.maxRedirects == 0 || f.maxRedirects > DefaultMaxRedirects:
		f.maxRedirects = DefaultMaxRedirects
	case f.maxRedirects < 0:
		f.maxRedirects = 0
	}
	if f.lookupIP == nil {
		f.lookupIP = func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		}
	}
	if f.dial == nil {
		d := &net.Dialer{Timeout: f.timeout, KeepAlive: 30 * time.Second}
		if !f.allowPrivate {
			d.Control = controlAddress
		}
		f.dial = d.DialContext
	}
	if f.userAgent == "" {
		f.userAgent = DefaultUserAgent
	}
	tr := &http.Transport{
		Proxy:                  nil, // never send member links through an environment proxy
		DialContext:            f.dialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    f.timeout,
		ResponseHeaderTimeout:  f.timeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true, // byte ranges and caps count real bytes; no gzip bombs
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
	}
	f.client = &http.Client{Transport: tr, CheckRedirect: f.checkRedirect}
	return f
}

// NewHTTPClient returns an *http.Client for code that must fetch links from
// members with net/http itself (the embedded Akool emulator). It applies the
// rules of a Fetcher made with opts: every address a name resolves to is
// checked before dialing and the socket's Control hook checks the address
// actually dialed (unless AllowPrivate), proxy environment variables are
// ignored, and every redirect is validated like the first link and counted
// against MaxRedirects. Timeout bounds each request as a whole, body
// included (http.Client.Timeout). It sends no extra headers and caps no
// bytes; refusals come back from Client.Do as errors wrapping an *Error of
// kind ErrForbiddenAddress, ErrInvalidURL or ErrTooManyRedirects.
func NewHTTPClient(opts Options) *http.Client {
	f := NewFetcher(opts)
	return &http.Client{Transport: f.client.Transport, CheckRedirect: f.checkRedirect, Timeout: f.timeout}
}

// Stats counts a Fetcher's work since it was made.
type Stats struct {
	Requests  int64 // requests sent (redirects not counted separately)
	BytesRead int64 // response body bytes read by callers
}

// Stats returns the counters; benchmarks use them to report bytes per probe.
func (f *Fetcher) Stats() Stats {
	return Stats{Requests: f.requests.Load(), BytesRead: f.bytesRead.Load()}
}

// ValidateURL is the package ValidateURL with this Fetcher's AllowPrivate:
// it returns the cleaned link or an *Error of kind ErrInvalidURL or
// ErrForbiddenAddress, without any network access.
func (f *Fetcher) ValidateURL(raw string) (*url.URL, error) {
	return ValidateURL(raw, f.allowPrivate)
}

// controlAddress is the last line of defence: it runs on the socket just
// before connect, with the numeric address actually being dialed.
func controlAddress(network, address string, _ syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return newErr(ErrForbiddenAddress, "this address is not allowed", fmt.Errorf("network %q", network))
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return newErr(ErrForbiddenAddress, "this address is not allowed", err)
	}
	if r := forbiddenReason(ap.Addr()); r != "" {
		return forbiddenAddressError(r)
	}
	return nil
}

// dialContext resolves addr's host, refuses the whole name if any of its
// addresses is forbidden, then dials the addresses in turn.
func (f *Fetcher) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		res, err := f.lookupIP(ctx, host)
		if err != nil {
			return nil, newErr(ErrUnreachable, "this server name could not be found", err)
		}
		for _, r := range res {
			if ip, ok := netip.AddrFromSlice(r); ok {
				ips = append(ips, ip.Unmap()) // net.IP keeps IPv4 in 16 bytes
			}
		}
		if len(ips) == 0 {
			return nil, newErr(ErrUnreachable, "this server name could not be found", nil)
		}
	}
	if !f.allowPrivate {
		for _, ip := range ips {
			if r := forbiddenReason(ip); r != "" {
				return nil, forbiddenAddressError(r)
			}
		}
	}
	var firstErr error
	for _, ip := range ips {
		conn, err := f.dial(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		if errors.Is(err, ErrForbiddenAddress) || ctx.Err() != nil {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.maxRedirects {
		return newErr(ErrTooManyRedirects, "the link redirects too many times", nil)
	}
	if _, err := ValidateURL(req.URL.String(), f.allowPrivate); err != nil {
		return err
	}
	// net/http adds a Referer on redirects and may forward these; we never
	// want to tell one server about another or pass anything along.
	req.Header.Del("Referer")
	req.Header.Del("Authorization")
	req.Header.Del("Cookie")
	return nil
}

// Request describes one GET.
type Request struct {
	URL string
	// Start and Length select a byte range: with Length > 0 the header
	// "Range: bytes=Start-(Start+Length-1)" is sent, with Length == 0 and
	// Start > 0 "Range: bytes=Start-". Servers may ignore it (Response.Partial).
	Start, Length int64
	// MaxBytes caps the body: reading past it fails with an *Error of kind
	// ErrTooLarge (0 means no cap; always set one for member links).
	MaxBytes int64
	// Accept is sent as the Accept header if not empty.
	Accept string
}

// Response is an open response. Close Body when done; closing early is how
// callers stop a download, and it also releases the request's timer.
type Response struct {
	Body          io.ReadCloser
	StatusCode    int    // 200 or 206
	Partial       bool   // 206: Body starts at Start
	Start         int64  // offset of the first body byte in the whole resource
	Total         int64  // size of the whole resource, -1 if unknown
	ContentLength int64  // length of Body, -1 if unknown
	ContentType   string // as the server says; never trusted for the format
	URL           string // the final URL after redirects
}

// Do sends req and returns the open response for status 200 or 206. The
// body of a response to a Range request that the server ignored starts at
// byte 0 (Partial false).
//
// Errors are *Error values: ErrInvalidURL and ErrForbiddenAddress (also for
// redirects), ErrTooManyRedirects, ErrTimeout, ErrUnreachable, ErrHTTPStatus
// ("the server answered 404 Not Found"), ErrTooLarge when Content-Length
// exceeds MaxBytes, ErrCorrupt for a 206 whose Content-Range does not match.
// If ctx is cancelled, ctx's error is returned as is.
func (f *Fetcher) Do(ctx context.Context, r Request) (*Response, error) {
	u, err := ValidateURL(r.URL, f.allowPrivate)
	if err != nil {
		return nil, err
	}
	reqCtx, cancel := context.WithTimeout(ctx, f.timeout)
	hreq, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, newErr(ErrInvalidURL, "this is not a valid link", err)
	}
	hreq.Header.Set("User-Agent", f.userAgent)
	if r.Accept != "" {
		hreq.Header.Set("Accept", r.Accept)
	}
	ranged := r.Length > 0 || r.Start > 0
	switch {
	case r.Length > 0:
		hreq.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r.Start, r.Start+r.Length-1))
	case r.Start > 0:
		hreq.Header.Set("Range", fmt.Sprintf("bytes=%d-", r.Start))
	}
	f.requests.Add(1)
	resp, err := f.client.Do(hreq)
	if err != nil {
		cancel()
		return nil, f.mapErr(ctx, err)
	}
	out := &Response{
		StatusCode:    resp.StatusCode,
		ContentLength: resp.ContentLength,
		ContentType:   resp.Header.Get("Content-Type"),
		URL:           resp.Request.URL.String(),
		Total:         -1,
	}
	fail := func(e *Error) (*Response, error) {
		resp.Body.Close()
		cancel()
		return nil, e
	}
	switch resp.StatusCode {
	case http.StatusOK:
		out.Total = resp.ContentLength
	case http.StatusPartialContent:
		if !ranged {
			return fail(newErr(ErrCorrupt, "the server sent a partial answer", nil))
		}
		start, end, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != r.Start || (r.Length > 0 && end > r.Start+r.Length-1) {
			return fail(newErr(ErrCorrupt, "the server sent the wrong part of the file",
				fmt.Errorf("asked %d+%d, got Content-Range %q", r.Start, r.Length, resp.Header.Get("Content-Range"))))
		}
		out.Partial, out.Start, out.Total = true, start, total
		if out.ContentLength < 0 {
			out.ContentLength = end - start + 1
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// An empty file cannot satisfy any range; report it as empty.
		if _, _, total, _ := parseContentRange(resp.Header.Get("Content-Range")); total == 0 && r.Start == 0 {
			resp.Body.Close()
			out.StatusCode, out.Partial, out.Total, out.ContentLength = http.StatusPartialContent, true, 0, 0
			out.Body = &body{rc: io.NopCloser(strings.NewReader("")), f: f, ctx: ctx, cancel: cancel}
			return out, nil
		}
		return fail(statusError(resp.StatusCode))
	default:
		return fail(statusError(resp.StatusCode))
	}
	if r.MaxBytes > 0 && out.ContentLength > r.MaxBytes {
		return fail(tooLargeError(r.MaxBytes))
	}
	out.Body = &body{rc: resp.Body, f: f, ctx: ctx, cancel: cancel, max: r.MaxBytes}
	return out, nil
}

// Open starts downloading rawURL as a stream, for callers that save large
// files to disk: nothing is buffered, and reading past maxBytes fails with
// an *Error of kind ErrTooLarge (so a truncated copy is never mistaken for a
// complete one). The whole download must finish within the Fetcher's
// Timeout. Errors are those of Do.
func (f *Fetcher) Open(ctx context.Context, rawURL string, maxBytes int64) (*Response, error) {
	return f.Do(ctx, Request{URL: rawURL, MaxBytes: maxBytes})
}

// parseContentRange parses "bytes 0-99/1234" (total may be "*": -1).
func parseContentRange(s string) (start, end, total int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, -1, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, -1, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t < 0 {
			return 0, 0, -1, false
		}
		total = t
	}
	if rng == "*" {
		return 0, 0, total, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, total, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || (total >= 0 && end >= total) {
		return 0, 0, total, false
	}
	return start, end, total, true
}

func statusError(code int) *Error {
	msg := "the server answered " + strconv.Itoa(code)
	if t := http.StatusText(code); t != "" {
		msg += " " + t
	}
	return newErr(ErrHTTPStatus, msg, nil)
}

func tooLargeError(limit int64) *Error {
	return newErr(ErrTooLarge, "the file is larger than the "+formatBytes(limit)+" limit", nil)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', -1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func formatDuration(d time.Duration) string {
	if d >= time.Second {
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
}

// mapErr turns transport errors into user-safe *Error values. parent is the
// caller's context: its cancellation is returned as is, not as a timeout.
func (f *Fetcher) mapErr(parent context.Context, err error) error {
	if err == nil {
		return nil
	}
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	if pe := parent.Err(); pe != nil {
		return pe
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return newErr(ErrTimeout, "the server did not answer within "+formatDuration(f.timeout), err)
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr):
		return newErr(ErrUnreachable, "this server name could not be found", err)
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr):
		return newErr(ErrUnreachable, "the server's secure connection could not be verified", err)
	case errors.As(err, &recErr):
		return newErr(ErrUnreachable, "the server does not speak https on this port", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return newErr(ErrUnreachable, "the server refused the connection", err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return newErr(ErrUnreachable, "the server closed the connection early", err)
	}
	return newErr(ErrUnreachable, "could not reach the server", err)
}

// body counts and caps what callers read, maps errors, and ends the
// request's timer on Close.
type body struct {
	rc     io.ReadCloser
	f      *Fetcher
	ctx    context.Context
	cancel context.CancelFunc
	max    int64
	n      int64
}

func (b *body) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.max > 0 && b.n >= b.max {
		// At the cap: more data means the file is too large.
		var one [1]byte
		k, err := io.ReadFull(b.rc, one[:])
		if k > 0 {
			b.n++
			b.f.bytesRead.Add(1)
			return 0, tooLargeError(b.max)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, io.EOF
		}
		return 0, b.f.mapErr(b.ctx, err)
	}
	if b.max > 0 && int64(len(p)) > b.max-b.n {
		p = p[:b.max-b.n]
	}
	k, err := b.rc.Read(p)
	b.n += int64(k)
	b.f.bytesRead.Add(int64(k))
	if err != nil && err != io.EOF {
		err = b.f.mapErr(b.ctx, err)
	}
	return k, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
