package query_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
)

// TestClusterSummary checks the cluster of block 546's multi-input
// spender by id: its members agree with Cluster, its totals with the
// members' own summaries, its pages add up, and a bound of one member
// says the summary is partial.
func TestClusterSummary(t *testing.T) {
	q := openBTC(t)
	ctx := context.Background()
	cl, ok, err := q.Cluster(ctx, querytest.MultiInputSpender)
	if err != nil || !ok || cl.Size < 2 {
		t.Fatalf("Cluster: %+v %v %v", cl, ok, err)
	}
	lookup := func(a string) []labels.Label {
		if a == querytest.MultiInputSpender {
			return []labels.Label{{Label: "spender"}, {Label: "owner", IsClusterDefiner: true}}
		}
		return nil
	}
	s, err := q.ClusterSummary(ctx, cl.ID, lookup, 0, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != cl.ID || s.Size != cl.Size || len(s.Members) != cl.Size || s.NextMember != 0 || s.Partial || s.Summarized != cl.Size {
		t.Fatalf("summary %+v for cluster %+v", s, cl)
	}
	var received, sent int64
	for _, m := range s.Members {
		a, err := q.Address(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		received, sent = received+a.TotalReceived, sent+a.TotalSent
	}
	if s.Received != received || s.Sent != sent || s.FirstSeen == nil || s.LastSeen.Height < s.FirstSeen.Height {
		t.Errorf("totals %d/%d, members' %d/%d; activity %v-%v", s.Received, s.Sent, received, sent, s.FirstSeen, s.LastSeen)
	}
	if len(s.Labels) != 2 || !s.Labels[0].Cluster || s.Labels[0].Label.Label != "owner" || s.Labels[1].Address != querytest.MultiInputSpender {
		t.Errorf("labels %+v: want the cluster definer first", s.Labels)
	}
	var paged []string
	from := uint64(0)
	for range s.Size + 1 {
		p, err := q.ClusterSummary(ctx, cl.ID, nil, from, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, p.Members...)
		if from = p.NextMember; from == 0 {
			break
		}
	}
	if len(paged) != len(s.Members) {
		t.Errorf("paged %v, whole %v", paged, s.Members)
	}
	one, err := q.ClusterSummary(ctx, cl.ID, nil, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !one.Partial || one.Summarized != 1 || len(one.Members) != 0 || one.Size != cl.Size {
		t.Errorf("bounded to one member: %+v", one)
	}
}

// TestClusterNotFound checks ids that are no cluster's: 0, past the
// last address, and a member other than the smallest.
func TestClusterNotFound(t *testing.T) {
	q := openBTC(t)
	ctx := context.Background()
	member, err := q.AddressID(ctx, querytest.MultiInputSpender)
	if err != nil {
		t.Fatal(err)
	}
	cl, _, err := q.Cluster(ctx, querytest.MultiInputSpender)
	if err != nil || cl.ID == member {
		t.Fatalf("the spender should not be its cluster's smallest id: %+v %v", cl, err)
	}
	for _, id := range []uint64{0, 1 << 40, member} {
		if _, err := q.ClusterSummary(ctx, id, nil, 0, 10, 0); !errors.Is(err, query.ErrNotFound) {
			t.Errorf("summary of %d: %v", id, err)
		}
		if _, err := q.ClusterNeighbors(ctx, id, true, 10, 0, 0); !errors.Is(err, query.ErrNotFound) {
			t.Errorf("neighbours of %d: %v", id, err)
		}
	}
}

// TestClusterNeighbors checks the counterparties of the cluster leave
// its members out and that the transaction bound truncates the scan.
func TestClusterNeighbors(t *testing.T) {
	q := openBTC(t)
	ctx := context.Background()
	cl, _, err := q.Cluster(ctx, querytest.MultiInputSpender)
	if err != nil {
		t.Fatal(err)
	}
	s, err := q.ClusterSummary(ctx, cl.ID, nil, 0, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []bool{false, true} {
		n, err := q.ClusterNeighbors(ctx, cl.ID, out, 100, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n.Truncated || n.Total != len(n.Neighbors) || n.ScannedTxs == 0 {
			t.Errorf("out %v: %+v", out, n)
		}
		for _, nb := range n.Neighbors {
			for _, m := range s.Members {
				if nb.Address == m {
					t.Errorf("out %v: member %s is its own cluster's neighbour", out, m)
				}
			}
		}
		if bounded, err := q.ClusterNeighbors(ctx, cl.ID, out, 100, 1, 0); err != nil || bounded.ScannedTxs != 1 || !bounded.Truncated && n.ScannedTxs > 1 {
			t.Errorf("out %v bounded to one transaction: %+v %v", out, bounded, err)
		}
	}
	in, err := q.ClusterNeighbors(ctx, cl.ID, false, 100, 0, 0)
	if err != nil || len(in.Neighbors) == 0 {
		t.Errorf("the cluster was paid by nobody: %+v %v", in, err)
	}
}
