package cluster

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// changeStore writes addresses 1-4 (P2WPKH) and 5-6 (P2PKH), each first
// seen in transaction 10+id, into a temporary store.
func changeStore(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := db.NewBatch()
	defer b.Close()
	for id := uint64(1); id <= 6; id++ {
		kind := btc.AddrWPKH
		if id >= 5 {
			kind = btc.AddrPKH
		}
		payload := make([]byte, 20)
		payload[0] = byte(id)
		k, err := btc.NewAddrKey(kind, 0, payload)
		if err != nil {
			t.Fatal(err)
		}
		b.PutAddr(id, k.Bytes())
		b.PutEvent(store.Event{AddrID: id, TxNum: 10 + id, Value: 1})
	}
	// Transaction 300's outputs are spent: output 1 by transaction 200
	// (nVersion 2, a height lock time), output 0 by 201 (1, no lock time).
	b.PutTx(&store.TxRec{TxNum: 200, TxID: [32]byte{2}, Version: 2, LockTime: 700_000})
	b.PutTx(&store.TxRec{TxNum: 201, TxID: [32]byte{3}, Version: 1})
	b.PutSpend(300, 1, store.SpendRec{TxNum: 200})
	b.PutSpend(300, 0, store.SpendRec{TxNum: 201})
	if err := b.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	return db
}

type out struct {
	v    int64
	addr uint64
}

// spend builds transaction 100 spending 1 BTC-ish inputs from addresses
// ins (values vals) to outs.
func spend(ins []uint64, vals []int64, outs ...out) *store.TxRec {
	t := &store.TxRec{TxNum: 100}
	for i, a := range ins {
		t.Ins = append(t.Ins, store.InRec{AddrID: a, Value: vals[i]})
	}
	for _, o := range outs {
		c := model.ScriptP2WPKH
		if o.addr >= 5 {
			c = model.ScriptP2PKH
		}
		t.Outs = append(t.Outs, store.OutRec{Value: o.v, Class: c, AddrIDs: []uint64{o.addr}})
	}
	return t
}

func TestChange(t *testing.T) {
	ctx := context.Background()
	db := changeStore(t)
	a := NewAnnotator(db)
	// Address 4 is first seen in transaction 14; make transaction 14 the
	// one annotated so that it is fresh there.
	fresh := func(tx *store.TxRec) *store.TxRec { tx.TxNum = 14; return tx }
	fingerprinted := func(tx *store.TxRec) *store.TxRec {
		tx.TxNum, tx.Version, tx.LockTime = 300, 2, 650_000
		return tx
	}
	cases := []struct {
		name    string
		tx      *store.TxRec
		vout    int
		conf    float64 // 0: no guess
		reasons int
	}{
		// Inputs P2WPKH; output 0 is a round payment to a used P2PKH
		// address, output 1 a fresh P2WPKH address with an odd amount:
		// type, fresh and round all point at 1.
		{"three signals agree", fresh(spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{1_000_000, 5}, out{1_234_567, 4})), 1, wScriptType + wFresh + wRoundPayment, 3},
		// Only the optimal-change rule singles out one output.
		{"optimal change", spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{2_500_001, 3}, out{1_500_001, 4}), 1, wOptimal, 1},
		// Paying back to an input's address beats a round-amount signal
		// pointing at the other output.
		{"back to an input address", spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{2_500_000, 1}, out{4_000_001, 3}), 0, wSameAsInput - wRoundPayment, 1},
		// Type points at 1 (the only P2PKH output, like the input) and
		// round at 0: the difference is the confidence.
		{"conflicting signals", spend([]uint64{5, 5}, []int64{2_000_000, 3_000_000}, out{2_500_001, 3}, out{2_000_000, 6}), 1, wScriptType - wRoundPayment, 1},
		// Only the wallet fingerprint of the later spends tells them
		// apart: transaction 300 has nVersion 2 and a height lock time,
		// like the spender of output 1.
		{"wallet fingerprint", fingerprinted(spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{2_500_001, 3}, out{2_400_001, 4})), 1, wFingerprint, 1},
		{"nothing stands out", spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{2_500_001, 3}, out{2_400_001, 4}), 0, 0, 0},
		{"one output", spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{4_000_000, 3}), 0, 0, 0},
	}
	for _, c := range cases {
		g, ok, err := a.Guess(ctx, c.tx)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.conf == 0 {
			if ok {
				t.Errorf("%s: guessed %+v, want no guess", c.name, g)
			}
			continue
		}
		if !ok || g.Vout != c.vout || math.Abs(g.Confidence-c.conf) > 1e-9 || len(g.Reasons) != c.reasons {
			t.Errorf("%s: guess %+v, %v; want vout %d confidence %.2f with %d reasons", c.name, g, ok, c.vout, c.conf, c.reasons)
		}
		if v, conf, ok2 := a.Change(ctx, c.tx); !ok2 || v != g.Vout || conf != g.Confidence {
			t.Errorf("%s: Change = %d %.2f %v, Guess = %+v", c.name, v, conf, ok2, g)
		}
	}
	// No guesses for coinbases, unknown inputs and CoinJoins.
	cb := spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{2_500_001, 3}, out{1_500_001, 4})
	cb.Coinbase = true
	ext := spend([]uint64{1, 2}, []int64{2_000_000, 3_000_000}, out{2_500_001, 3}, out{1_500_001, 4})
	ext.Ins[0] = store.InRec{External: true}
	cj := spend([]uint64{1, 2, 3, 4, 5}, []int64{1, 1, 1, 1, 1}, out{1_000_000, 1}, out{1_000_000, 2}, out{1_000_000, 3}, out{1_000_000, 4}, out{1_000_000, 5})
	for _, tx := range []*store.TxRec{cb, ext, cj} {
		if _, _, ok := a.Change(ctx, tx); ok {
			t.Errorf("guessed change for %+v", tx)
		}
	}
	if got := a.CoinJoin(cj); got != "whirlpool" {
		t.Errorf("CoinJoin(whirlpool mix) = %q", got)
	}
	if got := a.CoinJoin(cb); got != "" {
		t.Errorf("CoinJoin(coinbase) = %q", got)
	}
	if !slices.Contains([]string{"wasabi1", "wasabi2", "whirlpool", "joinmarket", "coinjoin"}, KindName(store.LinkJoinMarket)) {
		t.Error("KindName")
	}
}
