package trace

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/store"
)

// UTXOOptions configure a UTXO engine.
type UTXOOptions struct {
	Chain     string      // addrs chain id used for labels ("btc", "btc-regtest", ...)
	Labels    Labeler     // nil: no labels
	Annotator TxAnnotator // nil: no CoinJoin detection and no change heuristic
	MaxTxs    int         // work limit, default 2,000,000 transactions visited
}

// TxAnnotator recognises transaction patterns the UTXO engine cannot see
// from value alone; package cluster implements it. Implementations are safe
// for concurrent use.
type TxAnnotator interface {
	// CoinJoin returns the CoinJoin kind of t ("wasabi", "whirlpool",
	// ...), "" for none.
	CoinJoin(t *store.TxRec) string
	// Change guesses which output of t is the payer's change, with a
	// confidence in [0, 1]; ok is false when there is no guess.
	Change(ctx context.Context, t *store.TxRec) (vout int, confidence float64, ok bool)
}

// UTXOReader is the part of a UTXO store the engine reads; *store.DB
// implements it. It is declared here, by its user, so that tests and
// wrappers (a cache, a remote store) need provide no more than this.
type UTXOReader interface {
	Meta() store.ChainMeta
	Progress(ctx context.Context, stage string) (store.Progress, bool, error)
	BlockByHeight(ctx context.Context, height uint64) (store.BlockRec, error)
	TxNum(ctx context.Context, txid chainhash.Hash) (uint64, error)
	Tx(ctx context.Context, txnum uint64, t *store.TxRec) error
	Spender(ctx context.Context, txnum uint64, vout uint32) (store.SpendRec, bool, error)
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	Events(ctx context.Context, addrID, fromTxNum uint64, fn func(store.Event) bool) error
}

var _ UTXOReader = (*store.DB)(nil)

// UTXO traces value through a Bitcoin-family store, where value lives on
// outputs and every transaction spends whole outputs. It is safe for
// concurrent use: each Run keeps its state to itself.
//
// Taint is a property of outputs. Forward, the outputs the sources received
// are tainted; transactions are then visited in chain order (their ordinal,
// txnum, through a priority queue), and since an input always spends an
// output of a lower txnum, a transaction is visited once, with the taint of
// all the tainted outputs it spends known. It passes that taint to its
// outputs and its fee under the model (see utxoPropagate). Backward is the
// mirror image: the outputs the targets received are walked back to the
// inputs of the transactions that created them, in decreasing txnum order
// (see utxoAttribute).
//
// Forward, the sources' outputs are hop 0 and the outputs of a
// transaction spending outputs of hop h are hop h+1 (with ChangeSameHop,
// the likely change output stays at h). Each tainted output then meets
// the first rule that applies:
//
//   - hop above Params.Hops: beyond limits;
//   - paid to a labelled service: an endpoint; to a mixer: mixed (or, with
//     ThroughMixers, followed); to a bridge: a crossing, bridged out. DEX
//     labels mean nothing on a UTXO chain: followed. The sources' own
//     addresses are never stopped at;
//   - taint below Params.MinValue: dust;
//   - unspent at the tip: held (or burnt, for an OP_RETURN output);
//   - spent: its spender is queued. A spender outside the time window, or
//     beyond the work limit (Stats.Truncated), leaves the taint beyond
//     limits; a CoinJoin spender (TxAnnotator) ends it as mixed unless
//     ThroughMixers.
//
// For example, with Hops 1, the thief's 10 BTC output (hop 0) is spent by
// a transaction paying 4 to an exchange and 6 to a fresh address: the 4 is
// an endpoint at hop 1; the 6 (hop 1) is followed, so its spender is
// visited, but that spender's outputs are hop 2 and beyond limits.
//
// Backward, the targets' outputs are hop 0 and the outputs their creating
// transaction spent are hop 1, and so on; each attributed output is
// beyond limits, a labelled origin (endpoint or mixer), dust, or followed
// to its creating transaction, where a coinbase makes it minted (a
// Holding at the miner's address), a CoinJoin mixed, and external inputs
// (a store begun above genesis) beyond limits.
//
// Under haircut and FIFO each of these fates takes its exact share, so
// Totals balance to the satoshi; under poison every figure is of full
// output values and they do not.
type UTXO struct {
	db    UTXOReader
	opts  UTXOOptions
	net   *chaincfg.Params
	asset string
	// observe, when set (by tests), sees every output the trace gave
	// taint (forward) or attributed value (backward) to, with its hop,
	// before the output's fate is decided.
	observe func(txnum uint64, vout uint32, amount int64, hop int)
}

