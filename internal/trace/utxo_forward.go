package trace

import (
	"context"
	"fmt"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// forward visits the queued transactions in chain order. Each one first
// passes the taint of its tainted inputs on (utxoPropagate), then taints
// the outputs that are trace starts, then decides the fate of every
// tainted output (placeForward).
func (r *utxoRun) forward(ctx context.Context) error {
	for {
		txnum, ok := r.queue.pop()
		if !ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		pd := r.pend[txnum]
		delete(r.pend, txnum)
		if !r.work() {
			// The work limit: taint waiting here is not followed, and
			// starts not yet reached are not counted as source.
			for _, in := range pd.ins {
				r.tot.beyond += in.t.amt
				r.node(ctx, in.addr, RoleLimit, in.hop)
			}
			continue
		}
		at, err := r.readTx(ctx, txnum)
		if err != nil {
			return err
		}
		t := &r.rec
		outs := make([]utxoTaint, len(t.Outs))
		hops := make([]int, len(t.Outs))
		if len(pd.ins) > 0 {
			if err := r.spend(ctx, t, at, pd.ins, outs, hops); err != nil {
				return err
			}
		}
		isStart := make([]bool, len(t.Outs))
		for _, s := range pd.starts {
			if s.windowed && !r.p.InWindow(at) {
				continue
			}
			if !s.allOuts && int(s.vout) >= len(t.Outs) {
				return fmt.Errorf("trace: source %s:%d: the transaction has %d outputs", t.TxID, s.vout, len(t.Outs))
			}
			for j := range t.Outs {
				if !s.allOuts && uint32(j) != s.vout {
					continue
				}
				r.startOutput(t, j, s, &outs[j], &hops[j])
				isStart[j] = true
			}
		}
		for j := range t.Outs {
			if outs[j].amt > 0 {
				if err := r.placeForward(ctx, t, at, j, outs[j], hops[j], isStart[j]); err != nil {
					return err
				}
			}
		}
	}
}

// spenderOf returns the input spending output j of t, using the
// read-ahead when t is the transaction being visited.
func (r *utxoRun) spenderOf(ctx context.Context, t *store.TxRec, j int) (store.SpendRec, bool, error) {
	if t == &r.rec {
		return r.spender(ctx, j)
	}
	return r.e.db.Spender(ctx, t.TxNum, uint32(j))
}

// startOutput taints output j of t as a trace start. An output that
// already received taint from the transaction's inputs (the source paying
// itself change) is tainted once: only the part not yet tainted is new
// source value, which keeps the totals balanced. Under poison, which does
// not balance anyway, Source counts every start in full.
func (r *utxoRun) startOutput(t *store.TxRec, j int, s utxoStart, cur *utxoTaint, hop *int) {
	v := t.Outs[j].Value
	had := cur.amt
	h := 0
	if s.seed {
		h = s.hop
	}
	if had == 0 || h < *hop {
		*hop = h
	}
	switch {
	case !s.seed:
		cur.amt = v
		if r.p.Model == FIFO {
			cur.spans = utxoFull(v)
		}
	case r.p.Model == FIFO:
		cur.spans = cur.spans.Union(utxoFull(min(s.amt, v)))
		cur.amt = cur.spans.Total()
	default:
		cur.amt = min(v, cur.amt+s.amt)
	}
	if r.p.Model == Poison {
		had = 0 // poison double counts anyway: Source is all the sources received
	}
	r.tot.source += cur.amt - had
}

// spend visits a transaction that spends tainted outputs: outside the time
// window their taint is beyond limits, in a CoinJoin (unless
// ThroughMixers) it ends there as mixed, otherwise utxoPropagate passes it
// to outs and the fee. hops receives each output's hop.
func (r *utxoRun) spend(ctx context.Context, t *store.TxRec, at time.Time, ins []utxoIn, outs []utxoTaint, hops []int) error {
	var tIn int64
	minHop := ins[0].hop
	for _, in := range ins {
		tIn += in.t.amt
		minHop = min(minHop, in.hop)
	}
	if !r.p.InWindow(at) {
		for _, in := range ins {
			r.tot.beyond += in.t.amt
			r.node(ctx, in.addr, RoleLimit, in.hop)
		}
		return nil
	}
	if ann := r.e.opts.Annotator; ann != nil && !r.p.ThroughMixers {
		if kind := ann.CoinJoin(t); kind != "" {
			r.tot.mixers += tIn
			r.coinJoin(t, kind, tIn, minHop+1)
			return nil
		}
	}
	best := ins[0]
	for _, in := range ins[1:] {
		if in.t.amt > best.t.amt || in.t.amt == best.t.amt && in.idx < best.idx {
			best = in
		}
	}
	r.sender, r.senderOf, r.hasSender = best.addr, t.TxNum, true
	fee := utxoPropagate(r.p.Model, t, ins, outs)
	r.tot.fees += fee
	for j := range hops {
		hops[j] = minHop + 1
	}
	if r.p.ChangeSameHop && r.e.opts.Annotator != nil {
		if vout, conf, ok := r.e.opts.Annotator.Change(ctx, t); ok && conf >= r.p.ChangeConfidence && vout >= 0 && vout < len(hops) {
			hops[vout] = minHop
		}
	}
	r.forwardEdges(t, at, ins, hops)
	return nil
}

// utxoPropagate passes the taint of a transaction's tainted inputs to its
// outputs (outs) and returns the fee's taint. The models, on a
// transaction spending a tainted 6 and a clean 4 into outputs of 7 and 2
// with a fee of 1:
//
//   - Poison taints every output at its full value, and the fee in full:
//     7, 2 and fee 1. Taint is not conserved (6 in, 10 out); it bounds
//     every other model.
//   - Haircut gives each output and the fee the tainted share of the
//     inputs, 6/10: 4.2, 1.2 and 0.6. Shares are whole satoshi by the
//     largest-remainder method (floors 4, 1, 0, remainders .2, .2, .6: the
//     fee gets the one left over), so 4 + 1 + 1 = 6 exactly and no share
//     exceeds its output.
//   - FIFO lays the inputs end to end in input order, the tainted one
//     covering [0, 6) and the clean one [6, 10), and cuts the line into the
//     outputs, in order, then the fee: the first output takes [0, 7), of
//     which [0, 6) is tainted; the second [7, 9) and the fee [9, 10) are
//     clean. Taint is tracked per satoshi as sets of ranges, so it is
//     conserved exactly, and an output keeps the positions it took, which
//     decide its own outputs' taint in turn.
func utxoPropagate(m Model, t *store.TxRec, ins []utxoIn, outs []utxoTaint) int64 {
	inVals, vIn, _, fee := utxoValues(t)
	var tIn int64
	for _, in := range ins {
		tIn += in.t.amt
	}
	switch m {
	case Poison:
		for j := range t.Outs {
			outs[j] = utxoTaint{amt: t.Outs[j].Value}
		}
		return fee
	case Haircut:
		weights := make([]int64, 0, len(t.Outs)+1)
		for j := range t.Outs {
			weights = append(weights, t.Outs[j].Value)
		}
		shares := utxoSplit(tIn, append(weights, fee), vIn)
		for j := range t.Outs {
			outs[j] = utxoTaint{amt: shares[j]}
		}
		return shares[len(t.Outs)]
	}
	byVin := make(map[uint32]utxoSpans, len(ins))
	for _, in := range ins {
		byVin[in.idx] = in.t.spans
	}
	var line utxoSpans
	var off int64
	for i, v := range inVals {
		if s, ok := byVin[uint32(i)]; ok {
			line = s.appendShifted(line, off)
		}
		off += v
	}
	sizes := make([]int64, 0, len(t.Outs)+1)
	for j := range t.Outs {
		sizes = append(sizes, t.Outs[j].Value)
	}
	parts := utxoCut(line, append(sizes, fee))
	for j := range t.Outs {
		outs[j] = utxoTaint{amt: parts[j].Total(), spans: parts[j]}
	}
	// Positions past the inputs' known value (external inputs) fall in
	// no part; they count as fee so that taint stays conserved.
	return line.Total() - sumTaints(outs)
}

func sumTaints(ts []utxoTaint) int64 {
	var n int64
	for _, t := range ts {
		n += t.amt
	}
	return n
}

// placeForward decides the fate of tainted output j of t: beyond the hop
// limit; at a labelled service, mixer or bridge (not for the sources' own
// addresses); dust; still unspent (a holding, or burnt when unspendable);
// or spent, and then queued with its spender.
func (r *utxoRun) placeForward(ctx context.Context, t *store.TxRec, at time.Time, j int, tt utxoTaint, hop int, start bool) error {
	if r.e.observe != nil {
		r.e.observe(t.TxNum, uint32(j), tt.amt, hop)
	}
	o := &t.Outs[j]
	id := utxoFirstAddr(o)
	var kb []byte
	if t == &r.rec && j < len(r.spends) {
		kb = r.spends[j].key
	}
	a, err := r.addrKnown(ctx, id, kb)
	if err != nil {
		return err
	}
	if hop > r.p.Hops {
		r.tot.beyond += tt.amt
		r.node(ctx, id, RoleLimit, hop)
		return nil
	}
	role := RoleHop
	if start || r.fromIDs[id] {
		role = RoleSource
	}
	if !r.fromIDs[id] {
		switch a.class {
		case ClassStop:
			r.tot.endpoints += tt.amt
			r.endpoint(a, id, tt.amt, hop, t.TxNum)
			return nil
		case ClassMixer:
			if !r.p.ThroughMixers {
				r.tot.mixers += tt.amt
				r.endpoint(a, id, tt.amt, hop, t.TxNum)
				return nil
			}
			if role == RoleHop {
				role = RoleMixer
			}
		case ClassDEX:
			// A swap venue on a UTXO chain is an address like any other:
			// followed, its role shown.
			if role == RoleHop {
				role = RoleDEX
			}
		case ClassBridge:
			r.tot.bridgedOut += tt.amt
			r.node(ctx, id, RoleBridge, hop)
			r.cross = append(r.cross, Crossing{
				Chain: r.p.Chain, Asset: r.e.asset, Tx: t.TxID.String(), Index: uint32(j),
				From: r.spenderAddr(ctx, t), To: a.addr, Bridge: a.label.Label,
				Value: model.AmountFromUint64(uint64(o.Value)), Tainted: model.AmountFromUint64(uint64(tt.amt)),
				Height: t.Height, Time: at, Hop: hop,
			})
			return nil
		}
	}
	if tt.amt < r.minValue {
		r.tot.dust += tt.amt
		r.node(ctx, id, role, hop)
		return nil
	}
	s, spent, err := r.spenderOf(ctx, t, j)
	if err != nil {
		return fmt.Errorf("trace: spender of %s:%d: %w", t.TxID, j, err)
	}
	if !spent {
		if o.Class == model.ScriptNullData {
			r.tot.burnt += tt.amt
			return nil
		}
		r.tot.unspent += tt.amt
		if role == RoleHop {
			role = RoleHolding
		}
		r.node(ctx, id, role, hop)
		r.holding(a, id, tt.amt, hop, fmt.Sprintf("%s:%d", t.TxID, j))
		return nil
	}
	if s.TxNum <= t.TxNum {
		// Chain order guarantees the spender comes later; a store that
		// says otherwise would make the walk loop.
		return fmt.Errorf("trace: store inconsistent: %s:%d spent by transaction #%d, not after #%d", t.TxID, j, s.TxNum, t.TxNum)
	}
	r.node(ctx, id, role, hop)
	pd := r.pending(s.TxNum)
	pd.ins = append(pd.ins, utxoIn{idx: s.Vin, t: tt, hop: hop, addr: id})
	return nil
}

// spenderAddr names the sender shown on a crossing: the address of t's
// input that carried the most taint (the first one on ties, or when t was
// a start and spent no taint), "" for a coinbase.
func (r *utxoRun) spenderAddr(ctx context.Context, t *store.TxRec) string {
	if len(t.Ins) == 0 || t.Coinbase {
		return ""
	}
	id := t.Ins[0].AddrID
	if r.senderOf == t.TxNum && r.hasSender {
		id = r.sender
	}
	a, err := r.addr(ctx, id)
	if err != nil {
		return ""
	}
	return a.addr
}
