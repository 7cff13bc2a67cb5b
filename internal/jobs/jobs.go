// Package jobs runs long work (traces over big graphs) in a bounded pool
// of workers: a job waits in a queue of limited length, runs with a
// timeout of its own, and can be cancelled while it waits or runs. The
// pool keeps the jobs it ran in memory, the most recent ones only, so a
// caller that must answer for older jobs records them itself (Options
// OnFinish).
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Status is where a job is in its life.
type Status string

// The statuses of a job. Queued and Running are the live ones; the
// other three are final.
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Done      Status = "done"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Final reports whether s is a status a job never leaves.
func (s Status) Final() bool { return s == Done || s == Failed || s == Cancelled }

// Errors of the pool.
var (
	// ErrFull is returned by Submit when the queue is at its limit.
	ErrFull = errors.New("jobs: queue full")
	// ErrNotFound is returned for an id the pool does not know (never
	// submitted, or forgotten after Options.Keep newer jobs finished).
	ErrNotFound = errors.New("jobs: no such job")
	// ErrClosed is returned by Submit after Close.
	ErrClosed = errors.New("jobs: pool closed")
	// ErrTimeout is the error of a job that outlasted its timeout.
	ErrTimeout = errors.New("jobs: timed out")
)

// Defaults of zero Options fields.
const (
	DefaultWorkers    = 2
	DefaultQueue      = 16
	DefaultTimeout    = 5 * time.Minute
	DefaultMaxTimeout = 30 * time.Minute
	DefaultKeep       = 200
)

// Options configure a Pool; zero fields take the defaults above.
type Options struct {
	// Workers is how many jobs run at once.
	Workers int
	// Queue is how many jobs may wait for a worker; Submit refuses more.
	Queue int
	// Timeout is a job's timeout when Submit names none; MaxTimeout
	// caps the timeout Submit may ask for.
	Timeout, MaxTimeout time.Duration
	// Keep is how many finished jobs the pool remembers.
	Keep int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// NewID makes job ids (tests); nil means "job-" and 16 random hex
	// digits, unique across restarts.
	NewID func() string
}

// Job is a snapshot of one job. Err is set when Status is Failed or
// Cancelled; Result when it is Done.
type Job[P, R any] struct {
	ID       string
	Params   P
	Status   Status
	Timeout  time.Duration
	Created  time.Time
	Started  time.Time // zero until it runs
	Finished time.Time // zero until it is final
	Result   R
	Err      error
}

// Func is the work of a job: it must return soon after ctx ends.
type Func[P, R any] func(ctx context.Context, params P) (R, error)

// entry is a job the pool holds, with what it needs to stop it.
type entry[P, R any] struct {
	job       Job[P, R]
	cancel    context.CancelFunc // set while running
	cancelled bool               // Cancel was called
	done      chan struct{}      // closed when the job is final
}

// Pool runs jobs of one kind. Its methods are safe for concurrent use.
type Pool[P, R any] struct {
	o        Options
	fn       Func[P, R]
	onFinish func(Job[P, R])
	base     context.Context
	stop     context.CancelFunc

	mu      sync.Mutex
	jobs    map[string]*entry[P, R]
	order   []string // ids in submission order
	queue   []*entry[P, R]
	running int
	closed  bool
	wg      sync.WaitGroup
}

// New returns a pool running fn. onFinish, when not nil, is called with
// every job that becomes final, from the goroutine that finished it and
// after the pool's state shows it final; it must not block for long.
func New[P, R any](fn Func[P, R], o Options, onFinish func(Job[P, R])) *Pool[P, R] {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxTimeout <= 0 {
		o.MaxTimeout = DefaultMaxTimeout
	}
	o.Timeout = min(o.Timeout, o.MaxTimeout)
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = randomID
	}
	p := &Pool[P, R]{o: o, fn: fn, onFinish: onFinish, jobs: map[string]*entry[P, R]{}}
	p.base, p.stop = context.WithCancel(context.Background())
	return p
}

// randomID returns "job-" and 16 random hex digits.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "job-" + hex.EncodeToString(b[:])
}

// Options returns the pool's options with the defaults filled in.
func (p *Pool[P, R]) Options() Options { return p.o }

// Submit queues a job with params and a timeout (zero: the default; more
// than MaxTimeout: MaxTimeout). It returns ErrFull when Queue jobs are
// already waiting, ErrClosed after Close.
func (p *Pool[P, R]) Submit(params P, timeout time.Duration) (Job[P, R], error) {
	if timeout <= 0 {
		timeout = p.o.Timeout
	}
	timeout = min(timeout, p.o.MaxTimeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return Job[P, R]{}, ErrClosed
	}
	if p.running >= p.o.Workers && len(p.queue) >= p.o.Queue {
		return Job[P, R]{}, ErrFull
	}
	e := &entry[P, R]{job: Job[P, R]{ID: p.o.NewID(), Params: params, Status: Queued, Timeout: timeout, Created: p.o.Now()}, done: make(chan struct{})}
	p.jobs[e.job.ID] = e
	p.order = append(p.order, e.job.ID)
	if p.running < p.o.Workers {
		p.running++
		p.wg.Add(1)
		go p.work(e)
	} else {
		p.queue = append(p.queue, e)
	}
	return e.job, nil
}

