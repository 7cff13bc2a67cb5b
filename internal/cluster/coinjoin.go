// Package cluster groups Bitcoin addresses into clusters believed to have
// one owner, and annotates transactions for tracing.
//
// The grouping is the multi-input heuristic: all the addresses whose
// outputs one transaction spends are controlled by the transaction's
// author, since spending needs every input's key. CoinJoins break that
// assumption on purpose (several owners sign one transaction), so
// transactions that look like CoinJoins are recorded as such and never
// joined. The ingest stage "clusters" writes the store's link log (see
// store.LinkMultiInput); Index replays it into a union-find.
package cluster

import (
	"slices"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// KindName returns the name of a link kind: "multi-input" or the CoinJoin
// kind ("whirlpool", "wasabi1", "wasabi2", "joinmarket", "coinjoin").
func KindName(kind uint8) string {
	switch kind {
	case store.LinkMultiInput:
		return "multi-input"
	case store.LinkCoinJoinGeneric:
		return "coinjoin"
	case store.LinkWasabi1:
		return "wasabi1"
	case store.LinkWasabi2:
		return "wasabi2"
	case store.LinkWhirlpool:
		return "whirlpool"
	case store.LinkJoinMarket:
		return "joinmarket"
	}
	return "unknown"
}

// Sat amounts used by the detectors.
const (
	btcSat = 100_000_000
	// minEqualValue is the smallest value an equal-output group may have
	// to count as a CoinJoin denomination: groups of dust outputs are
	// spam or token protocols, not mixing.
	minEqualValue = 10_000
)

// whirlpoolPools are Samourai Whirlpool's pool denominations in sat.
var whirlpoolPools = [...]int64{100_000, 1_000_000, 5_000_000, 50_000_000}

// wasabi2Denoms is WabiSabi's standard denomination set, sorted.
var wasabi2Denoms = makeWasabi2Denoms()

// makeWasabi2Denoms generates the amounts Wasabi 2.0 clients prefer for
// their outputs: powers of 2, powers of 3 and twice them, and 1, 2 and 5
// times powers of 10, from the 5,000-sat minimum output up to 43 BTC (the
// set is unbounded in principle; larger rounds do not occur).
func makeWasabi2Denoms() []int64 {
	const lo, hi = 5_000, 43 * btcSat
	var d []int64
	add := func(v int64) {
		if v >= lo && v <= hi {
			d = append(d, v)
		}
	}
	for v := int64(1); v <= hi; v *= 2 {
		add(v)
	}
	for v := int64(1); v <= hi; v *= 3 {
		add(v)
		add(2 * v)
	}
	for v := int64(1); v <= hi; v *= 10 {
		add(v)
		add(2 * v)
		add(5 * v)
	}
	slices.Sort(d)
	return slices.Compact(d)
}

// isWasabi2Denom reports whether v is in WabiSabi's standard set.
func isWasabi2Denom(v int64) bool {
	_, ok := slices.BinarySearch(wasabi2Denoms, v)
	return ok
}

// group is a set of outputs of equal value.
type group struct {
	value int64
	n     int
}

// shape is what the detectors need to know about a transaction, computed
// once: its spendable outputs' values grouped, its output script classes
// and how many distinct owners its inputs could at least have.
type shape struct {
	ins    int
	owners int // distinct known input addresses plus inputs of unknown address
	outs   int // outputs other than OP_RETURN
	wpkh   int
	tr     int
	groups []group // equal-value groups, largest first, then larger value first
}

// newShape summarises t; buf is scratch space for the values.
func newShape(t *store.TxRec, buf []int64) shape {
	s := shape{ins: len(t.Ins)}
	vals := buf[:0]
	for i := range t.Outs {
		o := &t.Outs[i]
		switch o.Class {
		case model.ScriptNullData:
			continue
		case model.ScriptP2WPKH:
			s.wpkh++
		case model.ScriptP2TR:
			s.tr++
		}
		s.outs++
		vals = append(vals, o.Value)
	}
	slices.Sort(vals)
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		if j-i >= 2 {
			s.groups = append(s.groups, group{vals[i], j - i})
		}
		i = j
	}
	slices.SortFunc(s.groups, func(a, b group) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return int(min(max(b.value-a.value, -1), 1))
	})
	var ids [64]uint64
	known := ids[:0]
	for i := range t.Ins {
		if id := t.Ins[i].AddrID; id != 0 {
			known = append(known, id)
		} else {
			s.owners++
		}
	}
	slices.Sort(known)
	s.owners += len(slices.Compact(known))
	return s
}

// largest returns the largest equal-value group, or a zero group.
func (s *shape) largest() group {
	if len(s.groups) == 0 {
		return group{}
	}
	return s.groups[0]
}

