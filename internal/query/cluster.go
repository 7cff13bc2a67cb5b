package query

import (
	"context"
	"fmt"
	"sync"

	"github.com/chaintrace/chaintrace/internal/cluster"
)

// Cluster is an address's multi-input cluster: its id, the smallest
// address id among its members (stable across rebuilds, as "chaintrace
// cluster show" reports it), and how many addresses it has.
type Cluster struct {
	ID   uint64
	Size int
}

// clusters is a Bitcoin store's cluster index, built on first use: the
// link log's replay takes a while on a large store, and only address
// look-ups need it.
type clusters struct {
	mu sync.Mutex
	ix *cluster.Index
}

// Cluster returns the cluster of addr, and false when the store has no
// clustering stage (it was ingested before the stage existed). The index
// is built from the link log on the first call and caught up with the
// store on each later one.
func (q *BTC) Cluster(ctx context.Context, addr string) (Cluster, bool, error) {
	id, err := q.AddressID(ctx, addr)
	if err != nil {
		return Cluster{}, false, err
	}
	if _, ok, err := q.db.Progress(ctx, cluster.StageName); err != nil || !ok {
		return Cluster{}, false, err
	}
	c := q.clusters
	c.mu.Lock()
	if c.ix == nil {
		c.ix = cluster.New()
	}
	err = c.ix.CatchUp(ctx, q.db)
	ix := c.ix
	c.mu.Unlock()
	if err != nil {
		return Cluster{}, false, fmt.Errorf("query: clusters: %w", err)
	}
	cid := ix.ClusterOf(id)
	return Cluster{ID: cid, Size: ix.Size(cid)}, true, nil
}
