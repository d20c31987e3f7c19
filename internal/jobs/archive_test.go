package jobs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/media"
	"swapdesk/internal/storage"
)

// fileMedia is a file media store rooted at dir.
func fileMedia(t *testing.T, dir string) storage.Store {
	t.Helper()
	st, err := storage.Open(context.Background(), storage.Location{Scheme: "file", Dir: dir}, storage.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeArchiveStore records what the archiver decided. DueForArchive returns
// due, whatever happened to them; failMark makes MarkArchived fail.
type fakeArchiveStore struct {
	mu        sync.Mutex
	archived  map[int64]string
	scheduled map[int64]time.Time
	ended     map[int64]string
	details   map[int64]string
	due       []db.Job
	failMark  error
}

func newFakeArchiveStore() *fakeArchiveStore {
	return &fakeArchiveStore{archived: map[int64]string{}, scheduled: map[int64]time.Time{}, ended: map[int64]string{}, details: map[int64]string{}}
}

func (f *fakeArchiveStore) DueForArchive(_ context.Context, _ time.Time, limit int) ([]db.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.due[:min(limit, len(f.due))], nil
}

func (f *fakeArchiveStore) ScheduleArchive(_ context.Context, id int64, at time.Time, _ int, detail string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scheduled[id], f.details[id] = at, detail
	return nil
}

func (f *fakeArchiveStore) MarkArchived(_ context.Context, id int64, path, _ string, _ int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failMark != nil {
		return f.failMark
	}
	f.archived[id] = path
	return nil
}

func (f *fakeArchiveStore) EndArchive(_ context.Context, id int64, state, detail string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended[id], f.details[id] = state, detail
	return nil
}

func mp4Header() string { return "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" }

func TestArchiveOutcomes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.mp4":
			w.Write([]byte(mp4Header() + strings.Repeat("v", 1000)))
		case "/page.mp4":
			w.Write([]byte("<!doctype html><html>nope</html>"))
		case "/huge.mp4":
			w.Write([]byte(mp4Header() + strings.Repeat("v", 5000)))
		case "/short.mp4":
			w.Header().Set("Content-Length", "1500")
			w.Write([]byte(mp4Header() + "cut"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name      string
		path      string
		expires   time.Time
		wantState string // "archived", "retry", or an end state
	}{
		{"a real mp4 is archived", "/ok.mp4", now.Add(time.Hour), "archived"},
		{"an html page is retried", "/page.mp4", now.Add(48 * time.Hour), "retry"},
		{"a 404 before expiry is retried", "/gone.mp4", now.Add(48 * time.Hour), "retry"},
		{"a truncated download is retried", "/short.mp4", now.Add(48 * time.Hour), "retry"},
		{"over the size cap fails for good", "/huge.mp4", now.Add(48 * time.Hour), db.ArchiveFailed},
		{"past expiry is expired", "/ok.mp4", now.Add(-time.Second), db.ArchiveExpired},
		{"a failure within the last minute is expired", "/gone.mp4", now.Add(30 * time.Second), db.ArchiveExpired},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeArchiveStore()
			dir := t.TempDir()
			a := NewArchiver(ArchiverConfig{Store: store, Media: fileMedia(t, dir), Now: func() time.Time { return now }, MaxBytes: 2000,
				Open: media.NewFetcher(media.Options{AllowPrivate: true, Timeout: 5 * time.Second})})
			id := int64(i + 1)
			a.Archive(context.Background(), db.Job{ID: id, ResultURL: srv.URL + tt.path, FinishedAt: now, ResultExpiresAt: tt.expires})
			got := "?"
			switch {
			case store.archived[id] != "":
				got = "archived"
			case !store.scheduled[id].IsZero():
				got = "retry"
				if !store.scheduled[id].After(now) || !store.scheduled[id].Before(tt.expires) {
					t.Errorf("retry at %v, want between now and the expiry %v", store.scheduled[id], tt.expires)
				}
			case store.ended[id] != "":
				got = store.ended[id]
			}
			if got != tt.wantState {
				t.Fatalf("outcome %q (%s), want %q", got, store.details[id], tt.wantState)
			}
			// Nothing half-written is left behind.
			var files []string
			filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					files = append(files, filepath.Base(p))
				}
				return nil
			})
			want := 0
			if got == "archived" {
				want = 1
				if files[0] != strconv.FormatInt(id, 10)+".mp4" {
					t.Errorf("archived as %q", files[0])
				}
			}
			if len(files) != want {
				t.Errorf("files left in the media dir: %v", files)
			}
		})
	}
}

