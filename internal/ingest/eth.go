package ingest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"golang.org/x/sync/errgroup"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/eth/rpc"
	"github.com/chaintrace/chaintrace/internal/store"
)

// EthSource supplies the blocks of an Ethereum or EVM chain's best chain as
// the source currently sees it; *rpc.Client implements it. Hashes are
// 0x-prefixed hex. HashAt returns an error wrapping rpc.ErrNotFound when the
// best chain is shorter than height; Blocks may return an error wrapping
// rpc.ErrReorg when the chain changes under it, and the ingester then
// reconciles and resumes.
type EthSource interface {
	Tip(ctx context.Context) (uint64, string, error)
	HashAt(ctx context.Context, height uint64) (string, error)
	Blocks(ctx context.Context, from, to uint64, fn func(*eth.RawBlock) error) error
}

// EthGraph is an account-chain store that ingest can write.
type EthGraph interface {
	store.AccountReader
	NewAccountBatch() store.AccountBatch
}

var _ EthGraph = (*store.DB)(nil)

// Eth ingests an Ethereum-like chain from an EthSource into a store, in
// stages (eth-blocks, eth-txs, eth-addrindex, eth-monitor) with the same design as BTC:
// every batch carries the data and progress of all stages, so a killed run
// resumes exactly; a reorg unwinds the orphaned blocks in one batch and
// reassigns transaction ordinals and address ids as a fresh ingest of the
// new branch would.
type Eth struct {
	run
	db     EthGraph
	src    ethChain
	raw    EthSource        // set for sources of raw blocks
	dec    EthDecodedSource // set for sources of decoded blocks
	st     *ethState
	stages []ethStage
}

// NewEth prepares an ingest of src into db. Of Options, CacheEntries
// bounds each generation of the address cache.
func NewEth(db EthGraph, src EthSource, opts Options) *Eth {
	in := newEth(db, src, opts)
	in.raw = src
	return in
}

// newEth builds an Eth reading tips and hashes from src.
func newEth(db EthGraph, src ethChain, opts Options) *Eth {
	r := newRun(opts)
	st := &ethState{db: db, addrs: newGenMap[common.Address, uint64](r.opts.CacheEntries)}
	return &Eth{
		run: r, db: db, src: src, st: st,
		stages: []ethStage{ethBlocksStage{st}, ethTxsStage{st}, ethAddrIndexStage{}, &ethMonitorStage{st: st, m: r.opts.EthMonitor}},
	}
}

// load reads the stages' progress and the id counters from the store.
func (in *Eth) load(ctx context.Context) error {
	in.st.addrs.reset()
	if err := in.loadEthMonitor(ctx); err != nil {
		return err
	}
	names := make([]string, len(in.stages))
	for i, s := range in.stages {
		names[i] = s.Name()
	}
	start, err := in.loadProgress(ctx, in.db, names)
	if err != nil {
		return err
	}
	in.st.startHeight = start
	in.st.nextTxNum, in.st.nextAddrID = 0, 1
	first := in.tip
	if !in.haveTip {
		in.st.addrs.complete = true
		return nil
	}
	b, err := in.db.EthBlockByHeight(ctx, first.Height)
	if err != nil {
		return err
	}
	if b.Hash != first.Hash {
		return fmt.Errorf("ingest: progress says tip %s at %d but the block stored there is %s", hexHash(first.Hash), first.Height, hexHash(b.Hash))
	}
	in.st.nextTxNum = b.TxNumMin + b.TxNums()
	n, ok, err := in.db.MetaU64(ctx, metaNextAddr)
	if err != nil {
		return err
	}
	if ok {
		in.st.nextAddrID = n
	}
	return nil
}

func hexHash(h [32]byte) string { return common.Hash(h).Hex() }

// Run ingests until the source's tip (and, with Follow, keeps following it
// until ctx ends). A run interrupted at any point leaves the store at its
// last commit, from which the next run continues.
func (in *Eth) Run(ctx context.Context) (Status, error) { return in.loop(ctx, in) }

func (in *Eth) sourceTip(ctx context.Context) (uint64, error) {
	h, _, err := in.src.Tip(ctx)
	return h, err
}

func (in *Eth) firstHeight() uint64 { return in.st.startHeight }

func (in *Eth) isReorg(err error) bool { return errors.Is(err, rpc.ErrReorg) }

// parseHexHash parses a source's 0x-prefixed block hash.
func parseHexHash(s string) ([32]byte, error) {
	b, err := hexutil.Decode(s)
	if err != nil {
		return [32]byte{}, err
	}
	if len(b) != 32 {
		return [32]byte{}, fmt.Errorf("hash %q is %d bytes", s, len(b))
	}
	return [32]byte(b), nil
}

