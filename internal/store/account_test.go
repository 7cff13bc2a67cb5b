package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
)

var ethMeta = ChainMeta{Chain: "eth", Network: "ethereum"}

func openEth(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), t.TempDir(), ethMeta, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func bigAmount(t *testing.T, s string) model.Amount {
	t.Helper()
	a, err := model.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sampleEthTx(t *testing.T) EthTxRec {
	id := bigAmount(t, "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	return EthTxRec{
		TxNum: 7, Height: 1755634, Index: 3, Hash: [32]byte{1, 2, 3},
		From: 1, To: 2, Value: bigAmount(t, "1000000000000000000"), Status: EthTxOK, GasUsed: 21000,
		Transfers: []EthTransferRec{
			{Kind: 0, From: 1, To: 2, Amount: bigAmount(t, "1000000000000000000"), LogIndex: -1},
			{Kind: 5, From: 0, To: 3, Token: 9, Amount: model.AmountFromUint64(1), TokenID: &id, LogIndex: 17},
			{Kind: 1, From: 2, To: 4, Amount: model.AmountFromUint64(5), LogIndex: -1, TraceAddress: []uint32{0, 1, 4294967295}},
		},
	}
}

func TestEthRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openEth(t)
	blk := EthBlockRec{Height: 1755634, Hash: [32]byte{0xaa}, Parent: [32]byte{0xbb}, Time: 1466000000,
		Miner: [20]byte{0xcc, 19: 1}, BaseFee: bigAmount(t, "7000000000"), GasUsed: 123456, TxCount: 4,
		TxNumMin: 7, AddrIDMin: 1, Withdrawals: 2}
	tx := sampleEthTx(t)
	empty := EthTxRec{TxNum: 8, Height: 1755634, Index: 4, Status: EthTxOK}
	tok := TokenMeta{Standard: TokenERC20, Decimals: 18, HasDecimals: true, Name: "Wrapped Ether", Symbol: "WETH"}
	w := db.NewAccountBatch()
	w.PutEthBlock(&blk)
	w.PutEthTx(&tx)
	w.PutEthTx(&empty)
	w.PutAddr(1, make([]byte, 20))
	w.PutToken(9, tok)
	evs := []EthEvent{
		{AddrID: 2, TxNum: 7, Index: 0, Out: false, Amount: tx.Transfers[0].Amount},
		{AddrID: 2, TxNum: 7, Index: 2, Out: true, Amount: model.AmountFromUint64(5)},
		{AddrID: 2, TxNum: 9, Index: 0, Out: false, Token: 9, Amount: model.AmountFromUint64(3)},
		{AddrID: 2, TxNum: 9, Index: 0, Out: true, Token: 9, Amount: model.AmountFromUint64(3)},
		{AddrID: 3, TxNum: 1, Index: 0, Amount: model.AmountFromUint64(1)},
	}
	for _, e := range evs {
		w.PutEthEvent(e)
	}
	w.SetProgress("eth-blocks", Progress{Height: blk.Height, Hash: blk.Hash})
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	w.Close()

	got, err := db.EthBlockByHeight(ctx, blk.Height)
	if err != nil || got != blk {
		t.Fatalf("EthBlockByHeight = %+v, %v; want %+v", got, err, blk)
	}
	if got, err := db.EthBlockByHash(ctx, blk.Hash); err != nil || got != blk {
		t.Fatalf("EthBlockByHash = %+v, %v", got, err)
	}
	if blk.TxNums() != 5 {
		t.Fatalf("TxNums = %d", blk.TxNums())
	}
	if n, err := db.EthTxNum(ctx, tx.Hash); err != nil || n != 7 {
		t.Fatalf("EthTxNum = %d, %v", n, err)
	}
	var gt EthTxRec
	if err := db.EthTx(ctx, 7, &gt); err != nil || !reflect.DeepEqual(gt, tx) {
		t.Fatalf("EthTx = %+v, %v\nwant %+v", gt, err, tx)
	}
	if err := db.EthTx(ctx, 8, &gt); err != nil || gt.TxNum != 8 || gt.Index != 4 || len(gt.Transfers) != 0 {
		t.Fatalf("EthTx(8) = %+v, %v", gt, err)
	}
	if _, err := db.EthTxNum(ctx, [32]byte{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("zero-hash pseudo tx has a hash index entry: %v", err)
	}
	if m, ok, err := db.Token(ctx, 9); err != nil || !ok || m != tok {
		t.Fatalf("Token = %+v %v %v", m, ok, err)
	}
	var seen []EthEvent
	if err := db.EthEvents(ctx, 2, 0, func(e EthEvent) bool { seen = append(seen, e); return true }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, evs[:4]) {
		t.Fatalf("events = %+v\nwant %+v", seen, evs[:4])
	}
	seen = seen[:0]
	if err := db.EthEvents(ctx, 2, 8, func(e EthEvent) bool { seen = append(seen, e); return len(seen) < 1 }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, evs[2:3]) {
		t.Fatalf("events from 8, stopping after one = %+v", seen)
	}
	if err := db.EthEvents(ctx, ^uint64(0), 0, func(EthEvent) bool { t.Fatal("event of max id"); return false }); err != nil {
		t.Fatal(err)
	}

	// Deletes remove exactly what the puts wrote.
	w = db.NewAccountBatch()
	w.DeleteEthBlock(blk.Height, blk.Hash)
	w.DeleteEthTx(7, tx.Hash)
	w.DeleteEthTx(8, [32]byte{})
	w.DeleteAddr(1, make([]byte, 20))
	for _, e := range evs {
		e.Amount, e.Token = model.Amount{}, 0 // values do not matter
		w.DeleteEthEvent(e)
	}
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, n, err := db.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // chain meta, progress, token
		t.Fatalf("%d entries left after deletes, want 3", n)
	}
}

