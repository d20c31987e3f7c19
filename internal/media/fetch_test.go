package media

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const fakePublicIP = "93.184.216.34"

// publicServer is a loopback test server that the fetcher believes to be at
// the public address fakePublicIP, under the name public.test.
func publicServer(t *testing.T, h http.Handler, extraHosts map[string][]string) (*httptest.Server, *fakeNet, *Fetcher) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	fn := &fakeNet{
		tb:     t,
		hosts:  map[string][]string{"public.test": {fakePublicIP}},
		routes: map[string]string{net.JoinHostPort(fakePublicIP, port): srv.Listener.Addr().String()},
	}
	for h, ips := range extraHosts {
		fn.hosts[h] = ips
	}
	f := NewFetcher(Options{LookupIP: fn.lookupIP, Dial: fn.dial, Timeout: 5 * time.Second})
	return srv, fn, f
}

func portOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Names that resolve to internal addresses are refused before any dial.
func TestFetcherRefusesNamesResolvingToInternalAddresses(t *testing.T) {
	fn := &fakeNet{tb: t, hosts: map[string][]string{
		"private.test":  {"10.0.0.1"},
		"loopback.test": {"127.0.0.1"},
		"meta.test":     {"169.254.169.254"},
		"cgnat.test":    {"100.64.0.1"},
		"mapped.test":   {"::ffff:127.0.0.1"},
		"nat64.test":    {"64:ff9b::7f00:1"},
		"ula.test":      {"fc00::1"},
		"ll6.test":      {"fe80::1"},
		"zero.test":     {"0.0.0.0"},
		"mcast.test":    {"224.0.0.1"},
		// DNS rebinding style: one good address is not enough.
		"mixed.test": {fakePublicIP, "10.0.0.1"},
	}}
	f := NewFetcher(Options{LookupIP: fn.lookupIP, Dial: fn.dial, Timeout: time.Second})
	for host := range fn.hosts {
		t.Run(host, func(t *testing.T) {
			_, err := f.Do(context.Background(), Request{URL: "http://" + host + "/x.png", Length: 100})
			e := wantKind(t, err, ErrForbiddenAddress)
			if !strings.HasPrefix(e.Message, "this address is not allowed (") {
				t.Errorf("message = %q", e.Message)
			}
		})
	}
	if d := fn.dialed(); len(d) != 0 {
		t.Errorf("dialed %v, want no dial at all", d)
	}
}

// Unusual numeric forms are caught by the dial-time check too, for
// resolvers that turn "0x7f000001" into 127.0.0.1 the way inet_aton does.
func TestDialCheckCatchesNumericHostForms(t *testing.T) {
	resolveLikeInetAton := func(_ context.Context, host string) ([]net.IP, error) {
		ip, ok := parseLegacyIPv4(host)
		if !ok {
			return nil, errors.New("not numeric")
		}
		return []net.IP{net.IP(ip.AsSlice())}, nil
	}
	fn := &fakeNet{tb: t}
	f := NewFetcher(Options{LookupIP: resolveLikeInetAton, Dial: fn.dial})
	for _, host := range []string{"0x7f000001", "2130706433", "0177.0.0.1", "127.1", "0xa9fea9fe"} {
		t.Run(host, func(t *testing.T) {
			_, err := f.dialContext(context.Background(), "tcp", net.JoinHostPort(host, "80"))
			wantKind(t, err, ErrForbiddenAddress)
		})
	}
	if d := fn.dialed(); len(d) != 0 {
		t.Errorf("dialed %v, want no dial", d)
	}
}

// The socket-level Control hook refuses internal addresses even if
// everything above it were bypassed: a real connect to a listening loopback
// server never happens.
func TestControlRefusesAtConnect(t *testing.T) {
	var accepted atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { accepted.Add(1) }))
	defer srv.Close()
	d := &net.Dialer{Control: controlAddress}
	_, err := d.Dial("tcp", srv.Listener.Addr().String())
	wantKind(t, err, ErrForbiddenAddress)

	for _, addr := range []string{"127.0.0.1:80", "[::1]:443", "[::ffff:10.0.0.1]:80", "169.254.169.254:80", "[64:ff9b::a9fe:a9fe]:80"} {
		if err := controlAddress("tcp4", addr, nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("controlAddress(%s) = %v, want ErrForbiddenAddress", addr, err)
		}
	}
	if err := controlAddress("tcp4", fakePublicIP+":443", nil); err != nil {
		t.Errorf("controlAddress(public) = %v, want nil", err)
	}
	if err := controlAddress("udp", fakePublicIP+":53", nil); err == nil {
		t.Errorf("controlAddress(udp) = nil, want an error")
	}
	// And the production fetcher (no hooks) refuses the test server itself.
	f := NewFetcher(Options{})
	_, err = f.Do(context.Background(), Request{URL: srv.URL})
	wantKind(t, err, ErrForbiddenAddress)
	if n := accepted.Load(); n != 0 {
		t.Errorf("server handled %d requests, want 0", n)
	}
}

