package export

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// mainnetSource opens the btcd module's mainnet test blocks (heights 0 to
// 14,130), skipping the test when the module is not available.
func mainnetSource(t testing.TB) *blkfile.Source {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil || len(out) == 0 {
		t.Skipf("btcd module not available: %v", err)
	}
	src, err := blkfile.Open(context.Background(), filepath.Join(strings.TrimSpace(string(out)), "blockchain", "testdata", "blk_0_to_14131.dat"), wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// mainnetStore ingests all of the mainnet test blocks into a btc-mainnet
// store under data.
func mainnetStore(b *testing.B, data string) {
	b.Helper()
	ctx := context.Background()
	src := mainnetSource(b)
	db, err := store.Open(ctx, workspace.BTCStoreDir(data, "mainnet"), store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{Bulk: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.NewBTC(db, src, ingest.Options{}).Run(ctx); err != nil {
		b.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkExport exports Bitcoin mainnet's first 14,131 blocks (all four
// tables) and reports rows written per second and Parquet bytes per row.
func BenchmarkExport(b *testing.B) {
	data := b.TempDir()
	mainnetStore(b, data)
	ctx := context.Background()
	var rows, bytes, n int64
	for b.Loop() {
		n++
		sum, err := Run(ctx, data, filepath.Join(b.TempDir(), "out"), Options{NoLabels: true})
		if err != nil {
			b.Fatal(err)
		}
		rows, bytes = sum.Rows(), sum.Bytes()
	}
	b.ReportMetric(float64(rows)*float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(bytes)/float64(rows), "B/row")
	b.ReportMetric(float64(rows), "rows")
}
