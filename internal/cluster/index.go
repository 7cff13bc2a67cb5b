package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/chaintrace/chaintrace/internal/store"
)

// StageName is the ingest stage that writes the link log; its progress
// tells Index how far the log is complete.
const StageName = "clusters"

// Index is an in-memory union-find over a store's address ids, built from
// the link log. Every address is its own cluster until a multi-input
// link joins it to others; CoinJoin entries are counted by kind and never
// join. A cluster's id is the smallest address id in it, which does not
// depend on the order links were applied in, so it is stable across
// rebuilds and equal between two indexes of the same chain.
//
// The forest is one slice of 12-byte nodes indexed by address id: the
// parent, and at roots the cluster's size and smallest member, side by
// side so that a step up the tree costs one cache miss, not three.
// Index is safe for concurrent use: look-ups take a read lock (path
// halving is skipped on reads so that they do not write), CatchUp and
// Build take the write lock.
type Index struct {
	mu    sync.RWMutex
	nodes []node
	count int // clusters among ids 1..len-1

	// next is the first transaction ordinal not applied yet; tip is the
	// stage progress the applied links are complete up to.
	next    uint64
	tip     store.Progress
	haveTip bool

	coinJoins [store.LinkMaxKind + 1]int
	links     int
}

// node is one address in the forest; size and minID are meaningful only
// at roots (parent == own id).
type node struct {
	parent, size, minID uint32
}

// New returns an empty index; CatchUp fills it.
func New() *Index {
	return &Index{nodes: make([]node, 1)}
}

// Build replays db's whole link log into a new index.
func Build(ctx context.Context, db store.Reader) (*Index, error) {
	ix := New()
	if err := ix.CatchUp(ctx, db); err != nil {
		return nil, err
	}
	return ix, nil
}

// errUnwound says the store's link log no longer holds what the index
// applied.
var errUnwound = errors.New("cluster: the store was unwound below the index")

// CatchUp applies the links the store gained since the last call, up to
// the "clusters" stage's progress. When the store was unwound below what
// the index applied (the block at the index's height is gone or has
// another hash), links are gone that cannot be undone in a union-find, so
// the index is rebuilt from scratch. CatchUp reads the store in several
// calls, not one snapshot; links written after the progress it reads are
// left for the next call.
func (ix *Index) CatchUp(ctx context.Context, db store.Reader) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	err := ix.catchUp(ctx, db)
	if errors.Is(err, errUnwound) {
		ix.reset()
		err = ix.catchUp(ctx, db)
	}
	return err
}

// reset empties the index, keeping its slices' storage.
func (ix *Index) reset() {
	ix.nodes = ix.nodes[:1]
	ix.count, ix.next, ix.links = 0, 0, 0
	ix.tip, ix.haveTip = store.Progress{}, false
	ix.coinJoins = [store.LinkMaxKind + 1]int{}
}

