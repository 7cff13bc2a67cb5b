package ingest_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
)

var regtestNet = wire.BitcoinNet(chaincfg.RegressionNetParams.Net)

func generate(t *testing.T, cfg btcgen.Config) (string, *btcgen.Result) {
	t.Helper()
	dir := t.TempDir()
	if cfg.Net == nil {
		cfg.Net = &chaincfg.RegressionNetParams
	}
	res, err := btcgen.Generate(context.Background(), dir, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

// subset writes the chosen generated records, in the given order, to a new
// blk file and returns its path.
func subset(t *testing.T, genDir string, recs []btcgen.Record) string {
	t.Helper()
	files := map[int][]byte{}
	var out []byte
	for _, r := range recs {
		data, ok := files[r.File]
		if !ok {
			var err error
			data, err = os.ReadFile(filepath.Join(genDir, fmt.Sprintf("blk%05d.dat", r.File)))
			if err != nil {
				t.Fatal(err)
			}
			files[r.File] = data
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(regtestNet))
		out = binary.LittleEndian.AppendUint32(out, uint32(r.Size))
		out = append(out, data[r.Offset:r.Offset+int64(r.Size)]...)
	}
	path := filepath.Join(t.TempDir(), "blk00000.dat")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func digest(t *testing.T, db *store.DB) string {
	t.Helper()
	d, n, err := db.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d entries %x", n, d[:12])
}

// TestReorgEqualsFreshIngest switches a store between two branches that
// fork below the tip and checks that after each switch the store is
// identical to one built directly from that branch: unwinding leaves no
// trace and ids are reassigned exactly.
func TestReorgEqualsFreshIngest(t *testing.T) {
	genDir, res := generate(t, btcgen.Config{Seed: 3, Blocks: 130, TxPerBlock: 40, Users: 300, StaleEvery: 115, StaleDepth: 4})
	var main, stale []btcgen.Record
	forkHeight := -1
	for _, r := range res.Records {
		if r.Stale {
			if forkHeight < 0 {
				forkHeight = r.Height
			}
			stale = append(stale, r)
		} else {
			main = append(main, r)
		}
	}
	if len(stale) != 4 || forkHeight != 115 {
		t.Fatalf("generator wrote %d stale blocks from height %d, want 4 from 115", len(stale), forkHeight)
	}
	// Branch A: the main chain up to the stale branch's tip height.
	// Branch B: the main chain below the fork, then the stale branch.
	var a, b []btcgen.Record
	for _, r := range main {
		if r.Height < forkHeight+len(stale) {
			a = append(a, r)
		}
		if r.Height < forkHeight {
			b = append(b, r)
		}
	}
	b = append(b, stale...)
	// B is written first in its file, so a tie in work resolves to it even
	// though A's blocks are absent anyway.
	pathA, pathB := subset(t, genDir, a), subset(t, genDir, b)

	freshA := openStore(t, t.TempDir(), "regtest")
	ingestFiles(t, freshA, pathA, regtestNet, ingest.Options{})
	freshB := openStore(t, t.TempDir(), "regtest")
	ingestFiles(t, freshB, pathB, regtestNet, ingest.Options{})
	wantA, wantB := digest(t, freshA), digest(t, freshB)
	if wantA == wantB {
		t.Fatal("branches A and B gave the same store")
	}

	db := openStore(t, t.TempDir(), "regtest")
	ingestFiles(t, db, pathA, regtestNet, ingest.Options{})
	st := ingestFiles(t, db, pathB, regtestNet, ingest.Options{})
	if st.Unwound != uint64(len(stale)) {
		t.Fatalf("switching to B unwound %d blocks, want %d", st.Unwound, len(stale))
	}
	if got := digest(t, db); got != wantB {
		t.Fatalf("after reorg A->B: %s, fresh B: %s", got, wantB)
	}
	ingestFiles(t, db, pathA, regtestNet, ingest.Options{})
	if got := digest(t, db); got != wantA {
		t.Fatalf("after reorg B->A: %s, fresh A: %s", got, wantA)
	}
}

// TestReorgToGenesis replaces a whole chain by another one sharing only
// the genesis block.
func TestReorgToGenesis(t *testing.T) {
	dir1, _ := generate(t, btcgen.Config{Seed: 11, Blocks: 110, TxPerBlock: 20, Users: 100})
	dir2, _ := generate(t, btcgen.Config{Seed: 12, Blocks: 112, TxPerBlock: 20, Users: 100})
	fresh := openStore(t, t.TempDir(), "regtest")
	ingestFiles(t, fresh, dir2, regtestNet, ingest.Options{})
	db := openStore(t, t.TempDir(), "regtest")
	ingestFiles(t, db, dir1, regtestNet, ingest.Options{})
	st := ingestFiles(t, db, dir2, regtestNet, ingest.Options{})
	if st.Unwound != 110 {
		t.Fatalf("unwound %d blocks, want 110", st.Unwound)
	}
	if got, want := digest(t, db), digest(t, fresh); got != want {
		t.Fatalf("after replacing the chain: %s, fresh: %s", got, want)
	}
}

// TestGenesisMismatchRejected ingests mainnet blocks into a store, then
// regtest blocks: the genesis blocks differ and ingest refuses.
func TestGenesisMismatchRejected(t *testing.T) {
	dir, _ := generate(t, btcgen.Config{Seed: 1, Blocks: 5})
	db := openStore(t, t.TempDir(), "regtest")
	ingestFiles(t, db, dir, regtestNet, ingest.Options{})
	before := digest(t, db)
	src, err := blkfile.Open(context.Background(), mainnetBlk(t), wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = ingest.NewBTC(db, src, ingest.Options{}).Run(context.Background())
	if err == nil {
		t.Fatal("ingesting mainnet blocks into a regtest store succeeded")
	}
	t.Log(err)
	if got := digest(t, db); got != before {
		t.Fatal("the refused ingest changed the store")
	}
}
