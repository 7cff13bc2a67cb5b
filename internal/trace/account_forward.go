package trace

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// acctChunk is how many transaction ordinals of one address a cursor loads
// at a time.
const acctChunk = 256

// acctActive is an address that holds (or held) taint during a forward
// trace: its positions per asset and a cursor over the ordinals of the
// transactions it takes part in after it joined.
type acctActive struct {
	id     uint64
	hop    int
	source bool
	holds  map[uint64]*acctHold
	next   []uint64
	pos    int
	after  uint64
	done   bool
}

// hold returns a's position in token, creating an empty one.
func (a *acctActive) hold(token uint64) *acctHold {
	h := a.holds[token]
	if h == nil {
		h = &acctHold{}
		a.holds[token] = h
	}
	return h
}

// acctItem is a heap entry: the next transaction ordinal of an active
// address, or (a nil) a source transaction or seed.
type acctItem struct {
	tx uint64
	a  *acctActive
}

// acctHeap orders entries by transaction ordinal.
type acctHeap []acctItem

func (h acctHeap) Len() int           { return len(h) }
func (h acctHeap) Less(i, j int) bool { return h[i].tx < h[j].tx }
func (h acctHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *acctHeap) Push(x any)        { *h = append(*h, x.(acctItem)) }
func (h *acctHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// acctFwd is the state of a forward trace.
type acctFwd struct {
	*acctRun
	active  map[uint64]*acctActive
	joined  []*acctActive
	heap    acctHeap
	sources map[uint64]bool
	fromTxs map[uint64]bool
	seeds   map[uint64][]Seed
	rec     store.EthTxRec
}

// acctSwapKey names what one address sent of one asset in a transaction.
type acctSwapKey struct{ addr, token uint64 }

// acctSwapSent is what an address sent of one asset in a swap: the amount
// and its taint.
type acctSwapSent struct{ sent, tainted model.Amount }

// runForward simulates the chain from the sources on, in global chain
// order, over every address that holds taint.
//
// The source value is every transfer received by a source address inside
// the time window (the source is hop 0; receipts before Since are clean
// balance), every transfer of each FromTxs transaction (its senders are
// hop 0, its recipients hop 1), and each seed (the recipient of transfer
// Index of Tx receives Tainted, at hop Seed.Hop). Fee transfers of FromTxs
// transactions are not source value.
//
// The simulation merges the address-index cursors of all active addresses
// in a heap by transaction ordinal and replays each transaction's
// transfers in order, so that an address's outgoing transfers see exactly
// the balance and taint it had at that moment. An address joins when it
// first receives taint: its clean balance then is the sum of its earlier
// events (clamped at zero when the store lacks part of its history), and
// from then on every transaction it takes part in updates it.
//
// Worked example, haircut: A holds 30 clean ETH and receives 10 tainted
// (B=40, T=10); it pays 20 to X, carrying floor(20*10/40) = 5 tainted
// (B=20, T=5), then 7 to Y, carrying floor(7*5/20) = 1 (the 0.75 rounds
// down and stays with A: B=13, T=4). Under FIFO the same payments take
// A's queue front first: X's 20 are clean (the 30 came first), Y's 7 are
// clean, and the 10 tainted units leave only after 30 clean ones. Under
// poison X and Y receive 20 and 7 tainted.
//
// Where taint goes: a labelled service (ClassStop) is an endpoint; a
// mixer is an endpoint (Totals.Mixers) unless ThroughMixers; a bridge ends
// the trace on this chain with a Crossing (Totals.BridgedOut); the zero
// address burns it (Totals.Burnt); fee transfers are Totals.Fees (the
// miner is not followed). A swap is an address sending tainted asset A
// and receiving another fungible asset B in the same transaction: the A
// sent is SwappedOut and the address receives taint of B priced at the
// transaction's own ratio, floor(received_B * tainted_A / sent_A) (capped
// at received_B; poison: received_B), as SwappedIn. Taint smaller than
// MinValue on a transfer is dust, a transfer out of the time window is
// beyond limits, and so is taint that would reach an address at a hop
// above Params.Hops. What stays at addresses at the tip is Unspent, with
// one Holding per address and asset.
func (r *acctRun) runForward(ctx context.Context, seeds []Seed) error {
	f := &acctFwd{acctRun: r, active: map[uint64]*acctActive{}, sources: map[uint64]bool{},
		fromTxs: map[uint64]bool{}, seeds: map[uint64][]Seed{}}
	for _, s := range r.p.From {
		id, err := r.addrID(ctx, s)
		if err != nil {
			return fmt.Errorf("trace: source %q: %w", s, err)
		}
		if f.sources[id] {
			continue
		}
		f.sources[id] = true
		n := r.node(id, 0)
		n.source, n.followed = true, true
		a, err := f.join(ctx, id, 0, 0, true, 0)
		if err != nil {
			return err
		}
		a.source = true
	}
	for _, s := range r.p.FromTxs {
		n, err := r.txNum(ctx, s)
		if err != nil {
			return err
		}
		if !f.fromTxs[n] {
			f.fromTxs[n] = true
			heap.Push(&f.heap, acctItem{tx: n})
		}
	}
	for _, s := range seeds {
		n, err := r.txNum(ctx, s.Tx)
		if err != nil {
			return fmt.Errorf("trace: seed: %w", err)
		}
		if s.Hop < 0 {
			return fmt.Errorf("trace: seed %s:%d: negative hop %d", s.Tx, s.Index, s.Hop)
		}
		f.seeds[n] = append(f.seeds[n], s)
		heap.Push(&f.heap, acctItem{tx: n})
	}
	f.pushJoined()
	var popped []*acctActive
	for len(f.heap) > 0 && !r.truncated {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := f.heap[0].tx
		popped = popped[:0]
		for len(f.heap) > 0 && f.heap[0].tx == t {
			it := heap.Pop(&f.heap).(acctItem)
			if it.a != nil {
				popped = append(popped, it.a)
			}
		}
		if err := f.tx(ctx, t); err != nil {
			return err
		}
		for _, a := range popped {
			a.pos++
			if a.pos >= len(a.next) {
				if err := f.refill(ctx, a); err != nil {
					return err
				}
			}
			if a.pos < len(a.next) {
				heap.Push(&f.heap, acctItem{tx: a.next[a.pos], a: a})
			}
		}
		f.pushJoined()
	}
	return f.finish(ctx)
}

// pushJoined schedules the addresses that joined since the last call.
func (f *acctFwd) pushJoined() {
	for _, a := range f.joined {
		if a.pos < len(a.next) {
			heap.Push(&f.heap, acctItem{tx: a.next[a.pos], a: a})
		}
	}
	f.joined = f.joined[:0]
}

// join makes address id active from transfer index of transaction tx on
// (all: from the chain's start), at hop. It sums the address's earlier
// events into clean balances and loads the first ordinals of its cursor.
func (f *acctFwd) join(ctx context.Context, id, tx uint64, index uint32, all bool, hop int) (*acctActive, error) {
	a := &acctActive{id: id, hop: hop, holds: map[uint64]*acctHold{}}
	f.active[id] = a
	f.joined = append(f.joined, a)
	stopped := false
	err := f.e.db.EthEvents(ctx, id, 0, func(ev store.EthEvent) bool {
		if f.visit(1) {
			// Out of work: the trace stops after this transaction and
			// counts what is left as beyond limits.
			stopped = true
			return false
		}
		before := !all && (ev.TxNum < tx || ev.TxNum == tx && ev.Index < index)
		if before {
			if f.wants(ev.Token) {
				h := a.hold(ev.Token)
				if ev.Out {
					h.bal = acctSub(h.bal, ev.Amount)
				} else {
					h.bal = acctAdd(h.bal, ev.Amount)
				}
			}
			return true
		}
		if !all && ev.TxNum == tx {
			return true
		}
		return f.cursorAdd(a, ev.TxNum, &stopped)
	})
	if err != nil {
		return nil, fmt.Errorf("trace: events of address #%d: %w", id, err)
	}
	a.done = !stopped && !f.truncated
	if f.p.Model == FIFO {
		for _, h := range a.holds {
			if !h.bal.IsZero() {
				h.segs = []acctSeg{{n: h.bal}}
			}
		}
	}
	return a, nil
}

// cursorAdd appends a transaction ordinal to a's cursor and reports
// whether to go on reading (false once a chunk is full).
func (f *acctFwd) cursorAdd(a *acctActive, tx uint64, stopped *bool) bool {
	if n := len(a.next); n > 0 && a.next[n-1] == tx {
		return true
	}
	if len(a.next) >= acctChunk {
		*stopped = true
		a.after = a.next[len(a.next)-1]
		return false
	}
	a.next = append(a.next, tx)
	return true
}

// refill loads the next chunk of a's cursor.
func (f *acctFwd) refill(ctx context.Context, a *acctActive) error {
	a.next, a.pos = a.next[:0], 0
	if a.done {
		return nil
	}
	stopped := false
	err := f.e.db.EthEvents(ctx, a.id, a.after+1, func(ev store.EthEvent) bool {
		if f.visit(1) {
			stopped = true
			return false
		}
		return f.cursorAdd(a, ev.TxNum, &stopped)
	})
	if err != nil {
		return fmt.Errorf("trace: events of address #%d: %w", a.id, err)
	}
	a.done = !stopped && !f.truncated
	return nil
}

// tx replays transaction t for every active address.
func (f *acctFwd) tx(ctx context.Context, t uint64) error {
	rec := &f.rec
	if err := f.e.db.EthTx(ctx, t, rec); err != nil {
		return fmt.Errorf("trace: transaction #%d: %w", t, err)
	}
	f.visit(len(rec.Transfers))
	when, err := f.blockTime(ctx, rec.Height)
	if err != nil {
		return err
	}
	var swaps map[acctSwapKey]*acctSwapSent
	// Fees go last, after the swap's proceeds are tainted: Extract puts
	// them after every other transfer of the transaction anyway, and this
	// way a swapper pays its fee from the balance the swap left it.
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			if err := f.swapIn(rec, t, swaps); err != nil {
				return err
			}
		}
		if err := f.transfers(ctx, rec, t, when, pass == 1, &swaps); err != nil {
			return err
		}
	}
	return nil
}

