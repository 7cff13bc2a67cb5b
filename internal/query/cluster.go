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
// link log's replay takes minutes on a mainnet store, and only address
// look-ups need it. A replay runs in a goroutine of its own under the
// reader's lifetime, not a request's, so that a request that stops
// waiting does not throw the work away: the index only records its
// progress when a replay completes.
type clusters struct {
	mu   sync.Mutex
	ix   *cluster.Index
	done chan struct{} // closed when the running replay ends; nil when none runs
	err  error         // the last replay's

	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newClusters() *clusters {
	c := &clusters{ix: cluster.New()}
	c.life, c.cancel = context.WithCancel(context.Background())
	return c
}

// Close stops a replay of the link log under way and waits for it; call
// it before closing the store. The reader's other look-ups keep working.
func (q *BTC) Close() error {
	q.clusters.cancel()
	q.clusters.wg.Wait()
	return nil
}

// WarmClusters starts bringing the cluster index up to the store without
// waiting, so that the first address look-up need not; it does nothing
// when a replay is under way.
func (q *BTC) WarmClusters() { q.clusterReplay() }

// clusterReplay returns the channel closed when the running replay ends,
// starting one when none runs.
func (q *BTC) clusterReplay() chan struct{} {
	c := q.clusters
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		done := make(chan struct{})
		c.done = done
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			err := c.ix.CatchUp(c.life, q.db)
			c.mu.Lock()
			c.err, c.done = err, nil
			c.mu.Unlock()
			close(done)
		}()
	}
	return c.done
}

// Cluster returns the cluster of addr, and false when the store has no
// clustering stage (it was ingested before the stage existed). The index
// is caught up with the store first; a caller that gives up waiting
// (ctx) leaves the replay running for the next.
func (q *BTC) Cluster(ctx context.Context, addr string) (Cluster, bool, error) {
	id, err := q.AddressID(ctx, addr)
	if err != nil {
		return Cluster{}, false, err
	}
	if _, ok, err := q.db.Progress(ctx, cluster.StageName); err != nil || !ok {
		return Cluster{}, false, err
	}
	select {
	case <-q.clusterReplay():
	case <-ctx.Done():
		return Cluster{}, false, fmt.Errorf("query: waiting for the cluster index: %w", ctx.Err())
	}
	c := q.clusters
	c.mu.Lock()
	err = c.err
	c.mu.Unlock()
	if err != nil {
		return Cluster{}, false, fmt.Errorf("query: clusters: %w", err)
	}
	cid := c.ix.ClusterOf(id)
	return Cluster{ID: cid, Size: c.ix.Size(cid)}, true, nil
}
