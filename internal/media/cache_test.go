package media

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestProberCachesResultsAndErrors(t *testing.T) {
	fs := newFileServer(t, bytesFile(readFixture(t, "faststart.mp4")), false)
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := localProber(t, ProberOptions{CacheTTL: 5 * time.Minute, ErrorTTL: 20 * time.Second, Now: clock.Now})
	ctx := context.Background()
	fetches := func() int64 { t.Helper(); return p.Fetcher().Stats().Requests }

	probe := func() {
		t.Helper()
		if _, err := p.ProbeVideo(ctx, fs.URL+"/v.mp4"); err != nil {
			t.Fatalf("ProbeVideo: %v", err)
		}
	}
	probe()
	probe()
	if got := fetches(); got != 1 {
		t.Errorf("after two probes: %d requests, want 1", got)
	}
	// The same URL as an image is a different question.
	if _, err := p.ProbeImage(ctx, fs.URL+"/v.mp4"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ProbeImage of an MP4 = %v, want ErrUnsupported", err)
	}
	if got := fetches(); got != 2 {
		t.Errorf("after image probe: %d requests, want 2", got)
	}
	clock.Advance(5*time.Minute - time.Second)
	probe()
	if got := fetches(); got != 2 {
		t.Errorf("just before the TTL: %d requests, want 2", got)
	}
	clock.Advance(2 * time.Second)
	probe()
	if got := fetches(); got != 3 {
		t.Errorf("after the TTL: %d requests, want 3", got)
	}

	// Errors are kept briefly.
	for i := 0; i < 3; i++ {
		if _, err := p.ProbeVideo(ctx, notFound.URL+"/missing.mp4"); !errors.Is(err, ErrHTTPStatus) {
			t.Fatalf("ProbeVideo(404) = %v, want ErrHTTPStatus", err)
		}
	}
	if got := fetches(); got != 4 {
		t.Errorf("after three 404 probes: %d requests, want 4", got)
	}
	clock.Advance(21 * time.Second)
	p.ProbeVideo(ctx, notFound.URL+"/missing.mp4")
	if got := fetches(); got != 5 {
		t.Errorf("after the error TTL: %d requests, want 5", got)
	}

	// Invalid links are refused before the cache and the network.
	if _, err := p.ProbeVideo(ctx, "file:///etc/passwd"); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("file link = %v, want ErrInvalidURL", err)
	}
	if got := fetches(); got != 5 {
		t.Errorf("after an invalid link: %d requests, want 5", got)
	}
}

func TestProberCacheIsBounded(t *testing.T) {
	fs := newFileServer(t, bytesFile(readFixture(t, "image.png")), false)
	p := localProber(t, ProberOptions{CacheSize: 2})
	ctx := context.Background()
	for i := range 3 {
		if _, err := p.ProbeImage(ctx, fs.URL+"/"+strconv.Itoa(i)+".png"); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.cache.len(); n != 2 {
		t.Errorf("cache holds %d entries, want 2", n)
	}
	p.ProbeImage(ctx, fs.URL+"/2.png") // most recent: cached
	if got := fs.hits.Load(); got != 3 {
		t.Errorf("hits = %d, want 3", got)
	}
	p.ProbeImage(ctx, fs.URL+"/0.png") // evicted: fetched again
	if got := fs.hits.Load(); got != 4 {
		t.Errorf("hits = %d, want 4", got)
	}
}

// Concurrent probes of one URL share one fetch; a caller that gives up does
// not cancel it for the others.
func TestProberSharesConcurrentFetches(t *testing.T) {
	png := readFixture(t, "image.png")
	release, releaseAll := gate(t)
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write(png)
	}))
	defer srv.Close()
	p := localProber(t, ProberOptions{})
	link := srv.URL + "/a.png"

	const n = 10
	impatient, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	results := make([]ImageInfo, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i == 0 {
				ctx = impatient
			}
			results[i], errs[i] = p.ProbeImage(ctx, link)
		}()
		if i == 0 {
			// The impatient caller is the one that starts the probe: its
			// cancellation is what must not reach the others.
			eventually(t, "the first caller starts the probe", func() bool { return p.cache.waiting("image "+link) == 1 })
		}
	}
	eventually(t, "every caller joins the probe", func() bool { return p.cache.waiting("image "+link) == n })
	cancel()
	eventually(t, "the impatient caller leaves", func() bool { return p.cache.waiting("image "+link) == n-1 })
	releaseAll()
	wg.Wait()

	if !errors.Is(errs[0], context.Canceled) {
		t.Errorf("impatient caller got %v, want context.Canceled", errs[0])
	}
	for i := 1; i < n; i++ {
		if errs[i] != nil || results[i].Width != 64 {
			t.Errorf("caller %d got %+v, %v", i, results[i], errs[i])
		}
	}
	if hits != 1 {
		t.Errorf("server hits = %d, want 1", hits)
	}
	// And the result was cached for the next caller.
	if _, err := p.ProbeImage(context.Background(), link); err != nil || hits != 1 {
		t.Errorf("after the flight: err %v, hits %d; want nil, 1", err, hits)
	}
}
