package dashboard

import (
	"slices"
	"sync"
)

// Cache keeps what was built for the most recent keys, such as the
// Summary of a plan by its ID. It is bounded and forgets the oldest first:
// entries are cheap to rebuild compared with serving them, and plans are
// content-addressed, so an entry is never stale. It is safe for concurrent
// use; concurrent builds of one key share one build.
type Cache[V any] struct {
	mu    sync.Mutex
	max   int
	m     map[string]*entry[V]
	order []string
}

type entry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// NewCache returns a cache of at most size entries (at least 1).
func NewCache[V any](size int) *Cache[V] {
	return &Cache[V]{max: max(1, size), m: map[string]*entry[V]{}}
}

// Get returns the value of key, calling build once for a key it does not
// hold. A failed build is not kept; its value and error are returned to
// every caller that waited for it.
func (c *Cache[V]) Get(key string, build func() (V, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		c.mu.Unlock()
		<-e.done
		return e.v, e.err
	}
	e := &entry[V]{done: make(chan struct{})}
	c.m[key] = e
	c.order = append(c.order, key)
	for len(c.order) > c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.mu.Unlock()
	e.v, e.err = build()
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		if c.m[key] == e {
			delete(c.m, key)
			c.order = slices.DeleteFunc(c.order, func(k string) bool { return k == key })
		}
		c.mu.Unlock()
	}
	return e.v, e.err
}
