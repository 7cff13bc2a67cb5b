package cluster

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// benchChain is a generated stream of transactions: each spends one to
// five outputs of addresses picked at random among those created so far
// (60% one input, 25% two, 15% three to five; a tenth of the picks reuse
// the previous pick's address, as wallets spending several coins of one
// address do) and pays two new addresses, so there are about twice as
// many addresses as transactions. Inputs are flattened: transaction i
// spends from addrs[start[i]:start[i+1]].
type benchChain struct {
	start  []uint32
	addrs  []uint32
	nAddrs uint64
}

func genChain(n int) *benchChain {
	r := rand.New(rand.NewPCG(1, 2))
	c := &benchChain{start: make([]uint32, 1, n+1), addrs: make([]uint32, 0, n*17/10)}
	next := uint32(1)
	for range n {
		k := 1
		switch p := r.IntN(100); {
		case p >= 85:
			k = 3 + r.IntN(3)
		case p >= 60:
			k = 2
		}
		if next == 1 {
			k = 0
		}
		var prev uint32
		for j := range k {
			a := 1 + uint32(r.IntN(int(next-1)))
			if j > 0 && r.IntN(10) == 0 {
				a = prev
			}
			c.addrs = append(c.addrs, a)
			prev = a
		}
		c.start = append(c.start, uint32(len(c.addrs)))
		next += 2
	}
	c.nAddrs = uint64(next - 1)
	return c
}

// fill sets t to transaction i of the chain.
func (c *benchChain) fill(t *store.TxRec, i int) {
	t.Ins = t.Ins[:0]
	for _, a := range c.addrs[c.start[i]:c.start[i+1]] {
		t.Ins = append(t.Ins, store.InRec{Value: 1000, AddrID: uint64(a)})
	}
}

// mapUnionFind is the baseline: a union-find over map[uint64]uint64
// parents and sizes, with the same union by size and path halving.
type mapUnionFind struct {
	parent map[uint64]uint64
	size   map[uint64]uint64
}

func (m *mapUnionFind) find(x uint64) uint64 {
	for {
		p, ok := m.parent[x]
		if !ok || p == x {
			return x
		}
		gp, ok := m.parent[p]
		if !ok {
			gp = p
		}
		m.parent[x] = gp
		x = gp
	}
}

func (m *mapUnionFind) union(a, b uint64) {
	ra, rb := m.find(a), m.find(b)
	if ra == rb {
		return
	}
	sa, sb := max(m.size[ra], 1), max(m.size[rb], 1)
	if sa < sb {
		ra, rb = rb, ra
	}
	m.parent[rb] = ra
	m.size[ra] = sa + sb
	delete(m.size, rb)
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkCluster measures clustering throughput: every transaction of a
// generated chain goes through Classify (distinct input addresses and the
// CoinJoin detectors) and its link into the union-find, as Build replays
// the link log minus the store reads. "index" is Index's slice forest,
// "baseline" a map-based union-find fed the same links. Reported: inputs
// per second and the memory per address of the structure built.
//
// The default is 1M transactions; the 10M-transaction run is
//
//	go test ./internal/cluster/ -run '^$' -bench BenchmarkCluster -benchtime 1x -args -cluster.txs=10000000
func BenchmarkCluster(b *testing.B) {
	c := genChain(*benchTxs)
	inputs := len(c.addrs)
	// run times building one structure per iteration; mk returns its
	// link-applying function and a function that keeps it alive.
	run := func(b *testing.B, mk func() (apply func(ids []uint64), keep func())) {
		var t store.TxRec
		t.Outs = []store.OutRec{{Value: 1, Class: model.ScriptP2WPKH}, {Value: 2, Class: model.ScriptP2WPKH}}
		var ids []uint64
		var keep func()
		before := heapInUse()
		b.ResetTimer()
		for range b.N {
			var apply func([]uint64)
			apply, keep = mk()
			for i := range len(c.start) - 1 {
				c.fill(&t, i)
				var ok bool
				var kind uint8
				kind, ids, ok = Classify(&t, ids)
				if ok && kind == store.LinkMultiInput {
					apply(ids)
				}
			}
		}
		b.StopTimer()
		after := heapInUse()
		keep()
		b.ReportMetric(float64(inputs)*float64(b.N)/b.Elapsed().Seconds(), "inputs/s")
		b.ReportMetric(float64(after-min(before, after))/float64(c.nAddrs), "B/addr")
	}
	b.Run(fmt.Sprintf("index/txs=%d", *benchTxs), func(b *testing.B) {
		run(b, func() (func([]uint64), func()) {
			ix := New()
			if err := ix.grow(c.nAddrs); err != nil {
				b.Fatal(err)
			}
			return func(ids []uint64) {
				if err := ix.apply(store.LinkMultiInput, ids); err != nil {
					b.Fatal(err)
				}
			}, func() { runtime.KeepAlive(ix) }
		})
	})
	b.Run(fmt.Sprintf("baseline/txs=%d", *benchTxs), func(b *testing.B) {
		run(b, func() (func([]uint64), func()) {
			m := &mapUnionFind{parent: map[uint64]uint64{}, size: map[uint64]uint64{}}
			return func(ids []uint64) {
				for _, id := range ids[1:] {
					m.union(ids[0], id)
				}
			}, func() { runtime.KeepAlive(m) }
		})
	})
}

// benchTxs sets the generated chain's length.
var benchTxs = flag.Int("cluster.txs", 1_000_000, "transactions in BenchmarkCluster's generated chain")