func TestRedirectToForbiddenAddressIsRefused(t *testing.T) {
	var privateHits atomic.Int64
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		privateHits.Add(1)
		w.Write([]byte("secret"))
	}))
	defer private.Close()
	pport := portOf(t, private)

	targets := map[string]struct {
		location string
		kind     error
	}{
		"loopback literal":   {"http://127.0.0.1:" + pport + "/secret", ErrForbiddenAddress},
		"ipv6 loopback":      {"http://[::1]:" + pport + "/secret", ErrForbiddenAddress},
		"name to private":    {"http://private.test:" + pport + "/secret", ErrForbiddenAddress},
		"name to loopback":   {"http://loop.test:" + pport + "/secret", ErrForbiddenAddress},
		"metadata":           {"http://169.254.169.254/latest/meta-data/", ErrForbiddenAddress},
		"hex loopback":       {"http://0x7f000001:" + pport + "/", ErrForbiddenAddress},
		"file scheme":        {"file:///etc/passwd", ErrInvalidURL},
		"credentials":        {"http://admin:admin@public.test/", ErrInvalidURL},
		"mapped ipv6 to lo":  {"http://[::ffff:127.0.0.1]:" + pport + "/", ErrForbiddenAddress},
		"nat64 to metadata":  {"http://[64:ff9b::a9fe:a9fe]/", ErrForbiddenAddress},
		"localhost":          {"http://localhost:" + pport + "/", ErrForbiddenAddress},
		"relative to public": {"", nil}, // control: a redirect that stays public works
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			w.Write([]byte("fine"))
			return
		}
		tgt := targets[r.URL.Query().Get("t")]
		loc := tgt.location
		if loc == "" {
			loc = "/ok"
		}
		http.Redirect(w, r, loc, http.StatusFound)
	})
	_, fn, f := publicServer(t, h, map[string][]string{"private.test": {"10.0.0.1"}, "loop.test": {"127.0.0.1"}})
	for name, tgt := range targets {
		t.Run(name, func(t *testing.T) {
			resp, err := f.Do(context.Background(), Request{URL: "http://public.test:" + fn.portFor(fakePublicIP) + "/start?t=" + urlQueryEscape(name)})
			if tgt.kind == nil {
				if err != nil {
					t.Fatalf("error = %v, want nil", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != "fine" {
					t.Errorf("body = %q, want %q", body, "fine")
				}
				return
			}
			wantKind(t, err, tgt.kind)
		})
	}
	if n := privateHits.Load(); n != 0 {
		t.Errorf("private server was reached %d times, want 0", n)
	}
	for _, d := range fn.dialed() {
		if !strings.HasPrefix(d, fakePublicIP+":") {
			t.Errorf("dialed %s; only the public address may be dialed", d)
		}
	}
}

func (n *fakeNet) portFor(ip string) string {
	for k := range n.routes {
		if h, p, _ := net.SplitHostPort(k); h == ip {
			return p
		}
	}
	return ""
}

func urlQueryEscape(s string) string { return strings.ReplaceAll(s, " ", "+") }

func TestRedirectLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := len(r.URL.Path) - 1 // "/xxx" redirects to "/xx" ... "/" answers
		if n == 0 {
			w.Write([]byte("done"))
			return
		}
		http.Redirect(w, r, r.URL.Path[:n], http.StatusMovedPermanently)
	}))
	defer srv.Close()
	tests := []struct {
		name         string
		maxRedirects int
		path         string
		wantErr      error
	}{
		{"3 redirects by default", 0, "/xxx", nil},
		{"4 redirects by default", 0, "/xxxx", ErrTooManyRedirects},
		{"more than 3 is lowered to 3", 10, "/xxxx", ErrTooManyRedirects},
		{"1 allowed", 1, "/x", nil},
		{"2 with 1 allowed", 1, "/xx", ErrTooManyRedirects},
		{"none allowed", -1, "/x", ErrTooManyRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFetcher(Options{AllowPrivate: true, MaxRedirects: tt.maxRedirects})
			resp, err := f.Do(context.Background(), Request{URL: srv.URL + tt.path})
			if tt.wantErr != nil {
				e := wantKind(t, err, tt.wantErr)
				if e.Message != "the link redirects too many times" {
					t.Errorf("message = %q", e.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			resp.Body.Close()
		})
	}
}

// No cookie, credentials or Referer ever leave the fetcher, also across
// redirects, and the Range survives the redirect.
func TestNoCredentialsCookiesOrReferer(t *testing.T) {
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Clone())
		if r.URL.Path == "/start" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc"})
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			http.Redirect(w, r, "/next", http.StatusFound)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	f := NewFetcher(Options{AllowPrivate: true})
	resp, err := f.Do(context.Background(), Request{URL: srv.URL + "/start", Length: 10})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(got))
	}
	for i, h := range got {
		for _, name := range []string{"Cookie", "Authorization", "Referer", "Proxy-Authorization"} {
			if v := h.Get(name); v != "" {
				t.Errorf("request %d sent %s: %q", i, name, v)
			}
		}
		if r := h.Get("Range"); r != "bytes=0-9" {
			t.Errorf("request %d Range = %q, want bytes=0-9", i, r)
		}
		if ua := h.Get("User-Agent"); ua != DefaultUserAgent {
			t.Errorf("request %d User-Agent = %q", i, ua)
		}
		if ae := h.Get("Accept-Encoding"); ae != "" {
			t.Errorf("request %d Accept-Encoding = %q, want none", i, ae)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/trickle" {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	f := NewFetcher(Options{AllowPrivate: true, Timeout: 50 * time.Millisecond})

	t.Run("no answer", func(t *testing.T) {
		_, err := f.Do(context.Background(), Request{URL: srv.URL + "/slow"})
		e := wantKind(t, err, ErrTimeout)
		if want := "the server did not answer within 50 ms"; e.Message != want {
			t.Errorf("message = %q, want %q", e.Message, want)
		}
	})
	t.Run("slow body", func(t *testing.T) {
		resp, err := f.Do(context.Background(), Request{URL: srv.URL + "/trickle"})
		if err != nil {
			t.Fatalf("Do error = %v", err)
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		wantKind(t, err, ErrTimeout)
	})
	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := f.Do(ctx, Request{URL: srv.URL + "/slow"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
	if got, want := formatDuration(10*time.Second), "10 s"; got != want {
		t.Errorf("formatDuration(10s) = %q, want %q", got, want)
	}
}

func TestHTTPStatusErrors(t *testing.T) {
	for _, tt := range []struct {
		code int
		want string
	}{
		{404, "the server answered 404 Not Found"},
		{403, "the server answered 403 Forbidden"},
		{500, "the server answered 500 Internal Server Error"},
		{401, "the server answered 401 Unauthorized"},
		{599, "the server answered 599"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.code)
			}))
			defer srv.Close()
			_, err := NewFetcher(Options{AllowPrivate: true}).Do(context.Background(), Request{URL: srv.URL})
			e := wantKind(t, err, ErrHTTPStatus)
			if e.Message != tt.want {
				t.Errorf("message = %q, want %q", e.Message, tt.want)
			}
		})
	}
}

