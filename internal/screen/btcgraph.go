package screen

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
)

// BTCGraph is the Graph of a Bitcoin store: transaction references are
// store ordinals and address ids the store's. It is safe for concurrent
// use.
type BTCGraph struct {
	db   store.Reader
	q    *query.BTC
	net  *chaincfg.Params
	recs sync.Pool // *store.TxRec scratch
}

var _ Graph = (*BTCGraph)(nil)

// NewBTCGraph returns the graph of db, whose chain meta names the network.
func NewBTCGraph(db store.Reader) (*BTCGraph, error) {
	q, err := query.NewBTC(db)
	if err != nil {
		return nil, fmt.Errorf("screen: %w", err)
	}
	g := &BTCGraph{db: db, q: q, net: q.Net()}
	g.recs.New = func() any { return new(store.TxRec) }
	return g, nil
}

// Chain returns the chain id of package addrs that the store's addresses
// belong to (btc.ChainID).
func (g *BTCGraph) Chain() string { return btc.ChainID(btc.NetworkName(g.net)) }

// Lookup resolves an address; one that does not parse for the store's
// network, or never appeared on chain, is reported absent.
func (g *BTCGraph) Lookup(ctx context.Context, address string) (uint64, bool, error) {
	id, err := g.q.AddressID(ctx, address)
	var aerr *btc.AddressError
	switch {
	case err == nil:
		return id, true, nil
	case errors.Is(err, query.ErrNotFound), errors.As(err, &aerr):
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("screen: looking up %s: %w", address, err)
}

// Activity visits the address's transactions in chain order with its
// received and spent value in each.
func (g *BTCGraph) Activity(ctx context.Context, id uint64, fn func(tx TxRef, received, sent int64) bool) error {
	var cur TxRef
	var rec, snt int64
	have, stopped := false, false
	err := g.db.Events(ctx, id, 0, func(e store.Event) bool {
		if have && TxRef(e.TxNum) != cur {
			if !fn(cur, rec, snt) {
				stopped = true
				return false
			}
			rec, snt = 0, 0
		}
		cur, have = TxRef(e.TxNum), true
		if e.Spent {
			snt += e.Value
		} else {
			rec += e.Value
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("screen: activity of address #%d: %w", id, err)
	}
	if have && !stopped {
		fn(cur, rec, snt)
	}
	return nil
}

// Tx reads a transaction's flows. An output locked to several keys (bare
// multisig) is attributed to its first key.
func (g *BTCGraph) Tx(ctx context.Context, ref TxRef, t *Tx) error {
	r := g.recs.Get().(*store.TxRec)
	defer g.recs.Put(r)
	if err := g.db.Tx(ctx, uint64(ref), r); err != nil {
		return fmt.Errorf("screen: transaction %d: %w", ref, err)
	}
	t.Ins, t.Outs = t.Ins[:0], t.Outs[:0]
	for i := range r.Ins {
		in := &r.Ins[i]
		f := Flow{Addr: in.AddrID, Value: in.Value}
		if !in.External {
			f.Prev, f.HasPrev = TxRef(in.PrevTxNum), true
		}
		t.Ins = append(t.Ins, f)
	}
	for i := range r.Outs {
		o := &r.Outs[i]
		f := Flow{Value: o.Value}
		if len(o.AddrIDs) > 0 {
			f.Addr = o.AddrIDs[0]
		}
		t.Outs = append(t.Outs, f)
	}
	return nil
}

// Address encodes an address id for the store's network.
func (g *BTCGraph) Address(ctx context.Context, id uint64) (string, error) {
	kb, err := g.db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("screen: address #%d: %w", id, err)
	}
	k, err := btc.AddrKeyFromBytes(kb)
	if err != nil {
		return "", fmt.Errorf("screen: address #%d: %w", id, err)
	}
	return k.Encode(g.net), nil
}
