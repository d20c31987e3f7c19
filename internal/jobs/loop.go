package jobs

import (
	"context"
	"sync"
	"time"
)

// loop runs a background worker's work at start, whenever it is kicked, and
// every tick, until its context ends. Kicks coalesce: one pending kick is
// enough, since each run handles everything that is due.
type loop struct {
	kick chan struct{}
	tick time.Duration
}

func newLoop(tick time.Duration) loop {
	return loop{kick: make(chan struct{}, 1), tick: tick}
}

// Kick asks for a run now; it never blocks.
func (l loop) Kick() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// run calls work until ctx is cancelled.
func (l loop) run(ctx context.Context, work func(context.Context) int) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-l.kick:
		}
		work(ctx)
		timer.Reset(l.tick)
	}
}

// holds keeps jobs out of a worker's due list until a time. A job whose
// outcome could not be written stays due in the database; without a hold it
// would be fetched (polled, downloaded) again and again.
type holds struct {
	mu    sync.Mutex
	until map[int64]time.Time
}

func newHolds() *holds { return &holds{until: map[int64]time.Time{}} }

// set holds job id until t.
func (h *holds) set(id int64, t time.Time) {
	h.mu.Lock()
	h.until[id] = t
	h.mu.Unlock()
}

// release ends job id's hold.
func (h *holds) release(id int64) {
	h.mu.Lock()
	delete(h.until, id)
	h.mu.Unlock()
}

// count forgets holds that ended by now and returns how many remain.
func (h *holds) count(now time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.until {
		if !now.Before(t) {
			delete(h.until, id)
		}
	}
	return len(h.until)
}

// has reports whether job id is held at now.
func (h *holds) has(id int64, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.until[id]
	return ok && now.Before(t)
}
