package media

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A member's slow links hold at most MaxPerMember slots: their next probe
// is refused with ErrBusy without reaching the server, even after they hung
// up on a running one (the probe goes on, and keeps its slot), while another
// member's probe runs at once.
func TestMemberProbesAreCapped(t *testing.T) {
	png := readFixture(t, "image.png")
	slow, slowHits := hangingServer(t)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(png) }))
	defer good.Close()
	p := NewProber(NewFetcher(Options{AllowPrivate: true, Timeout: time.Minute}),
		ProberOptions{MaxProbes: 8, MaxPerMember: 2, MemberWait: time.Millisecond, ProbeTimeout: time.Minute})
	a := ForMember(context.Background(), "a")

	hungUp, hangUp := context.WithCancel(a)
	gone := make(chan error, 1)
	go func() {
		_, err := p.ProbeImage(hungUp, slow.URL+"/1.png")
		gone <- err
	}()
	go p.ProbeImage(a, slow.URL+"/2.png")
	eventually(t, "a's two probes reach the slow server", func() bool { return slowHits.Load() == 2 })
	hangUp()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the probe a hung up on returned %v, want context.Canceled", err)
	}

	_, err := p.ProbeImage(a, slow.URL+"/3.png")
	if !errors.Is(err, ErrBusy) {
		t.Errorf("a's third probe: got %v, want ErrBusy", err)
	}
	var me *Error
	if !errors.As(err, &me) || !strings.Contains(me.Message, "still running") {
		t.Errorf("a's third probe: message %q, want one saying the other checks are still running", err)
	}
	if n := slowHits.Load(); n != 2 {
		t.Errorf("the slow server got %d requests, want 2 (a's third must not start)", n)
	}

	if _, err := p.ProbeImage(ForMember(context.Background(), "b"), good.URL+"/b.png"); err != nil {
		t.Errorf("b's probe while a holds two slots: %v", err)
	}
}

// When a slot frees, it goes to the waiting member who runs the fewest
// probes, not to whoever asked first; a member below its own limit waits
// for the team's slots without being refused.
func TestFreeSlotsGoToTheMemberRunningFewest(t *testing.T) {
	s := newProbeSlots(3, 2, time.Millisecond)
	ctx := context.Background()
	for _, m := range []string{"a", "a", "c"} {
		if err := s.acquire(ctx, m); err != nil {
			t.Fatalf("acquire for %s: %v", m, err)
		}
	}
	got := make(chan string, 2)
	wait := func(m string) {
		go func() {
			if err := s.acquire(ctx, m); err != nil {
				t.Errorf("acquire for %s: %v", m, err)
			}
			got <- m
		}()
	}
	wait("c") // runs one already, asks first
	eventually(t, "c waits", func() bool { return s.waiting() == 1 })
	wait("d") // runs none
	eventually(t, "d waits", func() bool { return s.waiting() == 2 })
	// Long past the member wait: both are below their own limit, so both
	// still wait (a refusal would show up as an error above).
	time.Sleep(20 * time.Millisecond)
	if n := s.waiting(); n != 2 {
		t.Fatalf("%d waiting after the member wait, want 2", n)
	}

	s.release("a")
	if m := <-got; m != "d" {
		t.Errorf("the freed slot went to %s, want d (running none)", m)
	}
	s.release("a")
	if m := <-got; m != "c" {
		t.Errorf("the next slot went to %s, want c", m)
	}
	if n := s.waiting(); n != 0 {
		t.Errorf("%d still waiting", n)
	}
}

// A member at its own limit waits for one of its own probes to end, up to
// the member wait; a probe given up on while waiting leaves no slot taken.
func TestMemberAtLimitWaitsBriefly(t *testing.T) {
	s := newProbeSlots(8, 1, time.Hour)
	ctx := context.Background()
	if err := s.acquire(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- s.acquire(ctx, "a") }()
	eventually(t, "a's second probe waits", func() bool { return s.waiting() == 1 })
	s.release("a")
	if err := <-got; err != nil {
		t.Errorf("a's second probe after the first ended: %v", err)
	}

	impatient, cancel := context.WithCancel(ctx)
	go func() { got <- s.acquire(impatient, "a") }()
	eventually(t, "a's third probe waits", func() bool { return s.waiting() == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("given up: %v, want context.Canceled", err)
	}
	s.release("a")
	s.mu.Lock()
	running, members := s.running, len(s.members)
	s.mu.Unlock()
	if running != 0 || members != 0 {
		t.Errorf("after every release: %d running, %d members counted; want none", running, members)
	}

	short := newProbeSlots(8, 1, time.Millisecond)
	if err := short.acquire(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := short.acquire(ctx, "a"); !errors.Is(err, ErrBusy) {
		t.Errorf("over the limit past the wait: %v, want ErrBusy", err)
	}
	if err := short.acquire(ctx, ""); err != nil {
		t.Errorf("a probe for no member: %v", err)
	}
}
