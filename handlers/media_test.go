package handlers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/media"
)

// The made-up public address media.test resolves to; the test dialer routes
// it to a local server. Every other name keeps the real address rule.
const publicIP = "93.184.216.34"

// mediaServer serves test inputs as if from a public host, and counts the
// requests each path gets (so tests can prove a forbidden address was never
// fetched).
type mediaServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
	// stall holds every request under /slow/ until the test ends (release
	// closes it): a link whose server never answers.
	stall   chan struct{}
	release func()
}

func newMediaServer(t testing.TB) *mediaServer {
	t.Helper()
	png := mustRead(t, "../static/samples/character.png")
	mp4 := mustRead(t, "../static/samples/motion.mp4")
	ms := &mediaServer{hits: map[string]int{}, stall: make(chan struct{})}
	ms.release = sync.OnceFunc(func() { close(ms.stall) })
	mux := http.NewServeMux()
	serve := func(body []byte, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(body)))
		}
	}
	mux.HandleFunc("/character.png", serve(png, "image/png"))
	mux.HandleFunc("/character.jpg", serve(png, "image/jpeg")) // a PNG by content, whatever the name says
	mux.HandleFunc("/motion.mp4", serve(mp4, "video/mp4"))
	mux.HandleFunc("/page.html", serve([]byte("<!doctype html><html><body>hi</body></html>"), "text/html"))
	mux.HandleFunc("/fake.mp4", serve([]byte("<!doctype html><html><body>not a video</body></html>"), "video/mp4"))
	mux.HandleFunc("/slow/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ms.stall:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/motion.mp4", http.StatusFound)
	})
	ms.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms.mu.Lock()
		ms.hits[r.URL.Path]++
		ms.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ms.srv.Close)
	t.Cleanup(ms.release) // first: Close waits for the stalled requests
	return ms
}

// slowRequests reports how many requests reached /slow/.
func (ms *mediaServer) slowRequests() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	n := 0
	for p, v := range ms.hits {
		if strings.HasPrefix(p, "/slow/") {
			n += v
		}
	}
	return n
}

// url returns the public-looking URL of path.
func (ms *mediaServer) url(path string) string { return "http://media.test" + path }

func (ms *mediaServer) requests() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	n := 0
	for _, v := range ms.hits {
		n += v
	}
	return n
}

