package trace

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

// utxoMainnetBlk returns the path of the real mainnet blocks 0-14131 that
// ship in the btcd module's testdata, or skips the test.
func utxoMainnetBlk(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("btcd module not available (go list: %v): real mainnet blocks are needed", err)
	}
	path := filepath.Join(dir, "blockchain", "testdata", "blk_0_to_14131.dat")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("mainnet blocks not found: %v", err)
	}
	return path
}

// utxoMainnetStore ingests the real mainnet blocks 0-14131 through
// chaintrace's own pipeline into a store closed when the test ends, and
// returns the block file's path with it. It skips in -short mode.
func utxoMainnetStore(t *testing.T) (string, *store.DB) {
	t.Helper()
	if testing.Short() {
		t.Skip("ingests 14,132 mainnet blocks")
	}
	path := utxoMainnetBlk(t)
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src, err := blkfile.Open(ctx, path, wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := ingest.NewBTC(db, src, ingest.Options{BatchBytes: 4 << 20}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	return path, db
}

// utxoOracleTx is a transaction as btcd's wire and txscript read it.
type utxoOracleTx struct {
	ins  []wire.OutPoint // nil for a coinbase
	outs []utxoOracleOut
}

type utxoOracleOut struct {
	value int64
	addr  string // first address; P2PK as its P2PKH address, as chaintrace indexes it
}

// utxoOracleChain decodes a Core block file with btcd alone, independently
// of chaintrace's decoder, ingest and store.
func utxoOracleChain(t *testing.T, path string) ([]utxoOracleTx, map[wire.OutPoint]utxoOutKey) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var txs []utxoOracleTx
	where := map[wire.OutPoint]utxoOutKey{}
	r := bytes.NewReader(data)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil || binary.LittleEndian.Uint32(hdr[:4]) == 0 {
			break
		}
		raw := make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(r, raw); err != nil {
			t.Fatal(err)
		}
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		for _, tx := range mb.Transactions {
			var ot utxoOracleTx
			if !(len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex) {
				for _, in := range tx.TxIn {
					ot.ins = append(ot.ins, in.PreviousOutPoint)
				}
			}
			h := tx.TxHash()
			for i, o := range tx.TxOut {
				_, as, _, _ := txscript.ExtractPkScriptAddrs(o.PkScript, &chaincfg.MainNetParams)
				out := utxoOracleOut{value: o.Value}
				if len(as) > 0 {
					a := as[0]
					if pk, ok := a.(*btcutil.AddressPubKey); ok {
						a = pk.AddressPubKeyHash()
					}
					out.addr = a.EncodeAddress()
				}
				ot.outs = append(ot.outs, out)
				where[wire.OutPoint{Hash: h, Index: uint32(i)}] = utxoOutKey{uint64(len(txs)), uint32(i)}
			}
			txs = append(txs, ot)
		}
	}
	return txs, where
}

// utxoOracleTaint is an output's taint and hop.
type utxoOracleTaint struct {
	amt int64
	hop int
}

