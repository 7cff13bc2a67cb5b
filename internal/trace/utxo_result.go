package trace

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// utxoNoAddr names outputs without an address (bare scripts the store
// could not attribute) in results.
const utxoNoAddr = "(no address)"

// utxoAddr is what a run knows of an address: its encoding, labels and the
// stop rules' verdict on them.
type utxoAddr struct {
	addr string
	node string // the node id, "<chain>:<address>"

	ls    []labels.Label
	class Class
	label *labels.Label
}

// addr resolves an address id once per run.
func (r *utxoRun) addr(ctx context.Context, id uint64) (*utxoAddr, error) {
	return r.addrKnown(ctx, id, nil)
}

// addrKnown is addr with the address's compact key when the caller
// already has it (read ahead), nil otherwise.
func (r *utxoRun) addrKnown(ctx context.Context, id uint64, kb []byte) (*utxoAddr, error) {
	if a, ok := r.addrs[id]; ok {
		return a, nil
	}
	a := &utxoAddr{addr: utxoNoAddr}
	if id != 0 {
		if kb == nil {
			var err error
			if kb, err = r.e.db.AddrKey(ctx, id); err != nil {
				return nil, fmt.Errorf("trace: address #%d: %w", id, err)
			}
		}
		k, err := btc.AddrKeyFromBytes(kb)
		if err != nil {
			return nil, fmt.Errorf("trace: address #%d: %w", id, err)
		}
		a.addr = k.Encode(r.e.net)
		if r.e.opts.Labels != nil {
			a.ls = r.e.opts.Labels.Lookup(r.p.Chain, a.addr)
			a.class, a.label = Classify(r.p, a.ls)
		}
	}
	a.node = r.p.Chain + ":" + a.addr
	r.addrs[id] = a
	return a, nil
}

// utxoRoleRank orders roles when an address plays several: the first in
// this list wins (a source stays a source, a service an endpoint).
var utxoRoleRank = map[string]int{
	RoleSource: 0, RoleEndpoint: 1, RoleMixer: 2, RoleBridge: 3,
	RoleHolding: 4, RoleHop: 5, RoleDEX: 6, RoleLimit: 7,
}

type utxoNode struct {
	n Node
}

// node records that the address with id played role at hop. Addresses are
// resolved before they get here, so a failed look-up cannot happen; it
// would leave the node out rather than fail the trace.
func (r *utxoRun) node(ctx context.Context, id uint64, role string, hop int) {
	a, err := r.addr(ctx, id)
	if err != nil {
		return
	}
	r.nodeAt(a.node, a.addr, a.ls, role, hop)
}

func (r *utxoRun) nodeAt(key, address string, ls []labels.Label, role string, hop int) {
	nd := r.nodes[key]
	if nd == nil {
		r.nodes[key] = &utxoNode{n: Node{ID: key, Chain: r.p.Chain, Address: address, Role: role, Hop: hop, Labels: Labels(ls)}}
		return
	}
	if utxoRoleRank[role] < utxoRoleRank[nd.n.Role] {
		nd.n.Role = role
	}
	nd.n.Hop = min(nd.n.Hop, hop)
}

type utxoEdgeKey struct {
	tx       uint64
	from, to uint64
}

type utxoEdge struct {
	e       Edge
	value   int64
	tainted int64
}

// edge adds a movement from address from to address to in t.
func (r *utxoRun) edge(t *store.TxRec, at time.Time, from, to uint64, value, tainted int64, hop int) {
	k := utxoEdgeKey{t.TxNum, from, to}
	ed := r.edges[k]
	if ed == nil {
		if r.txidOf != t.TxNum || r.txid == "" {
			r.txidOf, r.txid = t.TxNum, t.TxID.String()
		}
		ed = &utxoEdge{e: Edge{Chain: r.p.Chain, Asset: r.e.asset, Tx: r.txid, Height: t.Height, Time: at, Hop: hop}}
		r.edges[k] = ed
	}
	ed.value += value
	ed.tainted += tainted
	ed.e.Hop = min(ed.e.Hop, hop)
}

type utxoEnd struct {
	e       Endpoint
	tainted int64
	txs     map[uint64]bool
}

// endpoint adds tainted value stopped at a labelled address.
func (r *utxoRun) endpoint(a *utxoAddr, id uint64, amt int64, hop int, txnum uint64) {
	key := a.node
	role := RoleEndpoint
	if a.class == ClassMixer {
		role = RoleMixer
	} else if a.class == ClassBridge {
		role = RoleBridge
	}
	r.nodeAt(key, a.addr, a.ls, role, hop)
	var l labels.Label
	if a.label != nil {
		l = *a.label
	}
	r.addEnd(key, Endpoint{Node: key, Chain: r.p.Chain, Address: a.addr, Entity: Entity(&l), Label: l.Label, Category: l.Category, Asset: r.e.asset, Hop: hop}, amt, txnum)
}

// coinJoin stops tainted value at a detected CoinJoin transaction, which
// becomes a node and an endpoint of its own.
func (r *utxoRun) coinJoin(t *store.TxRec, kind string, amt int64, hop int) {
	txid := t.TxID.String()
	key := r.p.Chain + ":coinjoin:" + txid
	r.nodeAt(key, txid, []labels.Label{{Chain: r.p.Chain, Label: kind, Category: "coinjoin"}}, RoleMixer, hop)
	r.addEnd(key, Endpoint{Node: key, Chain: r.p.Chain, Address: txid, Entity: kind, Label: kind, Category: "coinjoin", Asset: r.e.asset, Hop: hop}, amt, t.TxNum)
}

