package export

// genCache is a bounded map in two generations: look-ups hit the current
// one or the previous one (promoting the entry), and when the current one
// fills up it becomes the previous one and the oldest is dropped. Address
// and transaction look-ups during an export are strongly local in chain
// order (coins are mostly spent soon after they are made, addresses reused
// soon), which two generations catch at a fixed memory cost.
type genCache[K comparable, V any] struct {
	cur, old map[K]V
	max      int
}

func newGenCache[K comparable, V any](max int) *genCache[K, V] {
	return &genCache[K, V]{cur: make(map[K]V), max: max}
}

func (c *genCache[K, V]) get(k K) (V, bool) {
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	if v, ok := c.old[k]; ok {
		c.put(k, v)
		return v, true
	}
	var zero V
	return zero, false
}

func (c *genCache[K, V]) put(k K, v V) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[K]V, c.max)
	}
	c.cur[k] = v
}
