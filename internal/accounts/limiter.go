package accounts

import (
	"sync"
	"time"
)

// limiter counts attempts per key in a fixed window. It forgets keys whose
// window has passed, so memory stays bounded by recent attackers.
//
// An attempt is counted when it starts (take), not when its slow password
// check ends: otherwise a burst of parallel requests would all pass the check
// before the first failure was recorded. Attempts that turn out not to count
// (a success, or one never evaluated) are given back.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string]*window
	sweep  time.Time
}

type window struct {
	start time.Time
	n     int
}

// ticket is one attempt taken from a limiter, to give back if it did not
// count.
type ticket struct {
	key   string
	start time.Time // the window it was counted in
}

func newLimiter(max int, per time.Duration) *limiter {
	return &limiter{max: max, window: per, hits: map[string]*window{}}
}

// take counts one attempt for key at now, unless key has used up its
// attempts; then it reports false and how long until it may try again.
func (l *limiter) take(key string, now time.Time) (ticket, bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	w, ok := l.hits[key]
	if !ok || now.Sub(w.start) >= l.window {
		w = &window{start: now}
		l.hits[key] = w
	}
	if w.n >= l.max {
		return ticket{}, false, w.start.Add(l.window).Sub(now)
	}
	w.n++
	return ticket{key: key, start: w.start}, true, 0
}

// giveBack uncounts the attempt t, if its window is still the current one.
func (l *limiter) giveBack(t ticket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w, ok := l.hits[t.key]; ok && w.start.Equal(t.start) && w.n > 0 {
		w.n--
	}
}

// reset forgets key (after a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
}

func (l *limiter) sweepLocked(now time.Time) {
	if now.Sub(l.sweep) <= l.window {
		return
	}
	for k, w := range l.hits {
		if now.Sub(w.start) >= l.window {
			delete(l.hits, k)
		}
	}
	l.sweep = now
}
