package jobs

import (
	"context"
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

// fakeArchiveStore records what the archiver decided.
type fakeArchiveStore struct {
	mu        sync.Mutex
	archived  map[int64]string
	scheduled map[int64]time.Time
	ended     map[int64]string
	details   map[int64]string
}

func newFakeArchiveStore() *fakeArchiveStore {
	return &fakeArchiveStore{archived: map[int64]string{}, scheduled: map[int64]time.Time{}, ended: map[int64]string{}, details: map[int64]string{}}
}

func (f *fakeArchiveStore) DueForArchive(context.Context, time.Time, int) ([]db.Job, error) {
	return nil, nil
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
			a := NewArchiver(ArchiverConfig{Store: store, Dir: dir, Now: func() time.Time { return now }, MaxBytes: 2000,
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

func TestBackoffGrowsAndCaps(t *testing.T) {
	base, max := 5*time.Second, 60*time.Second
	for n, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 60 * time.Second, 60 * time.Second} {
		for i := 0; i < 50; i++ {
			got := Backoff(base, max, n)
			if got < want*8/10 || got > want*12/10 {
				t.Fatalf("Backoff(%d) = %v, want %v ±20%%", n, got, want)
			}
		}
	}
	if got := Backoff(base, max, 1000); got > max*12/10 {
		t.Errorf("Backoff(1000) = %v, want capped", got)
	}
}
