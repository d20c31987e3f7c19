// Package ratelimit keeps a token bucket per key (a member, an API token)
// in memory. Buckets idle long enough to be full again are forgotten, so
// memory follows the number of keys active lately.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a token bucket per key. A nil *Keyed allows everything.
type Keyed struct {
	rate  rate.Limit
	burst int
	idle  time.Duration // a bucket idle this long is full again

	mu      sync.Mutex
	buckets map[int64]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// New returns buckets refilled at r a second holding burst each.
func New(r rate.Limit, burst int) *Keyed {
	idle := max(time.Minute, time.Duration(float64(burst)/float64(r)*float64(time.Second)))
	return &Keyed{rate: r, burst: burst, idle: idle, buckets: map[int64]*bucket{}}
}

// Rate and Burst are the limit's, for saying it to people.
func (k *Keyed) Rate() rate.Limit { return k.rate }

// Burst is how many a bucket holds.
func (k *Keyed) Burst() int { return k.burst }

// Allow takes one from key's bucket at now. When the bucket is empty
// nothing is taken, and wait says how long until one is there.
func (k *Keyed) Allow(key int64, now time.Time) (wait time.Duration, ok bool) {
	if k == nil {
		return 0, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.swept) > k.idle {
		for id, b := range k.buckets {
			if now.Sub(b.last) > k.idle {
				delete(k.buckets, id)
			}
		}
		k.swept = now
	}
	b, found := k.buckets[key]
	if !found {
		b = &bucket{lim: rate.NewLimiter(k.rate, k.burst)}
		k.buckets[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}
