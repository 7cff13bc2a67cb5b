package labels

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// genLabels returns n labels on distinct addresses, alternately eth-style
// (0x + 40 hex) and btc-style (bech32 P2WPKH-like), a few addresses with a
// second label, spread over a handful of datasets.
func genLabels(r *rand.Rand, n int, dataset string) []Label {
	texts := []string{"Binance", "Tornado Cash", "Lazarus Group", "Scam", "Mixer", "Coinbase", "Ransomware"}
	ls := make([]Label, 0, n)
	for len(ls) < n {
		chain := "eth"
		if len(ls)%2 == 1 {
			chain = "btc"
		}
		l := Label{
			Chain: chain, Address: genAddr(r, chain), Label: texts[r.IntN(len(texts))],
			Category: "exchange", Confidence: "web_crawl", ConfidenceLevel: r.IntN(101),
			Source: "https://example.org/list", Dataset: dataset,
		}
		ls = append(ls, l)
		if r.IntN(20) == 0 && len(ls) < n {
			l.Label = "Second label"
			ls = append(ls, l)
		}
	}
	return ls
}

func genAddr(r *rand.Rand, chain string) string {
	if chain == "eth" {
		var raw [20]byte
		for i := range raw {
			raw[i] = byte(r.Uint32())
		}
		return "0x" + hex.EncodeToString(raw[:])
	}
	const b32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	var b [42]byte
	copy(b[:], "bc1q")
	for i := 4; i < len(b); i++ {
		b[i] = b32[r.IntN(len(b32))]
	}
	return string(b[:])
}

var bench struct {
	once    sync.Once
	ix      *Index
	hits    [][2]string
	misses  [][2]string
	heapMiB float64
}

// benchIndex builds, once, an index of 1M labels and query sets of hits
// and misses.
func benchIndex(b *testing.B) {
	b.Helper()
	bench.once.Do(func() {
		r := rand.New(rand.NewPCG(7, 7))
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		// The heap the index holds includes the label strings, which
		// it shares with the generated labels.
		bench.ix = NewIndex(genLabels(r, 1_000_000, "bench"), []Actor{{ID: "lazarusgroup"}})
		runtime.GC()
		runtime.ReadMemStats(&m1)
		bench.heapMiB = (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / (1 << 20)
		const q = 1 << 18
		for i := range q {
			l := bench.ix.labels[r.IntN(len(bench.ix.labels))]
			bench.hits = append(bench.hits, [2]string{l.Chain, l.Address})
			chain := []string{"eth", "btc"}[i%2]
			bench.misses = append(bench.misses, [2]string{chain, genAddr(r, chain)})
		}
	})
	b.Logf("index: %d addresses, %d labels, %.0f MiB heap (Label is %d bytes)",
		bench.ix.Len(), bench.ix.Labels(), bench.heapMiB, unsafe.Sizeof(Label{}))
}

func BenchmarkIndexLookup(b *testing.B) {
	benchIndex(b)
	mixed := make([][2]string, 0, len(bench.hits))
	for i := range bench.hits {
		if i%2 == 0 {
			mixed = append(mixed, bench.hits[i])
		} else {
			mixed = append(mixed, bench.misses[i])
		}
	}
	for _, c := range []struct {
		name    string
		queries [][2]string
		hit     bool
	}{{"hits", bench.hits, true}, {"misses", bench.misses, false}, {"mixed", mixed, false}} {
		b.Run(c.name, func(b *testing.B) {
			ix := bench.ix
			qs := c.queries
			found := 0
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				q := qs[i&(len(qs)-1)]
				if ix.Lookup(q[0], q[1]) != nil {
					found++
				}
				i++
			}
			if c.hit && found != i {
				b.Fatalf("%d of %d hits found", found, i)
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}

func BenchmarkApply(b *testing.B) {
	const n = 100_000
	ls := genLabels(rand.New(rand.NewPCG(1, 1)), n, "")
	ctx := context.Background()
	b.Run("add", func(b *testing.B) {
		s := openTest(b, "")
		k := 0
		for b.Loop() {
			name := fmt.Sprint("bench-", k)
			k++
			for i := range ls {
				ls[i].Dataset = name
			}
			if _, err := s.Apply(ctx, Dataset{Name: name, Labels: ls}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(k*n)/b.Elapsed().Seconds(), "labels/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		s := openTest(b, "")
		for i := range ls {
			ls[i].Dataset = "bench"
		}
		d := Dataset{Name: "bench", Labels: ls}
		if _, err := s.Apply(ctx, d); err != nil {
			b.Fatal(err)
		}
		k := 0
		for b.Loop() {
			c, err := s.Apply(ctx, d)
			if err != nil || c.Unchanged != n {
				b.Fatal(c, err)
			}
			k++
		}
		b.ReportMetric(float64(k*n)/b.Elapsed().Seconds(), "labels/s")
	})
	b.Run("index", func(b *testing.B) {
		s := openTest(b, "")
		for i := range ls {
			ls[i].Dataset = "bench"
		}
		if _, err := s.Apply(ctx, Dataset{Name: "bench", Labels: ls}); err != nil {
			b.Fatal(err)
		}
		k := 0
		for b.Loop() {
			if _, err := s.Index(ctx); err != nil {
				b.Fatal(err)
			}
			k++
		}
		b.ReportMetric(float64(k*n)/b.Elapsed().Seconds(), "labels/s")
	})
}
