package media

import (
	"context"
	"sync"
	"time"
)

type memberKey struct{}

// ForMember returns ctx naming the member on whose behalf probes run.
// Probes started with it count against that member's own limit
// (ProberOptions.MaxPerMember), and free slots go first to the members
// running the fewest probes, so one member's slow links cannot hold every
// slot. Probes whose ctx names no member are bounded by MaxProbes only.
func ForMember(ctx context.Context, member string) context.Context {
	return context.WithValue(ctx, memberKey{}, member)
}

// memberOf returns the member ForMember put in ctx, or "".
func memberOf(ctx context.Context) string {
	m, _ := ctx.Value(memberKey{}).(string)
	return m
}

// probeSlots hands out the slots probes run in: at most max at once, at
// most perMember of them to one member. A probe that cannot start waits;
// when a slot frees it goes to the waiting probe whose member runs the
// fewest, the earliest of those first (a fair share, not first come). A
// member already at its own limit waits at most memberWait for one of its
// probes to end, then gets ErrBusy: its probes hold slots for as long as
// the timeout allows, and queueing more behind them helps nobody.
type probeSlots struct {
	max, perMember int
	memberWait     time.Duration

	mu      sync.Mutex
	running int
	members map[string]int // running probes per member ("" unlimited)
	queue   []*slotWaiter  // in arrival order
}

type slotWaiter struct {
	member string
	ready  chan struct{} // closed once the slot is granted
}

func newProbeSlots(max, perMember int, memberWait time.Duration) *probeSlots {
	return &probeSlots{max: max, perMember: perMember, memberWait: memberWait, members: map[string]int{}}
}

// atLimit reports whether member runs as many probes as one member may.
func (s *probeSlots) atLimit(member string) bool {
	return member != "" && s.members[member] >= s.perMember
}

func (s *probeSlots) take(member string) {
	s.running++
	s.members[member]++
}

// acquire takes a slot for member, waiting as described on probeSlots. It
// returns ctx's error if ctx ends first, or an *Error of kind ErrBusy.
func (s *probeSlots) acquire(ctx context.Context, member string) error {
	s.mu.Lock()
	// Nobody eligible waits while a slot is free (release hands it over at
	// once), so taking a free slot here jumps no queue.
	if s.running < s.max && !s.atLimit(member) {
		s.take(member)
		s.mu.Unlock()
		return nil
	}
	w := &slotWaiter{member: member, ready: make(chan struct{})}
	s.queue = append(s.queue, w)
	s.mu.Unlock()

	var limit <-chan time.Time
	if member != "" {
		t := time.NewTimer(s.memberWait)
		defer t.Stop()
		limit = t.C
	}
	for {
		select {
		case <-w.ready:
			return nil
		case <-ctx.Done():
			s.mu.Lock()
			granted := !s.dequeue(w)
			s.mu.Unlock()
			if granted {
				s.release(member)
			}
			return ctx.Err()
		case <-limit:
			limit = nil
			s.mu.Lock()
			// Below its own limit, the member waits for the team's slots
			// like everyone (they go round fairly); and a slot granted
			// meanwhile is taken.
			if !s.atLimit(member) || !s.dequeue(w) {
				s.mu.Unlock()
				continue
			}
			s.mu.Unlock()
			return newErr(ErrBusy, "your other link checks are still running — wait a few seconds and try again", nil)
		}
	}
}

// dequeue removes w from the queue and reports whether it was there (not
// yet granted). s.mu must be held.
func (s *probeSlots) dequeue(w *slotWaiter) bool {
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// release returns member's slot and hands free slots to waiting probes.
func (s *probeSlots) release(member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	if s.members[member]--; s.members[member] <= 0 {
		delete(s.members, member)
	}
	for s.running < s.max {
		best := -1
		for i, w := range s.queue {
			if s.atLimit(w.member) {
				continue
			}
			if best < 0 || s.members[w.member] < s.members[s.queue[best].member] {
				best = i
			}
		}
		if best < 0 {
			return
		}
		w := s.queue[best]
		s.queue = append(s.queue[:best], s.queue[best+1:]...)
		s.take(w.member)
		close(w.ready)
	}
}

// waiting reports how many probes wait for a slot.
func (s *probeSlots) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}
