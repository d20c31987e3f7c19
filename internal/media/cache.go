package media

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// cache keeps probe results (and, more briefly, errors) per key, bounded in
// size with least-recently-used eviction, and lets concurrent callers for the
// same key share one probe. It also bounds the probes themselves: each runs
// for at most timeout, and at most cap(slots) run at once.
type cache struct {
	now     func() time.Time
	ttl     time.Duration
	errTTL  time.Duration
	max     int
	timeout time.Duration
	slots   *probeSlots // one per running probe, shared fairly among members

	mu      sync.Mutex
	lru     *list.List // of *entry; front is most recently used
	items   map[string]*list.Element
	flights map[string]*flight
}

type entry struct {
	key     string
	val     any
	err     error
	expires time.Time
}

type flight struct {
	done    chan struct{}
	val     any
	err     error
	waiters int // callers waiting on done; read by tests
}

type cacheConfig struct {
	now         func() time.Time
	ttl, errTTL time.Duration
	size        int
	timeout     time.Duration // overall bound on one probe
	concurrent  int           // probes running at once
	perMember   int           // probes running at once for one member
	memberWait  time.Duration // longest wait for one of the member's own probes to end
}

func newCache(cfg cacheConfig) *cache {
	return &cache{
		now: cfg.now, ttl: cfg.ttl, errTTL: cfg.errTTL, max: cfg.size, timeout: cfg.timeout,
		slots:   newProbeSlots(cfg.concurrent, cfg.perMember, cfg.memberWait),
		lru:     list.New(),
		items:   make(map[string]*list.Element),
		flights: make(map[string]*flight),
	}
}

// do returns the cached result for key, or joins the probe in flight for
// key, or starts fn once a slot is free for the member ctx names (waiting
// as probeSlots.acquire allows). fn runs detached from the caller's
// cancellation (other callers may join it) but within the cache's timeout,
// and keeps its slot, counted against that member, until it ends: a member
// who hangs up does not get the slot back early. A caller whose ctx ends
// stops waiting with ctx's error.
func (c *cache) do(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	member := memberOf(ctx)
	haveSlot := false
	c.mu.Lock()
	for {
		if el, ok := c.items[key]; ok {
			e := el.Value.(*entry)
			if c.now().Before(e.expires) {
				c.lru.MoveToFront(el)
				c.mu.Unlock()
				if haveSlot {
					c.slots.release(member)
				}
				return e.val, e.err
			}
			c.lru.Remove(el)
			delete(c.items, key)
		}
		if fl, ok := c.flights[key]; ok {
			fl.waiters++
			c.mu.Unlock()
			if haveSlot {
				c.slots.release(member)
			}
			return c.wait(ctx, fl)
		}
		if haveSlot {
			break
		}
		// Wait for a slot without holding the lock, then look again: the
		// result may have arrived, or another caller started the probe.
		c.mu.Unlock()
		if err := c.slots.acquire(ctx, member); err != nil {
			return nil, err
		}
		haveSlot = true
		c.mu.Lock()
	}
	fl := &flight{done: make(chan struct{}), waiters: 1}
	c.flights[key] = fl
	c.mu.Unlock()
	go c.run(context.WithoutCancel(ctx), member, key, fl, fn)
	return c.wait(ctx, fl)
}

func (c *cache) wait(ctx context.Context, fl *flight) (any, error) {
	select {
	case <-fl.done:
		return fl.val, fl.err
	case <-ctx.Done():
		c.mu.Lock()
		fl.waiters--
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// run probes with the slot its caller took for member, and releases it.
func (c *cache) run(ctx context.Context, member, key string, fl *flight, fn func(context.Context) (any, error)) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	val, err := fn(ctx)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrTimeout) && errors.Is(err, context.DeadlineExceeded) {
		// The probe as a whole ran out of time (each request has its own,
		// shorter, bound): that is the link's fault, not the caller's.
		err = newErr(ErrTimeout, "checking this link took longer than "+formatDuration(c.timeout), err)
	}
	cancel()
	c.slots.release(member)

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flights, key)
	fl.val, fl.err = val, err
	close(fl.done)

	var ttl time.Duration
	switch {
	case err == nil:
		ttl = c.ttl
	case errors.Is(err, ErrTimeout):
		// Before the check below: an *Error of kind ErrTimeout unwraps to
		// its cause, context.DeadlineExceeded, yet a slow link must not be
		// fetched again on every keystroke.
		ttl = c.errTTL
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ttl = 0 // not an answer about the link
	default:
		ttl = c.errTTL
	}
	if ttl <= 0 || c.max <= 0 {
		return
	}
	c.items[key] = c.lru.PushFront(&entry{key: key, val: val, err: err, expires: c.now().Add(ttl)})
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.items, last.Value.(*entry).key)
	}
}

// waiting reports how many callers wait on the probe in flight for key.
func (c *cache) waiting(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fl, ok := c.flights[key]; ok {
		return fl.waiters
	}
	return 0
}

// queuedCallers reports how many callers wait for a free slot.
func (c *cache) queuedCallers() int { return c.slots.waiting() }

// len reports the number of cached entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
