package trace

import (
	"math/bits"
	"sort"
)

// utxoSpan is the half-open range [Lo, Hi) of satoshi positions within one
// output's value, the unit of FIFO taint.
type utxoSpan struct{ Lo, Hi int64 }

// utxoSpans is a FIFO taint set: sorted, disjoint, non-empty, non-adjacent
// spans. The nil set is empty.
type utxoSpans []utxoSpan

// utxoFull returns the set [0, n), empty for n <= 0.
func utxoFull(n int64) utxoSpans {
	if n <= 0 {
		return nil
	}
	return utxoSpans{{0, n}}
}

// Total returns the number of satoshi in the set.
func (s utxoSpans) Total() int64 {
	var n int64
	for _, x := range s {
		n += x.Hi - x.Lo
	}
	return n
}

// appendShifted appends s shifted by off to dst, merging a span that
// touches dst's last one so that dst stays normalised. s must lie after
// dst's last span.
func (s utxoSpans) appendShifted(dst utxoSpans, off int64) utxoSpans {
	for _, x := range s {
		lo, hi := x.Lo+off, x.Hi+off
		if n := len(dst); n > 0 && dst[n-1].Hi == lo {
			dst[n-1].Hi = hi
			continue
		}
		dst = append(dst, utxoSpan{lo, hi})
	}
	return dst
}

// Union returns the union of s and t as a new set.
func (s utxoSpans) Union(t utxoSpans) utxoSpans {
	all := make(utxoSpans, 0, len(s)+len(t))
	all = append(all, s...)
	all = append(all, t...)
	sort.Slice(all, func(i, j int) bool { return all[i].Lo < all[j].Lo })
	var out utxoSpans
	for _, x := range all {
		if n := len(out); n > 0 && x.Lo <= out[n-1].Hi {
			out[n-1].Hi = max(out[n-1].Hi, x.Hi)
			continue
		}
		out = append(out, x)
	}
	return out
}

// utxoCut splits a normalised set laid over [0, total) into consecutive
// ranges of the given sizes: part k gets the positions in
// [sum(sizes[:k]), sum(sizes[:k+1])), shifted to start at 0. Positions at
// or beyond the sum of sizes fall in no part. Both the forward FIFO rule
// (inputs laid end to end, cut into outputs and the fee) and the backward
// one (outputs laid end to end, cut into inputs) are this operation.
func utxoCut(s utxoSpans, sizes []int64) []utxoSpans {
	parts := make([]utxoSpans, len(sizes))
	var off int64
	i := 0
	for k, size := range sizes {
		end := off + size
		for i < len(s) && s[i].Lo < end {
			lo, hi := max(s[i].Lo, off), min(s[i].Hi, end)
			if lo < hi {
				parts[k] = append(parts[k], utxoSpan{lo - off, hi - off})
			}
			if s[i].Hi > end {
				break // the span continues into the next part
			}
			i++
		}
		off = end
	}
	return parts
}

// utxoMulDiv returns a*b/c rounded down and the remainder, for
// non-negative a, b and positive c with a*b/c < 2^63; the product is
// formed in 128 bits so that satoshi products cannot overflow.
func utxoMulDiv(a, b, c int64) (q, r int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 0, 0 // cannot happen for the callers' a <= c
	}
	uq, ur := bits.Div64(hi, lo, uint64(c))
	return int64(uq), int64(ur)
}

// utxoSplit divides total among parts in proportion to weights by the
// largest-remainder method: each part gets floor(total*w/sum) and the
// satoshi left over go one each to the parts with the largest remainders,
// earlier parts first on ties. The shares sum to exactly total, and when
// total <= sum(weights) no share exceeds its weight. sum must be the sum
// of weights; with sum 0 every share is 0.
func utxoSplit(total int64, weights []int64, sum int64) []int64 {
	shares := make([]int64, len(weights))
	if sum <= 0 || total <= 0 {
		return shares
	}
	rems := make([]int64, len(weights))
	left := total
	for i, w := range weights {
		shares[i], rems[i] = utxoMulDiv(total, w, sum)
		left -= shares[i]
	}
	if left <= 0 {
		return shares
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rems[order[a]] > rems[order[b]] })
	for _, i := range order {
		if left == 0 {
			break
		}
		if rems[i] > 0 {
			shares[i]++
			left--
		}
	}
	return shares
}
