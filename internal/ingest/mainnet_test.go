package ingest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
)

// btcdDir returns the btcd module directory, whose testdata holds real
// mainnet blocks, or skips the test.
func btcdDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("btcd module not available (go list: %v): real mainnet blocks are needed", err)
	}
	return dir
}

func mainnetBlk(t testing.TB) string {
	return filepath.Join(btcdDir(t), "blockchain", "testdata", "blk_0_to_14131.dat")
}

func openStore(t testing.TB, dir string, network string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "btc", Network: network}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ingestFiles(t testing.TB, db store.Graph, path string, net wire.BitcoinNet, opts ingest.Options) ingest.Status {
	t.Helper()
	ctx := context.Background()
	src, err := blkfile.Open(ctx, path, net)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st, err := ingest.NewBTC(db, src, opts).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// oracleAddr is what btcd's own wire and txscript say about an address.
type oracleAddr struct {
	received, sent int64
	txs            map[int]bool // ordinals of transactions touching it
}

// oracle decodes a Core block file with btcd's wire package and sums
// every address's activity with txscript, independently of chaintrace's
// decoder and store. P2PK outputs are credited to the P2PKH address of
// their key, as chaintrace indexes them.
func oracle(t testing.TB, path string, params *chaincfg.Params) (map[string]*oracleAddr, int, int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type out struct {
		addrs []string
		value int64
	}
	utxos := map[wire.OutPoint]out{}
	addrs := map[string]*oracleAddr{}
	touch := func(a string, txn int) *oracleAddr {
		o := addrs[a]
		if o == nil {
			o = &oracleAddr{txs: map[int]bool{}}
			addrs[a] = o
		}
		o.txs[txn] = true
		return o
	}
	r := bytes.NewReader(data)
	blocks, txn := 0, 0
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break
		}
		if binary.LittleEndian.Uint32(hdr[:4]) == 0 {
			break // zero padding after the last record
		}
		size := binary.LittleEndian.Uint32(hdr[4:])
		raw := make([]byte, size)
		if _, err := io.ReadFull(r, raw); err != nil {
			t.Fatal(err)
		}
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		blocks++
		for _, tx := range mb.Transactions {
			if !(len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex) {
				for _, in := range tx.TxIn {
					o, ok := utxos[in.PreviousOutPoint]
					if !ok {
						t.Fatalf("oracle: unknown outpoint %v", in.PreviousOutPoint)
					}
					delete(utxos, in.PreviousOutPoint)
					for _, a := range o.addrs {
						touch(a, txn).sent += o.value
					}
				}
			}
			h := tx.TxHash()
			for i, o := range tx.TxOut {
				_, as, _, _ := txscript.ExtractPkScriptAddrs(o.PkScript, params)
				var names []string
				for _, a := range as {
					if pk, ok := a.(*btcutil.AddressPubKey); ok {
						a = pk.AddressPubKeyHash()
					}
					names = append(names, a.EncodeAddress())
				}
				for _, a := range names {
					touch(a, txn).received += o.Value
				}
				utxos[wire.OutPoint{Hash: h, Index: uint32(i)}] = out{names, o.Value}
			}
			txn++
		}
	}
	return addrs, blocks, txn
}

func TestIngestMainnetBlocks0To14131(t *testing.T) {
	path := mainnetBlk(t)
	db := openStore(t, t.TempDir(), "mainnet")
	st := ingestFiles(t, db, path, wire.MainNet, ingest.Options{BatchBytes: 1 << 20})
	want, blocks, txs := oracle(t, path, &chaincfg.MainNetParams)
	if st.Height != uint64(blocks-1) || st.Txs != uint64(txs) {
		t.Fatalf("ingested to height %d with %d txs; btcd wire counts %d blocks, %d txs", st.Height, st.Txs, blocks, txs)
	}
	ctx := context.Background()
	q, err := query.NewBTC(db)
	if err != nil {
		t.Fatal(err)
	}
	// Facts anyone can check on a block explorer.
	tx, err := q.Tx(ctx, "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
	if err != nil {
		t.Fatal(err)
	}
	if tx.Height != 170 || len(tx.Outputs) != 2 || len(tx.Inputs) != 1 {
		t.Fatalf("block 170 tx: %+v", tx)
	}
	if o := tx.Outputs[0]; o.Address != "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3" || o.Value != 10_0000_0000 {
		t.Fatalf("output 0 = %+v, want 10 BTC to 1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", o)
	}
	if o := tx.Outputs[1]; o.Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" || o.Value != 40_0000_0000 {
		t.Fatalf("output 1 = %+v, want 40 BTC to 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", o)
	}
	if in := tx.Inputs[0]; in.PrevTxID != "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9" || in.Value != 50_0000_0000 || in.Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
		t.Fatalf("input = %+v, want block 9's coinbase (50 BTC, 12cbQ...)", in)
	}
	if tx.Fee != 0 {
		t.Fatalf("fee = %d", tx.Fee)
	}
	// Every address against the oracle.
	for addr, w := range want {
		s, err := q.Address(ctx, addr)
		if err != nil {
			t.Fatalf("address %s: %v", addr, err)
		}
		if s.TotalReceived != w.received || s.TotalSent != w.sent || s.TxCount != len(w.txs) || s.Balance != w.received-w.sent {
			t.Fatalf("address %s: got received %d sent %d txs %d; btcd says %d %d %d", addr, s.TotalReceived, s.TotalSent, s.TxCount, w.received, w.sent, len(w.txs))
		}
	}
	b, err := q.Block(ctx, "170")
	if err != nil || b.Hash != "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee" || b.TxCount != 2 {
		t.Fatalf("block 170 = %+v, %v", b, err)
	}
}

// TestIngestIsIncremental ingests in three runs with MaxHeight and checks
// the store equals a single run's.
func TestIngestIsIncremental(t *testing.T) {
	path := mainnetBlk(t)
	one := openStore(t, t.TempDir(), "mainnet")
	ingestFiles(t, one, path, wire.MainNet, ingest.Options{})
	parts := openStore(t, t.TempDir(), "mainnet")
	for _, h := range []uint64{1, 5000, 9000, 0} {
		ingestFiles(t, parts, path, wire.MainNet, ingest.Options{MaxHeight: h, BatchBytes: 256 << 10})
	}
	ingestFiles(t, parts, path, wire.MainNet, ingest.Options{}) // nothing new
	d1, n1, err := one.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d2, n2, err := parts.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 || n1 != n2 {
		t.Fatalf("incremental store differs: %d entries %x vs %d entries %x", n2, d2[:8], n1, d1[:8])
	}
}
