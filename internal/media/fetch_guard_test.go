package media

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const fakeProxyIP = "93.184.216.35"

// The fetcher never goes through a proxy named in the environment. net/http
// reads HTTP_PROXY once per process, so the check runs in a fresh copy of
// this test binary with the variables set.
func TestFetcherIgnoresProxyEnvironment(t *testing.T) {
	if os.Getenv("MEDIA_TEST_PROXY_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFetcherIgnoresProxyEnvironment$", "-test.count=1")
		cmd.Env = append(os.Environ(), "MEDIA_TEST_PROXY_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PASS") {
			t.Fatalf("child test failed: %v\n%s", err, out)
		}
		return
	}
	var proxyHits atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxyHits.Add(1)
		w.Write([]byte("from the proxy"))
	}))
	defer proxy.Close()
	_, fn, f := publicServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("direct"))
	}), map[string][]string{"proxy.test": {fakeProxyIP}})
	// The proxy is a public host too, so a fetcher that used it could reach it.
	fn.routes[net.JoinHostPort(fakeProxyIP, portOf(t, proxy))] = proxy.Listener.Addr().String()
	proxyURL := "http://proxy.test:" + portOf(t, proxy)
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"} {
		t.Setenv(k, proxyURL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	if p, _ := http.ProxyFromEnvironment(httptest.NewRequest("GET", "http://public.test/", nil)); p == nil || p.String() != proxyURL {
		t.Fatalf("test setup: the environment names proxy %v, want %s", p, proxyURL)
	}
	for _, r := range []Request{{}, {Length: 100}} {
		r.URL = "http://public.test:" + fn.portFor(fakePublicIP) + "/v.mp4"
		resp, err := f.Do(context.Background(), r)
		if err != nil {
			t.Fatalf("Do(%+v) error = %v", r, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "direct" {
			t.Errorf("body = %q, want the server's own answer", body)
		}
	}
	if n := proxyHits.Load(); n != 0 {
		t.Errorf("the proxy got %d requests, want 0", n)
	}
	for _, d := range fn.dialed() {
		if strings.HasPrefix(d, fakeProxyIP+":") {
			t.Errorf("dialed the proxy at %s", d)
		}
	}
}

// The Control hook is attached to the production dialer: a dial that skips
// the resolver check (here: straight to a literal loopback address) is
// refused on the socket, before connect.
func TestProductionDialerRefusesAtTheSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	f := NewFetcher(Options{})
	for _, network := range []string{"tcp", "tcp4"} {
		conn, err := f.dial(context.Background(), network, ln.Addr().String())
		if err == nil {
			conn.Close()
			t.Fatalf("%s dial of %s succeeded, want it refused", network, ln.Addr())
		}
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s dial error = %v, want ErrForbiddenAddress", network, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("listener accepted %d connections, want 0", n)
	}
	// AllowPrivate takes the hook away, and nothing else does.
	conn, err := NewFetcher(Options{AllowPrivate: true}).dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("AllowPrivate dial: %v", err)
	}
	conn.Close()
}

// A 206 is only accepted for a ranged request, starting where asked and
// ending no later than asked.
func TestPartialAnswerMustMatchTheRange(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cr := r.URL.Query().Get("cr"); cr != "-" {
			w.Header().Set("Content-Range", cr)
		}
		w.WriteHeader(http.StatusPartialContent)
		w.Write([]byte(strings.Repeat("x", 10)))
	}))
	defer srv.Close()
	f := NewFetcher(Options{AllowPrivate: true})
	tests := []struct {
		name          string
		start, length int64
		contentRange  string
		wantMessage   string // "" means accepted
	}{
		{"matches", 100, 10, "bytes 100-109/1000", ""},
		{"shorter than asked", 100, 20, "bytes 100-109/1000", ""},
		{"open-ended", 100, 0, "bytes 100-109/110", ""},
		{"not asked for a range", 0, 0, "bytes 0-9/1000", "the server sent a partial answer"},
		{"other start", 100, 10, "bytes 0-9/1000", "the server sent the wrong part of the file"},
		{"ends past the range", 100, 10, "bytes 100-119/1000", "the server sent the wrong part of the file"},
		{"no Content-Range", 100, 10, "-", "the server sent the wrong part of the file"},
		{"unparsable", 100, 10, "bytes 100-x/1000", "the server sent the wrong part of the file"},
		{"unsatisfied form", 100, 10, "bytes */1000", "the server sent the wrong part of the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := srv.URL + "/f?cr=" + strings.NewReplacer(" ", "%20", "/", "%2F", "*", "%2A").Replace(tt.contentRange)
			resp, err := f.Do(context.Background(), Request{URL: u, Start: tt.start, Length: tt.length})
			if tt.wantMessage == "" {
				if err != nil {
					t.Fatalf("error = %v, want none", err)
				}
				if !resp.Partial || resp.Start != tt.start {
					t.Errorf("response %+v", resp)
				}
				resp.Body.Close()
				return
			}
			e := wantKind(t, err, ErrCorrupt)
			if e.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", e.Message, tt.wantMessage)
			}
		})
	}
}

