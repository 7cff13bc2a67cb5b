package service_test

import (
	"context"
	"testing"

	"github.com/chaintrace/chaintrace/internal/eval"
	"github.com/chaintrace/chaintrace/internal/service"
	"github.com/chaintrace/chaintrace/internal/sim/world"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// BenchmarkDetect detects services on both chains of a generated world of
// about 200,000 transactions, ingested through the real ingesters: the
// cost workspace.Open pays with DetectServices.
func BenchmarkDetect(b *testing.B) {
	if testing.Short() {
		b.Skip("generates and ingests a 200,000-transaction world")
	}
	ctx := context.Background()
	worldDir, data := b.TempDir(), b.TempDir()
	if _, err := world.Generate(ctx, worldDir, world.Config{Seed: 1, Txs: 200_000}); err != nil {
		b.Fatal(err)
	}
	prep, err := eval.Prepare(ctx, worldDir, data, eval.PrepareOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ws, err := workspace.Open(ctx, data, workspace.Options{Bridges: prep.Bridges})
	if err != nil {
		b.Fatal(err)
	}
	ws.Close()
	btcDB, err := store.Open(ctx, workspace.BTCStoreDir(data, "regtest"), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer btcDB.Close()
	ethDB, err := store.Open(ctx, workspace.ETHStoreDir(data, "sim"), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ethDB.Close()
	b.ReportAllocs()
	b.ResetTimer()
	var txs uint64
	var found int
	for b.Loop() {
		u, err := service.DetectUTXO(ctx, btcDB, "btc-regtest", service.Options{})
		if err != nil {
			b.Fatal(err)
		}
		a, err := service.DetectAccount(ctx, ethDB, "eth-sim", service.Options{})
		if err != nil {
			b.Fatal(err)
		}
		txs, found = u.Txs+a.Txs, len(u.Services)+len(a.Services)
	}
	b.ReportMetric(float64(txs), "txs")
	b.ReportMetric(float64(found), "services")
}
