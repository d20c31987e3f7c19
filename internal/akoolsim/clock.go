package akoolsim

import (
	"sync"
	"time"
)

// FakeClock is a manual clock for Config.Now. It is safe for concurrent use.
//
//	clock := akoolsim.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
//	sim := akoolsim.New(akoolsim.Config{Now: clock.Now, ...})
//	clock.Advance(time.Minute)
//	sim.Step() // act on the new time now rather than at the next Tick
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a clock stopped at start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{t: start} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
