package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/query"
)

// ChainAddress answers GET /api/v1/chains/{chain}/addresses/{address}:
// the address's activity, balances by asset, labels (active ones, with
// their source and dataset) and, on chains with clustering, its
// multi-input cluster.
type ChainAddress struct {
	Chain     string    `json:"chain"`
	Address   string    `json:"address"`
	FirstSeen *BlockRef `json:"first_seen"`
	LastSeen  *BlockRef `json:"last_seen"`
	TxCount   int       `json:"tx_count"`
	Balances  []Balance `json:"balances"`
	// Labels are the address's active labels.
	Labels  []labels.Label `json:"labels"`
	Cluster *ClusterRef    `json:"cluster,omitempty"`
}

// Balance is an address's flow of one asset: received, sent and the
// difference, in the asset's smallest unit. The difference is the
// balance when the store starts at genesis; an EVM store imported from a
// later block can make it negative.
type Balance struct {
	Asset    Asset  `json:"asset"`
	Received string `json:"received"`
	Sent     string `json:"sent"`
	Balance  string `json:"balance"`
}

// ClusterRef is an address's multi-input cluster: its id (the smallest
// address id among its members, as "chaintrace cluster show" reports
// it) and its size.
type ClusterRef struct {
	ID   uint64 `json:"id"`
	Size int    `json:"size"`
}

// handleAddress serves GET /api/v1/chains/{chain}/addresses/{address}.
func (s *Server) handleAddress(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r); p != nil {
		writeProblem(w, p)
		return
	}
	id, c, ok := s.chain(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	addr := normAddress(id, r.PathValue("address"))
	resp := ChainAddress{Chain: id}
	if c.BTC != nil {
		sum, err := c.BTC.Address(ctx, addr)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "address", addr))
			return
		}
		resp.Address, resp.TxCount = sum.Address, sum.TxCount
		resp.FirstSeen, resp.LastSeen = blockRef(sum.FirstSeen), blockRef(sum.LastSeen)
		resp.Balances = []Balance{{Asset: btcAsset(), Received: strconv.FormatInt(sum.TotalReceived, 10),
			Sent: strconv.FormatInt(sum.TotalSent, 10), Balance: strconv.FormatInt(sum.Balance, 10)}}
		cl, ok, err := c.BTC.Cluster(ctx, addr)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "address", addr))
			return
		}
		if ok {
			resp.Cluster = &ClusterRef{ID: cl.ID, Size: cl.Size}
		}
	} else {
		sum, err := c.ETH.Address(ctx, addr, 0)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "address", addr))
			return
		}
		resp.Address, resp.TxCount = sum.Address, sum.TxCount
		resp.FirstSeen, resp.LastSeen = blockRef(sum.FirstSeen), blockRef(sum.LastSeen)
		resp.Balances = make([]Balance, 0, len(sum.Assets))
		for _, f := range sum.Assets {
			resp.Balances = append(resp.Balances, Balance{Asset: flowAsset(f), Received: f.Received, Sent: f.Sent, Balance: f.Net})
		}
	}
	resp.Labels = s.partyLabels(id, resp.Address)
	if resp.Labels == nil {
		resp.Labels = []labels.Label{}
	}
	writeJSON(w, http.StatusOK, &resp)
}

// blockRef converts the model's block reference.
func blockRef(b *model.BlockRef) *BlockRef {
	if b == nil {
		return nil
	}
	return &BlockRef{Height: b.Height, Hash: b.Hash, Time: b.Time}
}

// flowAsset describes the asset of an EVM address's flow.
func flowAsset(f query.ETHAssetFlow) Asset {
	if f.Token == "" {
		return nativeAsset()
	}
	return Asset{Token: f.Token, Symbol: f.Symbol, Decimals: f.Decimals}
}

