package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// ErrNoClusters is returned (wrapped) by the cluster look-ups of a store
// ingested before the clustering stage existed: it has no link log.
var ErrNoClusters = errors.New("query: the store has no clustering stage")

// Bounds of the cluster look-ups, so that an exchange's cluster of a
// million addresses cannot make one request read them all.
const (
	// DefaultMaxClusterMembers is how many members, in id order, a
	// summary or a neighbour look-up reads the activity of.
	DefaultMaxClusterMembers = 10000
	// MaxClusterEvents is how many address-index entries a summary reads
	// over all its members.
	MaxClusterEvents = 200000
)

// ClusterLabel is a label found on one member of a cluster. Cluster is
// set for a label that defines its whole cluster (IsClusterDefiner): it
// applies to every member, not only Address.
type ClusterLabel struct {
	Address string
	Label   labels.Label
	Cluster bool
}

// ClusterSummary describes a multi-input cluster: its id (the smallest
// address id among its members) and first member, its size, the totals
// and first and last activity of its members, their labels, and a page of
// its members.
type ClusterSummary struct {
	ID      uint64
	Address string
	Size    int
	// Received, Sent, TxCount, FirstSeen, LastSeen and Labels cover the
	// first Summarized members in id order (first seen first), and of
	// those only the first MaxClusterEvents index entries; Partial says
	// the bound cut the summary short. Transfers between members, such as
	// change, count on both sides, as an address's own totals do.
	Received, Sent int64
	TxCount        int
	FirstSeen      *model.BlockRef
	LastSeen       *model.BlockRef
	Summarized     int
	Partial        bool
	Labels         []ClusterLabel
	// Members are the member addresses from the page's first id on, in
	// id order; NextMember is the id the next page starts at, 0 when
	// this page is the last.
	Members    []string
	NextMember uint64
}

// clusterIndex returns the store's cluster index caught up with the
// store, waiting for a replay under way as Cluster does.
func (q *BTC) clusterIndex(ctx context.Context) (*cluster.Index, error) {
	if _, ok, err := q.db.Progress(ctx, cluster.StageName); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	} else if !ok {
		return nil, ErrNoClusters
	}
	select {
	case <-q.clusterReplay():
	case <-ctx.Done():
		return nil, fmt.Errorf("query: waiting for the cluster index: %w", ctx.Err())
	}
	c := q.clusters
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("query: clusters: %w", err)
	}
	return c.ix, nil
}

// clusterMembers returns the member ids of cluster id in id order. An id
// that is no address's, or whose address is in a cluster of a smaller id
// (it merged into another), is not a cluster.
func (q *BTC) clusterMembers(ctx context.Context, id uint64) ([]uint64, error) {
	ix, err := q.clusterIndex(ctx)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		return nil, fmt.Errorf("query: no cluster has id 0: %w", ErrNotFound)
	}
	if _, err := q.db.AddrKey(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("query: no cluster has id %d: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if root := ix.ClusterOf(id); root != id {
		return nil, fmt.Errorf("query: %d is not a cluster id: its address is in cluster %d: %w", id, root, ErrNotFound)
	}
	return ix.Members(id), nil
}