// DetectCoinJoin returns the CoinJoin kind t looks like, or 0 (which is
// store.LinkMultiInput) when none fits. The detectors run most specific
// first, so a Whirlpool mix is not reported as a generic CoinJoin. Coinbase
// transactions and transactions with fewer than two inputs or three
// outputs are never CoinJoins.
func DetectCoinJoin(t *store.TxRec) uint8 {
	if t.Coinbase || len(t.Ins) < 2 || len(t.Outs) < 3 {
		return 0
	}
	var buf [64]int64
	s := newShape(t, buf[:0])
	switch {
	case isWhirlpool(&s):
		return store.LinkWhirlpool
	case isWasabi2(t, &s):
		return store.LinkWasabi2
	case isWasabi1(&s):
		return store.LinkWasabi1
	case isJoinMarket(&s):
		return store.LinkJoinMarket
	case isGenericCoinJoin(&s):
		return store.LinkCoinJoinGeneric
	}
	return 0
}

// isWhirlpool: a Whirlpool mix has exactly five inputs (premixed and
// remixed coins of five owners) and five outputs of exactly one pool
// denomination; the fees were paid in the earlier TX0, whose premix
// outputs are slightly above the denomination and so do not match.
func isWhirlpool(s *shape) bool {
	if s.ins != 5 || s.outs != 5 {
		return false
	}
	g := s.largest()
	return g.n == 5 && slices.Contains(whirlpoolPools[:], g.value)
}

// isWasabi2: a WabiSabi round has many inputs (50 or more; real rounds
// have hundreds), only segwit v0 key-hash and taproot outputs, and most
// outputs valued in the standard denomination set, many of them repeated
// since clients pick from the same set. Input script types are not in a
// TxRec, so only outputs are checked.
func isWasabi2(t *store.TxRec, s *shape) bool {
	if s.ins < 50 || s.outs < 20 || s.wpkh+s.tr != s.outs {
		return false
	}
	std, repeated := 0, 0
	for i := range t.Outs {
		if isWasabi2Denom(t.Outs[i].Value) {
			std++
		}
	}
	for _, g := range s.groups {
		if isWasabi2Denom(g.value) {
			repeated += g.n
		}
	}
	return 2*std >= s.outs && repeated >= 10
}

// isWasabi1: a Wasabi 1.x (ZeroLink, Chaumian) round pays ten or more
// outputs of one value near 0.1 BTC (the base denomination minus fees
// moved within 0.08-0.12 BTC over the years), has at least as many inputs
// as mixed outputs, and besides the mixed outputs at least one other (the
// coordinator's fee, usually with change); Wasabi wallets are bech32-only,
// so nine outputs in ten or more are P2WPKH.
func isWasabi1(s *shape) bool {
	var g group
	for _, c := range s.groups {
		if c.value >= 8_000_000 && c.value <= 12_000_000 && c.n > g.n {
			g = c
		}
	}
	return g.n >= 10 && s.ins >= g.n && s.outs > g.n && 10*s.wpkh >= 9*s.outs
}

// isJoinMarket: a JoinMarket CoinJoin pays n >= 3 equal outputs (the
// taker's and each maker's), plus one change output per participant
// except that the taker may have none: n-1 or n other outputs and nothing
// else, since there is no coordinator fee output (makers' fees go into
// their change). Each participant brings at least one input, so inputs
// come from at least n distinct addresses.
func isJoinMarket(s *shape) bool {
	g := s.largest()
	if g.n < 3 || g.value < minEqualValue {
		return false
	}
	other := s.outs - g.n
	return (other == g.n-1 || other == g.n) && s.owners >= g.n
}

// isGenericCoinJoin: the equal-output rule. Three or more outputs of one
// value (not dust) make up at least half of the outputs, and the inputs
// come from at least as many distinct addresses as there are equal
// outputs. Exchange batch payouts also have many outputs, sometimes of
// equal value, but they are funded from one or two hot-wallet addresses
// and their payouts are a minority of equal values, so they fail the
// owners or the half rule.
func isGenericCoinJoin(s *shape) bool {
	g := s.largest()
	return g.n >= 3 && g.value >= minEqualValue && 2*g.n >= s.outs && s.owners >= g.n
}

// Classify decides the link-log entry of t: ok is false when t has fewer
// than two distinct input addresses (or is a coinbase) and gets none;
// otherwise kind is a CoinJoin kind with no ids, or store.LinkMultiInput
// with the sorted distinct input address ids, appended to ids[:0].
func Classify(t *store.TxRec, ids []uint64) (kind uint8, out []uint64, ok bool) {
	ids = ids[:0]
	if t.Coinbase || len(t.Ins) < 2 {
		return 0, ids, false
	}
	for i := range t.Ins {
		if id := t.Ins[i].AddrID; id != 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) < 2 {
		return 0, ids, false
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) < 2 {
		return 0, ids, false
	}
	if k := DetectCoinJoin(t); k != store.LinkMultiInput {
		return k, ids[:0], true
	}
	return store.LinkMultiInput, ids, true
}
