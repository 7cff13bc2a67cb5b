package ingest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/btcdtest"
	"github.com/chaintrace/chaintrace/internal/btc/rpc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
)

func rpcSource(t *testing.T, n *btcdtest.Node) *rpc.Client {
	t.Helper()
	c, err := rpc.New(rpc.Config{URL: "http://" + n.RPCAddr, User: n.User, Password: n.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ingestRPC(t *testing.T, db store.Graph, n *btcdtest.Node) ingest.Status {
	t.Helper()
	st, err := ingest.NewBTC(db, rpcSource(t, n), ingest.Options{}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestIngestFromBtcdNode runs a real btcd node on simnet, makes signed
// transactions paying every standard output type, ingests over JSON-RPC,
// forces a reorg, ingests again, and follows the tip; after each step the
// store must equal a fresh ingest of the node's current best chain.
func TestIngestFromBtcdNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs btcd")
	}
	ctx := t.Context()
	n := btcdtest.MustStart(ctx, t, btcdtest.Options{})
	if err := n.ActivateSegwit(ctx); err != nil {
		t.Fatal(err)
	}
	w := n.Wallet()
	addr := func(k btcdtest.AddressKind) btcutil.Address {
		a, err := w.NewAddress(k)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	pay := func(a btcutil.Address, v int64) *wire.TxOut {
		o, err := btcdtest.PayTo(a, btcutil.Amount(v))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	opret, err := btcdtest.OpReturn([]byte("chaintrace"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := []btcdtest.AddressKind{btcdtest.P2PKH, btcdtest.P2WPKH, btcdtest.P2SH, btcdtest.P2WSH, btcdtest.P2TR}
	wantClass := []string{"p2pkh", "p2wpkh", "p2sh", "p2wsh", "p2tr"}
	var outs []*wire.TxOut
	var addrs []btcutil.Address
	for i, k := range kinds {
		a := addr(k)
		addrs = append(addrs, a)
		outs = append(outs, pay(a, int64(1_000_000*(i+1))))
	}
	outs = append(outs, opret)
	tx1, err := w.Send(ctx, outs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Spend the P2PKH and P2WPKH outputs of tx1 in one transaction.
	coins, err := w.Coins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ins []btcdtest.Coin
	for _, c := range coins {
		if c.OutPoint.Hash == tx1.TxHash() && c.OutPoint.Index < 2 {
			ins = append(ins, c)
		}
	}
	if len(ins) != 2 {
		t.Fatalf("wallet has %d of tx1's first two outputs", len(ins))
	}
	dest := addr(btcdtest.P2WPKH)
	tx2, err := w.Spend(ctx, ins, pay(dest, 2_500_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}

	db := openStore(t, t.TempDir(), "simnet")
	st := ingestRPC(t, db, n)
	tip, tipHash, err := rpcSource(t, n).Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Height != tip || st.TipHash != tipHash {
		t.Fatalf("ingested to %d %s; node tip %d %s", st.Height, st.TipHash, tip, tipHash)
	}
	q, err := query.NewBTC(db)
	if err != nil {
		t.Fatal(err)
	}
	got1, err := q.Tx(ctx, tx1.TxHash().String())
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range addrs {
		o := got1.Outputs[i]
		if o.Address != a.EncodeAddress() || o.Script.String() != wantClass[i] || o.Value != int64(1_000_000*(i+1)) {
			t.Errorf("tx1 output %d = %+v; want %s %s", i, o, wantClass[i], a.EncodeAddress())
		}
	}
	if o := got1.Outputs[len(addrs)]; o.Script.String() != "nulldata" || o.Address != "" {
		t.Errorf("OP_RETURN output = %+v", o)
	}
	for i := 0; i < 2; i++ {
		if sp := got1.Outputs[i].Spent; sp == nil || sp.TxID != tx2.TxHash().String() {
			t.Errorf("tx1 output %d spent by %+v, want tx2", i, sp)
		}
	}
	got2, err := q.Tx(ctx, tx2.TxHash().String())
	if err != nil {
		t.Fatal(err)
	}
	// The wallet orders inputs as it likes: match them by outpoint.
	for _, in := range got2.Inputs {
		v := in.PrevOut
		if in.PrevTxID != tx1.TxHash().String() || v > 1 || in.Address != addrs[v].EncodeAddress() || in.Value != int64(1_000_000*(v+1)) {
			t.Errorf("tx2 input %+v does not resolve to tx1's output %d", in, v)
		}
	}
	if !got2.FeeKnown || got2.Fee != 3_000_000-got2.Outputs[0].Value-got2.Outputs[1].Value {
		t.Errorf("tx2 fee = %d (known %v)", got2.Fee, got2.FeeKnown)
	}
	s, err := q.Address(ctx, dest.EncodeAddress())
	if err != nil || s.Balance != 2_500_000 || s.TxCount != 1 {
		t.Errorf("destination address = %+v, %v", s, err)
	}

	// A reorg: three blocks replaced by five.
	detached, attached, err := n.Reorg(ctx, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	st = ingestRPC(t, db, n)
	if st.Unwound != 3 || st.Blocks != 5 {
		t.Fatalf("after reorg: unwound %d, applied %d; want 3 and 5", st.Unwound, st.Blocks)
	}
	for _, h := range detached {
		if _, err := db.BlockByHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("detached block %s still stored: %v", h, err)
		}
	}
	if _, err := db.BlockByHash(ctx, attached[len(attached)-1]); err != nil {
		t.Fatal(err)
	}
	fresh := openStore(t, t.TempDir(), "simnet")
	ingestRPC(t, fresh, n)
	if got, want := digest(t, db), digest(t, fresh); got != want {
		t.Fatalf("store after reorg %s; fresh ingest %s", got, want)
	}

	// Follow the tip through new blocks and another reorg.
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := ingest.NewBTC(db, rpcSource(t, n), ingest.Options{Follow: true, PollInterval: 50 * time.Millisecond}).Run(fctx)
		done <- err
	}()
	if _, err := n.Generate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Reorg(ctx, 2, 3); err != nil {
		t.Fatal(err)
	}
	_, want, err := rpcSource(t, n).Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, ok, err := db.Progress(ctx, "blocks")
		if err != nil {
			t.Fatal(err)
		}
		if ok && p.Hash == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow mode did not reach the node's tip %s (at %d %s)", want, p.Height, p.Hash)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow mode: %v", err)
	}
	fresh2 := openStore(t, t.TempDir(), "simnet")
	ingestRPC(t, fresh2, n)
	if got, want := digest(t, db), digest(t, fresh2); got != want {
		t.Fatalf("store after following %s; fresh ingest %s", got, want)
	}
}
