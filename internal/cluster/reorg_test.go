package cluster_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

// memSource serves raw blocks from height 0.
type memSource struct{ blocks [][]byte }

func (m *memSource) hash(i int) chainhash.Hash { return chainhash.DoubleHashH(m.blocks[i][:80]) }

func (m *memSource) Tip(ctx context.Context) (uint64, chainhash.Hash, error) {
	return uint64(len(m.blocks) - 1), m.hash(len(m.blocks) - 1), nil
}

func (m *memSource) HashAt(ctx context.Context, h uint64) (chainhash.Hash, error) {
	if h >= uint64(len(m.blocks)) {
		return chainhash.Hash{}, fmt.Errorf("height %d: %w", h, btc.ErrNotFound)
	}
	return m.hash(int(h)), nil
}

func (m *memSource) Blocks(ctx context.Context, from, to uint64, fn func(uint64, chainhash.Hash, []byte) error) error {
	for h := from; h <= to; h++ {
		if err := fn(h, m.hash(int(h)), bytes.Clone(m.blocks[h])); err != nil {
			return err
		}
	}
	return nil
}

// readBlocks returns the raw blocks of a Core block file, in file order
// (which is height order for btcd's test file).
func readBlocks(t *testing.T, path string, n int) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	for len(out) < n {
		var hdr [8]byte
		if _, err := io.ReadFull(f, hdr[:]); err != nil || binary.LittleEndian.Uint32(hdr[:4]) == 0 {
			break
		}
		raw := make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(f, raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

// coinbaseOnly returns a competing version of a block holding only its
// coinbase: same parent, a merkle root of the coinbase alone.
func coinbaseOnly(t *testing.T, raw []byte) []byte {
	t.Helper()
	var mb wire.MsgBlock
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	mb.Transactions = mb.Transactions[:1]
	mb.Header.MerkleRoot = mb.Transactions[0].TxHash()
	var buf bytes.Buffer
	if err := mb.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIndexRebuildsAfterReorg builds the index at a tip whose block has a
// multi-input transaction, reorganises the store onto a competing block at
// the same height without it, and checks that CatchUp notices (the block
// at the index's height changed) and rebuilds: the result equals a fresh
// Build and no longer holds the dropped link.
func TestIndexRebuildsAfterReorg(t *testing.T) {
	ctx := context.Background()
	full, path := ingestMainnet(t, 0)
	// The height of the last block with a multi-input link.
	var lastLink uint64
	if err := full.Links(ctx, 0, func(txnum uint64, kind uint8, ids []uint64) bool {
		lastLink = txnum
		return true
	}); err != nil {
		t.Fatal(err)
	}
	var tx store.TxRec
	if err := full.Tx(ctx, lastLink, &tx); err != nil {
		t.Fatal(err)
	}
	h := tx.Height
	blocks := readBlocks(t, path, int(h)+1)
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.NewBTC(db, &memSource{blocks}, ingest.Options{}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	ix, err := cluster.Build(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	before := ix.Stats().Links
	alt := append(blocks[:h:h], coinbaseOnly(t, blocks[h]))
	st, err := ingest.NewBTC(db, &memSource{alt}, ingest.Options{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unwound != 1 || st.Height != h {
		t.Fatalf("reorg: unwound %d, at %d; want 1 at %d", st.Unwound, st.Height, h)
	}
	if err := ix.CatchUp(ctx, db); err != nil {
		t.Fatal(err)
	}
	want, err := cluster.Build(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sameIndex(t, ix, want)
	if got := ix.Stats().Links; got >= before || got != want.Stats().Links {
		t.Fatalf("links after the reorg: %d (before %d, fresh build %d)", got, before, want.Stats().Links)
	}
}