func TestEthNotFound(t *testing.T) {
	ctx := context.Background()
	db := openEth(t)
	if _, err := db.EthBlockByHeight(ctx, 5); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "height 5") {
		t.Errorf("EthBlockByHeight: %v", err)
	}
	if _, err := db.EthBlockByHash(ctx, [32]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("EthBlockByHash: %v", err)
	}
	if _, err := db.EthTxNum(ctx, [32]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("EthTxNum: %v", err)
	}
	var tx EthTxRec
	if err := db.EthTx(ctx, 3, &tx); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "#3") {
		t.Errorf("EthTx: %v", err)
	}
	if _, ok, err := db.Token(ctx, 3); ok || err != nil {
		t.Errorf("Token: %v %v", ok, err)
	}
	n := 0
	if err := db.EthEvents(ctx, 1, 0, func(EthEvent) bool { n++; return true }); err != nil || n != 0 {
		t.Errorf("EthEvents: %d %v", n, err)
	}
}

// TestEthCorruptRecords checks that every truncation and a few targeted
// corruptions of the encodings are errors, never panics or huge
// allocations.
func TestEthCorruptRecords(t *testing.T) {
	tx := sampleEthTx(t)
	enc := appendEthTx(nil, &tx)
	for i := 0; i < len(enc); i++ {
		var got EthTxRec
		if err := decodeEthTx(7, enc[:i], &got); err == nil {
			t.Fatalf("tx truncated to %d of %d bytes decoded", i, len(enc))
		} else if !strings.Contains(err.Error(), "corrupt record") || !strings.Contains(err.Error(), "eth tx 7") {
			t.Fatalf("error does not say what: %v", err)
		}
	}
	if err := decodeEthTx(7, append(enc, 0), &EthTxRec{}); err == nil {
		t.Fatal("trailing byte accepted")
	}
	blk := EthBlockRec{Height: 1, BaseFee: model.AmountFromUint64(1 << 40), TxCount: 2}
	benc := appendEthBlock(nil, &blk)
	for i := 0; i < len(benc); i++ {
		if err := decodeEthBlock(1, benc[:i], &EthBlockRec{}); err == nil {
			t.Fatalf("block truncated to %d bytes decoded", i)
		}
	}
	tm := TokenMeta{Name: "n", Symbol: "s"}
	tenc := appendTokenMeta(nil, &tm)
	for i := 0; i < len(tenc); i++ {
		if err := decodeTokenMeta(1, tenc[:i], &TokenMeta{}); err == nil {
			t.Fatalf("token truncated to %d bytes decoded", i)
		}
	}

	// A transfer count far above what the bytes can hold is refused
	// before allocating.
	head := appendEthTx(nil, &EthTxRec{Hash: [32]byte{1}})
	huge := append(head[:len(head)-1], 0xff, 0xff, 0xff, 0xff, 0x0f)
	if err := decodeEthTx(1, huge, &EthTxRec{}); err == nil || !strings.Contains(err.Error(), "transfers count") {
		t.Fatalf("huge transfer count: %v", err)
	}
	// An amount length above 32 bytes is refused.
	bad := appendEthTx(nil, &EthTxRec{})
	bad[32+5] = 33 // hash, 5 one-byte uvarints, then the value's length byte
	if err := decodeEthTx(1, bad, &EthTxRec{}); err == nil || !strings.Contains(err.Error(), "value length") {
		t.Fatalf("amount length 33: %v", err)
	}
	// A bad status is refused.
	bad = appendEthTx(nil, &EthTxRec{})
	bad[32+5+1] = 3
	if err := decodeEthTx(1, bad, &EthTxRec{}); err == nil || !strings.Contains(err.Error(), "status") {
		t.Fatalf("status 3: %v", err)
	}
	// Corrupt event keys and values.
	e := EthEvent{AddrID: 1, TxNum: 2, Index: 3, Out: true, Amount: model.AmountFromUint64(4)}
	k := keyEthEvent(nil, &e)
	v := appendEthEventValue(nil, &e)
	var got EthEvent
	if err := decodeEthEvent(k, v, &got); err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("event round trip: %+v %v", got, err)
	}
	if err := decodeEthEvent(k[:len(k)-1], v, &got); err == nil {
		t.Fatal("short event key accepted")
	}
	if err := decodeEthEvent(k, v[:len(v)-1], &got); err == nil {
		t.Fatal("short event value accepted")
	}
}