// transfers replays the transfers of rec, either the fees or the others.
func (f *acctFwd) transfers(ctx context.Context, rec *store.EthTxRec, t uint64, when time.Time, fees bool, swapsp *map[acctSwapKey]*acctSwapSent) error {
	inWin := f.p.InWindow(when)
	m := f.p.Model
	swaps := *swapsp
	defer func() { *swapsp = swaps }()
	for k := range rec.Transfers {
		tr := &rec.Transfers[k]
		if !acctFungible(tr.Kind) || !f.wants(tr.Token) || tr.From == tr.To || acctFee(tr.Kind) != fees {
			continue
		}
		a := tr.Amount
		snd, rcv := f.active[tr.From], f.active[tr.To]
		if tr.From == 0 {
			snd = nil
		}
		if tr.To == 0 {
			rcv = nil
		}
		var pay acctPay
		hop, fromTainted := math.MaxInt, false
		if snd != nil {
			pay = snd.hold(tr.Token).spend(m, a)
			if !pay.c.IsZero() {
				hop, fromTainted = snd.hop+1, true
			}
		} else {
			pay = acctCleanPay(m, a)
		}
		forced, fhop, viaTx := f.forced(t, uint32(k), tr, inWin)
		if extra := model.Min(forced, acctSub(a, pay.c)); !extra.IsZero() {
			if m == FIFO {
				pay = acctTaintFront(pay, extra)
			}
			if m == Poison {
				pay.c = a
			} else {
				pay.c = acctAdd(pay.c, extra)
			}
			tt := f.total(tr.Token)
			tt.Source = acctAdd(tt.Source, extra)
			hop = min(hop, fhop)
			fromTainted = fromTainted || viaTx
		}
		c := pay.c
		if c.IsZero() {
			f.deliverClean(rcv, tr, t)
			continue
		}
		tot := f.total(tr.Token)
		edge := func(to uint64, h int) {
			if fromTainted && to != 0 {
				f.edges = append(f.edges, acctEdge{txnum: t, index: uint32(k), from: tr.From, to: to, token: tr.Token,
					height: rec.Height, hash: rec.Hash, hop: h, value: a, tainted: c})
			}
		}
		switch {
		case rcv != nil && rcv.source && inWin:
			// A source receiving: the value stays in the trace's start.
			rcv.hold(tr.Token).receive(m, a, pay, t)
			edge(tr.To, 0)
			continue
		case !inWin:
			tot.BeyondLimits = acctAdd(tot.BeyondLimits, c)
			if tr.To != 0 && rcv == nil {
				f.node(tr.To, hop).limit = true
			}
			edge(tr.To, hop)
			f.deliverClean(rcv, tr, t)
			continue
		case acctFee(tr.Kind):
			tot.Fees = acctAdd(tot.Fees, c)
			f.deliverClean(rcv, tr, t)
			continue
		case tr.To == 0:
			tot.Burnt = acctAdd(tot.Burnt, c)
			continue
		case snd != nil && !f.p.NoSwaps && acctSwapper(rec, tr.From, tr.Token):
			tot.SwappedOut = acctAdd(tot.SwappedOut, c)
			if swaps == nil {
				swaps = map[acctSwapKey]*acctSwapSent{}
			}
			key := acctSwapKey{tr.From, tr.Token}
			s := swaps[key]
			if s == nil {
				s = &acctSwapSent{}
				swaps[key] = s
			}
			s.sent, s.tainted = acctAdd(s.sent, a), acctAdd(s.tainted, c)
			f.node(tr.To, hop).dex = true
			edge(tr.To, hop)
			f.deliverClean(rcv, tr, t)
			continue
		case c.Cmp(f.p.MinValue) < 0:
			tot.Dust = acctAdd(tot.Dust, c)
			f.deliverClean(rcv, tr, t)
			continue
		}
		cl, err := f.class(ctx, tr.To)
		if err != nil {
			return err
		}
		switch {
		case cl.class == ClassStop || cl.class == ClassMixer && !f.p.ThroughMixers:
			if cl.class == ClassMixer {
				tot.Mixers = acctAdd(tot.Mixers, c)
			} else {
				tot.Endpoints = acctAdd(tot.Endpoints, c)
			}
			f.endpoint(tr.To, tr.Token, cl, hop, c)
			edge(tr.To, hop)
			f.deliverClean(rcv, tr, t)
			continue
		case cl.class == ClassBridge:
			tot.BridgedOut = acctAdd(tot.BridgedOut, c)
			if err := f.crossing(ctx, rec, k, hop, c, when, cl); err != nil {
				return err
			}
			f.node(tr.To, hop)
			edge(tr.To, hop)
			f.deliverClean(rcv, tr, t)
			continue
		case rcv == nil && hop > f.p.Hops:
			tot.BeyondLimits = acctAdd(tot.BeyondLimits, c)
			f.node(tr.To, hop).limit = true
			edge(tr.To, hop)
			continue
		}
		if rcv == nil {
			if rcv, err = f.join(ctx, tr.To, t, uint32(k), false, hop); err != nil {
				return err
			}
		}
		rcv.hop = min(rcv.hop, hop)
		f.node(tr.To, rcv.hop).followed = true
		rcv.hold(tr.Token).receive(m, a, pay, t)
		edge(tr.To, hop)
	}
	return nil
}

