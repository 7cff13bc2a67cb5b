package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// gate is a job function that blocks until released or cancelled, so
// that a test decides when each job ends.
type gate struct {
	started chan string
	release chan struct{}
}

func newGate() *gate { return &gate{started: make(chan string, 16), release: make(chan struct{})} }

func (g *gate) run(ctx context.Context, name string) (string, error) {
	g.started <- name
	select {
	case <-g.release:
		if name == "bad" {
			return "", errors.New("bad input")
		}
		if name == "panic" {
			panic("boom")
		}
		return "result of " + name, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func wait(t *testing.T, p *Pool[string, string], id string) Job[string, string] {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	j, err := p.Wait(ctx, id)
	if err != nil {
		t.Fatalf("waiting for %s: %v", id, err)
	}
	return j
}

// TestLifecycle runs jobs through queued, running and done, checks that
// the pool runs no more than Workers at once, refuses a job beyond the
// queue, and reports failures and panics as failed jobs.
func TestLifecycle(t *testing.T) {
	g := newGate()
	var mu sync.Mutex
	var finished []string
	p := New(g.run, Options{Workers: 2, Queue: 1}, func(j Job[string, string]) {
		mu.Lock()
		finished = append(finished, j.ID+" "+string(j.Status))
		mu.Unlock()
	})
	defer p.Close()
	a, _ := p.Submit("a", 0)
	b, _ := p.Submit("bad", 0)
	<-g.started
	<-g.started
	c, err := p.Submit("panic", 0)
	if err != nil || c.Status != Queued {
		t.Fatalf("third job: %+v %v", c, err)
	}
	if _, err := p.Submit("d", 0); !errors.Is(err, ErrFull) {
		t.Fatalf("fourth job: %v, want ErrFull", err)
	}
	if r, q := p.Load(); r != 2 || q != 1 {
		t.Fatalf("load %d running %d queued", r, q)
	}
	if j, _ := p.Get(a.ID); j.Status != Running || j.Started.IsZero() || j.Timeout != DefaultTimeout {
		t.Fatalf("running job: %+v", j)
	}
	close(g.release)
	if j := wait(t, p, a.ID); j.Status != Done || j.Result != "result of a" || j.Err != nil || j.Finished.Before(j.Started) {
		t.Errorf("a: %+v", j)
	}
	if j := wait(t, p, b.ID); j.Status != Failed || j.Err == nil || j.Err.Error() != "bad input" {
		t.Errorf("bad: %+v", j)
	}
	if j := wait(t, p, c.ID); j.Status != Failed || j.Err == nil {
		t.Errorf("panic: %+v", j)
	}
	if l := p.List(); len(l) != 3 || l[0].ID != c.ID || l[2].ID != a.ID {
		t.Errorf("list: %+v", l)
	}
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(finished) != 3 {
		t.Errorf("onFinish saw %v", finished)
	}
	if _, err := p.Submit("e", 0); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestCancelAndTimeout cancels a running and a queued job and lets a
// third time out.
func TestCancelAndTimeout(t *testing.T) {
	g := newGate()
	p := New(g.run, Options{Workers: 1, MaxTimeout: time.Hour}, nil)
	defer p.Close()
	a, _ := p.Submit("a", 0)
	<-g.started
	b, _ := p.Submit("b", 0)
	if j, err := p.Cancel(b.ID); err != nil || j.Status != Cancelled {
		t.Fatalf("cancelling a queued job: %+v %v", j, err)
	}
	if _, err := p.Cancel(a.ID); err != nil {
		t.Fatal(err)
	}
	if j := wait(t, p, a.ID); j.Status != Cancelled || !errors.Is(j.Err, context.Canceled) {
		t.Errorf("cancelled running job: %+v", j)
	}
	c, _ := p.Submit("c", 20*time.Millisecond)
	<-g.started
	j := wait(t, p, c.ID)
	if j.Status != Failed || !errors.Is(j.Err, ErrTimeout) || j.Err.Error() != "jobs: timed out after 20ms: context deadline exceeded" {
		t.Errorf("timed-out job: %+v %v", j, j.Err)
	}
	if _, err := p.Cancel("job-none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancelling an unknown job: %v", err)
	}
	if d, _ := p.Submit("d", 2*time.Hour); d.Timeout != time.Hour {
		t.Errorf("timeout %s, want the cap", d.Timeout)
	}
}

// TestCloseCancels closes a pool with a running and a queued job: both
// end cancelled.
func TestCloseCancels(t *testing.T) {
	g := newGate()
	p := New(g.run, Options{Workers: 1, Keep: 1}, nil)
	a, _ := p.Submit("a", 0)
	<-g.started
	b, _ := p.Submit("b", 0)
	p.Close()
	for _, id := range []string{a.ID, b.ID} {
		if j, ok := p.Get(id); ok && j.Status != Cancelled {
			t.Errorf("%s after Close: %+v", id, j)
		}
	}
}

// TestKeep forgets the oldest finished jobs beyond Keep.
func TestKeep(t *testing.T) {
	p := New(func(_ context.Context, s string) (string, error) { return s, nil }, Options{Keep: 2}, nil)
	defer p.Close()
	var ids []string
	for _, s := range []string{"a", "b", "c"} {
		j, err := p.Submit(s, 0)
		if err != nil {
			t.Fatal(err)
		}
		wait(t, p, j.ID)
		ids = append(ids, j.ID)
	}
	if _, ok := p.Get(ids[0]); ok {
		t.Error("the oldest job is still remembered")
	}
	if _, ok := p.Get(ids[2]); !ok {
		t.Error("the newest job is forgotten")
	}
}