// A plain GET (no Range), which Go's transport would otherwise send with
// "Accept-Encoding: gzip" and transparently inflate, asks for no encoding,
// so byte caps count the bytes on the wire.
func TestNoCompressionOnAPlainGet(t *testing.T) {
	const text = "hello, this is the whole file"
	var asked atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.Header.Get("Accept-Encoding"))
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			gz.Write([]byte(text))
			gz.Close()
			return
		}
		w.Write([]byte(text))
	}))
	defer srv.Close()

	// Control: the same request through a default transport asks for gzip.
	res, err := (&http.Client{Transport: &http.Transport{}}).Get(srv.URL + "/f")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := asked.Load(); got != "gzip" {
		t.Fatalf("test setup: a default transport sent Accept-Encoding %q, want gzip", got)
	}

	f := NewFetcher(Options{AllowPrivate: true, Timeout: 5 * time.Second})
	resp, err := f.Open(context.Background(), srv.URL+"/f", 1000)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := asked.Load(); got != "" {
		t.Errorf("fetcher sent Accept-Encoding %q, want none", got)
	}
	if string(body) != text {
		t.Errorf("body = %q, want %q", body, text)
	}
}

// NewHTTPClient keeps the Fetcher's rules for callers that use net/http
// directly: internal addresses (also behind a name or a redirect) are
// refused, public ones work, redirects are counted.
func TestNewHTTPClient(t *testing.T) {
	var privateHits atomic.Int64
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { privateHits.Add(1) }))
	defer private.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("fine"))
		case "/to-private":
			http.Redirect(w, r, "http://loop.test:"+portOf(t, private)+"/", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default: // /r/N redirects N times
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
			if n == 0 {
				http.Redirect(w, r, "/ok", http.StatusFound)
				return
			}
			http.Redirect(w, r, "/r/"+strconv.Itoa(n-1), http.StatusFound)
		}
	})
	_, fn, _ := publicServer(t, h, map[string][]string{"loop.test": {"127.0.0.1"}})
	c := NewHTTPClient(Options{LookupIP: fn.lookupIP, Dial: fn.dial, Timeout: 5 * time.Second})
	base := "http://public.test:" + fn.portFor(fakePublicIP)
	get := func(u string) (string, error) {
		res, err := c.Get(u)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}
	if body, err := get(base + "/ok"); err != nil || body != "fine" {
		t.Errorf("public link: %q, %v", body, err)
	}
	if body, err := get(base + "/r/2"); err != nil || body != "fine" {
		t.Errorf("3 redirects: %q, %v", body, err)
	}
	for path, kind := range map[string]error{
		"/to-private":  ErrForbiddenAddress,
		"/to-metadata": ErrForbiddenAddress,
		"/r/3":         ErrTooManyRedirects,
	} {
		if _, err := get(base + path); !errors.Is(err, kind) {
			t.Errorf("%s: error %v, want %v", path, err, kind)
		}
	}
	for _, u := range []string{private.URL, "http://loop.test:" + portOf(t, private) + "/"} {
		if _, err := get(u); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: error %v, want ErrForbiddenAddress", u, err)
		}
	}
	if n := privateHits.Load(); n != 0 {
		t.Errorf("the private server got %d requests", n)
	}
	if tr, ok := c.Transport.(*http.Transport); !ok || tr.Proxy != nil || !tr.DisableCompression {
		t.Errorf("transport %T does not keep the fetcher's settings", c.Transport)
	}
	if c.Timeout != 5*time.Second {
		t.Errorf("Timeout = %v, want 5s", c.Timeout)
	}
}