var _ Engine = (*UTXO)(nil)

// utxoDefaultMaxTxs bounds the transactions a trace visits by default.
const utxoDefaultMaxTxs = 2_000_000

// NewUTXO returns an engine over db, whose chain meta names the network.
func NewUTXO(db UTXOReader, opts UTXOOptions) (*UTXO, error) {
	if db == nil {
		return nil, errors.New("trace: NewUTXO: nil store")
	}
	meta := db.Meta()
	net, err := btc.Network(meta.Network)
	if err != nil {
		return nil, fmt.Errorf("trace: store of chain %q: %w", meta.Chain, err)
	}
	if opts.Chain == "" {
		opts.Chain = btc.ChainID(btc.NetworkName(net))
	}
	if opts.MaxTxs <= 0 {
		opts.MaxTxs = utxoDefaultMaxTxs
	}
	return &UTXO{db: db, opts: opts, net: net, asset: "BTC"}, nil
}

// Chain returns the chain id labels and results use.
func (e *UTXO) Chain() string { return e.opts.Chain }

// Tip returns the height up to which the store is complete: the lowest
// progress of the ingest stages a trace reads (blocks, transactions and
// the address index), which differ while an ingest is under way.
func (e *UTXO) Tip(ctx context.Context) (uint64, error) {
	var tip uint64
	for i, stage := range []string{"blocks", "txs", "addrindex"} {
		p, ok, err := e.db.Progress(ctx, stage)
		if err != nil {
			return 0, fmt.Errorf("trace: tip of %s: %w", e.opts.Chain, err)
		}
		if !ok {
			return 0, fmt.Errorf("trace: store of %s: stage %s never ran", e.opts.Chain, stage)
		}
		if i == 0 || p.Height < tip {
			tip = p.Height
		}
	}
	return tip, nil
}

// Run traces from p's sources and, forward, from seeds. Seed value counts
// under Totals.Source, like the value the sources received.
func (e *UTXO) Run(ctx context.Context, p Params, seeds []Seed) (*Result, error) {
	start := time.Now()
	if err := p.validate(len(seeds)); err != nil {
		return nil, err
	}
	if p.Chain == "" {
		p.Chain = e.opts.Chain
	} else if p.Chain != e.opts.Chain {
		return nil, fmt.Errorf("trace: parameters name chain %q, the engine reads %q", p.Chain, e.opts.Chain)
	}
	if p.Direction == Backward && len(seeds) > 0 {
		return nil, errors.New("trace: seeds are followed forward only")
	}
	tip, err := e.Tip(ctx)
	if err != nil {
		return nil, err
	}
	r := newUTXORun(e, &p, tip)
	if err := r.sources(ctx, seeds); err != nil {
		return nil, err
	}
	if p.Direction == Forward {
		if utxoReadsAhead(e.db) {
			r.pf = newUTXOPrefetch(ctx, e.db)
			for _, txnum := range slices.Sorted(maps.Keys(r.pend)) {
				r.pf.request(txnum)
			}
		}
		err = r.forward(ctx)
		if r.pf != nil {
			r.pf.stop()
		}
	} else {
		err = r.backward(ctx)
	}
	if err != nil {
		return nil, err
	}
	res, err := r.result(ctx)
	if err != nil {
		return nil, err
	}
	res.Stats.Elapsed = time.Since(start)
	return res, nil
}

// utxoTaint is the taint of one output (forward) or the value attributed
// to it (backward): an amount, and under FIFO the exact positions, whose
// total the amount then equals.
type utxoTaint struct {
	amt   int64
	spans utxoSpans
}

// utxoIn is a tainted output waiting for the transaction that spends it
// (forward) or created it (backward).
type utxoIn struct {
	idx  uint32 // forward: input index in the spender; backward: output index
	t    utxoTaint
	hop  int
	addr uint64
}

