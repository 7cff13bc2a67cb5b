package ingest

import (
	"context"
	"slices"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// TestClustersStage runs the stage's Forward over hand-built records and
// checks the link log (a link for the multi-address spend, a CoinJoin kind
// for the Whirlpool-shaped mix, nothing for the coinbase and the
// single-address spend), then Unwind, which must restore the store.
func TestClustersStage(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before, _, err := db.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := func(addr uint64) store.InRec { return store.InRec{Value: 10_000_000, AddrID: addr} }
	outs := func(n int, v int64) []store.OutRec {
		o := make([]store.OutRec, n)
		for i := range o {
			o[i] = store.OutRec{Value: v, Class: model.ScriptP2WPKH, AddrIDs: []uint64{uint64(100 + i)}}
		}
		return o
	}
	recs := []store.TxRec{
		{TxNum: 7, Coinbase: true, Ins: []store.InRec{in(1), in(2)}, Outs: outs(1, 5)},
		{TxNum: 8, Ins: []store.InRec{in(4), in(3), in(4), {External: true}}, Outs: outs(2, 5)},
		{TxNum: 9, Ins: []store.InRec{in(5), in(5)}, Outs: outs(2, 5)},
		{TxNum: 10, Ins: []store.InRec{in(1), in(2), in(3), in(4), in(5)}, Outs: outs(5, 1_000_000)},
	}
	s := &clustersStage{}
	w := db.NewBatch()
	if err := s.Forward(ctx, w, &prepBlock{recs: recs}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	w.Close()
	type entry struct {
		txnum uint64
		kind  uint8
		ids   []uint64
	}
	var got []entry
	if err := db.Links(ctx, 0, func(txnum uint64, kind uint8, ids []uint64) bool {
		got = append(got, entry{txnum, kind, slices.Clone(ids)})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].txnum != 8 || got[0].kind != store.LinkMultiInput || !slices.Equal(got[0].ids, []uint64{3, 4}) ||
		got[1].txnum != 10 || got[1].kind != store.LinkWhirlpool || len(got[1].ids) != 0 {
		t.Fatalf("link log = %+v", got)
	}
	w = db.NewBatch()
	if err := s.Unwind(ctx, w, &unwindBlock{txs: recs}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	w.Close()
	after, _, err := db.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatal("Unwind did not remove what Forward wrote")
	}
}
