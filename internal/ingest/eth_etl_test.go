package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/eth/etl"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

// etlExportDir makes a temporary directory holding links named as
// ethereum-etl names its exports (blocks.json, ...) to the recorded
// expected_* files of src.
func etlExportDir(t *testing.T, src string, names map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for link, target := range names {
		if err := os.Symlink(filepath.Join(src, target), filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ingestETL(t *testing.T, dir string, start uint64) (*store.DB, ingest.Status) {
	t.Helper()
	src, err := etl.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db := openEthStore(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	st, err := ingest.NewEthDecoded(db, src, ingest.Options{StartHeight: start}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return db, st
}

// TestEthETLStreamEqualsRPC imports the ethereum-etl stream export of
// blocks 1755634-1755635 (blocks, transactions with receipt_* columns,
// logs, token_transfers) and checks it against the JSON-RPC path on the
// recorded responses of the same blocks. The transactions carry
// receipt_effective_gas_price and receipt_gas_used, so even fees agree,
// and the stores are identical.
func TestEthETLStreamEqualsRPC(t *testing.T) {
	data := etlStreamDir(t)
	dir := etlExportDir(t, data, map[string]string{
		"blocks.json": "expected_blocks.json", "transactions.json": "expected_transactions.json",
		"logs.json": "expected_logs.json", "token_transfers.json": "expected_token_transfers.json",
	})
	db, st := ingestETL(t, dir, 1755634)
	raws := []*eth.RawBlock{recordedBlock(t, data, 1755634), recordedBlock(t, data, 1755635)}
	txs, transfers := checkAgainstExtract(t, db, raws)
	if st.Blocks != 2 || st.Txs != uint64(txs) || txs == 0 || transfers == 0 {
		t.Fatalf("status %+v; %d txs, %d transfers", st, txs, transfers)
	}
	rpcDB, _ := ingestEth(t, newMemEthSource(raws), ingest.Options{StartHeight: 1755634})
	if ethDigest(t, db) != ethDigest(t, rpcDB) {
		t.Fatal("the ethereum-etl import and the JSON-RPC ingest stored different data")
	}
	t.Logf("%d txs, %d transfers", txs, transfers)
}

// TestEthETLCSV imports the CSV export of blocks 47218-47219 (blocks and
// transactions only). Without receipts the statuses are unknown (treated
// as successful) and fees unknown, so the store holds each transaction
// and its native value transfer only; they must match the recorded
// JSON-RPC blocks.
func TestEthETLCSV(t *testing.T) {
	data := etlDataDir(t, "test_export_blocks_job/blocks_with_transactions")
	dir := etlExportDir(t, data, map[string]string{
		"blocks.csv": "expected_blocks.csv", "transactions.csv": "expected_transactions.csv",
	})
	db, st := ingestETL(t, dir, 47218)
	ctx := context.Background()
	n := 0
	for h := uint64(47218); h <= 47219; h++ {
		var blk struct {
			Hash string            `json:"hash"`
			Txs  []json.RawMessage `json:"transactions"`
		}
		if err := json.Unmarshal(web3Result(t, filepath.Join(data, fmt.Sprintf("web3_response.eth_getBlockByNumber_%#x_true.json", h))), &blk); err != nil {
			t.Fatal(err)
		}
		rec, err := db.EthBlockByHeight(ctx, h)
		if err != nil || hexHashOf(rec.Hash) != blk.Hash || int(rec.TxCount) != len(blk.Txs) {
			t.Fatalf("block %d: %+v %v", h, rec, err)
		}
		for i, m := range blk.Txs {
			var tx types.Transaction
			var ex struct {
				Hash string `json:"hash"`
				From string `json:"from"`
			}
			if err := json.Unmarshal(m, &tx); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(m, &ex); err != nil {
				t.Fatal(err)
			}
			var r store.EthTxRec
			if err := db.EthTx(ctx, rec.TxNumMin+uint64(i), &r); err != nil {
				t.Fatal(err)
			}
			if hexHashOf(r.Hash) != ex.Hash || !strings.EqualFold(addrOf(t, db, r.From).Hex(), ex.From) ||
				addrOf(t, db, r.To) != *tx.To() || r.Value.String() != tx.Value().String() || r.Status != store.EthTxUnknown {
				t.Fatalf("block %d tx %d: stored %+v", h, i, r)
			}
			if len(r.Transfers) != 1 || eth.Kind(r.Transfers[0].Kind) != eth.Native || r.Transfers[0].Amount.String() != tx.Value().String() ||
				addrOf(t, db, r.Transfers[0].To) != *tx.To() {
				t.Fatalf("block %d tx %d: transfers %+v", h, i, r.Transfers)
			}
			n++
		}
	}
	if n == 0 || st.Txs != uint64(n) {
		t.Fatalf("status %+v, %d txs checked", st, n)
	}
}

func hexHashOf(h [32]byte) string { return fmt.Sprintf("%#x", h[:]) }

// TestEthETLBadInput checks that broken exports fail at Open with the file
// and line at fault, before anything is written.
func TestEthETLBadInput(t *testing.T) {
	data := etlDataDir(t, "test_export_blocks_job/blocks_with_transactions")
	blocks, err := os.ReadFile(filepath.Join(data, "expected_blocks.csv"))
	if err != nil {
		t.Fatal(err)
	}
	txs, err := os.ReadFile(filepath.Join(data, "expected_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(txs), "\n"), "\n")
	cases := []struct {
		name, want string
		edit       func(line string) string
	}{
		{"missing block", "transactions.csv line 3: block 99999 is not in the blocks file",
			func(l string) string { return strings.Replace(l, ",47218,", ",99999,", 1) }},
		{"malformed number", "transactions.csv line 3 column gas: bad number",
			func(l string) string { return strings.Replace(l, ",21000,", ",21x00,", 1) }},
	}
	db := openEthStore(t, t.TempDir())
	defer db.Close()
	before := ethDigest(t, db)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := append([]string(nil), lines...)
			bad[2] = c.edit(bad[2])
			if bad[2] == lines[2] {
				t.Fatal("edit did not apply")
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "blocks.csv"), blocks, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "transactions.csv"), []byte(strings.Join(bad, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := etl.Open(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want %q", err, c.want)
			}
			if src != nil {
				t.Fatal("Open returned a source with an error")
			}
			if ethDigest(t, db) != before {
				t.Fatal("store changed")
			}
		})
	}
}
