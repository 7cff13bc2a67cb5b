package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/query"
)

// ClusterReader is what the cluster routes read of a Bitcoin store
// besides BTCChain; *query.BTC implements it. A BTCChain without it
// serves no clusters.
type ClusterReader interface {
	ClusterSummary(ctx context.Context, id uint64, lookup func(address string) []labels.Label, from uint64, limit, maxMembers int) (query.ClusterSummary, error)
	ClusterNeighbors(ctx context.Context, id uint64, out bool, limit, maxTxs, maxMembers int) (query.Neighbors, error)
}

// The Bitcoin query reader is the intended ClusterReader.
var _ ClusterReader = (*query.BTC)(nil)

// Page sizes of a cluster's members.
const (
	DefaultClusterMembers = 100
	MaxClusterMembers     = 1000
)

// Problems of the cluster routes.
var (
	probNoClusters       = problemKind{"clusters-unavailable", "Clusters unavailable", http.StatusNotFound}
	probClusterNotFound  = problemKind{"cluster-not-found", "Cluster not found", http.StatusNotFound}
	probInvalidClusterID = problemKind{"invalid-cluster-id", "Invalid cluster id", http.StatusBadRequest}
)

// ChainCluster answers GET /api/v1/chains/{chain}/clusters/{id}: a
// Bitcoin multi-input cluster (the addresses spent together, CoinJoins
// excluded), as "chaintrace cluster show" describes it, with a page of
// its members.
type ChainCluster struct {
	Chain string `json:"chain"`
	// ID is the smallest address id among the members, Address that
	// member (the first seen).
	ID      uint64 `json:"id"`
	Address string `json:"address"`
	Size    int    `json:"size"`
	// Balances, TxCount, FirstSeen, LastSeen and Labels cover the first
	// SummarizedMembers members; Partial says the server's bound cut the
	// summary short of the whole cluster.
	Balances          []Balance      `json:"balances"`
	TxCount           int            `json:"tx_count"`
	FirstSeen         *BlockRef      `json:"first_seen"`
	LastSeen          *BlockRef      `json:"last_seen"`
	SummarizedMembers int            `json:"summarized_members"`
	Partial           bool           `json:"partial"`
	Labels            []ClusterLabel `json:"labels"`
	// Members are member addresses in id order from the cursor on;
	// NextCursor fetches the next page, absent on the last.
	Members    []string `json:"members"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// ClusterLabel is an active label on a member of a cluster, with its
// provenance (source, dataset) in the label. AppliesToCluster marks a
// label that defines the whole cluster, not only the member it is on.
type ClusterLabel struct {
	Address          string       `json:"address"`
	Label            labels.Label `json:"label"`
	AppliesToCluster bool         `json:"applies_to_cluster"`
}

// ClusterNeighborPage answers GET
// /api/v1/chains/{chain}/clusters/{id}/neighbors: the cluster's
// counterparties outside it in one direction, most frequent first.
type ClusterNeighborPage struct {
	Chain     string        `json:"chain"`
	ID        uint64        `json:"id"`
	Direction string        `json:"direction"`
	Total     int           `json:"total"`
	Neighbors []NeighborRow `json:"neighbors"`
	// ScannedTxs is how many transactions were read; Truncated says the
	// scan stopped at the server's bound with more left.
	ScannedTxs int  `json:"scanned_txs"`
	Truncated  bool `json:"truncated"`
}

// clusterChain resolves the {chain} and {id} path values of a cluster
// route, writing the problem itself: clusters are Bitcoin's.
func (s *Server) clusterChain(w http.ResponseWriter, r *http.Request) (string, ClusterReader, uint64, bool) {
	id, c, ok := s.chain(w, r)
	if !ok {
		return "", nil, 0, false
	}
	if c.BTC == nil {
		writeProblem(w, newProblem(r, probNoClusters, "clusters are Bitcoin-only: "+id+" is an account chain, whose addresses are not spent together"))
		return "", nil, 0, false
	}
	cr, ok := c.BTC.(ClusterReader)
	if !ok {
		writeProblem(w, newProblem(r, probNoClusters, "the store of "+id+" does not serve clusters"))
		return "", nil, 0, false
	}
	v := r.PathValue("id")
	cid, err := strconv.ParseUint(v, 10, 64)
	if err != nil || cid == 0 {
		writeProblem(w, newProblem(r, probInvalidClusterID, "a cluster id is a positive decimal integer (an address id), not "+strconv.Quote(v)))
		return "", nil, 0, false
	}
	return id, cr, cid, true
}

// clusterProblem maps an error of a cluster look-up to a problem.
func (s *Server) clusterProblem(r *http.Request, err error, chain string) *Problem {
	switch {
	case errors.Is(err, query.ErrNoClusters):
		return newProblem(r, probNoClusters, "the store of "+chain+" has no clustering stage: re-ingest it with this version")
	case errors.Is(err, query.ErrNotFound):
		detail := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "query: "), ": "+query.ErrNotFound.Error())
		return newProblem(r, probClusterNotFound, detail)
	}
	return s.chainProblem(r, err, "", "")
}

// handleCluster serves GET /api/v1/chains/{chain}/clusters/{id}.
func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "cursor", "limit"); p != nil {
		writeProblem(w, p)
		return
	}
	chain, cr, cid, ok := s.clusterChain(w, r)
	if !ok {
		return
	}
	limit, p := limitParam(r, DefaultClusterMembers, MaxClusterMembers)
	if p != nil {
		writeProblem(w, p)
		return
	}
	scope := chain + "/clusters/" + strconv.FormatUint(cid, 10)
	from, p := cursorParam(r, scope)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	lookup := func(a string) []labels.Label { return s.partyLabels(chain, a) }
	sum, err := cr.ClusterSummary(ctx, cid, lookup, from, limit, 0)
	if err != nil {
		writeProblem(w, s.clusterProblem(r, err, chain))
		return
	}
	resp := ChainCluster{Chain: chain, ID: sum.ID, Address: sum.Address, Size: sum.Size,
		Balances: []Balance{{Asset: btcAsset(), Received: strconv.FormatInt(sum.Received, 10),
			Sent: strconv.FormatInt(sum.Sent, 10), Balance: strconv.FormatInt(sum.Received-sum.Sent, 10)}},
		TxCount: sum.TxCount, FirstSeen: blockRef(sum.FirstSeen), LastSeen: blockRef(sum.LastSeen),
		SummarizedMembers: sum.Summarized, Partial: sum.Partial, Labels: make([]ClusterLabel, 0, len(sum.Labels)),
		Members: sum.Members}
	for _, l := range sum.Labels {
		resp.Labels = append(resp.Labels, ClusterLabel{Address: l.Address, Label: l.Label, AppliesToCluster: l.Cluster})
	}
	if sum.NextMember != 0 {
		resp.NextCursor = encodeCursor(scope, sum.NextMember)
	}
	writeJSON(w, http.StatusOK, &resp)
}

// handleClusterNeighbors serves GET
// /api/v1/chains/{chain}/clusters/{id}/neighbors.
func (s *Server) handleClusterNeighbors(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "direction", "limit"); p != nil {
		writeProblem(w, p)
		return
	}
	chain, cr, cid, ok := s.clusterChain(w, r)
	if !ok {
		return
	}
	limit, out, ok := neighborParams(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := cr.ClusterNeighbors(ctx, cid, out, limit, s.cfg.MaxNeighborTxs, 0)
	if err != nil {
		writeProblem(w, s.clusterProblem(r, err, chain))
		return
	}
	resp := ClusterNeighborPage{Chain: chain, ID: cid, Direction: direction(out), Total: res.Total, ScannedTxs: res.ScannedTxs,
		Truncated: res.Truncated, Neighbors: make([]NeighborRow, 0, len(res.Neighbors))}
	for _, n := range res.Neighbors {
		row := NeighborRow{Address: n.Address, TxCount: n.TxCount, Values: make([]AssetAmount, 0, len(n.Values)), Labels: s.partyLabels(chain, n.Address)}
		for _, v := range n.Values {
			row.Values = append(row.Values, AssetAmount{Asset: assetOf(v), Value: v.Value.String()})
		}
		resp.Neighbors = append(resp.Neighbors, row)
	}
	writeJSON(w, http.StatusOK, &resp)
}
