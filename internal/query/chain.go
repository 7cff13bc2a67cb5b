package query

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// Stage is an ingest stage's progress: the height and hash of the last
// block it applied.
type Stage struct {
	Name   string
	Height uint64
	Hash   string
}

// btcStages and ethStages are the ingest stages of each kind of store, in
// the order ingest runs them (ingest, cluster and monitor own the names;
// query only reads their progress).
var (
	btcStages = []string{"blocks", "txs", "addrindex", "clusters", "monitor"}
	ethStages = []string{"eth-blocks", "eth-txs", "eth-addrindex", "eth-monitor"}
)

// Chain returns the store's chain id (btc, btc-testnet, btc-regtest, ...).
func (q *BTC) Chain() string { return q.chainID() }

// Network returns the store's network name (mainnet, regtest, ...).
func (q *BTC) Network() string { return q.db.Meta().Network }

// Stages returns the progress of every stage that has run on the store.
func (q *BTC) Stages(ctx context.Context) ([]Stage, error) {
	out := []Stage{}
	for _, name := range btcStages {
		p, ok, err := q.db.Progress(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("query: stage %s: %w", name, err)
		}
		if ok {
			out = append(out, Stage{Name: name, Height: p.Height, Hash: p.Hash.String()})
		}
	}
	return out, nil
}

// BlockTxIDsPage returns the txids of the block's transactions from
// position from (0 is the coinbase), at most limit of them.
func (q *BTC) BlockTxIDsPage(ctx context.Context, b model.Block, from, limit int) ([]string, error) {
	end := min(b.TxCount, from+limit)
	ids := make([]string, 0, max(end-from, 0))
	var t store.TxRec
	for i := from; i < end; i++ {
		if err := q.db.Tx(ctx, b.TxNumMin+uint64(i), &t); err != nil {
			return nil, fmt.Errorf("query: block %d tx %d: %w", b.Height, i, err)
		}
		ids = append(ids, t.TxID.String())
	}
	return ids, nil
}

// Neighbor is a counterparty of an address in one direction: the
// transactions they share and the value that went between them, per
// asset (Bitcoin has one, BTC).
type Neighbor struct {
	Address string
	TxCount int
	Values  []AssetValue
}

// AssetValue is an amount of one asset in its smallest unit. Token is
// empty for the chain's native coin; Symbol and Decimals are known for
// the native coin and for tokens whose metadata the store holds.
type AssetValue struct {
	Token       string
	Symbol      string
	Decimals    uint8
	HasDecimals bool
	Value       model.Amount
}

// Neighbors is an address's counterparties in one direction, most
// frequent first.
type Neighbors struct {
	// Total is how many distinct counterparties the scanned transactions
	// have; Neighbors holds the first limit of them.
	Total     int
	Neighbors []Neighbor
	// ScannedTxs is how many of the address's transactions in that
	// direction were read; Truncated says the scan stopped at its bound
	// with more left, so the counts are of the first ScannedTxs only.
	ScannedTxs int
	Truncated  bool
}

// DefaultMaxNeighborTxs bounds how many transactions a neighbour look-up
// reads, so that an exchange's address cannot make one request read
// millions of transactions.
const DefaultMaxNeighborTxs = 10000

// eventsPerTx bounds the address-index entries a neighbour look-up
// visits at eventsPerTx times its transaction bound, so that asking for
// the rare direction of an address with millions of entries in the other
// stops too.
const eventsPerTx = 16

// btcFlow is an address's received or spent value in one transaction.
type btcFlow struct {
	num   uint64
	value int64
}

// Neighbors returns the counterparties of addr: with out false the
// addresses that paid it (the inputs of the transactions in which it
// received), with out true those it paid (the outputs, other than its
// own, of the transactions in which it spent). A multi-party
// transaction's value is shared out in proportion to the inputs: a
// sender is credited with the address's receipt times the sender's share
// of the inputs, a receiver with its output times the address's share of
// the inputs. At most maxTxs transactions are read (<= 0:
// DefaultMaxNeighborTxs), and at most limit neighbours returned.
func (q *BTC) Neighbors(ctx context.Context, addr string, out bool, limit, maxTxs int) (Neighbors, error) {
	if maxTxs <= 0 {
		maxTxs = DefaultMaxNeighborTxs
	}
	id, err := q.AddressID(ctx, addr)
	if err != nil {
		return Neighbors{}, err
	}
	var flows []btcFlow
	var res Neighbors
	visited := 0
	err = q.db.Events(ctx, id, 0, func(e store.Event) bool {
		if visited++; visited > maxTxs*eventsPerTx {
			res.Truncated = true
			return false
		}
		if e.Spent != out {
			return true
		}
		if n := len(flows); n > 0 && flows[n-1].num == e.TxNum {
			flows[n-1].value += e.Value
			return true
		}
		if len(flows) == maxTxs {
			res.Truncated = true
			return false
		}
		flows = append(flows, btcFlow{num: e.TxNum, value: e.Value})
		return true
	})
	if err != nil {
		return Neighbors{}, fmt.Errorf("query: %w", err)
	}
	if err := q.aggregate(ctx, flows, out, func(other uint64) bool { return other == id }, limit, &res); err != nil {
		return Neighbors{}, err
	}
	return res, nil
}