func (ix *Index) catchUp(ctx context.Context, db store.Reader) error {
	p, ok, err := db.Progress(ctx, StageName)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if ix.haveTip {
		if !ok || p.Height < ix.tip.Height {
			return errUnwound
		}
		b, err := db.BlockByHeight(ctx, ix.tip.Height)
		if errors.Is(err, store.ErrNotFound) {
			return errUnwound
		}
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if b.Hash != ix.tip.Hash {
			return errUnwound
		}
	}
	if !ok {
		return nil
	}
	tipBlock, err := db.BlockByHeight(ctx, p.Height)
	if err != nil {
		return fmt.Errorf("cluster: block at the clusters stage's height %d: %w", p.Height, err)
	}
	if tipBlock.Hash != p.Hash {
		return fmt.Errorf("cluster: the clusters stage is at %s but the block at %d is %s: the store is being written", p.Hash, p.Height, tipBlock.Hash)
	}
	end := tipBlock.TxNumMin + uint64(tipBlock.TxCount)
	// Every address id the store assigned gets a node, linked or not, so
	// that Count includes singletons; ingest keeps the next free id under
	// this meta name.
	if n, ok, err := db.MetaU64(ctx, "next_addr_id"); err != nil {
		return fmt.Errorf("cluster: %w", err)
	} else if ok && n > 1 {
		if err := ix.grow(n - 1); err != nil {
			return err
		}
	}
	var ferr error
	err = db.Links(ctx, ix.next, func(txnum uint64, kind uint8, ids []uint64) bool {
		if txnum >= end {
			return false
		}
		ferr = ix.apply(kind, ids)
		return ferr == nil
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("cluster: replaying the link log: %w", err)
	}
	ix.next = end
	ix.tip, ix.haveTip = p, true
	return nil
}

// apply applies one link-log entry: a multi-input link joins the
// clusters of its ids (sorted, at least two); a CoinJoin is only counted.
func (ix *Index) apply(kind uint8, ids []uint64) error {
	if kind != store.LinkMultiInput {
		ix.coinJoins[kind]++
		return nil
	}
	ix.links++
	if err := ix.grow(ids[len(ids)-1]); err != nil {
		return err
	}
	a := uint32(ids[0])
	for _, id := range ids[1:] {
		ix.union(a, uint32(id))
	}
	return nil
}

// grow makes room for address ids up to maxID, each its own cluster.
func (ix *Index) grow(maxID uint64) error {
	if maxID >= math.MaxUint32 {
		return fmt.Errorf("cluster: address id %d does not fit the index's 32-bit ids", maxID)
	}
	if n := int(maxID) + 1 - len(ix.nodes); n > 0 {
		ix.nodes = slices.Grow(ix.nodes, n)
	}
	for id := uint32(len(ix.nodes)); uint64(id) <= maxID; id++ {
		ix.nodes = append(ix.nodes, node{id, 1, id})
		ix.count++
	}
	return nil
}

// find returns x's root, halving the path on the way.
func (ix *Index) find(x uint32) uint32 {
	n := ix.nodes
	for n[x].parent != x {
		n[x].parent = n[n[x].parent].parent
		x = n[x].parent
	}
	return x
}

// root returns x's root without changing the forest, for readers.
func (ix *Index) root(x uint32) uint32 {
	n := ix.nodes
	for n[x].parent != x {
		x = n[x].parent
	}
	return x
}

// union joins the clusters of a and b: the smaller tree goes under the
// larger one, which keeps trees shallow.
func (ix *Index) union(a, b uint32) {
	ra, rb := ix.find(a), ix.find(b)
	if ra == rb {
		return
	}
	n := ix.nodes
	if n[ra].size < n[rb].size {
		ra, rb = rb, ra
	}
	n[rb].parent = ra
	n[ra].size += n[rb].size
	n[ra].minID = min(n[ra].minID, n[rb].minID)
	ix.count--
}

// ClusterOf returns the cluster id of address addrID: the smallest address
// id in its cluster. An id the index has not seen is its own cluster.
func (ix *Index) ClusterOf(addrID uint64) uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if addrID == 0 || addrID >= uint64(len(ix.nodes)) {
		return addrID
	}
	return uint64(ix.nodes[ix.root(uint32(addrID))].minID)
}

// Size returns the number of addresses in the cluster of address id.
func (ix *Index) Size(id uint64) int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if id == 0 || id >= uint64(len(ix.nodes)) {
		return 1
	}
	return int(ix.nodes[ix.root(uint32(id))].size)
}

// Members returns the address ids of the cluster of address id in id
// order. It scans the whole forest, which is fine for one cluster at a
// time (a look-up), not for enumerating clusters.
func (ix *Index) Members(id uint64) []uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if id == 0 || id >= uint64(len(ix.nodes)) {
		return []uint64{id}
	}
	r := ix.root(uint32(id))
	out := make([]uint64, 0, ix.nodes[r].size)
	for x := ix.nodes[r].minID; int(x) < len(ix.nodes); x++ {
		if ix.root(x) == r {
			out = append(out, uint64(x))
			if len(out) == cap(out) {
				break
			}
		}
	}
	return out
}

// Count returns the number of clusters, singletons included.
func (ix *Index) Count() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.count
}

// Addresses returns the number of address ids the index covers.
func (ix *Index) Addresses() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.nodes) - 1
}

// Stats are the index's counts of what the link log held.
type Stats struct {
	Links     int            // multi-input links applied
	CoinJoins map[string]int // CoinJoins by kind name
	Tip       store.Progress // the stage progress the index is complete up to
}

// Stats returns the counts of the links the index applied.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := Stats{Links: ix.links, CoinJoins: map[string]int{}, Tip: ix.tip}
	for k, n := range ix.coinJoins {
		if n > 0 {
			s.CoinJoins[KindName(uint8(k))] = n
		}
	}
	return s
}

// Largest returns the ids and sizes of the n largest clusters, largest
// first (ties by id), by one scan of the roots.
func (ix *Index) Largest(n int) (ids []uint64, sizes []int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	type c struct {
		id   uint64
		size int
	}
	var top []c
	for x := 1; x < len(ix.nodes); x++ {
		nd := ix.nodes[x]
		if nd.parent != uint32(x) || nd.size < 2 {
			continue
		}
		e := c{uint64(nd.minID), int(nd.size)}
		i := len(top)
		for i > 0 && (top[i-1].size < e.size || top[i-1].size == e.size && top[i-1].id > e.id) {
			i--
		}
		if i < n {
			top = append(top, c{})
			copy(top[i+1:], top[i:])
			top[i] = e
			if len(top) > n {
				top = top[:n]
			}
		}
	}
	for _, e := range top {
		ids = append(ids, e.id)
		sizes = append(sizes, e.size)
	}
	return ids, sizes
}
