// Package ingest fills the store from chain sources. Bitcoin ingest runs as
// stages (blocks, txs, addrindex) that move forward block by block and
// unwind on reorgs; every stage's data and progress go into the same store
// batch, so a killed ingest resumes where its last commit left off and ends
// with exactly the store an uninterrupted run builds.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
	"golang.org/x/sync/errgroup"
)

// Options tune a Bitcoin ingest.
type Options struct {
	Logger *slog.Logger
	// Progress, when set, is called from the ingest goroutine about four
	// times a second and once at the end.
	Progress func(Status)
	// CacheEntries bounds each generation of the output and address caches
	// (default 2,000,000: about 400 MB at most for both generations).
	CacheEntries int
	// BatchBytes is the batch size that triggers a commit (default 64 MiB).
	BatchBytes int
	// Follow keeps polling the source for new blocks until ctx ends.
	Follow bool
	// PollInterval is the follow-mode polling period (default 5s).
	PollInterval time.Duration
	// MaxHeight, when non-zero, stops ingest at that height.
	MaxHeight uint64
	// StartHeight, for an empty store, starts ingest at this height
	// instead of genesis: the first block's parent is taken on trust, and
	// inputs spending outputs from before it are stored as external (txid
	// and index known, value and address not). The store remembers its
	// start; later runs ignore this option.
	StartHeight uint64
	// Monitor, when set, evaluates every new block against its watches in
	// the monitor stage (alerts, extended watches, retractions on unwind).
	Monitor *monitor.Monitor
	// EthMonitor is Monitor's counterpart for Ethereum ingest (NewEth):
	// the eth-monitor stage evaluates every new block's transfers against
	// its watches (alerts, taint moved along transfers, retractions and
	// restored taint on unwind).
	EthMonitor *monitor.EthMonitor
}

// Status reports ingest progress.
type Status struct {
	Height   uint64 // last block applied
	Target   uint64 // source tip
	Blocks   uint64 // blocks applied in this run
	Txs      uint64 // transactions applied in this run
	Unwound  uint64 // blocks unwound in this run
	Elapsed  time.Duration
	Done     bool
	HaveTip  bool
	TipHash  chainhash.Hash
	Starting uint64 // height the run started from
}

// BTC ingests a Bitcoin-like chain from a BlockSource into a store.
type BTC struct {
	run
	db     store.Graph
	src    BlockSource
	st     *state
	stages []Stage
}

// NewBTC prepares an ingest of src into db.
func NewBTC(db store.Graph, src BlockSource, opts Options) *BTC {
	r := newRun(opts)
	st := &state{db: db, caches: newCaches(r.opts.CacheEntries)}
	return &BTC{
		run: r, db: db, src: src, st: st,
		stages: []Stage{blocksStage{st}, txsStage{st}, addrIndexStage{st}, &clustersStage{}, &monitorStage{st: st, m: r.opts.Monitor}},
	}
}

// load reads the stages' progress and the id counters from the store.
func (in *BTC) load(ctx context.Context) error {
	in.st.caches.reset()
	names := make([]string, len(in.stages))
	for i, s := range in.stages {
		names[i] = s.Name()
	}
	if err := in.backfillClusters(ctx); err != nil {
		return err
	}
	if err := in.loadMonitor(ctx); err != nil {
		return err
	}
	start, err := in.loadProgress(ctx, in.db, names)
	if err != nil {
		return err
	}
	in.st.startHeight = start
	in.st.nextTxNum, in.st.nextAddrID = 0, 1
	first := in.tip
	if !in.haveTip {
		// An empty store: the caches start out holding everything it holds.
		in.st.caches.utxos.complete = true
		in.st.caches.addrs.complete = true
		return nil
	}
	b, err := in.db.BlockByHeight(ctx, first.Height)
	if err != nil {
		return err
	}
	if b.Hash != first.Hash {
		return fmt.Errorf("ingest: progress says tip %s at %d but the block stored there is %s", first.Hash, first.Height, b.Hash)
	}
	in.st.nextTxNum = b.TxNumMin + uint64(b.TxCount)
	n, ok, err := in.db.MetaU64(ctx, metaNextAddr)
	if err != nil {
		return err
	}
	if ok {
		in.st.nextAddrID = n
	}
	return nil
}

// Run ingests until the source's tip (and, with Follow, keeps following it
// until ctx ends). A run interrupted at any point leaves the store at its
// last commit, from which the next run continues.
func (in *BTC) Run(ctx context.Context) (Status, error) { return in.loop(ctx, in) }

