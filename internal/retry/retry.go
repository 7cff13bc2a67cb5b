// Package retry holds what the JSON-RPC clients share to call nodes
// politely: exponential backoff with jitter, a context-aware sleep, and a
// rate limiter.
package retry

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff returns the pause before retry number attempt (from 1):
// base doubled per attempt, capped at max, with jitter in [d/2, d] so that
// parallel clients do not retry in step.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// Sleep waits d or until ctx ends, returning ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Limiter spaces requests evenly to at most a given rate. It reserves
// slots in order, so a burst of callers is spread out rather than released
// at once. It is safe for concurrent use; a nil Limiter never waits.
type Limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

// NewLimiter returns a Limiter for perSecond requests a second, or nil
// (no limit) when perSecond is not positive.
func NewLimiter(perSecond float64) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	return &Limiter{interval: time.Duration(float64(time.Second) / perSecond)}
}

// Wait blocks until the caller's slot or until ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	if d := time.Until(at); d > 0 {
		return Sleep(ctx, d)
	}
	return nil
}