// TestEthCorruptInStore checks that the readers report a corrupt stored
// record instead of returning garbage.
func TestEthCorruptInStore(t *testing.T) {
	ctx := context.Background()
	db := openEth(t)
	w := db.NewAccountBatch()
	pb := w.(*pebbleBatch)
	pb.set(keyU64(nil, prefixEthBlock, 1), []byte{1, 2, 3})
	pb.set(keyU64(nil, prefixEthTx, 1), []byte{1, 2, 3})
	pb.set(keyBytes(nil, prefixEthTxHash, make([]byte, 32)), []byte{1})
	pb.set(keyU64(nil, prefixToken, 1), []byte{20, 18, 7})
	pb.set(keyEthEvent(nil, &EthEvent{AddrID: 1})[:18], []byte{1})
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := db.EthBlockByHeight(ctx, 1); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("corrupt block: %v", err)
	}
	if err := db.EthTx(ctx, 1, &EthTxRec{}); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("corrupt tx: %v", err)
	}
	if _, err := db.EthTxNum(ctx, [32]byte{}); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("corrupt tx hash index: %v", err)
	}
	if _, _, err := db.Token(ctx, 1); err == nil {
		t.Error("corrupt token accepted")
	}
	if err := db.EthEvents(ctx, 1, 0, func(EthEvent) bool { return true }); err == nil {
		t.Error("corrupt event key accepted")
	}
}

func FuzzDecodeEthTx(f *testing.F) {
	tx := EthTxRec{Hash: [32]byte{1}, From: 1, Transfers: []EthTransferRec{{Kind: 4, LogIndex: 3, TraceAddress: []uint32{1}}}}
	f.Add(appendEthTx(nil, &tx))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got EthTxRec
		if err := decodeEthTx(1, b, &got); err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes, except that
		// amounts may have been written with leading zeros.
		again := appendEthTx(nil, &got)
		var back EthTxRec
		if err := decodeEthTx(1, again, &back); err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