// netHooks are the network hooks of every fetch the app makes of a link to
// another server (the prober's, the archiver's and the sandbox's, each
// keeping the address rule): the resolver knows media.test and evil.test,
// and the dialer routes media.test's public address to the local server.
func (ms *mediaServer) netHooks() media.Options {
	local := ms.srv.Listener.Addr().String()
	return media.Options{
		LookupIP: func(ctx context.Context, host string) ([]net.IP, error) {
			switch host {
			case "media.test":
				return []net.IP{net.ParseIP(publicIP)}, nil
			case "evil.test":
				return []net.IP{net.ParseIP("10.0.0.1")}, nil
			}
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != net.JoinHostPort(publicIP, "80") {
				return nil, fmt.Errorf("test dialer: refusing %s", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, local)
		},
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// /media/:id serves only archived copies of jobs not deleted, answers HEAD,
// and says 410 Gone (not 500) when the file has gone from the disk.
func TestMediaRoute(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	ctx := context.Background()
	done := app.submitted(c)
	app.pollUntil(t, done.ID, db.JobSucceeded)
	if n := app.archiver.ArchiveDue(ctx); n != 1 {
		t.Fatalf("archived %d", n)
	}
	running := app.submitted(c)
	archived := app.job(done.ID)
	if archived.ArchiveState != db.ArchiveDone {
		t.Fatalf("archive state %q", archived.ArchiveState)
	}
	head := func(path string) *response {
		req, _ := http.NewRequest(http.MethodHead, app.srv.URL+path, nil)
		return c.do(req)
	}
	for _, path := range []string{"/media/abc", "/media/-1", "/media/0", "/media/1e3", "/media/99999",
		"/media/" + strconv.FormatInt(running.ID, 10)} {
		wantStatus(t, c.get(path), http.StatusNotFound)
		wantStatus(t, head(path), http.StatusNotFound)
	}
	path := "/media/" + strconv.FormatInt(archived.ID, 10)
	res := head(path)
	wantStatus(t, res, http.StatusOK)
	if res.ContentLength != archived.ArchiveSize || res.body != "" || res.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("HEAD: length %d (want %d), %d body bytes, type %q", res.ContentLength, archived.ArchiveSize, len(res.body), res.Header.Get("Content-Type"))
	}
	// Another member may play it (the gallery is the team's).
	other, _ := app.member("bo@example.com", 0)
	wantStatus(t, other.get(path), http.StatusOK)

	if err := os.Remove(filepath.Join(app.mediaDir, archived.ArchivePath)); err != nil {
		t.Fatal(err)
	}
	res = c.get(path)
	wantStatus(t, res, http.StatusGone)
	if h := res.doc.Find("h1").Text(); !strings.Contains(h, "missing") {
		t.Errorf("410 page heading %q", h)
	}
	if strings.Contains(res.body, app.mediaDir) || strings.Contains(res.body, archived.ArchivePath) {
		t.Error("the 410 page shows a path on the server")
	}
	wantStatus(t, head(path), http.StatusGone)
}

// A result URL that is not a web address never reaches the page as a link
// or a player source.
func TestScriptResultURLIsNotRendered(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	ctx := context.Background()
	// As if stored before the tracker checked schemes.
	if _, _, err := app.store.ApplyUpdate(ctx, job.ID, db.Update{Status: db.JobSucceeded, Source: db.SourcePoll,
		ResultURL: "javascript:alert(document.cookie)", ExpiresAt: app.clock.Now().Add(48 * time.Hour),
		Charged: &job.EstimateCredits}); err != nil {
		t.Fatal(err)
	}
	page := c.get("/jobs/" + strconv.FormatInt(job.ID, 10))
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(strings.ToLower(page.body), "javascript:") {
		t.Errorf("the page carries the javascript: URL:\n%s", snippet(page.body))
	}
	if href, _ := page.doc.Find("a[download]").Attr("href"); href != "about:invalid#TemplFailedSanitizationURL" {
		t.Errorf("download href %q, want templ's sanitized URL", href)
	}
}

// Issue 8: /media/:id was cached for a day, so a deleted video kept
// playing. The browser must revalidate every time (ETag + no-cache), and a
// revalidation after the delete must not be told "not modified".
func TestMediaRevalidatesSoADeleteTakesEffect(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	app.pollUntil(t, job.ID, db.JobSucceeded)
	app.archiver.ArchiveDue(context.Background())
	job = app.job(job.ID)
	path := "/media/" + strconv.FormatInt(job.ID, 10)

	res := c.get(path)
	wantStatus(t, res, http.StatusOK)
	etag := res.Header.Get("ETag")
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Errorf("Cache-Control %q, want %q (revalidate every time)", cc, "private, no-cache")
	}
	if etag != `"`+job.ArchiveSHA256+`"` {
		t.Errorf("ETag %q, want the SHA-256 %q", etag, job.ArchiveSHA256)
	}
	conditional := func() *response {
		req, _ := http.NewRequest(http.MethodGet, app.srv.URL+path, nil)
		req.Header.Set("If-None-Match", etag)
		return c.do(req)
	}
	wantStatus(t, conditional(), http.StatusNotModified)
	req, _ := http.NewRequest(http.MethodGet, app.srv.URL+path, nil)
	req.Header.Set("Range", "bytes=4-7")
	if res := c.do(req); res.StatusCode != http.StatusPartialContent || res.body != "ftyp" {
		t.Errorf("Range 4-7: %d %q, want 206 \"ftyp\"", res.StatusCode, res.body)
	}

	id := strconv.FormatInt(job.ID, 10)
	wantStatus(t, c.submit("/jobs/"+id, "/jobs/"+id+"/delete", nil), http.StatusSeeOther)
	res = conditional()
	if res.StatusCode == http.StatusNotModified {
		t.Fatal("after the delete, revalidating with the old ETag answered 304: the browser keeps playing it")
	}
	wantStatus(t, res, http.StatusNotFound)
}

// Results archived before the media store existed sit at
// DATA_DIR/media/YYYY-MM/<job>.mp4 and the database holds that relative
// path: they still play.
func TestMediaServesTheOldLayout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	app.pollUntil(t, job.ID, db.JobSucceeded)
	body := []byte(mp4Head + "an archive from before")
	rel := "2026-11/" + strconv.FormatInt(job.ID, 10) + ".mp4"
	if err := os.MkdirAll(filepath.Join(app.mediaDir, "2026-11"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app.mediaDir, filepath.FromSlash(rel)), body, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := app.store.MarkArchived(context.Background(), job.ID, rel, "0123", int64(len(body))); err != nil {
		t.Fatal(err)
	}
	res := c.get("/media/" + strconv.FormatInt(job.ID, 10))
	wantStatus(t, res, http.StatusOK)
	if res.body != string(body) {
		t.Errorf("served %q", res.body)
	}
	id := strconv.FormatInt(job.ID, 10)
	wantStatus(t, c.submit("/jobs/"+id, "/jobs/"+id+"/delete", nil), http.StatusSeeOther)
	if _, err := os.Stat(filepath.Join(app.mediaDir, filepath.FromSlash(rel))); !os.IsNotExist(err) {
		t.Errorf("the old file is still there after the delete: %v", err)
	}
}

const mp4Head = "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
