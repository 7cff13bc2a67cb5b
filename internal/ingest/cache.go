package ingest

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
)

// outpoint names a transaction output by txid and index.
type outpoint struct {
	txid chainhash.Hash
	vout uint32
}

// utxo is what the ingester needs about an output to spend it: its
// transaction ordinal, value and addresses. spent marks a tombstone left
// for an output spent while its spend is not yet committed, so that a second
// spend in the same batch is caught.
type utxo struct {
	txnum uint64
	value int64
	addr  uint64   // first address id, 0 for none
	more  []uint64 // further address ids (bare multisig)
	spent bool
}

// genMap is a two-generation map: new entries go to cur, look-ups try cur
// then old, and rotate drops old and demotes cur once cur is full. Rotation
// happens only right after a commit, so entries of the uncommitted batch are
// always in cur and never lost; anything dropped can be read back from the
// store. It bounds memory without per-entry LRU bookkeeping.
//
// complete, when set by the owner, says the map holds every entry the
// store holds (it started from an empty store and never dropped anything),
// so a miss is a definite "absent" and needs no store read.
type genMap[K comparable, V any] struct {
	cur, old map[K]V
	limit    int
	complete bool
}

func newGenMap[K comparable, V any](limit int) *genMap[K, V] {
	return &genMap[K, V]{cur: make(map[K]V, 1024), old: map[K]V{}, limit: limit}
}

func (g *genMap[K, V]) get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.old[k]
	return v, ok
}

func (g *genMap[K, V]) put(k K, v V) { g.cur[k] = v }

func (g *genMap[K, V]) del(k K) {
	delete(g.cur, k)
	delete(g.old, k)
}

// rotate must only be called when no uncommitted writes depend on entries.
func (g *genMap[K, V]) rotate() {
	if len(g.cur) < g.limit {
		return
	}
	g.old = g.cur
	g.cur = make(map[K]V, g.limit/4)
	g.complete = false
}

func (g *genMap[K, V]) reset() {
	g.cur = make(map[K]V, 1024)
	g.old = map[K]V{}
	g.complete = false
}

// caches groups the ingester's look-aside caches.
type caches struct {
	utxos *genMap[outpoint, utxo]
	addrs *genMap[btc.AddrKey, uint64]
}

func newCaches(limit int) *caches {
	return &caches{
		utxos: newGenMap[outpoint, utxo](limit),
		addrs: newGenMap[btc.AddrKey, uint64](limit),
	}
}

func (c *caches) rotate() {
	c.utxos.rotate()
	c.addrs.rotate()
}

func (c *caches) reset() {
	c.utxos.reset()
	c.addrs.reset()
}
