package query_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// openBTC ingests querytest's mainnet blocks and opens them read-only.
func openBTC(t *testing.T) *query.BTC {
	t.Helper()
	data := t.TempDir()
	querytest.BTC(t, data)
	db, err := store.Open(context.Background(), workspace.BTCStoreDir(data, "mainnet"), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := query.NewBTC(db)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestBTCNeighbors checks both directions around the first payment:
// Satoshi paid Hal 10 BTC, and Hal was paid by Satoshi alone.
func TestBTCNeighbors(t *testing.T) {
	q := openBTC(t)
	ctx := context.Background()
	out, err := q.Neighbors(ctx, querytest.Satoshi, true, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range out.Neighbors {
		if n.Address == querytest.Satoshi {
			t.Errorf("Satoshi is his own neighbour")
		}
		if n.Address == querytest.Hal {
			found = true
			if n.TxCount != 1 || n.Values[0].Value.String() != "1000000000" {
				t.Errorf("Satoshi -> Hal: %+v", n)
			}
		}
	}
	if !found || out.Total != len(out.Neighbors) || out.Truncated || out.ScannedTxs < 5 {
		t.Errorf("Satoshi's receivers: %+v", out)
	}
	in, err := q.Neighbors(ctx, querytest.Hal, false, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Neighbors) != 1 || in.Neighbors[0].Address != querytest.Satoshi || in.Neighbors[0].Values[0].Value.String() != "1000000000" {
		t.Errorf("Hal's senders: %+v", in)
	}
	capped, err := q.Neighbors(ctx, querytest.Satoshi, true, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !capped.Truncated || capped.ScannedTxs != 2 || len(capped.Neighbors) != 1 {
		t.Errorf("capped scan: %+v", capped)
	}
	if _, err := q.Neighbors(ctx, "1BitcoinEaterAddressDontSendf59kuE", true, 10, 0); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("unknown address: %v", err)
	}
}

// TestBTCBlockPagesAndStages pages a block's txids and reads the stages.
func TestBTCBlockPagesAndStages(t *testing.T) {
	q := openBTC(t)
	ctx := context.Background()
	b, err := q.Block(ctx, "546")
	if err != nil {
		t.Fatal(err)
	}
	all, err := q.BlockTxIDs(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var paged []string
	for from := 0; from < b.TxCount; from += 2 {
		ids, err := q.BlockTxIDsPage(ctx, b, from, 2)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, ids...)
	}
	if len(paged) != len(all) || len(all) != 4 {
		t.Fatalf("pages %v, all %v", paged, all)
	}
	for i := range all {
		if paged[i] != all[i] {
			t.Fatalf("page %d: %s, want %s", i, paged[i], all[i])
		}
	}
	if ids, err := q.BlockTxIDsPage(ctx, b, 10, 2); err != nil || len(ids) != 0 {
		t.Errorf("past the end: %v %v", ids, err)
	}
	stages, err := q.Stages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) < 4 || stages[0].Name != "blocks" || stages[0].Height != querytest.MainnetTip {
		t.Errorf("stages %+v", stages)
	}
}

// TestETHChain reads the simulated EVM chain: blocks by number and hash,
// transactions with token metadata, histories in pages and neighbours.
func TestETHChain(t *testing.T) {
	data := t.TempDir()
	w := querytest.ETH(t, data)
	ctx := context.Background()
	db, err := store.Open(ctx, workspace.ETHStoreDir(data, querytest.ETHNetwork), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := query.NewETH(db)
	tip, ok, err := q.Tip(ctx)
	if err != nil || !ok || tip.Height != w.Tip {
		t.Fatalf("tip %+v %v %v, want %d", tip, ok, err, w.Tip)
	}
	byHash, err := q.Block(ctx, tip.Hash)
	if err != nil || byHash != tip {
		t.Fatalf("by hash: %+v %v", byHash, err)
	}
	hashes, err := q.BlockTxHashes(ctx, tip, 0, 10)
	if err != nil || len(hashes) != 1 || hashes[0] != w.Recent.Hex() {
		t.Fatalf("tip txs %v %v, want %s", hashes, err, w.Recent.Hex())
	}
	if _, err := q.Block(ctx, strconv.FormatUint(w.Tip+1, 10)); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("block above the tip: %v", err)
	}
	if _, err := q.Block(ctx, "0x12"); err == nil || errors.Is(err, query.ErrNotFound) {
		t.Errorf("malformed block hash: %v", err)
	}
	tx, err := q.Tx(ctx, w.Token.Hex())
	if err != nil {
		t.Fatal(err)
	}
	var token *query.ETHTransfer
	for i := range tx.Transfers {
		if tx.Transfers[i].Token != "" {
			token = &tx.Transfers[i]
		}
	}
	if token == nil || token.Symbol != "USDT" || token.TokenName != "Tether USD" || token.Decimals == nil || *token.Decimals != 6 {
		t.Fatalf("token transfer %+v", token)
	}
	var all []query.ETHAddressTx
	cursor := uint64(0)
	for {
		page, next, err := q.AddressTxs(ctx, w.Carol.Hex(), cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		cursor = next
	}
	sum, err := q.Address(ctx, w.Carol.Hex(), 0)
	if err != nil || len(all) != sum.TxCount || len(all) < 4 {
		t.Fatalf("Carol's history: %d txs, summary %d (%v)", len(all), sum.TxCount, err)
	}
	in, err := q.Neighbors(ctx, w.Carol.Hex(), false, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, n := range in.Neighbors {
		got[n.Address] = len(n.Values)
	}
	if got[w.Bob.Hex()] != 2 || got[w.Pool.Hex()] != 1 {
		t.Errorf("Carol's senders %+v", in.Neighbors)
	}
	if _, err := q.Neighbors(ctx, "0x12", true, 10, 0); err == nil {
		t.Error("malformed address accepted")
	}
}

// TestBTCClusterAndInvalid reads the cluster the first multi-input
// transactions formed, and checks malformed arguments are ErrInvalid and
// absent objects ErrNotFound.
func TestBTCClusterAndInvalid(t *testing.T) {
	q := openBTC(t)
	ctx := context.Background()
	c, ok, err := q.Cluster(ctx, querytest.MultiInputSpender)
	if err != nil || !ok || c.Size < 2 {
		t.Fatalf("cluster of a multi-input spender: %+v %v %v", c, ok, err)
	}
	again, _, err := q.Cluster(ctx, querytest.MultiInputSpender)
	if err != nil || again != c {
		t.Errorf("second look-up %+v %v, first %+v", again, err, c)
	}
	single, ok, err := q.Cluster(ctx, querytest.Hal)
	if err != nil || !ok || single.Size != 1 {
		t.Errorf("Hal's cluster %+v %v %v", single, ok, err)
	}
	for _, err := range []error{
		func() error { _, err := q.Tx(ctx, "abc"); return err }(),
		func() error { _, err := q.Block(ctx, "0xzz"); return err }(),
		func() error { _, err := q.Address(ctx, "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"); return err }(),
	} {
		if !errors.Is(err, query.ErrInvalid) || errors.Is(err, query.ErrNotFound) {
			t.Errorf("malformed argument: %v", err)
		}
	}
	if _, err := q.Tx(ctx, "ab"+querytest.FirstPayment[2:]); !errors.Is(err, query.ErrNotFound) || errors.Is(err, query.ErrInvalid) {
		t.Errorf("unknown txid: %v", err)
	}
}

// TestBTCClusterWait checks a caller that stops waiting for the cluster
// index gets its context's error, and that Close stops the replay.
func TestBTCClusterWait(t *testing.T) {
	q := openBTC(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := q.Cluster(ctx, querytest.MultiInputSpender); err == nil {
		t.Error("a cancelled look-up succeeded")
	}
	q.WarmClusters()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Tx(context.Background(), querytest.FirstPayment); err != nil {
		t.Errorf("a look-up after Close: %v", err)
	}
}

// TestETHNeighborsOut checks the other direction on the EVM chain and
// the scan's bound there: Alice paid Bob and the pool.
func TestETHNeighborsOut(t *testing.T) {
	data := t.TempDir()
	w := querytest.ETH(t, data)
	ctx := context.Background()
	db, err := store.Open(ctx, workspace.ETHStoreDir(data, querytest.ETHNetwork), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := query.NewETH(db)
	out, err := q.Neighbors(ctx, w.Alice.Hex(), true, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range out.Neighbors {
		if len(n.Values) > 0 && n.Values[0].Token == "" {
			got[n.Address] = n.Values[0].Value.String()
		}
	}
	if got[w.Bob.Hex()] != "1500000000000000000" || got[w.Pool.Hex()] != "1000000000000000000" || out.Truncated {
		t.Errorf("Alice's receivers %+v", out)
	}
	capped, err := q.Neighbors(ctx, w.Alice.Hex(), true, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !capped.Truncated || capped.ScannedTxs != 1 {
		t.Errorf("capped scan %+v", capped)
	}
}
