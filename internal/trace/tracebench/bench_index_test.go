package tracebench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/trace"
)

// BenchmarkTraceIndex is the Go side of BenchmarkTraceLatency alone, over
// the in-memory graph index and without PostgreSQL, for profiling:
//
//	CHAINTRACE_BENCH_DIR=/tmp/chaintrace-tracebench CHAINTRACE_BENCH_SETS=5 \
//	    go test -run '^$' -bench TraceIndex -benchtime 1x -cpuprofile cpu.out ./internal/trace/tracebench/
//
// The first run on a chain builds the index and saves it beside the store.
func BenchmarkTraceIndex(b *testing.B) {
	ctx := context.Background()
	nSets := int(benchEnv(b, "CHAINTRACE_BENCH_SETS", 20))
	chain, _, sets := setup(b, DefaultChain(benchEnv(b, "CHAINTRACE_BENCH_TXS", 26_500_000)), "", nSets, benchPerSet)
	x, xi, err := chain.Index(ctx, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("graph index: %+v", xi)
	eng, err := trace.NewUTXO(x, trace.UTXOOptions{Chain: ChainID, MaxTxs: 50_000_000})
	if err != nil {
		b.Fatal(err)
	}
	var times []time.Duration
	var txs, edges int
	for b.Loop() {
		times, txs, edges = times[:0], 0, 0
		for i, s := range sets {
			runtime.GC()
			start := time.Now()
			res, err := eng.Run(ctx, benchParams(s), nil)
			d := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			times = append(times, d)
			txs += res.Stats.Txs
			edges += len(res.Edges)
			b.Logf("set %d: %v, %d txs, %d edges", i, d.Round(time.Millisecond), res.Stats.Txs, len(res.Edges))
		}
	}
	b.ReportMetric(ms(percentile(times, 50)), "ms_p50")
	b.ReportMetric(ms(percentile(times, 99)), "ms_p99")
	b.ReportMetric(float64(txs)/float64(len(sets)), "txs/trace")
	b.ReportMetric(float64(edges)/float64(len(sets)), "edges/trace")
}
