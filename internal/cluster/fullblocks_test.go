package cluster_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/store"
)

// wireTx converts a btcd transaction into the TxRec the detectors read.
// The block files hold single blocks, so previous outputs are unknown:
// every input gets an address id of its own (as if each came from a
// different address) and no value, which the detectors do not need.
func wireTx(tx *wire.MsgTx, coinbase bool) store.TxRec {
	r := store.TxRec{TxID: tx.TxHash(), Coinbase: coinbase}
	for i := range tx.TxIn {
		r.Ins = append(r.Ins, store.InRec{AddrID: uint64(i + 1)})
	}
	for _, o := range tx.TxOut {
		class, _ := btc.ExtractAddrs(o.PkScript, nil)
		r.Outs = append(r.Outs, store.OutRec{Value: o.Value, Class: class, AddrIDs: []uint64{1}})
	}
	return r
}

// TestCoinJoinsInFullBlocks runs the detectors over the two full 2018 and
// 2019 mainnet blocks in btcd's wire/testdata (heights 540,107 and
// 574,200, 3,545 transactions). Inspected by eye, neither holds a CoinJoin: their many
// transactions with runs of equal outputs (up to 40 of 46) are
// batch payouts funded by one to three inputs. The test checks that
// there are such look-alikes (else it would prove nothing), that each of
// them has fewer inputs than equal outputs (what makes it a payout), and
// that no detector fires on any transaction of the blocks.
func TestCoinJoinsInFullBlocks(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(btcdDir(t), "wire", "testdata", "block-*.blk"))
	if len(files) != 2 {
		t.Fatalf("found %d full blocks in btcd's wire/testdata, want 2", len(files))
	}
	found := map[string]string{}
	txs, lookalikes := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		for i, tx := range mb.Transactions {
			txs++
			vals := map[int64]int{}
			equal := 0
			for _, o := range tx.TxOut {
				vals[o.Value]++
				equal = max(equal, vals[o.Value])
			}
			if equal >= 3 && i > 0 {
				lookalikes++
				if len(tx.TxIn) >= equal {
					t.Errorf("%s: %d inputs, %d equal outputs: not a plain payout, inspect it", tx.TxHash(), len(tx.TxIn), equal)
				}
			}
			r := wireTx(tx, i == 0)
			k := cluster.DetectCoinJoin(&r)
			if k == 0 {
				continue
			}
			found[tx.TxHash().String()] = cluster.KindName(k)
			t.Errorf("%s: %s, %d inputs, %d outputs, output values by count %v", tx.TxHash(), cluster.KindName(k), len(tx.TxIn), len(tx.TxOut), vals)
		}
	}
	if lookalikes < 20 {
		t.Fatalf("only %d transactions with 3 or more equal outputs: the test proves little", lookalikes)
	}
	t.Logf("%d CoinJoins among %d transactions, %d with 3 or more equal outputs", len(found), txs, lookalikes)
}