func (in *BTC) sourceTip(ctx context.Context) (uint64, error) {
	h, _, err := in.src.Tip(ctx)
	return h, err
}

func (in *BTC) firstHeight() uint64 { return in.st.startHeight }

func (in *BTC) isReorg(err error) bool { return errors.Is(err, btc.ErrReorg) }

// reconcile unwinds stored blocks that are no longer on the source's best
// chain, in one batch.
func (in *BTC) reconcile(ctx context.Context) error {
	if !in.haveTip {
		return nil
	}
	h := in.tip.Height
	for {
		srcHash, err := in.src.HashAt(ctx, h)
		if err != nil && !errors.Is(err, btc.ErrNotFound) {
			return fmt.Errorf("ingest: source hash at %d: %w", h, err)
		}
		stored, serr := in.db.BlockByHeight(ctx, h)
		if serr != nil {
			return serr
		}
		if err == nil && srcHash == stored.Hash {
			break
		}
		if h == in.st.startHeight && h > 0 {
			return fmt.Errorf("ingest: the source's chain differs from the store's at its first block %d (%s): nothing below it is stored to reorganise onto", h, stored.Hash)
		}
		if h == 0 {
			return fmt.Errorf("ingest: the source's genesis block differs from the store's (%s): wrong network or wrong store", stored.Hash)
		}
		h--
	}
	if h == in.tip.Height {
		return nil
	}
	return in.unwindTo(ctx, h)
}

// unwindTo removes every block above height keep, tip first, in one batch.
func (in *BTC) unwindTo(ctx context.Context, keep uint64) error {
	w := in.db.NewBatch()
	defer w.Close()
	for h := in.tip.Height; h > keep; h-- {
		u, err := in.loadUnwind(ctx, h)
		if err != nil {
			return err
		}
		for i := len(in.stages) - 1; i >= 0; i-- {
			if err := in.stages[i].Unwind(ctx, w, u); err != nil {
				return fmt.Errorf("ingest: unwind stage %s at block %d: %w", in.stages[i].Name(), h, err)
			}
		}
		in.log.Info("unwound block", "height", h, "hash", u.rec.Hash)
		in.status.Unwound++
	}
	keepRec, err := in.db.BlockByHeight(ctx, keep)
	if err != nil {
		return err
	}
	p := store.Progress{Height: keep, Hash: keepRec.Hash}
	for _, s := range in.stages {
		w.SetProgress(s.Name(), p)
	}
	if err := w.Commit(ctx, true); err != nil {
		return err
	}
	return in.load(ctx)
}

func (in *BTC) loadUnwind(ctx context.Context, h uint64) (*unwindBlock, error) {
	rec, err := in.db.BlockByHeight(ctx, h)
	if err != nil {
		return nil, err
	}
	u := &unwindBlock{rec: rec, txs: make([]store.TxRec, rec.TxCount)}
	for i := range u.txs {
		if err := in.db.Tx(ctx, rec.TxNumMin+uint64(i), &u.txs[i]); err != nil {
			return nil, err
		}
	}
	return u, nil
}

type rawBlock struct {
	height uint64
	hash   chainhash.Hash
	raw    []byte
}