// utxoStart marks an output as a trace start: full value (From and
// FromTxs; all outputs of the transaction when allOuts), or a seed's
// amount. windowed starts count only when their transaction is inside the
// time window.
type utxoStart struct {
	vout     uint32
	allOuts  bool
	seed     bool
	amt      int64
	hop      int
	windowed bool
}

// utxoPend is what a transaction in the queue is waiting with.
type utxoPend struct {
	ins    []utxoIn // forward: tainted inputs; backward: outputs followed
	cands  []utxoIn // backward: outputs that may also be starts
	starts []utxoStart
}

// utxoRun is the state of one Run.
type utxoRun struct {
	e        *UTXO
	p        *Params
	tip      uint64
	minValue int64
	fromIDs  map[uint64]bool
	fromTxs  map[uint64]bool
	queue    utxoQueue
	pend     map[uint64]*utxoPend
	times    map[uint64]time.Time
	addrs    map[uint64]*utxoAddr
	nodes    map[string]*utxoNode
	edges    map[utxoEdgeKey]*utxoEdge
	ends     map[string]*utxoEnd
	holds    map[uint64]*utxoHold
	cross    []Crossing
	tot      utxoTotals
	txs      int
	trunc    bool
	rec      store.TxRec
	// txid is the hex txid of transaction txidOf, kept because a
	// transaction's edges are recorded one after another.
	txid   string
	txidOf uint64
	// sender is the address of the input of transaction senderOf that
	// carried the most taint, the sender a crossing names.
	sender, senderOf uint64
	hasSender        bool
	// pf reads ahead of a forward walk (nil backward); spends are the
	// spenders of rec's outputs when it came from pf, else nil.
	pf     *utxoPrefetch
	spends []utxoSpend
}

func newUTXORun(e *UTXO, p *Params, tip uint64) *utxoRun {
	minValue := int64(math.MaxInt64)
	if v, ok := p.MinValue.Uint64(); ok && v < math.MaxInt64 {
		minValue = int64(v)
	}
	return &utxoRun{
		e: e, p: p, tip: tip, minValue: minValue,
		fromIDs: map[uint64]bool{}, fromTxs: map[uint64]bool{},
		queue: utxoQueue{desc: p.Direction == Backward},
		pend:  map[uint64]*utxoPend{}, times: map[uint64]time.Time{},
		addrs: map[uint64]*utxoAddr{}, nodes: map[string]*utxoNode{},
		edges: map[utxoEdgeKey]*utxoEdge{}, ends: map[string]*utxoEnd{},
		holds: map[uint64]*utxoHold{},
	}
}

// pending returns the queue entry of txnum, queueing it when new.
func (r *utxoRun) pending(txnum uint64) *utxoPend {
	pd := r.pend[txnum]
	if pd == nil {
		pd = &utxoPend{}
		r.pend[txnum] = pd
		r.queue.push(txnum)
		if r.pf != nil {
			r.pf.request(txnum)
		}
	}
	return pd
}

