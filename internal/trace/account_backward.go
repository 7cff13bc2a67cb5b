package trace

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// acctScale is the fixed-point one of haircut carry-over factors (2^128):
// factors are products of (1 - out/balance), kept as integers in
// [0, acctScale].
var acctScale = model.AmountFromBytes([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

// acctScale64 is 2^64: haircut weights keep 64 bits of fraction (amount
// times factor over 2^64) so that rounding does not reorder equal weights.
var acctScale64 = model.AmountFromBytes([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})

// acctMax returns the larger of a and b.
func acctMax(a, b model.Amount) model.Amount {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

// acctRange is the units [lo, hi) of one transfer's amount (FIFO).
type acctRange struct{ lo, hi model.Amount }

// acctBKey names a pending backward item: value that arrived through
// transfer index of transaction tx at a recipient at hop (poison merges
// all hops: hop is -1 in the key).
type acctBKey struct {
	tx    uint64
	index uint32
	hop   int
}

// acctBItem is value to attribute further back: v units of a transfer
// (FIFO: the units in ranges) whose recipient is at hop.
type acctBItem struct {
	key    acctBKey
	hop    int
	v      model.Amount
	ranges []acctRange
}

// acctBHeap pops the latest transfer first, so that every share of a
// transfer is merged before the transfer is expanded.
type acctBHeap []*acctBItem

func (h acctBHeap) Len() int { return len(h) }
func (h acctBHeap) Less(i, j int) bool {
	a, b := h[i].key, h[j].key
	return cmp.Or(cmp.Compare(b.tx, a.tx), cmp.Compare(b.index, a.index), cmp.Compare(a.hop, b.hop)) < 0
}
func (h acctBHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *acctBHeap) Push(x any)   { *h = append(*h, x.(*acctBItem)) }
func (h *acctBHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// acctHist is one address's history in one asset up to the latest point a
// backward trace asked about: its events in chain order with, before
// each, the balance (clamped at zero), the cumulative inflow and the
// FIFO-consumed part of that inflow.
type acctHist struct {
	evs  []store.EthEvent
	bal  []model.Amount
	cin  []model.Amount
	cons []model.Amount
	ins  []int // indexes of incoming events in evs
}

// acctBack is the state of a backward trace.
type acctBack struct {
	*acctRun
	heap    acctBHeap
	pending map[acctBKey]*acctBItem
	hists   map[acctKey]*acctHist
	loaded  map[uint64]bool
	recs    map[uint64]*store.EthTxRec
}

// runBackward attributes the value that reached the targets to where it
// came from, walking transfers back in chain order.
//
// The start is every fungible transfer received by a target address (hop
// 0) inside the window, or every non-fee transfer of each FromTxs
// transaction. Value v that reached address R through a transfer of a
// units from sender S at position x is attributed to S's earlier incoming
// transfers of the same asset:
//
//   - poison: every earlier incoming transfer, at its full value;
//   - FIFO: S's cumulative outflow before x fixes which units of S's
//     cumulative inflow the transfer consumed; each unit maps to the
//     incoming transfer that brought it;
//   - haircut: in proportion to S's balance composition at x: incoming i
//     weighs its amount times the product of (1 - out_j/B_j) over S's
//     outgoing transfers j between i and x (B_j the balance before j),
//     computed in 128-bit fixed point; v is split by weight with floor
//     division and the leftover units go one each to the largest weights,
//     so the parts sum to v exactly.
//
// Example, haircut: S receives 30 from P, pays 20 out (factor 1/3), then
// receives 10 from Q, and sends 15 to the target: the weights are 10 (P:
// 30 x 1/3, a hair under 10 in fixed point) and 10 (Q), so the split
// 7.5/7.5 floors to 7/7 and the leftover unit goes to the largest weight,
// Q: P 7, Q 8. Under FIFO the 15 are units
// 20..35 of S's inflow: 10 from P (units 20..30), 5 from Q.
//
// Each part continues back through its own sender at the next hop. The
// walk stops at labelled senders (endpoints: "came from exchange X";
// mixers unless ThroughMixers; bridges as BridgedOut), at mints,
// withdrawals and the zero address (Minted, with the receiving address as
// an origin holding), at value S sent beyond its known inflow (genesis
// allocations, block rewards, history before the store's start: Minted
// at S), at transfers outside the window or beyond Params.Hops
// (BeyondLimits) and at parts smaller than MinValue (Dust). Swaps are not
// crossed backward: DEX contracts are walked like other addresses.
func (r *acctRun) runBackward(ctx context.Context) error {
	b := &acctBack{acctRun: r, pending: map[acctBKey]*acctBItem{}, hists: map[acctKey]*acctHist{},
		loaded: map[uint64]bool{}, recs: map[uint64]*store.EthTxRec{}}
	for _, s := range r.p.From {
		id, err := r.addrID(ctx, s)
		if err != nil {
			return fmt.Errorf("trace: target %q: %w", s, err)
		}
		if n := r.nodes[id]; n != nil && n.source {
			continue
		}
		n := r.node(id, 0)
		n.source, n.followed = true, true
		var evs []store.EthEvent
		err = r.e.db.EthEvents(ctx, id, 0, func(ev store.EthEvent) bool {
			r.events++
			if !ev.Out && r.wants(ev.Token) {
				evs = append(evs, ev)
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("trace: events of %s: %w", s, err)
		}
		for _, ev := range evs {
			rec, err := b.rec(ctx, ev.TxNum)
			if err != nil {
				return err
			}
			tr := &rec.Transfers[ev.Index]
			if !acctFungible(tr.Kind) || tr.From == tr.To {
				continue
			}
			when, err := r.blockTime(ctx, rec.Height)
			if err != nil {
				return err
			}
			if r.p.InWindow(when) {
				b.start(ev.TxNum, ev.Index, tr)
			}
		}
	}
	for _, s := range r.p.FromTxs {
		n, err := r.txNum(ctx, s)
		if err != nil {
			return err
		}
		rec, err := b.rec(ctx, n)
		if err != nil {
			return err
		}
		for k := range rec.Transfers {
			tr := &rec.Transfers[k]
			if !acctFungible(tr.Kind) || acctFee(tr.Kind) || !r.wants(tr.Token) || tr.From == tr.To {
				continue
			}
			if tr.To != 0 {
				r.node(tr.To, 0).source = true
			}
			b.start(n, uint32(k), tr)
		}
	}
	for len(b.heap) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := heap.Pop(&b.heap).(*acctBItem)
		delete(b.pending, it.key)
		if r.truncated {
			rec, err := b.rec(ctx, it.key.tx)
			if err != nil {
				return err
			}
			tot := r.total(rec.Transfers[it.key.index].Token)
			tot.BeyondLimits = acctAdd(tot.BeyondLimits, b.value(it, rec))
			continue
		}
		if err := b.expand(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

// start adds a transfer received by the trace's start as source value.
func (b *acctBack) start(tx uint64, index uint32, tr *store.EthTransferRec) {
	tot := b.total(tr.Token)
	if b.p.Model == Poison {
		// Two targets may share a transfer; poison counts it once.
		if _, dup := b.pending[acctBKey{tx, index, -1}]; dup {
			return
		}
	}
	tot.Source = acctAdd(tot.Source, tr.Amount)
	b.push(tx, index, 0, tr.Amount, []acctRange{{hi: tr.Amount}})
}

// push adds value to the pending item of a transfer at hop, merging it
// with what is already there.
func (b *acctBack) push(tx uint64, index uint32, hop int, v model.Amount, rs []acctRange) {
	key := acctBKey{tx, index, hop}
	if b.p.Model == Poison {
		key.hop = -1
	}
	it := b.pending[key]
	if it == nil {
		it = &acctBItem{key: key, hop: hop}
		b.pending[key] = it
		heap.Push(&b.heap, it)
	}
	it.hop = min(it.hop, hop)
	it.v = acctAdd(it.v, v)
	if b.p.Model == FIFO {
		it.ranges = append(it.ranges, rs...)
	}
}

// value returns the value an item carries: the transfer's amount under
// poison, the units of its ranges under FIFO, else v.
func (b *acctBack) value(it *acctBItem, rec *store.EthTxRec) model.Amount {
	switch b.p.Model {
	case Poison:
		return rec.Transfers[it.key.index].Amount
	case FIFO:
		it.ranges = acctMergeRanges(it.ranges)
		var v model.Amount
		for _, r := range it.ranges {
			v = acctAdd(v, acctSub(r.hi, r.lo))
		}
		return v
	}
	return it.v
}

// acctMergeRanges sorts ranges and merges those that overlap or touch.
func acctMergeRanges(rs []acctRange) []acctRange {
	slices.SortFunc(rs, func(a, b acctRange) int { return a.lo.Cmp(b.lo) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo.Cmp(out[n-1].hi) <= 0 {
			if r.hi.Cmp(out[n-1].hi) > 0 {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// rec returns a transaction record, cached.
func (b *acctBack) rec(ctx context.Context, tx uint64) (*store.EthTxRec, error) {
	if rec := b.recs[tx]; rec != nil {
		return rec, nil
	}
	rec := &store.EthTxRec{}
	if err := b.e.db.EthTx(ctx, tx, rec); err != nil {
		return nil, fmt.Errorf("trace: transaction #%d: %w", tx, err)
	}
	b.recs[tx] = rec
	return rec, nil
}

// expand settles one item: stops it or attributes it to its sender's
// earlier receipts.
func (b *acctBack) expand(ctx context.Context, it *acctBItem) error {
	rec, err := b.rec(ctx, it.key.tx)
	if err != nil {
		return err
	}
	if int(it.key.index) >= len(rec.Transfers) {
		return fmt.Errorf("trace: transaction #%d has no transfer %d", it.key.tx, it.key.index)
	}
	tr := &rec.Transfers[it.key.index]
	v := b.value(it, rec)
	tot := b.total(tr.Token)
	s, sh := tr.From, it.hop+1
	when, err := b.blockTime(ctx, rec.Height)
	if err != nil {
		return err
	}
	if excess := acctSub(v, tr.Amount); !excess.IsZero() && s != 0 {
		// Haircut rounding can attribute a unit or two more to a
		// receipt than it brought; the excess has no known origin.
		tot.Minted = acctAdd(tot.Minted, excess)
		b.origin(s, tr.Token, sh, excess)
		v = tr.Amount
	}
	if s == 0 || eth.Kind(tr.Kind) == eth.Withdrawal {
		tot.Minted = acctAdd(tot.Minted, v)
		b.origin(tr.To, tr.Token, it.hop, v)
		return nil
	}
	b.edges = append(b.edges, acctEdge{txnum: it.key.tx, index: it.key.index, from: s, to: tr.To, token: tr.Token,
		height: rec.Height, hash: rec.Hash, hop: sh, value: tr.Amount, tainted: v})
	switch {
	case !b.p.InWindow(when):
		tot.BeyondLimits = acctAdd(tot.BeyondLimits, v)
		b.node(s, sh).limit = true
		return nil
	case v.Cmp(b.p.MinValue) < 0:
		tot.Dust = acctAdd(tot.Dust, v)
		b.node(s, sh).limit = true
		return nil
	}
	cl, err := b.class(ctx, s)
	if err != nil {
		return err
	}
	switch {
	case cl.class == ClassStop:
		tot.Endpoints = acctAdd(tot.Endpoints, v)
		b.endpoint(s, tr.Token, cl, sh, v)
		return nil
	case cl.class == ClassMixer && !b.p.ThroughMixers:
		tot.Mixers = acctAdd(tot.Mixers, v)
		b.endpoint(s, tr.Token, cl, sh, v)
		return nil
	case cl.class == ClassBridge:
		tot.BridgedOut = acctAdd(tot.BridgedOut, v)
		b.endpoint(s, tr.Token, cl, sh, v)
		return nil
	case sh > b.p.Hops:
		tot.BeyondLimits = acctAdd(tot.BeyondLimits, v)
		b.node(s, sh).limit = true
		return nil
	}
	h, i, err := b.hist(ctx, s, tr.Token, it.key.tx, it.key.index)
	if err != nil {
		return err
	}
	if b.truncated {
		// The work limit cut the history short: stop here.
		tot.BeyondLimits = acctAdd(tot.BeyondLimits, v)
		b.node(s, sh).limit = true
		return nil
	}
	b.node(s, sh).followed = true
	if i < 0 {
		// The store has no outgoing event for the transfer: treat its
		// value as of unknown origin at the sender.
		tot.Minted = acctAdd(tot.Minted, v)
		b.origin(s, tr.Token, sh, v)
		return nil
	}
	switch b.p.Model {
	case Poison:
		if len(h.ins) == 0 || h.ins[0] >= i {
			// No earlier receipt: the value's origin is unknown.
			tot.Minted = acctAdd(tot.Minted, v)
			b.origin(s, tr.Token, sh, v)
		}
		for _, j := range h.ins {
			if j >= i {
				break
			}
			ev := &h.evs[j]
			b.push(ev.TxNum, ev.Index, sh, ev.Amount, nil)
		}
		b.visit(i)
	case FIFO:
		b.fifo(h, i, sh, it.ranges, tot, s, tr.Token)
	default:
		b.haircut(h, i, sh, v, tot, s, tr.Token)
	}
	return nil
}

// fifo maps the units of outgoing event i given by ranges onto the
// incoming events that brought them.
func (b *acctBack) fifo(h *acctHist, i, hop int, ranges []acctRange, tot *Totals, s, token uint64) {
	c0 := h.cons[i]
	avail := acctSub(h.cin[i], c0)
	var unknown model.Amount
	steps := 0
	for _, rg := range ranges {
		hi := model.Min(rg.hi, avail)
		if rg.hi.Cmp(hi) > 0 {
			unknown = acctAdd(unknown, acctSub(rg.hi, acctMax(rg.lo, hi)))
		}
		if rg.lo.Cmp(hi) >= 0 {
			continue
		}
		lo, end := acctAdd(c0, rg.lo), acctAdd(c0, hi)
		// The first incoming event whose range ends after lo.
		k, _ := slices.BinarySearchFunc(h.ins, lo, func(j int, x model.Amount) int {
			e := acctAdd(h.cin[j], h.evs[j].Amount)
			if e.Cmp(x) <= 0 {
				return -1
			}
			return 1
		})
		for ; k < len(h.ins) && h.ins[k] < i; k++ {
			j := h.ins[k]
			start := h.cin[j]
			if start.Cmp(end) >= 0 {
				break
			}
			stop := acctAdd(start, h.evs[j].Amount)
			plo, phi := acctSub(acctMax(lo, start), start), acctSub(model.Min(end, stop), start)
			if plo.Cmp(phi) < 0 {
				ev := &h.evs[j]
				b.push(ev.TxNum, ev.Index, hop, acctSub(phi, plo), []acctRange{{plo, phi}})
			}
			steps++
		}
	}
	b.visit(steps)
	if !unknown.IsZero() {
		tot.Minted = acctAdd(tot.Minted, unknown)
		b.origin(s, token, hop, unknown)
	}
}

// haircut splits v of outgoing event i over the incoming events by their
// weight in the sender's balance at i.
func (b *acctBack) haircut(h *acctHist, i, hop int, v model.Amount, tot *Totals, s, token uint64) {
	a := h.evs[i].Amount
	explained := v
	if bal := h.bal[i]; bal.Cmp(a) < 0 {
		explained = acctMulDiv(v, bal, a)
	}
	type part struct {
		j int
		w model.Amount
	}
	var parts []part
	var sumW model.Amount
	f := acctScale
	for j := i - 1; j >= 0 && !f.IsZero(); j-- {
		ev := &h.evs[j]
		if ev.Out {
			if ev.Amount.Cmp(h.bal[j]) >= 0 {
				break
			}
			f = acctMulDiv(f, acctSub(h.bal[j], ev.Amount), h.bal[j])
			continue
		}
		w, ok := model.MulDiv(ev.Amount, f, acctScale64)
		if !ok {
			w = acctMulDiv(ev.Amount, f, acctScale)
		}
		if !w.IsZero() {
			parts = append(parts, part{j, w})
			sumW = acctAdd(sumW, w)
		}
	}
	b.visit(i)
	if sumW.IsZero() {
		explained = model.Amount{}
	}
	if unknown := acctSub(v, explained); !unknown.IsZero() {
		tot.Minted = acctAdd(tot.Minted, unknown)
		b.origin(s, token, hop, unknown)
	}
	if explained.IsZero() {
		return
	}
	shares := make([]model.Amount, len(parts))
	left := explained
	for n, p := range parts {
		shares[n] = acctMulDiv(explained, p.w, sumW)
		left = acctSub(left, shares[n])
	}
	if !left.IsZero() {
		// Fewer leftover units than parts: one each to the largest
		// weights, the latest receipt first among equals.
		order := make([]int, len(parts))
		for n := range order {
			order[n] = n
		}
		slices.SortStableFunc(order, func(x, y int) int { return parts[y].w.Cmp(parts[x].w) })
		one := model.AmountFromUint64(1)
		for _, n := range order {
			if left.IsZero() {
				break
			}
			shares[n] = acctAdd(shares[n], one)
			left = acctSub(left, one)
		}
	}
	for n, p := range parts {
		if !shares[n].IsZero() {
			ev := &h.evs[p.j]
			b.push(ev.TxNum, ev.Index, hop, shares[n], nil)
		}
	}
}

// hist returns the history of address s in token up to the outgoing event
// of transfer (tx, index), and that event's position in it (-1 when the
// store has none).
func (b *acctBack) hist(ctx context.Context, s, token, tx uint64, index uint32) (*acctHist, int, error) {
	if !b.loaded[s] {
		b.loaded[s] = true
		byTok := map[uint64]*acctHist{}
		err := b.e.db.EthEvents(ctx, s, 0, func(ev store.EthEvent) bool {
			if ev.TxNum > tx || ev.TxNum == tx && ev.Index > index || b.visit(1) {
				return false
			}
			h := byTok[ev.Token]
			if h == nil {
				h = &acctHist{}
				byTok[ev.Token] = h
			}
			var bal, cin, cons model.Amount
			if n := len(h.evs); n > 0 {
				p := &h.evs[n-1]
				bal, cin, cons = h.bal[n-1], h.cin[n-1], h.cons[n-1]
				if p.Out {
					bal = acctSub(bal, p.Amount)
					cons = model.Min(acctAdd(cons, p.Amount), cin)
				} else {
					bal = acctAdd(bal, p.Amount)
					cin = acctAdd(cin, p.Amount)
				}
			}
			if !ev.Out {
				h.ins = append(h.ins, len(h.evs))
			}
			h.evs = append(h.evs, ev)
			h.bal, h.cin, h.cons = append(h.bal, bal), append(h.cin, cin), append(h.cons, cons)
			return true
		})
		if err != nil {
			return nil, 0, fmt.Errorf("trace: events of address #%d: %w", s, err)
		}
		for tok, h := range byTok {
			b.hists[acctKey{s, tok}] = h
		}
	}
	h := b.hists[acctKey{s, token}]
	if h == nil {
		return &acctHist{}, -1, nil
	}
	i, found := slices.BinarySearchFunc(h.evs, [2]uint64{tx, uint64(index)}, func(ev store.EthEvent, x [2]uint64) int {
		return cmp.Or(cmp.Compare(ev.TxNum, x[0]), cmp.Compare(uint64(ev.Index), x[1]), acctBoolCmp(ev.Out, true))
	})
	if !found {
		return h, -1, nil
	}
	return h, i, nil
}

// acctBoolCmp orders false before true.
func acctBoolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