// ClusterSummary describes cluster id with a page of its members: those
// from id from on (0 for the first page; otherwise a NextMember this
// method returned), at most limit. lookup returns the labels of a member
// address and may be nil; maxMembers bounds the members summarised (<= 0:
// DefaultMaxClusterMembers).
func (q *BTC) ClusterSummary(ctx context.Context, id uint64, lookup func(address string) []labels.Label, from uint64, limit, maxMembers int) (ClusterSummary, error) {
	if maxMembers <= 0 {
		maxMembers = DefaultMaxClusterMembers
	}
	members, err := q.clusterMembers(ctx, id)
	if err != nil {
		return ClusterSummary{}, err
	}
	s := ClusterSummary{ID: id, Size: len(members)}
	names := map[uint64]string{}
	summarised := members[:min(len(members), maxMembers)]
	s.Partial = len(members) > len(summarised)
	txs := map[uint64]struct{}{}
	var first, last uint64
	var definers, others []ClusterLabel
	events := 0
	for _, m := range summarised {
		if events >= MaxClusterEvents {
			s.Partial = true
			break
		}
		name, err := q.addrName(ctx, names, m)
		if err != nil {
			return ClusterSummary{}, err
		}
		if lookup != nil {
			for _, l := range lookup(name) {
				cl := ClusterLabel{Address: name, Label: l, Cluster: l.IsClusterDefiner}
				if cl.Cluster {
					definers = append(definers, cl)
				} else {
					others = append(others, cl)
				}
			}
		}
		err = q.db.Events(ctx, m, 0, func(e store.Event) bool {
			if events++; events > MaxClusterEvents {
				s.Partial = true
				return false
			}
			if e.Spent {
				s.Sent += e.Value
			} else {
				s.Received += e.Value
			}
			if len(txs) == 0 || e.TxNum < first {
				first = e.TxNum
			}
			last = max(last, e.TxNum)
			txs[e.TxNum] = struct{}{}
			return true
		})
		if err != nil {
			return ClusterSummary{}, fmt.Errorf("query: %w", err)
		}
		s.Summarized++
	}
	s.TxCount = len(txs)
	s.Labels = append(definers, others...)
	if len(txs) > 0 {
		if s.FirstSeen, err = q.txBlockRef(ctx, first); err != nil {
			return ClusterSummary{}, fmt.Errorf("query: %w", err)
		}
		if s.LastSeen, err = q.txBlockRef(ctx, last); err != nil {
			return ClusterSummary{}, fmt.Errorf("query: %w", err)
		}
	}
	if s.Address, err = q.addrName(ctx, names, members[0]); err != nil {
		return ClusterSummary{}, err
	}
	start, _ := slices.BinarySearch(members, from)
	end := min(len(members), start+max(limit, 0))
	s.Members = make([]string, 0, end-start)
	for _, m := range members[start:end] {
		name, err := q.addrName(ctx, names, m)
		if err != nil {
			return ClusterSummary{}, err
		}
		s.Members = append(s.Members, name)
	}
	if end < len(members) {
		s.NextMember = members[end]
	}
	return s, nil
}

// ClusterNeighbors returns the counterparties of cluster id outside it,
// as Neighbors does for one address: with out false the addresses that
// paid members (the inputs of the transactions in which members
// received), with out true those members paid (the outputs to
// non-members of the transactions in which members spent), value shared
// out in proportion to the inputs. It reads the activity of at most
// maxMembers members (<= 0: DefaultMaxClusterMembers) and maxTxs
// transactions (<= 0: DefaultMaxNeighborTxs), and returns at most limit
// neighbours.
func (q *BTC) ClusterNeighbors(ctx context.Context, id uint64, out bool, limit, maxTxs, maxMembers int) (Neighbors, error) {
	if maxTxs <= 0 {
		maxTxs = DefaultMaxNeighborTxs
	}
	if maxMembers <= 0 {
		maxMembers = DefaultMaxClusterMembers
	}
	members, err := q.clusterMembers(ctx, id)
	if err != nil {
		return Neighbors{}, err
	}
	member := func(a uint64) bool {
		_, ok := slices.BinarySearch(members, a)
		return ok
	}
	var res Neighbors
	flows := map[uint64]int64{}
	visited := 0
	for i, m := range members {
		if i == maxMembers {
			res.Truncated = true
			break
		}
		err := q.db.Events(ctx, m, 0, func(e store.Event) bool {
			if visited++; visited > maxTxs*eventsPerTx {
				res.Truncated = true
				return false
			}
			if e.Spent != out {
				return true
			}
			if _, ok := flows[e.TxNum]; !ok && len(flows) == maxTxs {
				res.Truncated = true
				return false
			}
			flows[e.TxNum] += e.Value
			return true
		})
		if err != nil {
			return Neighbors{}, fmt.Errorf("query: %w", err)
		}
		if res.Truncated {
			break
		}
	}
	fs := make([]btcFlow, 0, len(flows))
	for n, v := range flows {
		fs = append(fs, btcFlow{num: n, value: v})
	}
	slices.SortFunc(fs, func(a, b btcFlow) int { return cmp.Compare(a.num, b.num) })
	if err := q.aggregate(ctx, fs, out, member, limit, &res); err != nil {
		return Neighbors{}, err
	}
	return res, nil
}
