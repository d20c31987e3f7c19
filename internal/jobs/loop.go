package jobs

import (
	"context"
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