// sources resolves p.From, p.FromTxs and seeds into queued starts.
func (r *utxoRun) sources(ctx context.Context, seeds []Seed) error {
	for _, a := range r.p.From {
		k, err := btc.ParseAddress(a, r.e.net)
		if err != nil {
			return fmt.Errorf("trace: source address %s: %w", a, err)
		}
		id, err := r.e.db.AddrID(ctx, k.Bytes())
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("trace: source address %s has no activity in the store: %w", a, err)
		}
		if err != nil {
			return fmt.Errorf("trace: source address %s: %w", a, err)
		}
		r.fromIDs[id] = true
		err = r.e.db.Events(ctx, id, 0, func(ev store.Event) bool {
			if !ev.Spent {
				pd := r.pending(ev.TxNum)
				pd.starts = append(pd.starts, utxoStart{vout: ev.Index, windowed: true})
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("trace: receipts of %s: %w", a, err)
		}
	}
	for _, s := range r.p.FromTxs {
		txnum, err := r.txNum(ctx, s)
		if err != nil {
			return err
		}
		r.fromTxs[txnum] = true
		pd := r.pending(txnum)
		pd.starts = append(pd.starts, utxoStart{allOuts: true})
	}
	for _, s := range seeds {
		txnum, err := r.txNum(ctx, s.Tx)
		if err != nil {
			return err
		}
		amt, ok := s.Tainted.Uint64()
		if !ok || amt > math.MaxInt64 {
			return fmt.Errorf("trace: seed %s:%d: tainted amount %s out of range", s.Tx, s.Index, s.Tainted)
		}
		pd := r.pending(txnum)
		pd.starts = append(pd.starts, utxoStart{vout: s.Index, seed: true, amt: int64(amt), hop: s.Hop})
	}
	return nil
}

// txNum resolves a transaction hash given by the user.
func (r *utxoRun) txNum(ctx context.Context, s string) (uint64, error) {
	h, err := chainhash.NewHashFromStr(s)
	if err != nil || len(s) != 64 {
		return 0, fmt.Errorf("trace: transaction %q: want 64 hex digits", s)
	}
	n, err := r.e.db.TxNum(ctx, *h)
	if err != nil {
		return 0, fmt.Errorf("trace: transaction %s: %w", s, err)
	}
	return n, nil
}

// readTx reads a queued transaction into the run's scratch record and
// returns its block time.
func (r *utxoRun) readTx(ctx context.Context, txnum uint64) (time.Time, error) {
	r.spends = nil
	var f *utxoFetched
	if r.pf != nil {
		f = r.pf.take(txnum)
	}
	if f != nil && f.err == nil {
		r.rec, f.rec = f.rec, r.rec
		r.spends = f.spends
	} else if err := r.e.db.Tx(ctx, txnum, &r.rec); err != nil {
		return time.Time{}, fmt.Errorf("trace: transaction #%d: %w", txnum, err)
	}
	if t, ok := r.times[r.rec.Height]; ok {
		return t, nil
	}
	b, err := r.e.db.BlockByHeight(ctx, r.rec.Height)
	if err != nil {
		return time.Time{}, fmt.Errorf("trace: block %d of transaction %s: %w", r.rec.Height, r.rec.TxID, err)
	}
	t := time.Unix(int64(b.Time), 0).UTC()
	r.times[r.rec.Height] = t
	return t, nil
}

// spender returns the input spending output vout of rec, from the
// read-ahead when there is one.
func (r *utxoRun) spender(ctx context.Context, vout int) (store.SpendRec, bool, error) {
	if vout < len(r.spends) {
		s := r.spends[vout]
		return s.s, s.spent, s.err
	}
	return r.e.db.Spender(ctx, r.rec.TxNum, uint32(vout))
}

// work counts a visited transaction and reports whether the work limit
// still allows it.
func (r *utxoRun) work() bool {
	if r.txs >= r.e.opts.MaxTxs {
		r.trunc = true
		return false
	}
	r.txs++
	return true
}

// utxoValues returns the input values of t (external inputs count 0), their
// sum raised to at least the outputs' sum, the outputs' sum and the fee.
// Raising the input sum keeps the arithmetic sound when external inputs
// (a store begun above genesis) hide part of the input value.
func utxoValues(t *store.TxRec) (ins []int64, vIn, vOut, fee int64) {
	ins = make([]int64, len(t.Ins))
	for i := range t.Ins {
		ins[i] = t.Ins[i].Value
		vIn += ins[i]
	}
	for i := range t.Outs {
		vOut += t.Outs[i].Value
	}
	vIn = max(vIn, vOut)
	return ins, vIn, vOut, vIn - vOut
}

// utxoFirstAddr returns the address an output is attributed to: its first
// key, 0 for none.
func utxoFirstAddr(o *store.OutRec) uint64 {
	if len(o.AddrIDs) > 0 {
		return o.AddrIDs[0]
	}
	return 0
}

// utxoQueue is a priority queue of transaction ordinals, smallest first
// (forward) or largest first (backward, desc).
type utxoQueue struct {
	desc bool
	h    []uint64
}

func (q *utxoQueue) less(a, b uint64) bool {
	if q.desc {
		return a > b
	}
	return a < b
}

func (q *utxoQueue) push(x uint64) {
	q.h = append(q.h, x)
	for i := len(q.h) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(q.h[i], q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *utxoQueue) pop() (uint64, bool) {
	if len(q.h) == 0 {
		return 0, false
	}
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h = q.h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && q.less(q.h[l], q.h[m]) {
			m = l
		}
		if l+1 < n && q.less(q.h[l+1], q.h[m]) {
			m = l + 1
		}
		if m == i {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top, true
}
