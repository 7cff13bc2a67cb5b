package btcgen

import (
	"context"
	"testing"
	"time"
)

// BenchmarkGenerate generates a chain of a million transactions, the
// scale of the ingest benchmarks; run it with -benchtime=1x.
func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 1, TxPerBlock: 2500, MinTxs: 1_000_000, Users: 50_000, StaleEvery: 50}
	var res *Result
	start := time.Now()
	for b.Loop() {
		var err error
		if res, err = Generate(context.Background(), b.TempDir(), cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(float64(res.Txs)/sec, "txs/s")
	b.ReportMetric(float64(res.Bytes)/float64(res.Txs), "bytes/tx")
	b.ReportMetric(float64(res.Bytes)/sec/1e6, "MB/s")
	b.Logf("height %d, %d txs, %d inputs, %d outputs, %d chained, %d files, %d bytes, %d utxos; by class %v",
		res.Height, res.Txs, res.Inputs, res.Outputs, res.ChainedSpends, res.Files, res.Bytes, res.Unspent, res.ByClass)
}
