package controlplane

import "sync"

// fifo is a bounded map that forgets its oldest entries first. It is safe
// for concurrent use. Entries here are cheap to recompute (plans are
// content-addressed), so eviction order only matters for memory.
type fifo[V any] struct {
	mu    sync.Mutex
	max   int
	m     map[string]V
	order []string
}

func newFIFO[V any](max int) *fifo[V] {
	return &fifo[V]{max: max, m: make(map[string]V, max)}
}

func (c *fifo[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *fifo[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok {
		c.order = append(c.order, k)
	}
	c.m[k] = v
	for len(c.order) > c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
}
