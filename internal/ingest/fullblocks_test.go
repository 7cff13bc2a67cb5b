package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/query"
)

// memSource serves a run of raw blocks starting at height start.
type memSource struct {
	start  uint64
	blocks [][]byte
}

func (m *memSource) hash(i int) chainhash.Hash {
	return chainhash.DoubleHashH(m.blocks[i][:80])
}

func (m *memSource) Tip(ctx context.Context) (uint64, chainhash.Hash, error) {
	n := len(m.blocks) - 1
	return m.start + uint64(n), m.hash(n), nil
}

func (m *memSource) HashAt(ctx context.Context, h uint64) (chainhash.Hash, error) {
	if h < m.start || h >= m.start+uint64(len(m.blocks)) {
		return chainhash.Hash{}, fmt.Errorf("height %d: %w", h, btc.ErrNotFound)
	}
	return m.hash(int(h - m.start)), nil
}

func (m *memSource) Blocks(ctx context.Context, from, to uint64, fn func(uint64, chainhash.Hash, []byte) error) error {
	for h := from; h <= to; h++ {
		i := int(h - m.start)
		if err := fn(h, m.hash(i), bytes.Clone(m.blocks[i])); err != nil {
			return err
		}
	}
	return nil
}

// TestIngestFullMainnetBlocks ingests each of the two full mainnet blocks
// in btcd's wire/testdata (2018 and 2019: SegWit, P2SH, P2PK, OP_RETURN)
// as a store that starts at that block, and checks every transaction and
// output against btcd's wire and txscript.
func TestIngestFullMainnetBlocks(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(btcdDir(t), "wire", "testdata", "block-*.blk"))
	if len(files) != 2 {
		t.Fatalf("found %d full blocks in btcd's wire/testdata, want 2", len(files))
	}
	ctx := context.Background()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var mb wire.MsgBlock
			if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
				t.Fatal(err)
			}
			height, err := blockchain.ExtractCoinbaseHeight(btcutil.NewTx(mb.Transactions[0]))
			if err != nil {
				t.Fatal(err)
			}
			db := openStore(t, t.TempDir(), "mainnet")
			src := &memSource{start: uint64(height), blocks: [][]byte{raw}}
			st, err := ingest.NewBTC(db, src, ingest.Options{StartHeight: uint64(height)}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Txs != uint64(len(mb.Transactions)) || st.Height != uint64(height) {
				t.Fatalf("ingested %d txs at %d; want %d at %d", st.Txs, st.Height, len(mb.Transactions), height)
			}
			q, err := query.NewBTC(db)
			if err != nil {
				t.Fatal(err)
			}
			inBlock := map[chainhash.Hash]bool{}
			classes := map[string]int{}
			for _, tx := range mb.Transactions {
				inBlock[tx.TxHash()] = true
			}
			for i, wtx := range mb.Transactions {
				got, err := q.Tx(ctx, wtx.TxHash().String())
				if err != nil {
					t.Fatal(err)
				}
				if got.Index != i || got.Height != uint64(height) || got.Size != wtx.SerializeSize() {
					t.Fatalf("tx %d: %+v", i, got)
				}
				external := false
				if i > 0 {
					for j, in := range wtx.TxIn {
						gi := got.Inputs[j]
						if gi.PrevTxID != in.PreviousOutPoint.Hash.String() || gi.PrevOut != in.PreviousOutPoint.Index {
							t.Fatalf("tx %d input %d = %+v", i, j, gi)
						}
						if gi.External == inBlock[in.PreviousOutPoint.Hash] {
							t.Fatalf("tx %d input %d: external=%v but the spent tx is in the block: %v", i, j, gi.External, inBlock[in.PreviousOutPoint.Hash])
						}
						external = external || gi.External
					}
				}
				if got.FeeKnown == external {
					t.Fatalf("tx %d: fee known %v with external inputs %v", i, got.FeeKnown, external)
				}
				for j, o := range wtx.TxOut {
					cls, addrs, _, _ := txscript.ExtractPkScriptAddrs(o.PkScript, &chaincfg.MainNetParams)
					want := ""
					for k, a := range addrs {
						if pk, ok := a.(*btcutil.AddressPubKey); ok {
							a = pk.AddressPubKeyHash()
						}
						if k > 0 {
							want += ","
						}
						want += a.EncodeAddress()
					}
					g := got.Outputs[j]
					if g.Value != o.Value || (want != "" && g.Address != want) {
						t.Fatalf("tx %d output %d = %+v; btcd: %s %d", i, j, g, want, o.Value)
					}
					classes[g.Script.String()]++
					_ = cls
				}
			}
			t.Logf("height %d: %d txs, outputs by class %v", height, len(mb.Transactions), classes)
			for _, c := range []string{"p2pkh", "p2sh", "p2wpkh", "nulldata"} {
				if classes[c] == 0 {
					t.Errorf("no %s output classified", c)
				}
			}
		})
	}
}