func (r *utxoRun) addEnd(key string, e Endpoint, amt int64, txnum uint64) {
	en := r.ends[key]
	if en == nil {
		en = &utxoEnd{e: e, txs: map[uint64]bool{}}
		r.ends[key] = en
	}
	en.tainted += amt
	en.e.Hop = min(en.e.Hop, e.Hop)
	en.txs[txnum] = true
}

type utxoHold struct {
	h   Holding
	amt int64
}

// holding adds tainted value sitting at an output (forward) or found at an
// origin (backward).
func (r *utxoRun) holding(a *utxoAddr, id uint64, amt int64, hop int, out string) {
	hd := r.holds[id]
	if hd == nil {
		hd = &utxoHold{h: Holding{Node: a.node, Chain: r.p.Chain, Address: a.addr, Asset: r.e.asset, Hop: hop}}
		r.holds[id] = hd
	}
	hd.amt += amt
	hd.h.Hop = min(hd.h.Hop, hop)
	hd.h.Outputs = append(hd.h.Outputs, out)
}

// utxoTotals are Totals in satoshi while a run adds them up.
type utxoTotals struct {
	source, endpoints, mixers, unspent, dust, beyond, fees, burnt, minted, bridgedOut int64
}

func utxoAmount(v int64) model.Amount {
	if v < 0 {
		v = 0 // cannot happen: every figure only grows by non-negative amounts
	}
	return model.AmountFromUint64(uint64(v))
}

// result assembles the run's Result in a deterministic order.
func (r *utxoRun) result(ctx context.Context) (*Result, error) {
	res := &Result{Params: *r.p, Heights: map[string]uint64{r.p.Chain: r.tip}}
	tt := r.tot
	res.Totals = []Totals{{
		Chain: r.p.Chain, Asset: r.e.asset,
		Source: utxoAmount(tt.source), Endpoints: utxoAmount(tt.endpoints), Mixers: utxoAmount(tt.mixers),
		Unspent: utxoAmount(tt.unspent), Dust: utxoAmount(tt.dust), BeyondLimits: utxoAmount(tt.beyond),
		Fees: utxoAmount(tt.fees), Burnt: utxoAmount(tt.burnt), Minted: utxoAmount(tt.minted),
		BridgedOut: utxoAmount(tt.bridgedOut),
	}}
	res.Nodes = make([]Node, 0, len(r.nodes))
	for _, nd := range r.nodes {
		res.Nodes = append(res.Nodes, nd.n)
	}
	slices.SortFunc(res.Nodes, func(a, b Node) int {
		return cmp.Or(cmp.Compare(a.Hop, b.Hop), cmp.Compare(a.ID, b.ID))
	})
	type sortEdge struct {
		k utxoEdgeKey
		e Edge
	}
	edges := make([]sortEdge, 0, len(r.edges))
	for k, ed := range r.edges {
		from, err := r.addr(ctx, k.from)
		if err != nil {
			return nil, err
		}
		to, err := r.addr(ctx, k.to)
		if err != nil {
			return nil, err
		}
		e := ed.e
		e.From, e.To = from.node, to.node
		e.Value, e.Tainted = utxoAmount(ed.value), utxoAmount(ed.tainted)
		edges = append(edges, sortEdge{k, e})
	}
	slices.SortFunc(edges, func(a, b sortEdge) int {
		return cmp.Or(cmp.Compare(a.e.Height, b.e.Height), cmp.Compare(a.k.tx, b.k.tx), cmp.Compare(a.e.From, b.e.From), cmp.Compare(a.e.To, b.e.To))
	})
	res.Edges = make([]Edge, 0, len(edges))
	for _, e := range edges {
		res.Edges = append(res.Edges, e.e)
	}
	src := float64(tt.source)
	type sortEnd struct {
		amt int64
		e   Endpoint
	}
	var ends []sortEnd
	for _, en := range r.ends {
		e := en.e
		e.Tainted, e.Txs = utxoAmount(en.tainted), len(en.txs)
		if src > 0 {
			e.Share = float64(en.tainted) / src
		}
		ends = append(ends, sortEnd{en.tainted, e})
	}
	slices.SortFunc(ends, func(a, b sortEnd) int {
		return cmp.Or(cmp.Compare(b.amt, a.amt), cmp.Compare(a.e.Node, b.e.Node))
	})
	for _, e := range ends {
		res.Endpoints = append(res.Endpoints, e.e)
	}
	var holds []*utxoHold
	for _, hd := range r.holds {
		hd.h.Amount = utxoAmount(hd.amt)
		holds = append(holds, hd)
	}
	slices.SortFunc(holds, func(a, b *utxoHold) int {
		return cmp.Or(cmp.Compare(b.amt, a.amt), cmp.Compare(a.h.Address, b.h.Address))
	})
	for _, hd := range holds {
		res.Holdings = append(res.Holdings, hd.h)
	}
	res.Crossings = r.cross
	slices.SortStableFunc(res.Crossings, func(a, b Crossing) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Tx, b.Tx), cmp.Compare(a.Index, b.Index))
	})
	res.Stats = Stats{Txs: r.txs, Addresses: len(r.nodes), Truncated: r.trunc}
	return res, nil
}
