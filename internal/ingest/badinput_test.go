package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
)

// corruptCopy copies the mainnet block file, flipping one byte inside the
// body of the block at height, and returns the copy's path.
func corruptCopy(t *testing.T, height int) string {
	t.Helper()
	data, err := os.ReadFile(mainnetBlk(t))
	if err != nil {
		t.Fatal(err)
	}
	// Records are in height order in this file: walk to the one wanted.
	off := 0
	for h := 0; h < height; h++ {
		size := int(uint32(data[off+4]) | uint32(data[off+5])<<8 | uint32(data[off+6])<<16 | uint32(data[off+7])<<24)
		off += 8 + size
	}
	// Past the record header, the block header and the tx count: a byte
	// of the coinbase transaction, which only the merkle root protects.
	data[off+8+80+1+10] ^= 0x40
	path := filepath.Join(t.TempDir(), "blk00000.dat")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCorruptBlockKeepsStore ingests part of the chain, then a copy of the
// files with a corrupted block body: ingest fails naming the block, and
// the store still holds exactly a consistent prefix of the chain.
func TestCorruptBlockKeepsStore(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir(), "mainnet")
	ingestFiles(t, db, mainnetBlk(t), wire.MainNet, ingest.Options{MaxHeight: 5000})
	before := digest(t, db)

	src, err := blkfile.Open(ctx, corruptCopy(t, 6000), wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = ingest.NewBTC(db, src, ingest.Options{BatchBytes: 64 << 10}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "block 6000") || !strings.Contains(err.Error(), "merkle") {
		t.Fatalf("ingesting a corrupted block 6000: %v", err)
	}
	t.Log(err)
	p, ok, perr := db.Progress(ctx, "blocks")
	if perr != nil || !ok || p.Height < 5000 || p.Height >= 6000 {
		t.Fatalf("progress after the failure: %+v %v %v", p, ok, perr)
	}
	// What is stored is exactly the chain up to the stored tip.
	ref := openStore(t, t.TempDir(), "mainnet")
	ingestFiles(t, ref, mainnetBlk(t), wire.MainNet, ingest.Options{MaxHeight: p.Height})
	if got, want := digest(t, db), digest(t, ref); got != want {
		t.Fatalf("store after the failure %s differs from a clean ingest to %d: %s", got, p.Height, want)
	}
	if p.Height == 5000 && digest(t, db) != before {
		t.Fatal("store changed although progress did not")
	}
}

// flakySource wraps a source and fails or lies on demand.
type flakySource struct {
	ingest.BlockSource
	failAt  uint64
	err     error
	mangled bool // deliver garbage instead of the block at failAt
}

func (f *flakySource) Blocks(ctx context.Context, from, to uint64, fn func(uint64, chainhash.Hash, []byte) error) error {
	return f.BlockSource.Blocks(ctx, from, to, func(h uint64, hash chainhash.Hash, raw []byte) error {
		if h == f.failAt {
			if f.mangled {
				return fn(h, hash, raw[:len(raw)/2])
			}
			return f.err
		}
		return fn(h, hash, raw)
	})
}

// TestSourceFailuresKeepStore makes the source fail mid-run (an I/O error,
// a truncated block): the error names the block and a later run with a
// working source completes to the same store as an uninterrupted run.
func TestSourceFailuresKeepStore(t *testing.T) {
	ctx := context.Background()
	ref := openStore(t, t.TempDir(), "mainnet")
	ingestFiles(t, ref, mainnetBlk(t), wire.MainNet, ingest.Options{})
	want := digest(t, ref)
	for _, tc := range []struct {
		name    string
		src     func(ingest.BlockSource) ingest.BlockSource
		wantErr string
	}{
		{"io-error", func(s ingest.BlockSource) ingest.BlockSource {
			return &flakySource{BlockSource: s, failAt: 7000, err: errors.New("disk on fire")}
		}, "reading block 7000 from the source: disk on fire"},
		{"truncated-block", func(s ingest.BlockSource) ingest.BlockSource {
			return &flakySource{BlockSource: s, failAt: 9000, mangled: true}
		}, "block 9000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openStore(t, t.TempDir(), "mainnet")
			src, err := blkfile.Open(ctx, mainnetBlk(t), wire.MainNet)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			_, err = ingest.NewBTC(db, tc.src(src), ingest.Options{BatchBytes: 128 << 10}).Run(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			t.Log(err)
			ingestFiles(t, db, mainnetBlk(t), wire.MainNet, ingest.Options{})
			if got := digest(t, db); got != want {
				t.Fatalf("after recovery %s, uninterrupted %s", got, want)
			}
		})
	}
}

// TestDisconnectedBlockRejected serves, after the stored tip, a block whose
// parent is not the tip (a source skipping 100 blocks): ingest refuses it
// with an error naming both hashes and leaves the tip where it was.
func TestDisconnectedBlockRejected(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir(), "mainnet")
	src, err := blkfile.Open(ctx, mainnetBlk(t), wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// Blocks 0..499, then a source that continues with block 600: the
	// parent check catches the gap before any input is looked at.
	ingestFiles(t, db, mainnetBlk(t), wire.MainNet, ingest.Options{MaxHeight: 499})
	gap := &gapSource{BlockSource: src, skip: 100, after: 499}
	_, err = ingest.NewBTC(db, gap, ingest.Options{MaxHeight: 700}).Run(ctx)
	if err == nil || !errors.Is(err, btc.ErrReorg) && !strings.Contains(err.Error(), "parent") {
		t.Fatalf("a block that does not extend the tip was accepted: %v", err)
	}
	t.Log(err)
	p, _, _ := db.Progress(ctx, "blocks")
	if p.Height != 499 {
		t.Fatalf("tip moved to %d", p.Height)
	}
}

// gapSource serves heights above after shifted by skip, so the block at
// after+1 is really block after+1+skip.
type gapSource struct {
	ingest.BlockSource
	skip, after uint64
}

func (g *gapSource) Blocks(ctx context.Context, from, to uint64, fn func(uint64, chainhash.Hash, []byte) error) error {
	if from <= g.after {
		return fmt.Errorf("gapSource: unexpected from %d", from)
	}
	return g.BlockSource.Blocks(ctx, from+g.skip, to+g.skip, func(h uint64, hash chainhash.Hash, raw []byte) error {
		return fn(h-g.skip, hash, raw)
	})
}