// reconcile unwinds stored blocks that are no longer on the source's best
// chain, in one batch.
func (in *Eth) reconcile(ctx context.Context) error {
	if !in.haveTip {
		return nil
	}
	h := in.tip.Height
	for {
		s, err := in.src.HashAt(ctx, h)
		if err != nil && !errors.Is(err, rpc.ErrNotFound) {
			return fmt.Errorf("ingest: source hash at %d: %w", h, err)
		}
		var srcHash [32]byte
		if err == nil {
			if srcHash, err = parseHexHash(s); err != nil {
				return fmt.Errorf("ingest: source hash at %d: %w", h, err)
			}
		}
		stored, serr := in.db.EthBlockByHeight(ctx, h)
		if serr != nil {
			return serr
		}
		if err == nil && srcHash == stored.Hash {
			break
		}
		if h == in.st.startHeight {
			return fmt.Errorf("ingest: the source's chain differs from the store's at its first block %d (%s): nothing below it is stored to reorganise onto", h, hexHash(stored.Hash))
		}
		h--
	}
	if h == in.tip.Height {
		return nil
	}
	return in.unwindTo(ctx, h)
}

// unwindTo removes every block above height keep, tip first, in one batch.
func (in *Eth) unwindTo(ctx context.Context, keep uint64) error {
	w := in.db.NewAccountBatch()
	defer w.Close()
	for h := in.tip.Height; h > keep; h-- {
		u, err := in.loadUnwind(ctx, h)
		if err != nil {
			return err
		}
		for i := len(in.stages) - 1; i >= 0; i-- {
			if err := in.stages[i].Unwind(ctx, w, u); err != nil {
				return fmt.Errorf("ingest: unwind stage %s at eth block %d: %w", in.stages[i].Name(), h, err)
			}
		}
		in.log.Info("unwound block", "height", h, "hash", hexHash(u.rec.Hash))
		in.status.Unwound++
	}
	keepRec, err := in.db.EthBlockByHeight(ctx, keep)
	if err != nil {
		return err
	}
	p := store.Progress{Height: keep, Hash: chainhash.Hash(keepRec.Hash)}
	for _, s := range in.stages {
		w.SetProgress(s.Name(), p)
	}
	if err := w.Commit(ctx, true); err != nil {
		return err
	}
	return in.load(ctx)
}

func (in *Eth) loadUnwind(ctx context.Context, h uint64) (*ethUnwind, error) {
	rec, err := in.db.EthBlockByHeight(ctx, h)
	if err != nil {
		return nil, err
	}
	u := &ethUnwind{rec: rec, txs: make([]store.EthTxRec, rec.TxNums())}
	for i := range u.txs {
		if err := in.db.EthTx(ctx, rec.TxNumMin+uint64(i), &u.txs[i]); err != nil {
			return nil, fmt.Errorf("ingest: unwind eth block %d: %w", h, err)
		}
	}
	return u, nil
}

// forward applies blocks from..to: the source, the decoder (eth.Decode and
// eth.Extract) and the stages run in three goroutines joined by bounded
// channels.
func (in *Eth) forward(ctx context.Context, from, to uint64) error {
	g, gctx := errgroup.WithContext(ctx)
	rawCh := make(chan ethItem, 32)
	prepCh := make(chan *ethPrep, 8)
	g.Go(func() error {
		defer close(rawCh)
		next := from
		var err error
		if in.dec != nil {
			err = in.dec.DecodedBlocks(gctx, from, to, func(b *eth.Block) error {
				select {
				case rawCh <- ethItem{blk: b}:
					next = b.Number() + 1
					return nil
				case <-gctx.Done():
					return gctx.Err()
				}
			})
		} else {
			err = in.raw.Blocks(gctx, from, to, func(rb *eth.RawBlock) error {
				select {
				case rawCh <- ethItem{raw: rb}:
					next = rb.Number + 1
					return nil
				case <-gctx.Done():
					return gctx.Err()
				}
			})
		}
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("ingest: reading eth block %d from the source: %w", next, err)
		}
		return err
	})
	// Decoding (JSON) costs far more than applying, so blocks are decoded
	// by several goroutines and handed on in height order through order,
	// a queue of one-shot result channels.
	workers := max(runtime.GOMAXPROCS(0), 1)
	type decoded struct {
		pb  *ethPrep
		err error
	}
	order := make(chan chan decoded, 2*workers)
	collected := make(chan struct{})
	g.Go(func() error {
		defer close(order)
		var wg sync.WaitGroup
		defer wg.Wait()
		sem := make(chan struct{}, workers)
		for rb := range rawCh {
			ch := make(chan decoded, 1)
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				pb, err := rb.prepare()
				<-sem
				ch <- decoded{pb, err}
			}()
			// No select on gctx: every block the source delivered
			// reaches apply, so a failing source still leaves all the
			// blocks before the failure committed.
			select {
			case order <- ch:
			case <-collected:
				return nil
			}
		}
		return nil
	})
	g.Go(func() error {
		defer close(prepCh)
		defer close(collected)
		for ch := range order {
			d := <-ch
			if d.err != nil {
				return d.err
			}
			// apply drains prepCh when it fails, so this cannot block
			// for ever.
			prepCh <- d.pb
		}
		return nil
	})
	g.Go(func() error {
		err := in.apply(gctx, from, prepCh)
		if err != nil {
			go func() {
				for range prepCh {
				}
			}()
		}
		return err
	})
	return g.Wait()
}

