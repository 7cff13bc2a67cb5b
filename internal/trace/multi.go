package trace

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
)

// BridgeRule finds where a bridge paid out value that was sent into it. A
// rule knows one bridge's deposit side and release side; rules are tried
// in order and the first match continues the trace. Implementations are
// safe for concurrent use.
type BridgeRule interface {
	// Name identifies the rule in results ("btc-eth pegged bridge").
	Name() string
	// Match returns the release that pays out crossing c, false when c is
	// not a deposit of this bridge or no release matches. used holds the
	// releases already matched in this trace ("<chain>:<tx>:<index>"),
	// which must not be matched twice.
	Match(ctx context.Context, c Crossing, used map[string]bool) (Release, bool, error)
}

// Release is value a bridge paid out on another chain: output or transfer
// Index of transaction Tx on Chain, worth Value of Asset.
type Release struct {
	Chain  string
	Asset  string
	Tx     string
	Index  uint32
	To     string
	Value  model.Amount
	Time   time.Time
	Height uint64
}

// Key names the release in Crossing.Continued and in the used set.
func (r *Release) Key() string { return fmt.Sprintf("%s:%s:%d", r.Chain, r.Tx, r.Index) }

// Multi runs a forward trace over several chains, continuing it through
// bridges: when value reaches a bridge on one chain and a rule finds the
// matching release on another chain whose engine is present, the trace
// goes on from the release with the crossing's tainted share, and the
// hops already walked. Backward traces and traces with no bridge rule are
// single-chain runs.
type Multi struct {
	Engines map[string]Engine
	Rules   []BridgeRule
	// MaxCrossings bounds how many bridge crossings are followed (default
	// 64), so that value bouncing between chains cannot loop forever.
	MaxCrossings int
}

// Trace runs p on the engine of p.Chain and follows bridges.
func (m *Multi) Trace(ctx context.Context, p Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	eng, ok := m.Engines[p.Chain]
	if !ok {
		return nil, fmt.Errorf("trace: no store for chain %q", p.Chain)
	}
	res, err := eng.Run(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	if p.Direction != Forward || len(m.Rules) == 0 {
		return res, nil
	}
	limit := m.MaxCrossings
	if limit == 0 {
		limit = 64
	}
	used := map[string]bool{}
	followed := 0
	// Crossings found by continued runs are appended to res.Crossings,
	// so this loop also follows crossings of crossings.
	for i := 0; i < len(res.Crossings) && followed < limit; i++ {
		c := &res.Crossings[i]
		if c.Tainted.IsZero() {
			continue
		}
		rel, ok, err := m.match(ctx, *c, used)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		other, ok := m.Engines[rel.Chain]
		if !ok || rel.Value.IsZero() {
			continue
		}
		// MulDiv fails on a zero divisor: a crossing of no value.
		tainted, ok := model.MulDiv(rel.Value, c.Tainted, c.Value)
		if !ok {
			continue
		}
		tainted = model.Min(tainted, rel.Value)
		used[rel.Key()] = true
		c.Continued = rel.Key()
		followed++
		q := p
		q.Chain, q.From, q.FromTxs, q.Asset = rel.Chain, nil, nil, ""
		// Dust thresholds are in the source chain's base units, which
		// mean nothing on the other chain.
		q.MinValue = model.Amount{}
		seed := Seed{Tx: rel.Tx, Index: rel.Index, Tainted: tainted, Hop: c.Hop + 1}
		sub, err := other.Run(ctx, q, []Seed{seed})
		if err != nil {
			return nil, fmt.Errorf("trace: continuing across %s to %s: %w", c.Bridge, rel.Key(), err)
		}
		merge(res, sub)
	}
	res.Stats.Elapsed = time.Since(start)
	return res, nil
}

func (m *Multi) match(ctx context.Context, c Crossing, used map[string]bool) (Release, bool, error) {
	for _, r := range m.Rules {
		rel, ok, err := r.Match(ctx, c, used)
		if err != nil {
			return Release{}, false, fmt.Errorf("trace: bridge rule %s on %s:%s: %w", r.Name(), c.Chain, c.Tx, err)
		}
		if ok {
			return rel, true, nil
		}
	}
	return Release{}, false, nil
}

// merge adds a continued run's result to res. The continued run counted
// its seed under Source; across a bridge it is BridgedIn.
func merge(res, sub *Result) {
	for k, h := range sub.Heights {
		res.Heights[k] = h
	}
	nodes := map[string]int{}
	for i, n := range res.Nodes {
		nodes[n.ID] = i
	}
	for _, n := range sub.Nodes {
		if i, ok := nodes[n.ID]; ok {
			if n.Hop < res.Nodes[i].Hop {
				res.Nodes[i].Hop = n.Hop
			}
			continue
		}
		nodes[n.ID] = len(res.Nodes)
		res.Nodes = append(res.Nodes, n)
	}
	res.Edges = append(res.Edges, sub.Edges...)
	res.Endpoints = append(res.Endpoints, sub.Endpoints...)
	res.Holdings = append(res.Holdings, sub.Holdings...)
	res.Crossings = append(res.Crossings, sub.Crossings...)
	for _, t := range sub.Totals {
		t.BridgedIn, _ = t.BridgedIn.Add(t.Source)
		t.Source = model.Amount{}
		merged := false
		for i := range res.Totals {
			r := &res.Totals[i]
			if r.Chain == t.Chain && r.Asset == t.Asset {
				addTotals(r, &t)
				merged = true
				break
			}
		}
		if !merged {
			res.Totals = append(res.Totals, t)
		}
	}
	res.Stats.Txs += sub.Stats.Txs
	res.Stats.Addresses += sub.Stats.Addresses
	res.Stats.Truncated = res.Stats.Truncated || sub.Stats.Truncated
	sortMerged(res)
}

func addTotals(r, t *Totals) {
	r.Source = sum(r.Source, t.Source)
	r.SwappedIn = sum(r.SwappedIn, t.SwappedIn)
	r.BridgedIn = sum(r.BridgedIn, t.BridgedIn)
	r.Endpoints = sum(r.Endpoints, t.Endpoints)
	r.Mixers = sum(r.Mixers, t.Mixers)
	r.Unspent = sum(r.Unspent, t.Unspent)
	r.Dust = sum(r.Dust, t.Dust)
	r.BeyondLimits = sum(r.BeyondLimits, t.BeyondLimits)
	r.Fees = sum(r.Fees, t.Fees)
	r.Burnt = sum(r.Burnt, t.Burnt)
	r.Minted = sum(r.Minted, t.Minted)
	r.SwappedOut = sum(r.SwappedOut, t.SwappedOut)
	r.BridgedOut = sum(r.BridgedOut, t.BridgedOut)
}

// sortMerged restores the documented orders after a merge: edges by time,
// endpoints and holdings by amount, largest first.
func sortMerged(r *Result) {
	sort.SliceStable(r.Edges, func(i, j int) bool {
		a, b := &r.Edges[i], &r.Edges[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.Chain != b.Chain {
			return a.Chain < b.Chain
		}
		return a.Height < b.Height
	})
	sort.SliceStable(r.Endpoints, func(i, j int) bool {
		if c := r.Endpoints[i].Tainted.Cmp(r.Endpoints[j].Tainted); c != 0 {
			return c > 0
		}
		return r.Endpoints[i].Node < r.Endpoints[j].Node
	})
	sort.SliceStable(r.Holdings, func(i, j int) bool {
		if c := r.Holdings[i].Amount.Cmp(r.Holdings[j].Amount); c != 0 {
			return c > 0
		}
		return r.Holdings[i].Node < r.Holdings[j].Node
	})
}
