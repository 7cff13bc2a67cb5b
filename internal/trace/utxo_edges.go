package trace

import (
	"time"

	"github.com/chaintrace/chaintrace/internal/store"
)

// utxoPairs calls fn for every pair of input i and output j of t between
// which tainted value moved, with the value the pair moved and the tainted
// part of it. This is the edge convention:
//
//   - FIFO is exact: inputs and outputs are laid end to end on the same
//     line, the pair moved the overlap of their ranges, and the tainted
//     part is the overlap's share of line (the tainted positions forward,
//     the followed positions backward).
//   - Haircut and poison share by value: the pair moved v_i*v_j/V (V the
//     input total). Its tainted part is a_i*b_j/V: forward a_i is input
//     i's taint and b_j output j's value, backward a_i is input i's value
//     and b_j the value followed at output j. Under poison a tainted pair
//     is tainted in full. Amounts are rounded down, so the edges of a
//     transaction with several inputs may fall a few satoshi short of its
//     outputs; with one input they are exact. Totals are always exact.
//
// Pairs where a_i or b_j is zero (or, FIFO, nothing tainted) are skipped.
func utxoPairs(m Model, t *store.TxRec, a, b []int64, line utxoSpans, fn func(i, j int, value, tainted int64)) {
	inVals, vIn, _, _ := utxoValues(t)
	if m == FIFO {
		var offIn int64
		k := 0 // first span of line that may still overlap
		for i, vi := range inVals {
			endIn := offIn + vi
			var offOut int64
			for j := range t.Outs {
				if offOut >= endIn {
					break
				}
				endOut := offOut + t.Outs[j].Value
				lo, hi := max(offIn, offOut), min(endIn, endOut)
				offOut = endOut
				if lo >= hi {
					continue
				}
				for k < len(line) && line[k].Hi <= lo {
					k++
				}
				var tainted int64
				for x := k; x < len(line) && line[x].Lo < hi; x++ {
					tainted += min(line[x].Hi, hi) - max(line[x].Lo, lo)
				}
				if tainted > 0 {
					fn(i, j, hi-lo, tainted)
				}
			}
			offIn = endIn
		}
		return
	}
	for i, vi := range inVals {
		if a[i] == 0 {
			continue
		}
		for j := range t.Outs {
			if b[j] == 0 {
				continue
			}
			value, _ := utxoMulDiv(vi, t.Outs[j].Value, vIn)
			tainted := value
			if m == Haircut {
				tainted, _ = utxoMulDiv(a[i], b[j], vIn)
			}
			fn(i, j, value, tainted)
		}
	}
}

// forwardEdges records the edges of a transaction that passed the taint of
// ins on to outs, by utxoPairs' convention.
func (r *utxoRun) forwardEdges(t *store.TxRec, at time.Time, ins []utxoIn, hops []int) {
	inVals, _, _, _ := utxoValues(t)
	a := make([]int64, len(t.Ins))
	spans := make([]utxoSpans, len(t.Ins))
	for _, in := range ins {
		a[in.idx] = in.t.amt
		spans[in.idx] = in.t.spans
	}
	var line utxoSpans
	if r.p.Model == FIFO {
		var off int64
		for i, v := range inVals {
			line = spans[i].appendShifted(line, off)
			off += v
		}
	}
	b := make([]int64, len(t.Outs))
	for j := range t.Outs {
		b[j] = t.Outs[j].Value
	}
	utxoPairs(r.p.Model, t, a, b, line, func(i, j int, value, tainted int64) {
		r.edge(t, at, t.Ins[i].AddrID, utxoFirstAddr(&t.Outs[j]), value, tainted, hops[j])
	})
}

// backwardEdges records the edges of a transaction whose followed outputs
// were attributed to its inputs, by utxoPairs' convention.
func (r *utxoRun) backwardEdges(t *store.TxRec, at time.Time, follow []utxoIn, hop int) {
	inVals, _, _, _ := utxoValues(t)
	b := make([]int64, len(t.Outs))
	spans := make([]utxoSpans, len(t.Outs))
	for _, f := range follow {
		b[f.idx] = f.t.amt
		spans[f.idx] = f.t.spans
	}
	var line utxoSpans
	if r.p.Model == FIFO {
		var off int64
		for j := range t.Outs {
			line = spans[j].appendShifted(line, off)
			off += t.Outs[j].Value
		}
	}
	utxoPairs(r.p.Model, t, inVals, b, line, func(i, j int, value, tainted int64) {
		r.edge(t, at, t.Ins[i].AddrID, utxoFirstAddr(&t.Outs[j]), value, tainted, hop)
	})
}