// forced returns the taint a transfer receives from the trace's sources
// whatever its sender holds: the full amount into a source address inside
// the window, the full amount of a FromTxs transfer, a seed's Tainted; with
// the hop the recipient then has and whether the sender counts as a source.
func (f *acctFwd) forced(t uint64, k uint32, tr *store.EthTransferRec, inWin bool) (model.Amount, int, bool) {
	var v model.Amount
	hop, viaTx := math.MaxInt, false
	if tr.To != 0 && f.sources[tr.To] && inWin {
		v, hop = tr.Amount, 0
	}
	if f.fromTxs[t] && !acctFee(tr.Kind) {
		v, hop, viaTx = tr.Amount, min(hop, 1), true
		if tr.From != 0 {
			n := f.node(tr.From, 0)
			n.source = true
		}
	}
	for _, s := range f.seeds[t] {
		if s.Index == k {
			v = model.Min(tr.Amount, acctAdd(v, s.Tainted))
			hop = min(hop, s.Hop)
		}
	}
	return v, hop, viaTx
}

// deliverClean credits a clean transfer to its recipient when it is active.
func (f *acctFwd) deliverClean(rcv *acctActive, tr *store.EthTransferRec, t uint64) {
	if rcv != nil {
		rcv.hold(tr.Token).receive(f.p.Model, tr.Amount, acctCleanPay(f.p.Model, tr.Amount), t)
	}
}

