package trace

import (
	"cmp"
	"context"
	"slices"

	"github.com/chaintrace/chaintrace/internal/model"
)

// result assembles the Result of a finished run in a deterministic order:
// nodes by hop then address, edges in chain order, endpoints and holdings
// by amount (largest first) then address, totals native first then by
// asset.
func (r *acctRun) result(ctx context.Context) (*Result, error) {
	p := *r.p
	res := &Result{Params: p, Heights: map[string]uint64{r.e.chain: r.tip}, Crossings: r.cross}
	res.Stats.Truncated = r.truncated

	// Edges: merge those of one transfer (backward may reach one at
	// several hops), then sort in chain order.
	slices.SortStableFunc(r.edges, func(a, b acctEdge) int {
		return cmp.Or(cmp.Compare(a.txnum, b.txnum), cmp.Compare(a.index, b.index), cmp.Compare(a.hop, b.hop))
	})
	merged := r.edges[:0]
	for _, e := range r.edges {
		if n := len(merged); n > 0 && merged[n-1].txnum == e.txnum && merged[n-1].index == e.index && merged[n-1].to == e.to {
			// A swap's proceeds may add to a receipt that was already
			// tainted; an edge shows at most the transfer's value.
			merged[n-1].tainted = model.Min(acctAdd(merged[n-1].tainted, e.tainted), e.value)
			merged[n-1].hop = min(merged[n-1].hop, e.hop)
			continue
		}
		merged = append(merged, e)
	}
	txs := map[uint64]bool{}
	for _, e := range merged {
		from, err := r.name(ctx, e.from)
		if err != nil {
			return nil, err
		}
		to, err := r.name(ctx, e.to)
		if err != nil {
			return nil, err
		}
		asset, err := r.assetName(ctx, e.token)
		if err != nil {
			return nil, err
		}
		t, err := r.blockTime(ctx, e.height)
		if err != nil {
			return nil, err
		}
		tx := acctHash(e.hash)
		txs[e.txnum] = true
		res.Edges = append(res.Edges, Edge{From: r.id(from), To: r.id(to), Chain: r.e.chain, Asset: asset, Tx: tx,
			Height: e.height, Time: t, Hop: e.hop, Value: e.value, Tainted: e.tainted})
	}
	res.Stats.Txs = len(txs)

	for id, n := range r.nodes {
		a, err := r.name(ctx, id)
		if err != nil {
			return nil, err
		}
		c, err := r.class(ctx, id)
		if err != nil {
			return nil, err
		}
		nd := Node{ID: r.id(a), Chain: r.e.chain, Address: a, Hop: n.hop, Labels: Labels(c.labels)}
		switch {
		case n.source:
			nd.Role = RoleSource
		case c.class == ClassMixer:
			nd.Role = RoleMixer
		case c.class == ClassBridge:
			nd.Role = RoleBridge
		case c.class == ClassDEX || n.dex:
			nd.Role = RoleDEX
		case n.endpoint:
			nd.Role = RoleEndpoint
		case r.holding(id):
			nd.Role = RoleHolding
		case n.followed:
			nd.Role = RoleHop
		default:
			nd.Role = RoleLimit
		}
		res.Nodes = append(res.Nodes, nd)
	}
	slices.SortFunc(res.Nodes, func(a, b Node) int { return cmp.Or(cmp.Compare(a.Hop, b.Hop), cmp.Compare(a.Address, b.Address)) })
	res.Stats.Addresses = len(res.Nodes)

	for k, ep := range r.ends {
		a, err := r.name(ctx, k.addr)
		if err != nil {
			return nil, err
		}
		asset, err := r.assetName(ctx, k.token)
		if err != nil {
			return nil, err
		}
		ep.Node, ep.Chain, ep.Address, ep.Asset = r.id(a), r.e.chain, a, asset
		t := r.total(k.token)
		if in := acctFloat(t.In()); in > 0 {
			ep.Share = acctFloat(ep.Tainted) / in
		}
		res.Endpoints = append(res.Endpoints, *ep)
	}
	slices.SortFunc(res.Endpoints, func(a, b Endpoint) int {
		return cmp.Or(b.Tainted.Cmp(a.Tainted), cmp.Compare(a.Address, b.Address), cmp.Compare(a.Asset, b.Asset))
	})

	for k, h := range r.origins {
		h.Node = ""
		h.Chain = r.e.chain
		a, err := r.name(ctx, k.addr)
		if err != nil {
			return nil, err
		}
		asset, err := r.assetName(ctx, k.token)
		if err != nil {
			return nil, err
		}
		h.Node, h.Address, h.Asset = r.id(a), a, asset
		r.holds = append(r.holds, *h)
	}
	for i := range r.holds {
		h := &r.holds[i]
		if h.Node == "" {
			h.Node = r.id(h.Address)
		}
	}
	res.Holdings = r.holds
	slices.SortFunc(res.Holdings, func(a, b Holding) int {
		return cmp.Or(b.Amount.Cmp(a.Amount), cmp.Compare(a.Address, b.Address), cmp.Compare(a.Asset, b.Asset))
	})

	tokens := make([]uint64, 0, len(r.totals))
	for tok := range r.totals {
		tokens = append(tokens, tok)
	}
	names := map[uint64]string{}
	for _, tok := range tokens {
		s, err := r.assetName(ctx, tok)
		if err != nil {
			return nil, err
		}
		names[tok] = s
	}
	slices.SortFunc(tokens, func(a, b uint64) int {
		if (a == 0) != (b == 0) {
			if a == 0 {
				return -1
			}
			return 1
		}
		return cmp.Compare(names[a], names[b])
	})
	for _, tok := range tokens {
		t := *r.totals[tok]
		t.Chain, t.Asset = r.e.chain, names[tok]
		res.Totals = append(res.Totals, t)
	}
	slices.SortStableFunc(res.Crossings, func(a, b Crossing) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Tx, b.Tx), cmp.Compare(a.Index, b.Index))
	})
	return res, nil
}

// id returns the node id of an address.
func (r *acctRun) id(addr string) string { return r.e.chain + ":" + addr }

// holding reports whether an address holds tainted value in the result.
func (r *acctRun) holding(id uint64) bool { return r.held[id] }
