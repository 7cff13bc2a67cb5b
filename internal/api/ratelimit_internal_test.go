package api

import (
	"strconv"
	"testing"
	"time"
)

// fakeClock is a limiter's clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLimiterRefills(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	rate := Rate{PerSecond: 2, Burst: 4}
	l := newLimiter(RateLimits{Read: rate}, 0)
	l.now = clk.now
	for i := range 4 {
		if ok, left, _, _ := l.take("k:a", rate); !ok || left != 3-i {
			t.Fatalf("take %d: %v, %d left", i, ok, left)
		}
	}
	ok, _, wait, full := l.take("k:a", rate)
	if ok || wait != 500*time.Millisecond || full != 2*time.Second {
		t.Fatalf("empty bucket: ok %v, wait %v, full %v; want refused, 500ms, 2s", ok, wait, full)
	}
	if ok, _, _, _ := l.take("k:b", rate); !ok {
		t.Fatal("another key shares the bucket")
	}
	clk.t = clk.t.Add(500 * time.Millisecond)
	if ok, _, _, _ := l.take("k:a", rate); !ok {
		t.Fatal("no token after half a second at 2/s")
	}
	clk.t = clk.t.Add(time.Hour)
	if ok, left, _, _ := l.take("k:a", rate); !ok || left != 3 {
		t.Fatalf("after an hour: %v, %d left; want a full bucket of 4, capped", ok, left)
	}
}

// TestLimiterBounded checks that idle buckets are swept and that the
// bucket count never passes the bound.
func TestLimiterBounded(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	rate := Rate{PerSecond: 10, Burst: 10}
	l := newLimiter(RateLimits{Anonymous: rate}, 2000)
	l.now = clk.now
	for i := range 5000 {
		l.take("ip:"+strconv.Itoa(i), rate)
		if n := l.size(); n > 2000 {
			t.Fatalf("%d buckets after %d clients, bound 2000", n, i+1)
		}
	}
	clk.t = clk.t.Add(2 * time.Second)
	for i := range 1024 {
		l.take("ip:new"+strconv.Itoa(i), rate)
	}
	if n := l.size(); n > 1024 {
		t.Errorf("%d buckets after the idle ones refilled, want only the 1024 new", n)
	}
}
