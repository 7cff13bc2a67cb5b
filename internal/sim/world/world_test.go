package world

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/chaintrace/chaintrace/internal/labels/importers"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// smallConfig is a world small enough for tests, heists included.
func smallConfig(seed int64) Config { return Config{Seed: seed, Txs: 20_000, Users: 600} }

func hashes(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeterminism checks that the same Config gives byte-identical files
// and another seed different ones.
func TestDeterminism(t *testing.T) {
	ctx := context.Background()
	var sums []map[string][32]byte
	for _, seed := range []int64{7, 7, 8} {
		dir := t.TempDir()
		if _, err := Generate(ctx, dir, smallConfig(seed)); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, hashes(t, dir))
	}
	if len(sums[0]) < 5 {
		t.Fatalf("only %d files", len(sums[0]))
	}
	for f, h := range sums[0] {
		if sums[1][f] != h {
			t.Errorf("%s differs between two runs of one seed", f)
		}
	}
	same := 0
	for f, h := range sums[0] {
		if sums[2][f] == h {
			same++
			t.Logf("%s is the same for another seed", f)
		}
	}
	if same == len(sums[0]) {
		t.Error("another seed gave the same files")
	}
}

// TestTruthAndLabels checks the truth's balance, that each heist stole
// something on its theft chain, that the TagPack imports with no rejected
// row and that the bridge rules load.
func TestTruthAndLabels(t *testing.T) {
	dir := t.TempDir()
	tw, err := Generate(context.Background(), dir, smallConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Check(); err != nil {
		t.Fatal(err)
	}
	if len(tw.Heists) != 4 {
		t.Fatalf("%d heists", len(tw.Heists))
	}
	for _, h := range tw.Heists {
		if tw.StolenUSD(&h) < 1e6 {
			t.Errorf("heist %s stole only $%.0f", h.ID, tw.StolenUSD(&h))
		}
		if len(h.Sources) == 0 || len(h.Sources[0].Txs) == 0 {
			t.Errorf("heist %s has no sources", h.ID)
		}
		services := 0
		for _, d := range h.Destinations {
			if d.Kind == "service" {
				services++
			}
		}
		if services == 0 {
			t.Errorf("heist %s reached no service", h.ID)
		}
	}
	imp, err := importers.ByName("tagpack")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := imp.Import(context.Background(), filepath.Join(dir, "labels", "world.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	chains := map[string]int{}
	for _, s := range sets {
		for _, r := range s.Rejected {
			t.Errorf("rejected: %+v", r)
		}
		for _, l := range s.Labels {
			chains[l.Chain]++
		}
	}
	if chains["btc-regtest"] == 0 || chains["eth"] == 0 {
		t.Errorf("labels by chain: %v", chains)
	}
	listers := map[string]trace.PaymentLister{BTCChain: nil, ETHChain: nil}
	rules, skipped, err := trace.LoadBridges(filepath.Join(dir, "bridges.yaml"), listers)
	if err != nil || len(rules) != 2 || len(skipped) != 0 {
		t.Fatalf("bridges: %d rules, skipped %v, %v", len(rules), skipped, err)
	}
}

// BenchmarkGenerate reports the generation rate of a 200k-transaction
// world.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		dir := b.TempDir()
		tw, err := Generate(context.Background(), dir, Config{Seed: 1, Txs: 200_000})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(tw.Chains["btc"].Txs+tw.Chains["eth"].Txs)/b.Elapsed().Seconds(), "tx/s")
	}
}