// aggregate fills res's neighbours (sorted, Total set, cut to limit) from
// the flows of a party (an address, or a cluster's members: own says
// which address ids are the party's own), in transaction order, with
// Neighbors' proportional shares.
func (q *BTC) aggregate(ctx context.Context, flows []btcFlow, out bool, own func(uint64) bool, limit int, res *Neighbors) error {
	type agg struct {
		txs   int
		value int64
	}
	byID := map[uint64]*agg{}
	var t store.TxRec
	seen := map[uint64]bool{}
	for _, f := range flows {
		if err := q.db.Tx(ctx, f.num, &t); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		var totalIn, ownIn int64
		for _, in := range t.Ins {
			if !in.External {
				totalIn += in.Value
				if own(in.AddrID) {
					ownIn += in.Value
				}
			}
		}
		if totalIn <= 0 {
			continue // a coinbase, or inputs from before the store's start
		}
		clear(seen)
		credit := func(other uint64, v int64) {
			if other == 0 || own(other) {
				return
			}
			a := byID[other]
			if a == nil {
				a = &agg{}
				byID[other] = a
			}
			if !seen[other] {
				seen[other] = true
				a.txs++
			}
			a.value += v
		}
		if out {
			for _, o := range t.Outs {
				if len(o.AddrIDs) == 1 {
					credit(o.AddrIDs[0], share(o.Value, ownIn, totalIn))
				}
			}
		} else {
			for _, in := range t.Ins {
				if !in.External {
					credit(in.AddrID, share(f.value, in.Value, totalIn))
				}
			}
		}
	}
	res.ScannedTxs = len(flows)
	names := map[uint64]string{}
	for other, a := range byID {
		name, err := q.addrName(ctx, names, other)
		if err != nil {
			return err
		}
		res.Neighbors = append(res.Neighbors, Neighbor{Address: name, TxCount: a.txs,
			Values: []AssetValue{{Symbol: "BTC", Decimals: 8, HasDecimals: true, Value: model.AmountFromUint64(uint64(a.value))}}})
	}
	sortNeighbors(res.Neighbors)
	res.Total = len(res.Neighbors)
	if len(res.Neighbors) > limit {
		res.Neighbors = res.Neighbors[:limit]
	}
	if res.Neighbors == nil {
		res.Neighbors = []Neighbor{}
	}
	return nil
}

// sortNeighbors orders neighbours by transactions shared, most first,
// then by address, so that pages are stable.
func sortNeighbors(ns []Neighbor) {
	slices.SortFunc(ns, func(a, b Neighbor) int {
		if c := cmp.Compare(b.TxCount, a.TxCount); c != 0 {
			return c
		}
		return cmp.Compare(a.Address, b.Address)
	})
}

// share returns v*num/den for 0 <= num <= den, den > 0, without
// overflowing: the product can exceed 64 bits even though the result
// cannot.
func share(v, num, den int64) int64 {
	if v <= 0 || num <= 0 || den <= 0 {
		return 0
	}
	if num >= den {
		return v
	}
	hi, lo := bits.Mul64(uint64(v), uint64(num))
	quo, _ := bits.Div64(hi, lo, uint64(den))
	return int64(quo)
}

// blockTimes caches block times by height within one query.
type blockTimes map[uint64]time.Time

// btcTime returns the time of the Bitcoin block at height.
func (q *BTC) btcTime(ctx context.Context, cache blockTimes, height uint64) (time.Time, error) {
	if t, ok := cache[height]; ok {
		return t, nil
	}
	b, err := q.db.BlockByHeight(ctx, height)
	if err != nil {
		return time.Time{}, fmt.Errorf("query: block %d: %w", height, err)
	}
	t := time.Unix(int64(b.Time), 0).UTC()
	cache[height] = t
	return t, nil
}
