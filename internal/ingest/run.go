package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/chaintrace/chaintrace/internal/store"
)

// chain is the chain-specific half of an ingest run (BTC, Eth); run holds
// the loop both share: reconcile with the source, apply new blocks, retry
// after a reorg, and follow the tip.
type chain interface {
	// load reads progress and id counters from the store and resets the
	// caches; it sets the run's tip.
	load(ctx context.Context) error
	// sourceTip returns the source's best height.
	sourceTip(ctx context.Context) (uint64, error)
	// reconcile unwinds stored blocks the source no longer has.
	reconcile(ctx context.Context) error
	// forward applies blocks from..to.
	forward(ctx context.Context, from, to uint64) error
	// firstHeight is where an empty store starts.
	firstHeight() uint64
	// isReorg reports whether err means the source's chain changed.
	isReorg(err error) bool
}

// run is the chain-neutral state of an ingester.
type run struct {
	opts    Options
	log     *slog.Logger
	tip     store.Progress
	haveTip bool
	status  Status
	start   time.Time
	lastRep time.Time
}

// progressReader is the part of a store loadProgress reads.
type progressReader interface {
	Progress(ctx context.Context, stage string) (store.Progress, bool, error)
	MetaU64(ctx context.Context, name string) (uint64, bool, error)
}

// loadProgress reads the progress of the named stages, which must agree
// (they are written in one batch), into the run's tip, and returns the
// height the store starts at: the stored start height, or for a store that
// never recorded one, the StartHeight option.
func (r *run) loadProgress(ctx context.Context, db progressReader, stages []string) (uint64, error) {
	var first store.Progress
	var firstOK bool
	for i, name := range stages {
		p, ok, err := db.Progress(ctx, name)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			first, firstOK = p, ok
			continue
		}
		if ok != firstOK || p != first {
			return 0, fmt.Errorf("ingest: stage %s is at height %d but stage %s at %d: the store was not written by this version", name, p.Height, stages[0], first.Height)
		}
	}
	r.tip, r.haveTip = first, firstOK
	start, ok, err := db.MetaU64(ctx, metaStartHeight)
	if err != nil {
		return 0, err
	}
	if !ok {
		start = r.opts.StartHeight
	}
	return start, nil
}

// newRun fills in the defaults of opts.
func newRun(opts Options) run {
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = 2_000_000
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 64 << 20
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return run{opts: opts, log: log}
}

// loop ingests until the source's tip (and, with Follow, keeps following
// it until ctx ends). A run interrupted at any point leaves the store at
// its last commit, from which the next run continues.
func (r *run) loop(ctx context.Context, c chain) (Status, error) {
	r.start = time.Now()
	if err := c.load(ctx); err != nil {
		return r.status, err
	}
	r.status.Starting = r.tip.Height
	reorgRetries := 0
	for {
		err := r.step(ctx, c)
		if c.isReorg(err) && reorgRetries < 10 && ctx.Err() == nil {
			reorgRetries++
			r.log.Warn("source chain changed during ingest; reconciling", "err", err)
			if lerr := c.load(ctx); lerr != nil {
				return r.status, lerr
			}
			continue
		}
		if err != nil {
			r.report(true)
			return r.status, err
		}
		reorgRetries = 0
		if !r.opts.Follow {
			r.report(true)
			return r.status, nil
		}
		r.report(false)
		select {
		case <-ctx.Done():
			r.report(true)
			return r.status, nil
		case <-time.After(r.opts.PollInterval):
		}
	}
}

// step reconciles with the source's best chain and applies new blocks.
func (r *run) step(ctx context.Context, c chain) error {
	srcTip, err := c.sourceTip(ctx)
	if err != nil {
		return fmt.Errorf("ingest: source tip: %w", err)
	}
	r.status.Target = srcTip
	if err := c.reconcile(ctx); err != nil {
		return err
	}
	from := c.firstHeight()
	if r.haveTip {
		from = r.tip.Height + 1
	}
	to := srcTip
	if r.opts.MaxHeight > 0 && to > r.opts.MaxHeight {
		to = r.opts.MaxHeight
	}
	if from > to {
		return nil
	}
	err = c.forward(ctx, from, to)
	if err != nil {
		// The caches may hold entries of the dropped batch: rebuild from
		// the store so that a retry (follow mode, reorg) starts clean.
		if lerr := c.load(context.WithoutCancel(ctx)); lerr != nil {
			return errors.Join(err, lerr)
		}
	}
	return err
}

// report calls the Progress option at most four times a second, and
// always when done.
func (r *run) report(done bool) {
	now := time.Now()
	if !done && now.Sub(r.lastRep) < 250*time.Millisecond {
		return
	}
	r.lastRep = now
	r.status.Elapsed = now.Sub(r.start)
	r.status.Done = done
	r.status.HaveTip = r.haveTip
	r.status.TipHash = r.tip.Hash
	if r.opts.Progress != nil {
		r.opts.Progress(r.status)
	}
}