// acctSwapper reports whether addr receives, in transaction rec, a fungible
// asset other than token (not counting fees): then what it sends of token
// is a swap.
func acctSwapper(rec *store.EthTxRec, addr, token uint64) bool {
	for i := range rec.Transfers {
		tr := &rec.Transfers[i]
		if tr.To == addr && tr.From != addr && tr.Token != token && acctFungible(tr.Kind) && !acctFee(tr.Kind) {
			return true
		}
	}
	return false
}

// swapIn gives each address that swapped tainted value in transaction t
// the taint of the other assets it received there, at the transaction's
// own price.
func (f *acctFwd) swapIn(rec *store.EthTxRec, t uint64, swaps map[acctSwapKey]*acctSwapSent) error {
	if len(swaps) == 0 {
		return nil
	}
	keys := make([]acctSwapKey, 0, len(swaps))
	for k := range swaps {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b acctSwapKey) int { return cmp.Or(cmp.Compare(a.addr, b.addr), cmp.Compare(a.token, b.token)) })
	done := map[acctSwapKey]bool{}
	for _, sk := range keys {
		addr := sk.addr
		a := f.active[addr]
		for i := range rec.Transfers {
			tr := &rec.Transfers[i]
			if tr.To != addr || tr.From == addr || !acctFungible(tr.Kind) || acctFee(tr.Kind) || !f.wants(tr.Token) {
				continue
			}
			bk := acctSwapKey{addr, tr.Token}
			if done[bk] {
				continue
			}
			done[bk] = true
			// What addr received of this asset in the transaction, and
			// its taint priced against every other asset it sent.
			var recv model.Amount
			var parts []int
			for j := range rec.Transfers {
				u := &rec.Transfers[j]
				if u.To == addr && u.From != addr && u.Token == tr.Token && acctFungible(u.Kind) && !acctFee(u.Kind) {
					recv = acctAdd(recv, u.Amount)
					parts = append(parts, j)
				}
			}
			var v model.Amount
			for _, ok := range keys {
				if ok.addr != addr || ok.token == tr.Token {
					continue
				}
				s := swaps[ok]
				if f.p.Model == Poison {
					if !s.tainted.IsZero() {
						v = recv
					}
					continue
				}
				v = acctAdd(v, acctMulDiv(recv, s.tainted, s.sent))
			}
			v = model.Min(v, recv)
			if v.IsZero() {
				continue
			}
			got := a.hold(tr.Token).taintDelivered(f.p.Model, v, t)
			if got.IsZero() {
				continue
			}
			tot := f.total(tr.Token)
			tot.SwappedIn = acctAdd(tot.SwappedIn, got)
			// One edge per receipt, the taint split by amount, the
			// rounding remainder on the last.
			left := got
			for n, j := range parts {
				u := &rec.Transfers[j]
				share := acctMulDiv(u.Amount, got, recv)
				if n == len(parts)-1 {
					share = left
				}
				left = acctSub(left, share)
				if f.p.Model == Poison {
					share = u.Amount
				}
				if share.IsZero() {
					continue
				}
				f.edges = append(f.edges, acctEdge{txnum: t, index: uint32(j), from: u.From, to: addr, token: u.Token,
					height: rec.Height, hash: rec.Hash, hop: a.hop, value: u.Amount, tainted: share})
			}
		}
	}
	return nil
}

