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
// same key share one probe.
type cache struct {
	now    func() time.Time
	ttl    time.Duration
	errTTL time.Duration
	max    int

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

func newCache(now func() time.Time, ttl, errTTL time.Duration, max int) *cache {
	return &cache{
		now: now, ttl: ttl, errTTL: errTTL, max: max,
		lru:     list.New(),
		items:   make(map[string]*list.Element),
		flights: make(map[string]*flight),
	}
}

// do returns the cached result for key, or joins the probe in flight for
// key, or starts fn. fn runs detached from the caller's cancellation (other
// callers may be waiting on it; the Fetcher's timeouts bound it), and a
// caller whose ctx ends stops waiting with ctx's error.
func (c *cache) do(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	c.mu.Lock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry)
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.val, e.err
		}
		c.lru.Remove(el)
		delete(c.items, key)
	}
	fl, ok := c.flights[key]
	if !ok {
		fl = &flight{done: make(chan struct{})}
		c.flights[key] = fl
		go c.run(context.WithoutCancel(ctx), key, fl, fn)
	}
	fl.waiters++
	c.mu.Unlock()

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

func (c *cache) run(ctx context.Context, key string, fl *flight, fn func(context.Context) (any, error)) {
	val, err := fn(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.flights, key)
	fl.val, fl.err = val, err
	close(fl.done)

	ttl := c.ttl
	if err != nil {
		ttl = c.errTTL
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			ttl = 0
		}
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

// len reports the number of cached entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
