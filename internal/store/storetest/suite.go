// Package storetest is the behaviour every store.Graph implementation must
// show, as one test suite that each backend's tests run (the way lnd runs
// one chain-notifier suite against every backend).
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// Opener returns a fresh, empty Graph for one subtest; the suite does not
// close it (register cleanup in Opener).
type Opener func(t *testing.T) store.Graph

// Run runs the suite against the backend open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, g store.Graph)
	}{
		{"RoundTrip", testRoundTrip},
		{"BatchIsAtomic", testBatchIsAtomic},
		{"NotFound", testNotFound},
		{"EventsOrder", testEventsOrder},
		{"DeleteUndoesPut", testDeleteUndoesPut},
		{"AddrsFrom", testAddrsFrom},
		{"Links", testLinks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func hash(b byte) chainhash.Hash {
	var h chainhash.Hash
	for i := range h {
		h[i] = b + byte(i)
	}
	return h
}

// sample is a two-block graph: a coinbase paying address 1, then a
// transaction spending it to addresses 2 and 3 (a 2-of-2 multisig) and an
// OP_RETURN.
type sample struct {
	blocks []store.BlockRec
	txs    []store.TxRec
	events []store.Event
}

func newSample() sample {
	var s sample
	s.blocks = []store.BlockRec{
		{Height: 0, Hash: hash(1), Time: 1231006505, Bits: 0x1d00ffff, Size: 285, Weight: 1140, TxNumMin: 0, TxCount: 1, AddrIDMin: 1},
		{Height: 1, Hash: hash(2), Prev: hash(1), Version: 2, Time: 1231006600, Size: 500, Weight: 2000, TxNumMin: 1, TxCount: 2, AddrIDMin: 2},
	}
	s.txs = []store.TxRec{
		{TxNum: 0, TxID: hash(10), Height: 0, Version: 1, Size: 204, VSize: 204, Coinbase: true,
			Outs: []store.OutRec{{Value: 50_0000_0000, Class: model.ScriptP2PK, AddrIDs: []uint64{1}}}},
		{TxNum: 1, TxID: hash(11), Height: 1, Version: 2, LockTime: 7, Size: 300, VSize: 250,
			Ins: []store.InRec{{PrevTxNum: 0, PrevVout: 0, Value: 50_0000_0000, AddrID: 1}},
			Outs: []store.OutRec{
				{Value: 49_0000_0000, Class: model.ScriptMultisig, AddrIDs: []uint64{2, 3}},
				{Value: 0, Class: model.ScriptNullData},
			}},
		{TxNum: 2, TxID: hash(12), Height: 1, Index: 1, Version: 1, Size: 200, VSize: 200,
			Ins:  []store.InRec{{External: true, PrevTxID: hash(99), PrevVout: 3}, {PrevTxNum: 1, PrevVout: 0, Value: 49_0000_0000, AddrID: 2}},
			Outs: []store.OutRec{{Value: 1, Class: model.ScriptNonStandard, AddrIDs: []uint64{4}}}},
	}
	s.events = []store.Event{
		{AddrID: 1, TxNum: 0, Index: 0, Value: 50_0000_0000},
		{AddrID: 1, TxNum: 1, Spent: true, Index: 0, Value: 50_0000_0000},
		{AddrID: 2, TxNum: 1, Index: 0, Value: 49_0000_0000},
		{AddrID: 3, TxNum: 1, Index: 0, Value: 49_0000_0000},
	}
	return s
}

func (s sample) write(t *testing.T, g store.Graph) {
	t.Helper()
	ctx := context.Background()
	b := g.NewBatch()
	defer b.Close()
	for i := range s.blocks {
		b.PutBlock(&s.blocks[i])
	}
	for i := range s.txs {
		b.PutTx(&s.txs[i])
	}
	b.PutSpend(0, 0, store.SpendRec{TxNum: 1, Vin: 0})
	b.PutAddr(1, []byte{1, 0xaa})
	b.PutAddr(2, []byte{1, 0xbb})
	b.PutAddr(3, []byte{1, 0xcc})
	for _, e := range s.events {
		b.PutEvent(e)
	}
	b.SetProgress("blocks", store.Progress{Height: 1, Hash: hash(2)})
	b.SetMetaU64("next_addr_id", 4)
	if err := b.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
}

func testRoundTrip(t *testing.T, g store.Graph) {
	ctx := context.Background()
	s := newSample()
	s.write(t, g)
	for _, want := range s.blocks {
		got, err := g.BlockByHeight(ctx, want.Height)
		if err != nil || got != want {
			t.Fatalf("BlockByHeight(%d) = %+v, %v; want %+v", want.Height, got, err, want)
		}
		got, err = g.BlockByHash(ctx, want.Hash)
		if err != nil || got != want {
			t.Fatalf("BlockByHash = %+v, %v", got, err)
		}
	}
	for _, want := range s.txs {
		num, err := g.TxNum(ctx, want.TxID)
		if err != nil || num != want.TxNum {
			t.Fatalf("TxNum = %d, %v; want %d", num, err, want.TxNum)
		}
		var got store.TxRec
		if err := g.Tx(ctx, num, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Ins) == 0 {
			got.Ins = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Tx(%d) =\n%+v\nwant\n%+v", num, got, want)
		}
	}
	if _, ok := s.txs[2].Fee(); ok {
		t.Fatal("fee of a tx with an external input reported as known")
	}
	if fee, ok := s.txs[1].Fee(); fee != 1_0000_0000 || !ok {
		t.Fatalf("fee = %d %v", fee, ok)
	}
	sp, ok, err := g.Spender(ctx, 0, 0)
	if err != nil || !ok || sp != (store.SpendRec{TxNum: 1, Vin: 0}) {
		t.Fatalf("Spender = %+v %v %v", sp, ok, err)
	}
	if _, ok, err := g.Spender(ctx, 1, 0); err != nil || ok {
		t.Fatalf("unspent output reported spent: %v %v", ok, err)
	}
	id, err := g.AddrID(ctx, []byte{1, 0xbb})
	if err != nil || id != 2 {
		t.Fatalf("AddrID = %d, %v", id, err)
	}
	k, err := g.AddrKey(ctx, 3)
	if err != nil || string(k) != string([]byte{1, 0xcc}) {
		t.Fatalf("AddrKey = %x, %v", k, err)
	}
	p, ok, err := g.Progress(ctx, "blocks")
	if err != nil || !ok || p.Height != 1 || p.Hash != hash(2) {
		t.Fatalf("Progress = %+v %v %v", p, ok, err)
	}
	n, ok, err := g.MetaU64(ctx, "next_addr_id")
	if err != nil || !ok || n != 4 {
		t.Fatalf("MetaU64 = %d %v %v", n, ok, err)
	}
}

func testBatchIsAtomic(t *testing.T, g store.Graph) {
	ctx := context.Background()
	before, _, err := g.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := g.NewBatch()
	s := newSample()
	b.PutBlock(&s.blocks[0])
	b.PutTx(&s.txs[0])
	if _, err := g.BlockByHeight(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("uncommitted block visible: %v", err)
	}
	b.Close()
	after, _, err := g.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatal("closing an uncommitted batch changed the store")
	}
	s.write(t, g)
	d1, n1, err := g.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d1 == before || n1 == 0 {
		t.Fatal("digest did not change after a commit")
	}
}

func testNotFound(t *testing.T, g store.Graph) {
	ctx := context.Background()
	var tx store.TxRec
	checks := map[string]error{
		"BlockByHeight": func() error { _, err := g.BlockByHeight(ctx, 9); return err }(),
		"BlockByHash":   func() error { _, err := g.BlockByHash(ctx, hash(9)); return err }(),
		"TxNum":         func() error { _, err := g.TxNum(ctx, hash(9)); return err }(),
		"Tx":            g.Tx(ctx, 9, &tx),
		"AddrID":        func() error { _, err := g.AddrID(ctx, []byte{9}); return err }(),
		"AddrKey":       func() error { _, err := g.AddrKey(ctx, 9); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on an empty store: %v, want ErrNotFound", name, err)
		}
	}
	if _, ok, err := g.Progress(ctx, "blocks"); ok || err != nil {
		t.Errorf("Progress on an empty store: %v %v", ok, err)
	}
}

func testEventsOrder(t *testing.T, g store.Graph) {
	ctx := context.Background()
	b := g.NewBatch()
	// Written out of order on purpose: the store orders them.
	in := []store.Event{
		{AddrID: 7, TxNum: 300, Spent: true, Index: 1, Value: 5},
		{AddrID: 7, TxNum: 20, Index: 3, Value: 1 << 40},
		{AddrID: 7, TxNum: 300, Index: 0, Value: 4},
		{AddrID: 8, TxNum: 1, Index: 0, Value: 9},
		{AddrID: 6, TxNum: 500, Index: 0, Value: 9},
		{AddrID: 7, TxNum: 20, Index: 1, Value: 2},
	}
	for _, e := range in {
		b.PutEvent(e)
	}
	if err := b.Commit(ctx, false); err != nil {
		t.Fatal(err)
	}
	var got []store.Event
	if err := g.Events(ctx, 7, 0, func(e store.Event) bool { got = append(got, e); return true }); err != nil {
		t.Fatal(err)
	}
	want := []store.Event{in[5], in[1], in[2], in[0]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Events =\n%+v\nwant\n%+v", got, want)
	}
	got = nil
	if err := g.Events(ctx, 7, 21, func(e store.Event) bool { got = append(got, e); return len(got) < 1 }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != in[2] {
		t.Fatalf("Events from 21 with early stop = %+v", got)
	}
}

func testDeleteUndoesPut(t *testing.T, g store.Graph) {
	ctx := context.Background()
	// The sample sets this counter; set it first so that the baseline
	// differs from the final state only by what the deletes must remove.
	b := g.NewBatch()
	b.SetMetaU64("next_addr_id", 4)
	if err := b.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	baseline, _, err := g.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := newSample()
	s.write(t, g)
	b = g.NewBatch()
	defer b.Close()
	for _, bl := range s.blocks {
		b.DeleteBlock(bl.Height, bl.Hash)
	}
	for _, tx := range s.txs {
		b.DeleteTx(tx.TxNum, tx.TxID)
	}
	b.DeleteSpend(0, 0)
	b.DeleteAddr(1, []byte{1, 0xaa})
	b.DeleteAddr(2, []byte{1, 0xbb})
	b.DeleteAddr(3, []byte{1, 0xcc})
	for _, e := range s.events {
		e.Value = 0 // deletes match on position, not value
		b.DeleteEvent(e)
	}
	b.DeleteProgress("blocks")
	if err := b.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	got, _, err := g.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != baseline {
		t.Fatal("deleting everything the sample wrote did not restore the store")
	}
	if _, err := g.TxNum(ctx, s.txs[1].TxID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted tx still found: %v", err)
	}
}

func testAddrsFrom(t *testing.T, g store.Graph) {
	ctx := context.Background()
	newSample().write(t, g)
	var ids []uint64
	err := g.AddrsFrom(ctx, 2, func(id uint64, key []byte) error {
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []uint64{2, 3}) {
		t.Fatalf("AddrsFrom(2) = %v", ids)
	}
}

// link is one link-log entry as the suite expects to read it back.
type link struct {
	txnum uint64
	kind  uint8
	ids   []uint64
}

func readLinks(t *testing.T, g store.Graph, from uint64, limit int) []link {
	t.Helper()
	var got []link
	err := g.Links(context.Background(), from, func(txnum uint64, kind uint8, ids []uint64) bool {
		got = append(got, link{txnum, kind, append([]uint64(nil), ids...)})
		return len(got) < limit
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testLinks(t *testing.T, g store.Graph) {
	ctx := context.Background()
	b := g.NewBatch()
	ids := []uint64{9, 3, 300, 3, 70000}
	b.PutLink(1<<40, store.LinkMultiInput, ids)
	ids[0] = 1 // PutLink copies its argument
	b.PutLink(5, store.LinkWhirlpool, []uint64{1, 2})
	b.PutLink(7, store.LinkMultiInput, []uint64{2, 1})
	b.PutLink(2, store.LinkMultiInput, []uint64{4, 5})
	b.DeleteLink(2)
	if err := b.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	want := []link{
		{5, store.LinkWhirlpool, nil},
		{7, store.LinkMultiInput, []uint64{1, 2}},
		{1 << 40, store.LinkMultiInput, []uint64{3, 9, 300, 70000}},
	}
	norm := func(ls []link) []link {
		for i := range ls {
			if len(ls[i].ids) == 0 {
				ls[i].ids = nil
			}
		}
		return ls
	}
	if got := norm(readLinks(t, g, 0, 100)); !reflect.DeepEqual(got, want) {
		t.Fatalf("Links(0) = %v, want %v", got, want)
	}
	if got := norm(readLinks(t, g, 6, 100)); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("Links(6) = %v, want %v", got, want[1:])
	}
	if got := norm(readLinks(t, g, 0, 2)); !reflect.DeepEqual(got, want[:2]) {
		t.Fatalf("Links stopped after 2 = %v, want %v", got, want[:2])
	}
	for _, c := range []struct {
		txnum uint64
		kind  uint8
		ok    bool
	}{{5, store.LinkWhirlpool, true}, {7, store.LinkMultiInput, true}, {2, 0, false}, {6, 0, false}} {
		kind, ok, err := g.Link(ctx, c.txnum)
		if err != nil || kind != c.kind || ok != c.ok {
			t.Fatalf("Link(%d) = %d, %v, %v; want %d, %v", c.txnum, kind, ok, err, c.kind, c.ok)
		}
	}
}
