package db

import "sync"

// versionedCache keeps values by key (a member's id), all read at one
// version of what they were read from (a gallery_versions counter), with
// at most bound units of size in all (ids, results). A value read at an
// older version than the ones kept is not kept; one read at a newer
// version replaces them all. The zero value is ready to use.
type versionedCache[V any] struct {
	mu      sync.Mutex
	version int64
	values  map[int64]V
	size    int
}

// get returns key's value kept at version.
func (c *versionedCache[V]) get(version, key int64) (v V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version == version && c.values != nil {
		v, ok = c.values[key]
	}
	return v, ok
}

// put keeps v (of size units) under key, as read at version or later;
// past bound, the values kept are dropped first. A value larger than
// bound is not kept.
func (c *versionedCache[V]) put(version, key int64, v V, size, bound int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case version < c.version && c.values != nil:
		return
	case version != c.version || c.values == nil:
		c.version, c.values, c.size = version, map[int64]V{}, 0
	case c.size+size > bound:
		clear(c.values)
		c.size = 0
	}
	if size <= bound {
		c.values[key] = v
		c.size += size
	}
}