func TestOpenCapsBytes(t *testing.T) {
	body := strings.Repeat("x", 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.Write([]byte(body[:1]))
			w.(http.Flusher).Flush() // forces chunked encoding: no Content-Length
			w.Write([]byte(body[1:]))
			return
		}
		w.Header().Set("Content-Length", "5000")
		w.Write([]byte(body))
	}))
	defer srv.Close()
	f := NewFetcher(Options{AllowPrivate: true})
	ctx := context.Background()

	t.Run("content-length over the cap fails at once", func(t *testing.T) {
		_, err := f.Open(ctx, srv.URL+"/sized", 1000)
		e := wantKind(t, err, ErrTooLarge)
		if want := "the file is larger than the 1000 bytes limit"; e.Message != want {
			t.Errorf("message = %q, want %q", e.Message, want)
		}
	})
	t.Run("streamed body over the cap fails while reading", func(t *testing.T) {
		resp, err := f.Open(ctx, srv.URL+"/chunked", 1000)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		wantKind(t, err, ErrTooLarge)
		if n != 1000 {
			t.Errorf("read %d bytes before the error, want 1000", n)
		}
	})
	t.Run("body at the cap is fine", func(t *testing.T) {
		resp, err := f.Open(ctx, srv.URL+"/chunked", 5000)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || len(b) != 5000 {
			t.Errorf("ReadAll = %d bytes, %v; want 5000, nil", len(b), err)
		}
	})
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	f := NewFetcher(Options{AllowPrivate: true, LookupIP: (&fakeNet{tb: t}).lookupIP})
	_, err = f.Do(context.Background(), Request{URL: "http://" + addr + "/"})
	e := wantKind(t, err, ErrUnreachable)
	if e.Message != "the server refused the connection" {
		t.Errorf("message = %q", e.Message)
	}
	_, err = f.Do(context.Background(), Request{URL: "http://no-such-host.test/"})
	e = wantKind(t, err, ErrUnreachable)
	if e.Message != "this server name could not be found" {
		t.Errorf("message = %q", e.Message)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-99/1234", 0, 99, 1234, true},
		{"bytes 100-199/*", 100, 199, -1, true},
		{"bytes */1234", 0, 0, 1234, false},
		{"bytes 5-4/10", 0, 0, 10, false},
		{"bytes 0-10/10", 0, 0, 10, false},
		{"items 0-1/2", 0, 0, -1, false},
		{"", 0, 0, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, e, tot, ok := parseContentRange(tt.in)
			if ok != tt.ok || tot != tt.total || (ok && (s != tt.start || e != tt.end)) {
				t.Errorf("parseContentRange(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tt.in, s, e, tot, ok, tt.start, tt.end, tt.total, tt.ok)
			}
		})
	}
}
