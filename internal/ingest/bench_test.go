package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
)

// benchChainTxs is the size of the generated chain the ingest benchmark
// loads; override with CHAINTRACE_BENCH_TXS.
func benchChainTxs() int64 {
	var n int64 = 1_000_000
	if s := os.Getenv("CHAINTRACE_BENCH_TXS"); s != "" {
		fmt.Sscan(s, &n)
	}
	return n
}

// generatedChain returns a directory of blk files holding a generated
// regtest chain of at least txs transactions, generating it once into the
// user cache (it is deterministic, so a cached copy is the same chain).
func generatedChain(b testing.TB, txs int64) string {
	b.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "chaintrace", fmt.Sprintf("bench-chain-seed7-%d", txs))
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir
	}
	_ = os.RemoveAll(dir)
	res, err := btcgen.Generate(context.Background(), dir, btcgen.Config{
		Seed: 7, Net: &chaincfg.RegressionNetParams, MinTxs: txs, TxPerBlock: 2500, Users: 200_000,
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), []byte(fmt.Sprint(res.Txs)), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkIngest measures end-to-end ingest (block files to a committed
// store) on the real mainnet blocks 0-14131 and on a generated chain of a
// million transactions, beside a baseline that only reads the same blocks
// and decodes them with btcd's wire package and hashes every transaction:
// the least work an ingester built on btcd would do before storing
// anything. Run with -benchtime 1x.
func BenchmarkIngest(b *testing.B) {
	inputs := []struct {
		name string
		path func(b *testing.B) string
		net  *chaincfg.Params
	}{
		{"mainnet-0-14131", func(b *testing.B) string { return mainnetBlk(b) }, &chaincfg.MainNetParams},
		{"generated", func(b *testing.B) string { return generatedChain(b, benchChainTxs()) }, &chaincfg.RegressionNetParams},
	}
	for _, in := range inputs {
		b.Run(in.name+"/chaintrace", func(b *testing.B) {
			path := in.path(b)
			b.ResetTimer()
			var txs uint64
			var bytesPerTx float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "btc", Network: btc.NetworkName(in.net)}, store.Options{Bulk: true})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				src, err := blkfile.Open(context.Background(), path, wire.BitcoinNet(in.net.Net))
				if err != nil {
					b.Fatal(err)
				}
				st, err := ingest.NewBTC(db, src, ingest.Options{BatchBytes: benchBatchBytes()}).Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if err := db.Flush(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				src.Close()
				txs = st.Txs
				bytesPerTx = float64(dirSize(b, dir)) / float64(st.Txs)
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(txs)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(bytesPerTx, "store-B/tx")
		})
		b.Run(in.name+"/baseline-btcd-wire-decode", func(b *testing.B) {
			path := in.path(b)
			b.ResetTimer()
			var txs int
			for i := 0; i < b.N; i++ {
				src, err := blkfile.Open(context.Background(), path, wire.BitcoinNet(in.net.Net))
				if err != nil {
					b.Fatal(err)
				}
				tip, _, _ := src.Tip(context.Background())
				txs = 0
				var sink chainhash.Hash
				err = src.Blocks(context.Background(), 0, tip, func(h uint64, hash chainhash.Hash, raw []byte) error {
					var mb wire.MsgBlock
					if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
						return err
					}
					for _, tx := range mb.Transactions {
						sink = tx.TxHash()
					}
					txs += len(mb.Transactions)
					return nil
				})
				_ = sink
				src.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(txs)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

func dirSize(b testing.TB, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// benchBatchBytes is the commit size the benchmark uses; override with
// CHAINTRACE_BENCH_BATCH_MB to compare.
func benchBatchBytes() int {
	mb := 0
	if s := os.Getenv("CHAINTRACE_BENCH_BATCH_MB"); s != "" {
		fmt.Sscan(s, &mb)
	}
	return mb << 20
}
