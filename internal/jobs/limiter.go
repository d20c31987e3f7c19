package jobs

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// userLimiter is a token bucket per member, kept in memory. Buckets idle
// long enough to be full again are forgotten, so memory follows the number
// of members active lately.
type userLimiter struct {
	rate  rate.Limit
	burst int
	idle  time.Duration // a bucket idle this long is full again

	mu    sync.Mutex
	users map[int64]*bucket
	swept time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newUserLimiter(r rate.Limit, burst int) *userLimiter {
	idle := max(time.Minute, time.Duration(float64(burst)/float64(r)*float64(time.Second)))
	return &userLimiter{rate: r, burst: burst, idle: idle, users: map[int64]*bucket{}}
}

// allow takes a token from userID's bucket at now; a nil limiter allows all.
func (l *userLimiter) allow(userID int64, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.idle {
		for id, b := range l.users {
			if now.Sub(b.last) > l.idle {
				delete(l.users, id)
			}
		}
		l.swept = now
	}
	b, ok := l.users[userID]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.users[userID] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}