// AddressTxPage answers GET /api/v1/chains/{chain}/addresses/{address}/txs:
// a page of the address's transactions in chain order, oldest first.
type AddressTxPage struct {
	Chain      string         `json:"chain"`
	Address    string         `json:"address"`
	Txs        []AddressTxRow `json:"txs"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// AddressTxRow is one transaction of an address with what the address
// received and sent in it, per asset. An EVM block's beacon-chain
// withdrawals are a row of their own without a hash.
type AddressTxRow struct {
	Hash        string     `json:"hash,omitempty"`
	Withdrawals bool       `json:"withdrawals,omitempty"`
	Height      uint64     `json:"height"`
	Time        time.Time  `json:"time"`
	Flows       []TxFlowed `json:"flows"`
}

// TxFlowed is an address's received and sent amounts of one asset in one
// transaction, in the asset's smallest unit.
type TxFlowed struct {
	Asset    Asset  `json:"asset"`
	Received string `json:"received"`
	Sent     string `json:"sent"`
}

// handleAddressTxs serves GET
// /api/v1/chains/{chain}/addresses/{address}/txs.
func (s *Server) handleAddressTxs(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "cursor", "limit"); p != nil {
		writeProblem(w, p)
		return
	}
	id, c, ok := s.chain(w, r)
	if !ok {
		return
	}
	limit, p := limitParam(r, DefaultAddressTxs, MaxAddressTxs)
	if p != nil {
		writeProblem(w, p)
		return
	}
	addr := normAddress(id, r.PathValue("address"))
	scope := id + "/addresses/" + addr
	cursor, p := cursorParam(r, scope)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	resp := AddressTxPage{Chain: id, Address: addr, Txs: []AddressTxRow{}}
	var next uint64
	if c.BTC != nil {
		txs, n, err := c.BTC.AddressTxs(ctx, addr, cursor, limit)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "address", addr))
			return
		}
		next = n
		for _, t := range txs {
			resp.Txs = append(resp.Txs, AddressTxRow{Hash: t.TxID, Height: t.Height, Time: t.Time, Flows: []TxFlowed{{Asset: btcAsset(),
				Received: strconv.FormatInt(t.Received, 10), Sent: strconv.FormatInt(t.Sent, 10)}}})
		}
	} else {
		txs, n, err := c.ETH.AddressTxs(ctx, addr, cursor, limit)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "address", addr))
			return
		}
		next = n
		for _, t := range txs {
			row := AddressTxRow{Hash: t.Hash, Withdrawals: t.Withdrawals, Height: t.Height, Time: t.Time, Flows: make([]TxFlowed, 0, len(t.Flows))}
			for _, f := range t.Flows {
				row.Flows = append(row.Flows, TxFlowed{Asset: flowAsset(f), Received: f.Received, Sent: f.Sent})
			}
			resp.Txs = append(resp.Txs, row)
		}
	}
	if next != 0 {
		resp.NextCursor = encodeCursor(scope, next)
	}
	writeJSON(w, http.StatusOK, &resp)
}

// NeighborPage answers GET
// /api/v1/chains/{chain}/addresses/{address}/neighbors: the address's
// counterparties in one direction, most frequent first.
type NeighborPage struct {
	Chain     string `json:"chain"`
	Address   string `json:"address"`
	Direction string `json:"direction"`
	// Total counts the counterparties found; Neighbors holds the first
	// limit of them.
	Total     int           `json:"total"`
	Neighbors []NeighborRow `json:"neighbors"`
	// ScannedTxs is how many transactions were read; Truncated says the
	// scan stopped at the server's bound with more left.
	ScannedTxs int  `json:"scanned_txs"`
	Truncated  bool `json:"truncated"`
}

// NeighborRow is one counterparty: the transactions shared, the value
// that went between the two per asset, and its labels.
type NeighborRow struct {
	Address string         `json:"address"`
	TxCount int            `json:"tx_count"`
	Values  []AssetAmount  `json:"values"`
	Labels  []labels.Label `json:"labels,omitempty"`
}

// directionParam reads the direction query parameter of the neighbour
// routes: out (the default) or in.
func directionParam(r *http.Request) (out bool, p *Problem) {
	switch dir := r.URL.Query().Get("direction"); dir {
	case "", "out":
		return true, nil
	case "in":
		return false, nil
	default:
		return false, newProblem(r, probInvalidParam, "direction must be in or out, not "+strconv.Quote(dir))
	}
}

// neighborParams reads the neighbour routes' limit and direction, and
// writes the problem when one is bad.
func neighborParams(w http.ResponseWriter, r *http.Request) (limit int, out, ok bool) {
	limit, p := limitParam(r, DefaultNeighbors, MaxNeighbors)
	if p == nil {
		out, p = directionParam(r)
	}
	if p != nil {
		writeProblem(w, p)
		return 0, false, false
	}
	return limit, out, true
}

// direction names a neighbour listing's direction.
func direction(out bool) string {
	if out {
		return "out"
	}
	return "in"
}

// handleNeighbors serves GET
// /api/v1/chains/{chain}/addresses/{address}/neighbors.
func (s *Server) handleNeighbors(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "direction", "limit"); p != nil {
		writeProblem(w, p)
		return
	}
	id, c, ok := s.chain(w, r)
	if !ok {
		return
	}
	limit, out, ok := neighborParams(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	addr := normAddress(id, r.PathValue("address"))
	var res query.Neighbors
	var err error
	if c.BTC != nil {
		res, err = c.BTC.Neighbors(ctx, addr, out, limit, s.cfg.MaxNeighborTxs)
	} else {
		res, err = c.ETH.Neighbors(ctx, addr, out, limit, s.cfg.MaxNeighborTxs)
	}
	if err != nil {
		writeProblem(w, s.chainProblem(r, err, "address", addr))
		return
	}
	resp := NeighborPage{Chain: id, Address: addr, Direction: direction(out), Total: res.Total, ScannedTxs: res.ScannedTxs,
		Truncated: res.Truncated, Neighbors: make([]NeighborRow, 0, len(res.Neighbors))}
	for _, n := range res.Neighbors {
		row := NeighborRow{Address: n.Address, TxCount: n.TxCount, Values: make([]AssetAmount, 0, len(n.Values)), Labels: s.partyLabels(id, n.Address)}
		for _, v := range n.Values {
			a := assetOf(v)
			if c.ETH != nil && v.Token == "" {
				a = nativeAsset()
			}
			row.Values = append(row.Values, AssetAmount{Asset: a, Value: v.Value.String()})
		}
		resp.Neighbors = append(resp.Neighbors, row)
	}
	writeJSON(w, http.StatusOK, &resp)
}