// crossing records tainted value sent into a bridge.
func (f *acctFwd) crossing(ctx context.Context, rec *store.EthTxRec, k int, hop int, c model.Amount, when time.Time, cl *acctClass) error {
	tr := &rec.Transfers[k]
	from, err := f.name(ctx, tr.From)
	if err != nil {
		return err
	}
	to, err := f.name(ctx, tr.To)
	if err != nil {
		return err
	}
	asset, err := f.assetName(ctx, tr.Token)
	if err != nil {
		return err
	}
	bridge := ""
	if cl.label != nil {
		bridge = cl.label.Label
	}
	f.cross = append(f.cross, Crossing{Chain: f.e.chain, Asset: asset, Tx: acctHash(rec.Hash), Index: uint32(k),
		From: from, To: to, Bridge: bridge, Value: tr.Amount, Tainted: c, Height: rec.Height, Time: when, Hop: hop})
	return nil
}

// finish turns what is left at active addresses into holdings, or, when
// the work limit stopped the trace, into value beyond limits.
func (f *acctFwd) finish(ctx context.Context) error {
	ids := make([]uint64, 0, len(f.active))
	for id := range f.active {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		a := f.active[id]
		for tok, h := range a.holds {
			v := h.taint
			if f.p.Model == Poison {
				v = model.Amount{}
				if h.poisoned {
					v = h.bal
				}
			}
			if v.IsZero() {
				continue
			}
			tot := f.total(tok)
			if f.truncated {
				tot.BeyondLimits = acctAdd(tot.BeyondLimits, v)
				continue
			}
			tot.Unspent = acctAdd(tot.Unspent, v)
			name, err := f.name(ctx, id)
			if err != nil {
				return err
			}
			asset, err := f.assetName(ctx, tok)
			if err != nil {
				return err
			}
			f.held[id] = true
			f.holds = append(f.holds, Holding{Node: f.id(name), Chain: f.e.chain, Address: name, Asset: asset, Amount: v, Hop: a.hop})
		}
	}
	return nil
}