// forward applies blocks from..to. Reading, decoding and applying run in
// three goroutines connected by bounded channels, so disk or network,
// hashing and the store's writes overlap.
func (in *BTC) forward(ctx context.Context, from, to uint64) error {
	g, gctx := errgroup.WithContext(ctx)
	rawCh := make(chan rawBlock, 32)
	prepCh := make(chan *prepBlock, 8)
	free := make(chan *prepBlock, 12)
	for range cap(free) {
		free <- &prepBlock{}
	}
	g.Go(func() error {
		defer close(rawCh)
		next := from
		err := in.src.Blocks(gctx, from, to, func(h uint64, hash chainhash.Hash, raw []byte) error {
			select {
			case rawCh <- rawBlock{h, hash, raw}:
				next = h + 1
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("ingest: reading block %d from the source: %w", next, err)
		}
		return err
	})
	g.Go(func() error {
		defer close(prepCh)
		for r := range rawCh {
			var pb *prepBlock
			select {
			case pb = <-free:
			case <-gctx.Done():
				return gctx.Err()
			}
			if err := prepare(pb, r); err != nil {
				return err
			}
			select {
			case prepCh <- pb:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		err := in.apply(gctx, from, prepCh, free)
		if err != nil {
			// Drain so the decoder is not left blocked.
			go func() {
				for range prepCh {
				}
			}()
		}
		return err
	})
	return g.Wait()
}

// prepare decodes a raw block, checks its hash and merkle root, computes
// txids and classifies every output script.
func prepare(pb *prepBlock, r rawBlock) error {
	pb.height, pb.hash, pb.raw = r.height, r.hash, r.raw
	if err := btc.DecodeBlock(r.raw, &pb.blk); err != nil {
		return fmt.Errorf("ingest: block %d (%s): %w", r.height, r.hash, err)
	}
	if got := pb.blk.Header.BlockHash(); got != r.hash {
		return fmt.Errorf("ingest: block %d: header hashes to %s, source said %s", r.height, got, r.hash)
	}
	pb.txids = pb.blk.TxIDs(pb.txids[:0])
	if err := pb.blk.CheckMerkle(pb.txids); err != nil {
		return fmt.Errorf("ingest: block %d: %w", r.height, err)
	}
	pb.weight = 4 * (btc.HeaderSize + varIntLen(uint64(len(pb.blk.Txs))))
	pb.class = pb.class[:0]
	pb.addrStart = append(pb.addrStart[:0], 0)
	pb.addrs = pb.addrs[:0]
	for i := range pb.blk.Txs {
		tx := &pb.blk.Txs[i]
		pb.weight += tx.Weight()
		for j := range tx.Outs {
			var c = pb.class
			cls, addrs := btc.ExtractAddrs(tx.Outs[j].Script, pb.addrs)
			pb.class = append(c, cls)
			pb.addrs = addrs
			pb.addrStart = append(pb.addrStart, int32(len(pb.addrs)))
		}
	}
	return nil
}

func varIntLen(n uint64) int {
	switch {
	case n < 0xfd:
		return 1
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// apply runs the stages over prepared blocks in height order. When the
// batch grows past BatchBytes it is committed in the background while the
// next batch fills, at most one commit in flight: the caches still hold
// everything the committing batch wrote, and they rotate (dropping older
// entries) only once every earlier batch has committed, so no look-up ever
// needs data that is neither cached nor committed.
func (in *BTC) apply(ctx context.Context, from uint64, prepCh <-chan *prepBlock, free chan<- *prepBlock) error {
	w := in.db.NewBatch()
	defer func() { w.Close() }()
	var inflight chan error
	wait := func() error {
		if inflight == nil {
			return nil
		}
		err := <-inflight
		inflight = nil
		return err
	}
	defer func() { _ = wait() }()
	next := from
	pending := 0
	commit := func(sync bool) error {
		if err := wait(); err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		in.st.caches.rotate()
		full := w
		w = in.db.NewBatch()
		pending = 0
		if sync {
			defer full.Close()
			return full.Commit(ctx, true)
		}
		inflight = make(chan error, 1)
		go func() {
			defer full.Close()
			inflight <- full.Commit(ctx, false)
		}()
		return nil
	}
	for pb := range prepCh {
		if pb.height != next {
			return fmt.Errorf("ingest: source delivered block %d, expected %d", pb.height, next)
		}
		var wantPrev chainhash.Hash
		if in.haveTip {
			wantPrev = in.tip.Hash
		} else if in.st.startHeight > 0 {
			// The first block of a store started above genesis: its
			// parent is not stored and is taken on trust.
			wantPrev = pb.blk.Header.PrevBlock
			w.SetMetaU64(metaStartHeight, in.st.startHeight)
		}
		if pb.blk.Header.PrevBlock != wantPrev {
			if err := commit(true); err != nil {
				return err
			}
			return fmt.Errorf("ingest: block %d (%s) has parent %s, not the stored tip %s: %w", pb.height, pb.hash, pb.blk.Header.PrevBlock, wantPrev, btc.ErrReorg)
		}
		for _, s := range in.stages {
			if err := s.Forward(ctx, w, pb); err != nil {
				return err
			}
		}
		p := store.Progress{Height: pb.height, Hash: pb.hash}
		for _, s := range in.stages {
			w.SetProgress(s.Name(), p)
		}
		in.tip, in.haveTip = p, true
		in.status.Height = pb.height
		in.status.Blocks++
		in.status.Txs += uint64(len(pb.blk.Txs))
		pending++
		next++
		pb.raw = nil
		free <- pb
		if w.Len() >= in.opts.BatchBytes {
			if err := commit(false); err != nil {
				return err
			}
		}
		in.report(false)
	}
	return commit(true)
}