// startLocked marks e running and gives it its context.
func (p *Pool[P, R]) startLocked(e *entry[P, R]) context.Context {
	ctx, cancel := context.WithTimeoutCause(p.base, e.job.Timeout, fmt.Errorf("%w after %s", ErrTimeout, e.job.Timeout))
	e.cancel = cancel
	e.job.Status = Running
	e.job.Started = p.o.Now()
	return ctx
}

// work runs e, then the queued jobs, until the queue is empty.
func (p *Pool[P, R]) work(e *entry[P, R]) {
	defer p.wg.Done()
	for e != nil {
		p.mu.Lock()
		if e.job.Status != Queued {
			// Cancelled between Submit and here.
			e = p.nextLocked()
			p.mu.Unlock()
			continue
		}
		ctx := p.startLocked(e)
		p.mu.Unlock()
		res, err := p.run(ctx, e.job.Params)
		p.mu.Lock()
		e.cancel()
		switch {
		case e.cancelled:
			e.job.Status, e.job.Err = Cancelled, context.Canceled
		case err == nil:
			e.job.Status, e.job.Result = Done, res
		case errors.Is(context.Cause(ctx), ErrTimeout):
			e.job.Status, e.job.Err = Failed, fmt.Errorf("%w: %w", context.Cause(ctx), err)
		case p.base.Err() != nil:
			e.job.Status, e.job.Err = Cancelled, fmt.Errorf("%w: %w", ErrClosed, err)
		default:
			e.job.Status, e.job.Err = Failed, err
		}
		e.job.Finished = p.o.Now()
		finished := e.job
		close(e.done)
		p.evictLocked()
		e = p.nextLocked()
		p.mu.Unlock()
		if p.onFinish != nil {
			p.onFinish(finished)
		}
	}
}

// nextLocked takes the next queued job for a worker, or retires the
// worker when none waits.
func (p *Pool[P, R]) nextLocked() *entry[P, R] {
	if len(p.queue) == 0 {
		p.running--
		return nil
	}
	e := p.queue[0]
	p.queue = p.queue[1:]
	return e
}

// run calls the job's function, turning a panic into an error so that
// one bad job costs its own failure, not the process.
func (p *Pool[P, R]) run(ctx context.Context, params P) (res R, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("jobs: job panicked: %v", v)
		}
	}()
	return p.fn(ctx, params)
}

// evictLocked forgets the oldest final jobs beyond Keep.
func (p *Pool[P, R]) evictLocked() {
	final := 0
	for _, id := range p.order {
		if p.jobs[id].job.Status.Final() {
			final++
		}
	}
	for i := 0; final > p.o.Keep && i < len(p.order); {
		id := p.order[i]
		if !p.jobs[id].job.Status.Final() {
			i++
			continue
		}
		delete(p.jobs, id)
		p.order = slices.Delete(p.order, i, i+1)
		final--
	}
}

// Get returns the job id.
func (p *Pool[P, R]) Get(id string) (Job[P, R], bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.jobs[id]
	if !ok {
		return Job[P, R]{}, false
	}
	return e.job, true
}

// Cancel cancels job id: a queued job becomes Cancelled at once, a
// running one when its function returns (Wait for it). A final job is
// returned unchanged.
func (p *Pool[P, R]) Cancel(id string) (Job[P, R], error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.jobs[id]
	if !ok {
		return Job[P, R]{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	switch e.job.Status {
	case Queued:
		p.queue = slices.DeleteFunc(p.queue, func(q *entry[P, R]) bool { return q == e })
		e.cancelled = true
		e.job.Status, e.job.Err, e.job.Finished = Cancelled, context.Canceled, p.o.Now()
		close(e.done)
		job := e.job
		if p.onFinish != nil {
			// Called without the lock, as for jobs that ran.
			p.mu.Unlock()
			p.onFinish(job)
			p.mu.Lock()
		}
		return job, nil
	case Running:
		e.cancelled = true
		e.cancel()
	}
	return e.job, nil
}

// Wait waits until job id is final and returns it, or returns ctx's
// error when ctx ends first (the job goes on).
func (p *Pool[P, R]) Wait(ctx context.Context, id string) (Job[P, R], error) {
	p.mu.Lock()
	e, ok := p.jobs[id]
	p.mu.Unlock()
	if !ok {
		return Job[P, R]{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return Job[P, R]{}, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return e.job, nil
}

// List returns the jobs the pool remembers, newest first.
func (p *Pool[P, R]) List() []Job[P, R] {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Job[P, R], 0, len(p.order))
	for i := len(p.order) - 1; i >= 0; i-- {
		out = append(out, p.jobs[p.order[i]].job)
	}
	return out
}

// Load reports how many jobs are running and how many wait.
func (p *Pool[P, R]) Load() (running, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running, len(p.queue)
}

// Close cancels every job, queued and running, refuses new ones, and
// waits for the running ones to return.
func (p *Pool[P, R]) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return
	}
	p.closed = true
	queued := p.queue
	p.queue = nil
	var finished []Job[P, R]
	for _, e := range queued {
		e.cancelled = true
		e.job.Status, e.job.Err, e.job.Finished = Cancelled, ErrClosed, p.o.Now()
		close(e.done)
		finished = append(finished, e.job)
	}
	p.mu.Unlock()
	p.stop()
	if p.onFinish != nil {
		for _, j := range finished {
			p.onFinish(j)
		}
	}
	p.wg.Wait()
}