// prepare decodes the item's raw block, if any, and extracts its transfers.
func (it ethItem) prepare() (*ethPrep, error) {
	if it.raw != nil {
		b, err := eth.Decode(it.raw)
		if err != nil {
			return nil, fmt.Errorf("ingest: eth block %d: %w", it.raw.Number, err)
		}
		return prepareEth(it.raw.Number, b)
	}
	if err := checkDecoded(it.blk); err != nil {
		return nil, err
	}
	return prepareEth(it.blk.Number(), it.blk)
}

// prepareEth extracts the transfers of decoded block b at height.
func prepareEth(height uint64, b *eth.Block) (*ethPrep, error) {
	trs, _ := eth.Extract(b)
	pb := &ethPrep{height: height, blk: b, transfers: trs}
	// Group the transfers by transaction: Extract returns them in
	// transaction order, withdrawals (TxIndex -1) last.
	pb.txStart = make([]int, len(b.Txs)+1)
	k := 0
	for i := range b.Txs {
		pb.txStart[i] = k
		for k < len(trs) && trs[k].TxIndex == i {
			k++
		}
	}
	pb.txStart[len(b.Txs)] = k
	for j := k; j < len(trs); j++ {
		if trs[j].TxIndex != -1 {
			return nil, fmt.Errorf("ingest: eth block %d: transfer %d of tx %d is out of order", height, j, trs[j].TxIndex)
		}
	}
	return pb, nil
}

// apply runs the stages over prepared blocks in height order, committing
// in the background when the batch passes BatchBytes (at most one commit in
// flight; the address cache rotates only after earlier batches committed).
// When the block stream ends, early or not, the blocks applied so far are
// committed: they are a valid prefix.
func (in *Eth) apply(ctx context.Context, from uint64, prepCh <-chan *ethPrep) error {
	w := in.db.NewAccountBatch()
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
	commit := func(ctx context.Context, sync bool) error {
		if err := wait(); err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		in.st.addrs.rotate()
		full := w
		w = in.db.NewAccountBatch()
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
			return fmt.Errorf("ingest: source delivered eth block %d, expected %d", pb.height, next)
		}
		parent := [32]byte(pb.blk.Header.ParentHash)
		var wantParent [32]byte
		if in.haveTip {
			wantParent = in.tip.Hash
		} else if in.st.startHeight > 0 {
			// The first block of a store started above genesis: its
			// parent is not stored and is taken on trust.
			wantParent = parent
			w.SetMetaU64(metaStartHeight, in.st.startHeight)
		}
		if parent != wantParent {
			if err := commit(context.WithoutCancel(ctx), true); err != nil {
				return err
			}
			return fmt.Errorf("ingest: eth block %d (%s) has parent %s, not the stored tip %s: %w", pb.height, pb.blk.Hash.Hex(), hexHash(parent), hexHash(wantParent), rpc.ErrReorg)
		}
		for _, s := range in.stages {
			if err := s.Forward(ctx, w, pb); err != nil {
				return err
			}
		}
		p := store.Progress{Height: pb.height, Hash: chainhash.Hash(pb.blk.Hash)}
		for _, s := range in.stages {
			w.SetProgress(s.Name(), p)
		}
		in.tip, in.haveTip = p, true
		in.status.Height = pb.height
		in.status.Blocks++
		in.status.Txs += uint64(len(pb.blk.Txs))
		pending++
		next++
		if w.Len() >= in.opts.BatchBytes {
			if err := commit(ctx, false); err != nil {
				return err
			}
		}
		in.report(false)
	}
	return commit(context.WithoutCancel(ctx), true)
}
