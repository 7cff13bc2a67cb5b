package trace

import (
	"context"
	"fmt"
	"time"

	"github.com/chaintrace/chaintrace/internal/store"
)

// backward visits the queued transactions from the latest down. At each,
// the outputs followed there (the targets' receipts, and outputs reached
// from later transactions) are attributed to the transaction's inputs
// (utxoAttribute), and each input's share continues to the transaction
// that created the output it spends, unless it stops (placeBackward).
func (r *utxoRun) backward(ctx context.Context) error {
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
			for _, in := range append(pd.ins, pd.cands...) {
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
		follow := pd.ins
		if len(pd.starts) > 0 || len(pd.cands) > 0 {
			if follow, err = r.backStarts(ctx, t, at, pd, follow); err != nil {
				return err
			}
		}
		if len(follow) == 0 {
			continue
		}
		if err := r.create(ctx, t, at, follow); err != nil {
			return err
		}
	}
}

// backStarts merges the outputs of t that are trace starts with the value
// reached at them from later transactions. A start is followed at its full
// value; value that reached it counts as already traced, so only the rest
// is new source value (the mirror of forward's startOutput). Outputs that
// reached t but are not starts after all go through placeBackward now.
func (r *utxoRun) backStarts(ctx context.Context, t *store.TxRec, at time.Time, pd *utxoPend, follow []utxoIn) ([]utxoIn, error) {
	isStart := map[uint32]bool{}
	for _, s := range pd.starts {
		if s.windowed && !r.p.InWindow(at) {
			continue
		}
		if !s.allOuts && int(s.vout) >= len(t.Outs) {
			return nil, fmt.Errorf("trace: target %s:%d: the transaction has %d outputs", t.TxID, s.vout, len(t.Outs))
		}
		for j := range t.Outs {
			if s.allOuts || uint32(j) == s.vout {
				isStart[uint32(j)] = true
			}
		}
	}
	reached := map[uint32]utxoIn{}
	for _, c := range pd.cands {
		if isStart[c.idx] {
			reached[c.idx] = c
			continue
		}
		ok, err := r.placeBackward(ctx, t.TxNum, c)
		if err != nil {
			return nil, err
		}
		if ok {
			follow = append(follow, c)
		}
	}
	for j := range t.Outs {
		if !isStart[uint32(j)] {
			continue
		}
		v := t.Outs[j].Value
		if r.p.Model == Poison {
			r.tot.source += v
		} else {
			r.tot.source += v - reached[uint32(j)].t.amt
		}
		in := utxoIn{idx: uint32(j), t: utxoTaint{amt: v}, addr: utxoFirstAddr(&t.Outs[j])}
		if r.p.Model == FIFO {
			in.t.spans = utxoFull(v)
		}
		if r.e.observe != nil {
			r.e.observe(t.TxNum, uint32(j), v, 0)
		}
		if v == 0 {
			continue
		}
		if v < r.minValue {
			r.tot.dust += v
			r.node(ctx, in.addr, RoleSource, 0)
			continue
		}
		r.node(ctx, in.addr, RoleSource, 0)
		follow = append(follow, in)
	}
	return follow, nil
}

// create visits the transaction that created the followed outputs:
// outside the time window the value is beyond limits; a coinbase is an
// origin (minted value); in a CoinJoin (unless ThroughMixers) the value
// stops; otherwise
// utxoAttribute shares it among the inputs, which continue.
func (r *utxoRun) create(ctx context.Context, t *store.TxRec, at time.Time, follow []utxoIn) error {
	var total int64
	minHop := follow[0].hop
	for _, f := range follow {
		total += f.t.amt
		minHop = min(minHop, f.hop)
	}
	switch {
	case !r.p.InWindow(at):
		r.tot.beyond += total
		for _, f := range follow {
			r.node(ctx, f.addr, RoleLimit, f.hop)
		}
		return nil
	case t.Coinbase:
		r.tot.minted += total
		for _, f := range follow {
			a, err := r.addr(ctx, f.addr)
			if err != nil {
				return err
			}
			r.node(ctx, f.addr, RoleHolding, f.hop)
			r.holding(a, f.addr, f.t.amt, f.hop, fmt.Sprintf("%s:%d", t.TxID, f.idx))
		}
		return nil
	}
	if ann := r.e.opts.Annotator; ann != nil && !r.p.ThroughMixers {
		if kind := ann.CoinJoin(t); kind != "" {
			r.tot.mixers += total
			r.coinJoin(t, kind, total, minHop+1)
			return nil
		}
	}
	shares, external := utxoAttribute(r.p.Model, t, follow)
	r.tot.beyond += external
	r.backwardEdges(t, at, follow, minHop+1)
	for i, in := range t.Ins {
		if shares[i].amt == 0 {
			continue
		}
		if in.External {
			r.tot.beyond += shares[i].amt
			continue
		}
		if in.PrevTxNum >= t.TxNum {
			return fmt.Errorf("trace: store inconsistent: input %d of %s spends transaction #%d, not before #%d", i, t.TxID, in.PrevTxNum, t.TxNum)
		}
		f := utxoIn{idx: in.PrevVout, t: shares[i], hop: minHop + 1, addr: in.AddrID}
		if r.fromIDs[in.AddrID] || r.fromTxs[in.PrevTxNum] {
			// The output may itself be a start: decide where it is read.
			pd := r.pending(in.PrevTxNum)
			pd.cands = append(pd.cands, f)
			continue
		}
		ok, err := r.placeBackward(ctx, in.PrevTxNum, f)
		if err != nil {
			return err
		}
		if ok {
			pd := r.pending(in.PrevTxNum)
			pd.ins = append(pd.ins, f)
		}
	}
	return nil
}

