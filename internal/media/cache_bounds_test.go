package media

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangingServer never answers until the test ends, and counts requests.
func hangingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv, &hits
}

// A link that times out is remembered for ErrorTTL like any other failure,
// so a member typing next to it does not refetch it on every keystroke.
func TestProberCachesTimeouts(t *testing.T) {
	srv, hits := hangingServer(t)
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := NewProber(NewFetcher(Options{AllowPrivate: true, Timeout: 50 * time.Millisecond}),
		ProberOptions{Now: clock.Now, ErrorTTL: 20 * time.Second})
	for i := range 3 {
		_, err := p.ProbeVideo(context.Background(), srv.URL+"/slow.mp4")
		e := wantKind(t, err, ErrTimeout)
		if want := "the server did not answer within 50 ms"; e.Message != want {
			t.Errorf("probe %d: message = %q, want %q", i, e.Message, want)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("three probes made %d requests, want 1", n)
	}
	clock.Advance(21 * time.Second)
	p.ProbeVideo(context.Background(), srv.URL+"/slow.mp4")
	if n := hits.Load(); n != 2 {
		t.Errorf("after the error TTL: %d requests, want 2", n)
	}
}

// A probe as a whole stops at ProbeTimeout, even when each of its requests
// is within the Fetcher's own timeout, and that timeout is cached too.
func TestProbeTimeoutBoundsTheWholeProbe(t *testing.T) {
	srv, hits := hangingServer(t)
	p := NewProber(NewFetcher(Options{AllowPrivate: true, Timeout: 10 * time.Second}),
		ProberOptions{ProbeTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := p.ProbeVideo(context.Background(), srv.URL+"/slow.mp4")
	e := wantKind(t, err, ErrTimeout)
	if want := "checking this link took longer than 100 ms"; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the probe took %v; the 100 ms bound did not hold", d)
	}
	if _, err := p.ProbeImage(context.Background(), srv.URL+"/slow.png"); !errors.Is(err, ErrTimeout) {
		t.Errorf("image probe error = %v, want ErrTimeout", err)
	}
	p.ProbeVideo(context.Background(), srv.URL+"/slow.mp4")
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (one per link; the second video probe cached)", n)
	}
}

// At most MaxProbes probes run at once; the others wait for a slot, and a
// caller who gives up while waiting leaves without fetching anything.
func TestProbesShareABoundedNumberOfSlots(t *testing.T) {
	png := readFixture(t, "image.png")
	release, releaseAll := gate(t)
	var running, most, hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		running.Add(-1)
		w.Write(png)
	}))
	defer srv.Close()
	p := NewProber(NewFetcher(Options{AllowPrivate: true, Timeout: 10 * time.Second}), ProberOptions{MaxProbes: 2})

	const n = 5
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = p.ProbeImage(context.Background(), srv.URL+"/"+strconv.Itoa(i)+".png")
		})
	}
	eventually(t, "two probes run and the rest wait", func() bool { return running.Load() == 2 && p.cache.queuedCallers() == n-2 })

	// One more caller gives up while waiting for a slot.
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := p.ProbeImage(ctx, srv.URL+"/impatient.png")
		gaveUp <- err
	}()
	eventually(t, "the impatient caller waits for a slot", func() bool { return p.cache.queuedCallers() == n-1 })
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("caller that gave up got %v, want context.Canceled", err)
	}

	releaseAll()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("probe %d: %v", i, err)
		}
	}
	if m := most.Load(); m != 2 {
		t.Errorf("%d probes ran at once, want at most 2", m)
	}
	if h := hits.Load(); h != n {
		t.Errorf("%d requests, want %d (none for the caller who gave up)", h, n)
	}
	if q := p.cache.queuedCallers(); q != 0 {
		t.Errorf("%d callers still queued", q)
	}
}