// A link that keeps serving something other than an MP4 is given up after
// maxNotMP4 downloads, not retried until Akool's copy expires.
func TestArchiveGivesUpOnANonMP4(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<!doctype html><html>Access denied</html>"))
	}))
	defer srv.Close()
	store := newFakeArchiveStore()
	a := NewArchiver(ArchiverConfig{Store: store, Media: fileMedia(t, t.TempDir()), Now: func() time.Time { return now },
		Open: media.NewFetcher(media.Options{AllowPrivate: true, Timeout: 5 * time.Second})})
	for attempts := 0; attempts < maxNotMP4; attempts++ {
		j := db.Job{ID: 1, ResultURL: srv.URL + "/r.mp4", FinishedAt: now, ResultExpiresAt: now.Add(6 * 24 * time.Hour), ArchiveAttempts: attempts}
		a.Archive(context.Background(), j)
		if last := attempts == maxNotMP4-1; last != (store.ended[1] != "") {
			t.Fatalf("after try %d: ended %q, scheduled %v", attempts+1, store.ended[1], store.scheduled[1])
		}
	}
	if store.ended[1] != db.ArchiveFailed || !strings.Contains(store.details[1], "not an MP4") {
		t.Errorf("ended %q (%s), want archive_failed saying it is not an MP4", store.ended[1], store.details[1])
	}
}

// The ftyp box is checked on the first bytes: a result that is not an MP4
// is refused without waiting for (or writing) the rest.
func TestArchiveChecksTheFirstBytes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000000")
		w.Write([]byte("<!doctype html><html>"))
		w.(http.Flusher).Flush()
		select { // the rest never comes
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stop)
	store := newFakeArchiveStore()
	dir := t.TempDir()
	a := NewArchiver(ArchiverConfig{Store: store, Media: fileMedia(t, dir), Now: func() time.Time { return now }, MaxBytes: 2 << 30,
		Open: media.NewFetcher(media.Options{AllowPrivate: true, Timeout: time.Minute}), Timeout: time.Minute})
	within(t, 20*time.Second, "Archive of a stalled non-MP4", func() {
		a.Archive(context.Background(), db.Job{ID: 1, ResultURL: srv.URL + "/r.mp4", FinishedAt: now, ResultExpiresAt: now.Add(48 * time.Hour)})
	})
	if store.scheduled[1].IsZero() || !strings.Contains(store.details[1], "not an MP4") {
		t.Errorf("outcome: scheduled %v, detail %q; want a retry saying it is not an MP4", store.scheduled[1], store.details[1])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("the media dir has %d entries, want nothing written", len(entries))
	}
}

// Akool's link pointing at a private address is never fetched: the
// archive fails for good.
func TestArchiveRefusesPrivateAddresses(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(mp4Header()))
	}))
	defer srv.Close()
	store := newFakeArchiveStore()
	a := NewArchiver(ArchiverConfig{Store: store, Media: fileMedia(t, t.TempDir()), Now: func() time.Time { return now },
		Open: media.NewFetcher(media.Options{Timeout: 5 * time.Second})}) // the production rule: no private addresses
	for i, u := range []string{srv.URL + "/r.mp4", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/r.mp4", "http://10.0.0.1/r.mp4"} {
		id := int64(i + 1)
		a.Archive(context.Background(), db.Job{ID: id, ResultURL: u, FinishedAt: now, ResultExpiresAt: now.Add(48 * time.Hour)})
		if store.ended[id] != db.ArchiveFailed || !strings.Contains(store.details[id], "cannot be fetched") {
			t.Errorf("%s: ended %q (%s), want archive_failed", u, store.ended[id], store.details[id])
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the private server was fetched %d times", n)
	}
}

// When the archived copy cannot be recorded the job stays due in the
// database; the archiver must not download it again and again.
func TestFailedMarkDoesNotRedownload(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var downloads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downloads.Add(1)
		w.Write([]byte(mp4Header() + strings.Repeat("v", 1000)))
	}))
	defer srv.Close()
	store := newFakeArchiveStore()
	store.failMark = errors.New("database is locked")
	store.due = []db.Job{{ID: 1, ResultURL: srv.URL + "/r.mp4", FinishedAt: now, ResultExpiresAt: now.Add(48 * time.Hour)}}
	clock := now
	dir := t.TempDir()
	a := NewArchiver(ArchiverConfig{Store: store, Media: fileMedia(t, dir), Now: func() time.Time { return clock },
		Open: media.NewFetcher(media.Options{AllowPrivate: true, Timeout: 5 * time.Second})})
	within(t, 20*time.Second, "ArchiveDue", func() {
		if n := a.ArchiveDue(context.Background()); n != 1 {
			t.Errorf("first run tried %d, want 1", n)
		}
	})
	if n := a.ArchiveDue(context.Background()); n != 0 {
		t.Errorf("second run tried %d, want 0: the job is held back", n)
	}
	if n := downloads.Load(); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "results", "*", "*"))
	if len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
	clock = clock.Add(2 * time.Hour)
	if n := a.ArchiveDue(context.Background()); n != 1 || downloads.Load() != 2 {
		t.Errorf("after the hold: tried %d, %d downloads; want 1 and 2", n, downloads.Load())
	}
}

// within runs fn and fails the test if it has not returned after d (the
// bug it guards against is a hang or a tight loop, not slowness).
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}
