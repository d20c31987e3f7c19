package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return b
}

// topBoxes returns the top-level boxes of an MP4 by type (first of each).
func topBoxes(tb testing.TB, data []byte) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	for p := 0; p+8 <= len(data); {
		size := int(binary.BigEndian.Uint32(data[p:]))
		if size < 8 || p+size > len(data) {
			tb.Fatalf("bad box at %d", p)
		}
		typ := string(data[p+4 : p+8])
		if _, ok := out[typ]; !ok {
			out[typ] = data[p : p+size]
		}
		p += size
	}
	return out
}

// boxHeader returns an 8-byte header, or a 16-byte largesize one if large.
func boxHeader(typ string, size int64, large bool) []byte {
	if large {
		h := make([]byte, 16)
		binary.BigEndian.PutUint32(h, 1)
		copy(h[4:], typ)
		binary.BigEndian.PutUint64(h[8:], uint64(size))
		return h
	}
	h := make([]byte, 8)
	binary.BigEndian.PutUint32(h, uint32(size))
	copy(h[4:], typ)
	return h
}

// part is a piece of a virtualFile: literal bytes, or zeros bytes of 0.
type part struct {
	data  []byte
	zeros int64
}

func (p part) len() int64 {
	if p.data != nil {
		return int64(len(p.data))
	}
	return p.zeros
}

// virtualFile is an io.ReadSeeker over parts, so tests can serve a 1 GiB
// "video" that is mostly zeros without allocating it.
type virtualFile struct {
	parts []part
	size  int64
	off   int64
}

func newVirtualFile(parts ...part) *virtualFile {
	v := &virtualFile{parts: parts}
	for _, p := range parts {
		v.size += p.len()
	}
	return v
}

func (v *virtualFile) Read(b []byte) (int, error) {
	if v.off >= v.size {
		return 0, io.EOF
	}
	n := 0
	start := int64(0)
	for _, p := range v.parts {
		end := start + p.len()
		if v.off < end && n < len(b) {
			in := v.off - start
			k := min(int64(len(b)-n), p.len()-in)
			if p.data != nil {
				copy(b[n:], p.data[in:in+k])
			} else {
				clear(b[n : n+int(k)])
			}
			n += int(k)
			v.off += int64(k)
		}
		start = end
	}
	return n, nil
}

func (v *virtualFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += v.off
	case io.SeekEnd:
		offset += v.size
	}
	if offset < 0 {
		return 0, errors.New("negative seek")
	}
	v.off = offset
	return offset, nil
}

// bigMP4 builds a virtual MP4 of about total bytes from a fixture's ftyp and
// moov, with moov before or after a zero-filled mdat.
func bigMP4(tb testing.TB, total int64, moovFirst, largeMdat bool) (func() io.ReadSeeker, int64) {
	tb.Helper()
	boxes := topBoxes(tb, readFixture(tb, "faststart.mp4"))
	ftyp, moov := boxes["ftyp"], boxes["moov"]
	hdrLen := int64(8)
	if largeMdat {
		hdrLen = 16
	}
	mdatSize := total - int64(len(ftyp)) - int64(len(moov))
	mdat := []part{{data: boxHeader("mdat", mdatSize, largeMdat)}, {zeros: mdatSize - hdrLen}}
	var parts []part
	if moovFirst {
		parts = append([]part{{data: ftyp}, {data: moov}}, mdat...)
	} else {
		parts = append(append([]part{{data: ftyp}}, mdat...), part{data: moov})
	}
	return func() io.ReadSeeker { return newVirtualFile(parts...) }, int64(len(moov))
}

// fileServer serves one file and records what it was asked for.
type fileServer struct {
	*httptest.Server
	open        func() io.ReadSeeker
	noRange     bool
	contentType string

	mu       sync.Mutex
	ranges   []string
	headers  []http.Header
	hits     atomic.Int64
	bytesOut atomic.Int64
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func newFileServer(tb testing.TB, open func() io.ReadSeeker, noRange bool) *fileServer {
	tb.Helper()
	fs := &fileServer{open: open, noRange: noRange, contentType: "application/octet-stream"}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	tb.Cleanup(fs.Close)
	return fs
}

func bytesFile(b []byte) func() io.ReadSeeker {
	return func() io.ReadSeeker { return bytes.NewReader(b) }
}

func (fs *fileServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.hits.Add(1)
	fs.mu.Lock()
	fs.ranges = append(fs.ranges, r.Header.Get("Range"))
	fs.headers = append(fs.headers, r.Header.Clone())
	fs.mu.Unlock()
	w.Header().Set("Content-Type", fs.contentType)
	cw := countingWriter{w, &fs.bytesOut}
	f := fs.open()
	if fs.noRange {
		size, _ := f.Seek(0, io.SeekEnd)
		f.Seek(0, io.SeekStart)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(cw, f)
		return
	}
	http.ServeContent(cw, r, "", time.Time{}, f)
}

func (fs *fileServer) requestedRanges() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.ranges...)
}

// localProber returns a Prober that may reach the loopback test servers.
func localProber(tb testing.TB, opts ProberOptions) *Prober {
	tb.Helper()
	return NewProber(NewFetcher(Options{AllowPrivate: true, Timeout: 5 * time.Second}), opts)
}

// fakeNet routes made-up host names to addresses, and made-up public
// addresses to local test servers, recording every dial.
type fakeNet struct {
	tb     testing.TB
	hosts  map[string][]string // host name -> IPs
	routes map[string]string   // "ip:port" -> real "127.0.0.1:port"

	mu    sync.Mutex
	dials []string
}

func (n *fakeNet) lookupIP(_ context.Context, host string) ([]net.IP, error) {
	ips, ok := n.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IP
	for _, s := range ips {
		out = append(out, net.ParseIP(s))
	}
	return out, nil
}

func (n *fakeNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	n.dials = append(n.dials, addr)
	n.mu.Unlock()
	real, ok := n.routes[addr]
	if !ok {
		n.tb.Errorf("dial of unexpected address %s", addr)
		return nil, errors.New("fakeNet: no route")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, real)
}

func (n *fakeNet) dialed() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.dials...)
}

// fakeClock is a settable clock for the cache.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// wantKind fails unless err is an *Error of kind.
func wantKind(tb testing.TB, err, kind error) *Error {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %v", kind)
	}
	var me *Error
	if !errors.As(err, &me) {
		tb.Fatalf("got %T %v, want *Error of kind %v", err, err, kind)
	}
	if !errors.Is(err, kind) {
		tb.Fatalf("got kind %v (%q), want %v", me.Kind, me.Message, kind)
	}
	return me
}

// eventually polls cond until it holds, failing the test after 10 s; it
// waits for goroutines to reach a state, it does not time anything.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// gate returns a channel that test handlers wait on and the function that
// opens it. It is opened at the latest when the test ends, so a failing test
// never leaves handlers blocking httptest.Server.Close.
func gate(tb testing.TB) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(ch) }) }
	tb.Cleanup(open)
	return ch, open
}