// utxoOracleForward traces forward naively: every transaction in chain
// order, its inputs looked up in a map. It follows the engine's documented
// rules with no labels, dust or window: outputs the source received are
// fully tainted at hop 0; an output at a hop above hops is not followed;
// haircut shares by the largest remainder over the outputs and the fee.
func utxoOracleForward(txs []utxoOracleTx, where map[wire.OutPoint]utxoOutKey, source string, m Model, hops int) map[utxoOutKey]utxoOracleTaint {
	taint := map[utxoOutKey]utxoOracleTaint{}
	for n, tx := range txs {
		var tIn, vIn, vOut int64
		minHop := -1
		for _, op := range tx.ins {
			k := where[op]
			vIn += txs[k.tx].outs[k.vout].value
			if tt, ok := taint[k]; ok && tt.amt > 0 && tt.hop <= hops {
				tIn += tt.amt
				if minHop < 0 || tt.hop < minHop {
					minHop = tt.hop
				}
			}
		}
		for _, o := range tx.outs {
			vOut += o.value
		}
		amts := make([]int64, len(tx.outs))
		if tIn > 0 {
			switch m {
			case Poison:
				for j, o := range tx.outs {
					amts[j] = o.value
				}
			case Haircut:
				type part struct {
					j    int
					rem  *big.Int
					base int64
				}
				parts := make([]part, 0, len(tx.outs)+1)
				left := tIn
				for j := 0; j <= len(tx.outs); j++ {
					w := vIn - vOut // the fee, last
					if j < len(tx.outs) {
						w = tx.outs[j].value
					}
					q, rem := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(tIn), big.NewInt(w)), big.NewInt(vIn), new(big.Int))
					parts = append(parts, part{j, rem, q.Int64()})
					left -= q.Int64()
				}
				sort.SliceStable(parts, func(a, b int) bool { return parts[a].rem.Cmp(parts[b].rem) > 0 })
				for _, p := range parts {
					if left > 0 && p.rem.Sign() > 0 {
						p.base++
						left--
					}
					if p.j < len(tx.outs) {
						amts[p.j] = p.base
					}
				}
			}
		}
		for j, o := range tx.outs {
			k := utxoOutKey{uint64(n), uint32(j)}
			tt := utxoOracleTaint{amts[j], minHop + 1}
			if o.addr == source {
				tt = utxoOracleTaint{o.value, 0}
			}
			if tt.amt > 0 {
				taint[k] = tt
			}
		}
	}
	return taint
}

// TestUTXOMainnet traces forward from a real early address on the real
// mainnet blocks 0-14131 (ingested through chaintrace's own pipeline) and
// compares every tainted output, amount and hop with utxoOracleForward's
// naive computation over btcd's decoding of the same file. The source,
// 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S, mined block 9 and paid Hal Finney
// 10 BTC in block 170, the first bitcoin payment between people.
func TestUTXOMainnet(t *testing.T) {
	path, db := utxoMainnetStore(t)
	ctx := context.Background()
	txs, where := utxoOracleChain(t, path)
	e, err := NewUTXO(db, UTXOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 1DZTzaBHUDM7T3QvUKBz4qXMRpkg8jsfB5 is picked because its value
	// merges with clean inputs within 3 hops, so that haircut and poison
	// differ on several outputs.
	const hops = 3
	for _, c := range []struct {
		source string
		m      Model
	}{
		{"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", Poison},
		{"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", Haircut},
		{"1DZTzaBHUDM7T3QvUKBz4qXMRpkg8jsfB5", Poison},
		{"1DZTzaBHUDM7T3QvUKBz4qXMRpkg8jsfB5", Haircut},
	} {
		source, m := c.source, c.m
		got := map[utxoOutKey]utxoOracleTaint{}
		e.observe = func(tx uint64, vout uint32, amt int64, hop int) {
			got[utxoOutKey{tx, vout}] = utxoOracleTaint{amt, hop}
		}
		res, err := e.Run(ctx, Params{From: []string{source}, Model: m, Hops: hops}, nil)
		e.observe = nil
		if err != nil {
			t.Fatal(err)
		}
		want := utxoOracleForward(txs, where, source, m, hops)
		if len(want) < 5 {
			t.Fatalf("%s %s: the oracle taints only %d outputs", source, m, len(want))
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || g != w {
				t.Errorf("%s %s: output %d:%d: engine %+v (present %v), oracle %+v", source, m, k.tx, k.vout, g, ok, w)
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s %s: output %d:%d tainted %+v by the engine only", source, m, k.tx, k.vout, g)
			}
		}
		if m == Haircut && !res.Totals[0].Balanced() {
			t.Errorf("haircut totals do not balance: %+v", res.Totals[0])
		}
		t.Logf("%s %s: %d tainted outputs, %d edges, totals %+v", source, m, len(got), len(res.Edges), res.Totals[0])
	}
}
