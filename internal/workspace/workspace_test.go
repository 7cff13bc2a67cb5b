package workspace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// TestIngestLabelTrace generates a small obfuscated regtest chain,
// ingests it twice (the second run applies nothing), labels an output of
// one of its transactions as an exchange, and traces that transaction
// through the workspace: the exchange is an endpoint.
func TestIngestLabelTrace(t *testing.T) {
	ctx := t.Context()
	blocks := filepath.Join(t.TempDir(), "blocks")
	key := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	if _, err := btcgen.Generate(ctx, blocks, btcgen.Config{Seed: 3, Net: &chaincfg.RegressionNetParams, Blocks: 130, TxPerBlock: 40, XORKey: &key}, nil); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	var calls int
	o := IngestOptions{Options: ingest.Options{Progress: func(ingest.Status) { calls++ }}}
	st, err := IngestBlockFiles(ctx, data, blocks, &chaincfg.RegressionNetParams, o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks == 0 || st.Txs == 0 || calls == 0 {
		t.Fatalf("first ingest: %+v after %d progress calls", st, calls)
	}
	again, err := IngestBlockFiles(ctx, data, blocks, &chaincfg.RegressionNetParams, IngestOptions{})
	if err != nil || again.Blocks != 0 || again.Starting != st.Height {
		t.Fatalf("second ingest: %+v, %v: want nothing applied at height %d", again, err, st.Height)
	}
	tip, ok, err := StoreTip(ctx, data, "btc-regtest")
	if err != nil || !ok || tip.Height != st.Height || tip.Hash != st.TipHash {
		t.Fatalf("StoreTip %+v %v %v; want %d %s", tip, ok, err, st.Height, st.TipHash)
	}
	if _, ok, err := StoreTip(ctx, data, "eth-none"); ok || err != nil {
		t.Fatalf("StoreTip of an absent store: %v %v", ok, err)
	}

	txid, exch := pickTx(t, data, st.Height)
	csv := filepath.Join(t.TempDir(), "exchanges.csv")
	if err := os.WriteFile(csv, []byte("address,name\n"+exch+",Test Exchange\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := ImportLabels(ctx, data, csv, ImportOptions{CSVMap: "address=address,label=name,chain=btc-regtest,category=exchange"})
	if err != nil || sum.Total.Added != 1 || sum.Format != "csv" {
		t.Fatalf("import: %+v, %v", sum, err)
	}

	ws, err := Open(ctx, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if chain, err := ws.ResolveChain("btc"); err != nil || chain != "btc-regtest" {
		t.Fatalf("ResolveChain(btc) = %q, %v", chain, err)
	}
	if _, err := ws.ResolveChain("eth"); err == nil || !strings.HasPrefix(err.Error(), "workspace: no eth store") {
		t.Fatalf("ResolveChain(eth) without a store: %v", err)
	}
	if got := ws.Chains(); len(got) != 1 || got[0] != "btc-regtest" || ws.Index() == nil {
		t.Fatalf("chains %v, index %v", got, ws.Index())
	}
	res, err := ws.Multi().Trace(ctx, trace.Params{Chain: "btc-regtest", FromTxs: []string{txid}, Hops: 2})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range res.Endpoints {
		found = found || e.Address == exch && e.Entity == "Test Exchange"
	}
	if !found {
		t.Fatalf("no endpoint at %s: %+v", exch, res.Endpoints)
	}
	if u, ok := ws.Units(ctx)("btc-regtest", "BTC"); !ok || u.Decimals != 8 {
		t.Fatalf("units of BTC: %+v", u)
	}
	if _, err := ws.ClusterOf(ctx); err != nil {
		t.Fatal(err)
	}
	ix := ws.Index()
	if err := ws.Close(); err != nil {
		t.Fatal(err)
	}

	// A server shares the stores it opened and its own label look-ups:
	// the workspace traces alike over them, and Close leaves the store
	// open for its owner.
	db, err := store.Open(ctx, BTCStoreDir(data, "regtest"), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	shared, err := Open(ctx, data, Options{Stores: map[string]*store.DB{BTCStoreDir(data, "regtest"): db}, Labels: ix})
	if err != nil {
		t.Fatal(err)
	}
	if shared.Index() != nil || shared.Labels() != nil {
		t.Error("a workspace given labels opened the label database")
	}
	shared2, err := shared.Trace(ctx, trace.Params{Chain: "btc-regtest", FromTxs: []string{txid}, Hops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(shared2.Endpoints) != len(res.Endpoints) || len(shared2.Edges) != len(res.Edges) {
		t.Errorf("over shared stores: %d endpoints, %d edges; want %d, %d", len(shared2.Endpoints), len(shared2.Edges), len(res.Endpoints), len(res.Edges))
	}
	if err := shared.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Progress(ctx, "blocks"); err != nil {
		t.Errorf("the shared store after the workspace closed: %v", err)
	}
}

// pickTx returns a transaction near the tip that spends something and an
// address it pays.
func pickTx(t *testing.T, data string, tip uint64) (string, string) {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, BTCStoreDir(data, "regtest"), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := query.NewBTC(db)
	if err != nil {
		t.Fatal(err)
	}
	for h := tip; h > 0; h-- {
		b, err := q.Block(ctx, strconv.FormatUint(h, 10))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := q.BlockTxIDs(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			tx, err := q.Tx(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if tx.Coinbase || len(tx.Inputs) == 0 {
				continue
			}
			for _, o := range tx.Outputs {
				if o.Address != "" && !strings.Contains(o.Address, ",") {
					return id, o.Address
				}
			}
		}
	}
	t.Fatal("no spending transaction with an address output")
	return "", ""
}
