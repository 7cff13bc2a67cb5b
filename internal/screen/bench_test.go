package screen_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

// benchLabels is the size of the benchmark index.
const benchLabels = 1_000_000

// benchQuery is one screened address.
type benchQuery struct{ chain, addr string }

var (
	benchOnce    sync.Once
	benchIndex   *labels.Index
	benchHits    []benchQuery // labelled, as normalised
	benchMisses  []benchQuery // valid, unlabelled, as normalised
	benchRawHits []benchQuery // labelled, in a form needing normalisation
)

// benchFixture builds (once) an index of a million labels, half on eth
// and half on btc, every tenth a sanction with an actor, and query sets.
func benchFixture(b *testing.B) (*labels.Index, []benchQuery, []benchQuery, []benchQuery) {
	benchOnce.Do(func() {
		ls := make([]labels.Label, 0, benchLabels)
		for i := 0; i < benchLabels; i++ {
			l := labels.Label{Label: "Entity " + strconv.Itoa(i%5000), Category: "exchange", Confidence: "web_crawl",
				ConfidenceLevel: 40, Source: "https://example.org/list", Dataset: "bench"}
			if i%2 == 0 {
				l.Chain, l.Address = "eth", mustNorm(b, "eth", ethAddr(strconv.Itoa(i)))
			} else {
				l.Chain, l.Address = "btc", btcAddr(strconv.Itoa(i), i%4 == 1)
			}
			if i%10 == 0 {
				l.Category, l.Abuse, l.Actor, l.Entity, l.Programs = "", "sanction", "tradertraitor", "TraderTraitor", []string{"DPRK3"}
			}
			ls = append(ls, l)
			if i%1000 == 0 {
				benchHits = append(benchHits, benchQuery{l.Chain, l.Address})
				if l.Chain == "eth" {
					benchRawHits = append(benchRawHits, benchQuery{"eth", ethAddr(strconv.Itoa(i))})
				}
			}
		}
		for i := 0; i < 1000; i++ {
			benchMisses = append(benchMisses,
				benchQuery{"eth", mustNorm(b, "eth", ethAddr("miss"+strconv.Itoa(i)))},
				benchQuery{"btc", btcAddr("miss"+strconv.Itoa(i), i%2 == 0)})
		}
		benchIndex = labels.NewIndex(ls, testActors)
		// Collect the building garbage so that it is not charged to the
		// first benchmark.
		runtime.GC()
	})
	return benchIndex, benchHits, benchMisses, benchRawHits
}

// interleave mixes hits and misses one to one.
func interleave(a, b []benchQuery) []benchQuery {
	out := make([]benchQuery, 0, len(a)+len(b))
	for i := 0; i < len(a) || i < len(b); i++ {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkIdentify measures the identification path alone: look-up and
// building the identifications, on one goroutine.
func BenchmarkIdentify(b *testing.B) {
	ix, hits, misses, raw := benchFixture(b)
	s, err := screen.New(ix, nil, screen.DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	for _, set := range []struct {
		name string
		qs   []benchQuery
	}{{"hit", hits}, {"miss", misses}, {"mixed", interleave(hits, misses)}, {"hit-unnormalised", raw}} {
		b.Run(set.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				q := set.qs[i%len(set.qs)]
				if _, err := s.Identify(q.chain, q.addr); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
	}
}

// BenchmarkScreenDirect measures Screen without exposure over the million
// labels, on one goroutine.
func BenchmarkScreenDirect(b *testing.B) {
	ix, hits, misses, raw := benchFixture(b)
	s, err := screen.New(ix, nil, screen.DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	opts := screen.Options{NoExposure: true}
	for _, set := range []struct {
		name string
		qs   []benchQuery
	}{{"hit", hits}, {"miss", misses}, {"mixed", interleave(hits, misses)}, {"hit-unnormalised", raw}} {
		b.Run(set.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				q := set.qs[i%len(set.qs)]
				if _, err := s.Screen(ctx, q.chain, q.addr, opts); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
	}
}

// BenchmarkNormalize measures addrs.Normalize alone on the miss set: the
// floor under every screen of an address the index does not hold.
func BenchmarkNormalize(b *testing.B) {
	_, _, misses, _ := benchFixture(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q := misses[i%len(misses)]
		if _, err := addrs.Normalize(q.chain, q.addr); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}