// utxoAttribute shares the value followed at a transaction's outputs among
// its inputs, and returns each input's share with the value it could not
// place (inputs external to the store). On a transaction spending inputs
// of 6 and 4 into outputs of 7 and 2 (fee 1), following the output of 7:
//
//   - Poison makes every input an origin at its full value: 6 and 4.
//   - Haircut shares the 7 in proportion to the input values, 6/10 and
//     4/10 of it: 4.2 and 2.8, in whole satoshi by the largest-remainder
//     method 4 and 3, which sum to exactly 7. The fee belongs to no output,
//     so none of it is attributed.
//   - FIFO lays the inputs end to end, [0, 6) and [6, 10), and the outputs
//     too: the output of 7 is [0, 7), made of all of the first input and
//     [0, 1) of the second. The positions carry on back: a set of ranges of
//     the output of 6 is followed into the transaction that created it.
//
// External inputs (a store begun above genesis) have no known value: under
// haircut the input value they hide takes its share, under FIFO they count
// as empty and value past the known inputs' total; both are returned as
// unplaced.
func utxoAttribute(m Model, t *store.TxRec, follow []utxoIn) ([]utxoTaint, int64) {
	inVals, vIn, _, _ := utxoValues(t)
	shares := make([]utxoTaint, len(t.Ins))
	var total int64
	for _, f := range follow {
		total += f.t.amt
	}
	switch m {
	case Poison:
		for i, v := range inVals {
			shares[i] = utxoTaint{amt: v}
		}
		return shares, 0
	case Haircut:
		var known int64
		for _, v := range inVals {
			known += v
		}
		// A hidden part of the input value (external inputs) takes its
		// share as the last weight.
		s := utxoSplit(total, append(inVals, vIn-known), vIn)
		for i := range inVals {
			shares[i] = utxoTaint{amt: s[i]}
		}
		return shares, s[len(inVals)]
	}
	byOut := make(map[uint32]utxoSpans, len(follow))
	for _, f := range follow {
		byOut[f.idx] = f.t.spans
	}
	var line utxoSpans
	var off int64
	for j := range t.Outs {
		if s, ok := byOut[uint32(j)]; ok {
			line = s.appendShifted(line, off)
		}
		off += t.Outs[j].Value
	}
	parts := utxoCut(line, inVals)
	var placed int64
	for i := range inVals {
		shares[i] = utxoTaint{amt: parts[i].Total(), spans: parts[i]}
		placed += shares[i].amt
	}
	return shares, line.Total() - placed
}

// placeBackward decides the fate of value attributed to output f.idx of
// transaction txnum, reached walking back: beyond the hop limit, at a
// labelled origin (endpoint, mixer; a bridge counts as an endpoint), dust,
// or followed further (true).
func (r *utxoRun) placeBackward(ctx context.Context, txnum uint64, f utxoIn) (bool, error) {
	if r.e.observe != nil {
		r.e.observe(txnum, f.idx, f.t.amt, f.hop)
	}
	a, err := r.addr(ctx, f.addr)
	if err != nil {
		return false, err
	}
	if f.hop > r.p.Hops {
		r.tot.beyond += f.t.amt
		r.node(ctx, f.addr, RoleLimit, f.hop)
		return false, nil
	}
	role := RoleHop
	if r.fromIDs[f.addr] {
		role = RoleSource
	} else {
		switch a.class {
		case ClassStop, ClassBridge:
			r.tot.endpoints += f.t.amt
			r.endpoint(a, f.addr, f.t.amt, f.hop, txnum)
			return false, nil
		case ClassMixer:
			if !r.p.ThroughMixers {
				r.tot.mixers += f.t.amt
				r.endpoint(a, f.addr, f.t.amt, f.hop, txnum)
				return false, nil
			}
			role = RoleMixer
		}
	}
	r.node(ctx, f.addr, role, f.hop)
	if f.t.amt < r.minValue {
		r.tot.dust += f.t.amt
		return false, nil
	}
	return true, nil
}
