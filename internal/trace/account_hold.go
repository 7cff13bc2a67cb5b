package trace

import "github.com/chaintrace/chaintrace/internal/model"

// acctSeg is a run of n units in a FIFO queue, tainted or clean; tx is the
// ordinal of the transaction that delivered them, so that a swap can taint
// exactly the units its own transaction delivered.
type acctSeg struct {
	n       model.Amount
	tainted bool
	tx      uint64
}

// acctHold is an address's position in one asset during a forward trace:
// its balance, the tainted part of it and, under FIFO, the queue of runs
// it holds in arrival order (segs[head:]). Under poison, poisoned says it
// ever received taint.
type acctHold struct {
	bal, taint model.Amount
	segs       []acctSeg
	head       int
	poisoned   bool
}

// acctPay is what one transfer carries: c tainted units (under poison, the
// whole amount when tainted at all) and, under FIFO, the runs of the
// sender's queue it consumed, in order.
type acctPay struct {
	c    model.Amount
	segs []acctSeg
}

// acctCleanPay returns the payload of a transfer of a clean units.
func acctCleanPay(m Model, a model.Amount) acctPay {
	if m == FIFO && !a.IsZero() {
		return acctPay{segs: []acctSeg{{n: a}}}
	}
	return acctPay{}
}

// spend takes an outgoing transfer of a units out of h and returns what it
// carries.
//
// Haircut: the transfer carries c = floor(a*taint/bal) and taint drops by
// exactly c, so the rounding remainder stays with the address and nothing
// is lost; a transfer of the whole balance (or more, when the store lacks
// part of the history) carries all of the taint.
//
// FIFO: the transfer consumes the front of the queue; what it carries is
// the tainted measure of the consumed runs, and the runs themselves go to
// the recipient. Units beyond the queue (missing history) are clean.
//
// Poison: the transfer is tainted at full value when h was ever tainted.
func (h *acctHold) spend(m Model, a model.Amount) acctPay {
	var p acctPay
	switch m {
	case Haircut:
		if a.Cmp(h.bal) >= 0 {
			p.c, h.taint = h.taint, model.Amount{}
		} else {
			p.c = acctMulDiv(a, h.taint, h.bal)
			h.taint = acctSub(h.taint, p.c)
		}
	case Poison:
		if h.poisoned {
			p.c = a
		}
	case FIFO:
		rest := a
		for h.head < len(h.segs) && !rest.IsZero() {
			s := &h.segs[h.head]
			take := model.Min(s.n, rest)
			p.segs = acctAppendSeg(p.segs, acctSeg{n: take, tainted: s.tainted})
			if s.tainted {
				p.c = acctAdd(p.c, take)
			}
			s.n = acctSub(s.n, take)
			rest = acctSub(rest, take)
			if s.n.IsZero() {
				h.segs[h.head] = acctSeg{}
				h.head++
			}
		}
		if !rest.IsZero() {
			p.segs = acctAppendSeg(p.segs, acctSeg{n: rest})
		}
		if h.head > 32 && h.head*2 > len(h.segs) {
			h.segs = append(h.segs[:0], h.segs[h.head:]...)
			h.head = 0
		}
		h.taint = acctSub(h.taint, p.c)
	}
	h.bal = acctSub(h.bal, a)
	return p
}

// receive adds an incoming transfer of a units carrying p, delivered by
// transaction tx.
func (h *acctHold) receive(m Model, a model.Amount, p acctPay, tx uint64) {
	h.bal = acctAdd(h.bal, a)
	h.taint = acctAdd(h.taint, p.c)
	if !p.c.IsZero() {
		h.poisoned = true
	}
	if m == FIFO {
		if h.head == len(h.segs) {
			h.segs, h.head = h.segs[:0], 0
		}
		for _, s := range p.segs {
			s.tx = tx
			h.segs = acctAppendSeg(h.segs, s)
		}
	}
}

// taintDelivered taints up to v clean units that transaction tx delivered
// to h and that are still held (a swap's proceeds) and returns how many it
// tainted.
func (h *acctHold) taintDelivered(m Model, v model.Amount, tx uint64) model.Amount {
	switch m {
	case Poison:
		if !v.IsZero() {
			h.poisoned = true
		}
		h.taint = acctAdd(h.taint, v)
		return v
	case Haircut:
		v = model.Min(v, acctSub(h.bal, h.taint))
		h.taint = acctAdd(h.taint, v)
		return v
	}
	var done model.Amount
	for i := h.head; i < len(h.segs) && done.Cmp(v) < 0; i++ {
		s := h.segs[i]
		if s.tainted || s.tx != tx {
			continue
		}
		take := model.Min(s.n, acctSub(v, done))
		done = acctAdd(done, take)
		if take.Cmp(s.n) == 0 {
			h.segs[i].tainted = true
			continue
		}
		// Split the run: its first take units become tainted.
		rest := acctSeg{n: acctSub(s.n, take), tx: tx}
		h.segs[i] = acctSeg{n: take, tainted: true, tx: tx}
		h.segs = append(h.segs, acctSeg{})
		copy(h.segs[i+2:], h.segs[i+1:])
		h.segs[i+1] = rest
	}
	h.taint = acctAdd(h.taint, done)
	return done
}

// acctTaintFront taints the first v clean units of a FIFO payload (a
// source receipt or seed) and returns the payload.
func acctTaintFront(p acctPay, v model.Amount) acctPay {
	out := make([]acctSeg, 0, len(p.segs)+1)
	rest := v
	for _, s := range p.segs {
		if s.tainted || rest.IsZero() {
			out = acctAppendSeg(out, s)
			continue
		}
		take := model.Min(s.n, rest)
		rest = acctSub(rest, take)
		out = acctAppendSeg(out, acctSeg{n: take, tainted: true, tx: s.tx})
		if r := acctSub(s.n, take); !r.IsZero() {
			out = acctAppendSeg(out, acctSeg{n: r, tx: s.tx})
		}
	}
	p.segs = out
	return p
}

// acctAppendSeg appends s to a queue, merging it into the last run when
// both have the same taint and transaction.
func acctAppendSeg(q []acctSeg, s acctSeg) []acctSeg {
	if s.n.IsZero() {
		return q
	}
	if n := len(q); n > 0 && q[n-1].tainted == s.tainted && q[n-1].tx == s.tx {
		q[n-1].n = acctAdd(q[n-1].n, s.n)
		return q
	}
	return append(q, s)
}
