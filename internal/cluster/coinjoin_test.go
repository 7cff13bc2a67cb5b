package cluster

import (
	"slices"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// txb builds hand-made transactions for the detectors.
type txb struct{ t store.TxRec }

// newTx returns a transaction with n inputs of 1 BTC from addresses
// 1..owners (input i from address i%owners+1).
func newTx(n, owners int) *txb {
	b := &txb{}
	for i := range n {
		b.t.Ins = append(b.t.Ins, store.InRec{PrevTxNum: uint64(i), Value: 100_000_000, AddrID: uint64(i%owners + 1)})
	}
	return b
}

// out adds n outputs of value v and class c.
func (b *txb) out(n int, v int64, c model.ScriptClass) *txb {
	for range n {
		b.t.Outs = append(b.t.Outs, store.OutRec{Value: v, Class: c, AddrIDs: []uint64{uint64(1000 + len(b.t.Outs))}})
	}
	return b
}

// outs adds one output per value.
func (b *txb) outs(c model.ScriptClass, vs ...int64) *txb {
	for _, v := range vs {
		b.out(1, v, c)
	}
	return b
}

const (
	wpkh = model.ScriptP2WPKH
	pkh  = model.ScriptP2PKH
	tr   = model.ScriptP2TR
)

// wasabi2Outs returns n standard denominations, each used twice or more.
func wasabi2Outs(n int) []int64 {
	var vs []int64
	for i := 0; len(vs) < n; i++ {
		d := wasabi2Denoms[20+i%15]
		vs = append(vs, d, d)
	}
	return vs[:n]
}

func TestDetectCoinJoin(t *testing.T) {
	cases := []struct {
		name string
		tx   *txb
		want uint8
	}{
		{"whirlpool 0.05", newTx(5, 5).out(5, 5_000_000, wpkh), store.LinkWhirlpool},
		{"whirlpool 0.001", newTx(5, 5).out(5, 100_000, wpkh), store.LinkWhirlpool},
		// A TX0 premix output is the denomination plus the mix fee: not a
		// mix, though it still is five equal outputs from five owners,
		// which the generic rule reports.
		{"whirlpool-like above denomination", newTx(5, 5).out(5, 5_000_170, wpkh), store.LinkCoinJoinGeneric},
		{"whirlpool with 6 inputs", newTx(6, 6).out(5, 5_000_000, wpkh), store.LinkCoinJoinGeneric},
		{"whirlpool denomination, one owner", newTx(5, 1).out(5, 5_000_000, wpkh), store.LinkWhirlpool},

		{"wasabi1", newTx(60, 60).out(40, 9_960_000, wpkh).outs(wpkh, 1_234_567, 77_000, 3_450_000), store.LinkWasabi1},
		{"wasabi1 level too far from 0.1", newTx(60, 60).out(40, 13_000_000, wpkh).outs(wpkh, 1_234_567), store.LinkCoinJoinGeneric},
		{"wasabi1 with 9 equal outputs", newTx(20, 20).out(9, 10_000_000, wpkh).outs(wpkh, 1_234_567, 5), store.LinkCoinJoinGeneric},
		{"wasabi1 on legacy outputs", newTx(60, 60).out(40, 9_960_000, pkh).outs(pkh, 1_234_567), store.LinkCoinJoinGeneric},
		{"wasabi1 without fee output", newTx(60, 60).out(40, 9_960_000, wpkh), store.LinkCoinJoinGeneric},

		{"wasabi2", newTx(120, 120).outs(wpkh, wasabi2Outs(60)...).outs(tr, 1_234_567, 7_654_321), store.LinkWasabi2},
		{"wasabi2 with 49 inputs", newTx(49, 49).outs(wpkh, wasabi2Outs(60)...).outs(tr, 1_234_567), 0},
		{"wasabi2 with a legacy output", newTx(120, 120).outs(wpkh, wasabi2Outs(60)...).outs(pkh, 1_234_567), 0},
		{"wasabi2 with non-standard values", newTx(120, 120).outs(wpkh, 1_234_567, 2_345_678, 3_456_789).out(30, 123_457, wpkh), store.LinkCoinJoinGeneric},

		{"joinmarket 3+2", newTx(4, 4).out(3, 12_345_678, wpkh).outs(wpkh, 1_000_001, 2_000_002), store.LinkJoinMarket},
		{"joinmarket 4+4", newTx(6, 5).out(4, 50_000_000, pkh).outs(pkh, 1, 2, 3, 4), store.LinkJoinMarket},
		{"joinmarket with too few owners", newTx(6, 2).out(4, 50_000_000, pkh).outs(pkh, 1, 2, 3, 4), 0},
		{"joinmarket plus a fee output", newTx(6, 6).out(3, 50_000_000, pkh).outs(pkh, 1, 2, 3, 4), 0},
		{"joinmarket of dust", newTx(6, 6).out(3, 546, pkh).outs(pkh, 1, 2), 0},

		{"generic 5 equal of 7", newTx(8, 8).out(5, 20_000_000, pkh).outs(pkh, 1, 2), store.LinkCoinJoinGeneric},
		{"exchange batch, one input", newTx(1, 1).out(10, 1_000_000, pkh).outs(pkh, 5), 0},
		{"exchange batch, two addresses", newTx(4, 2).out(10, 1_000_000, pkh).outs(pkh, 5, 6, 7), 0},
		{"batch with equal payouts a minority", newTx(6, 6).out(3, 1_000_000, pkh).outs(pkh, 5, 6, 7, 8, 9, 10), 0},
		{"ordinary payment", newTx(3, 3).outs(pkh, 50_000_000, 149_990_000), 0},
	}
	for _, c := range cases {
		if got := DetectCoinJoin(&c.tx.t); got != c.want {
			t.Errorf("%s: DetectCoinJoin = %s, want %s", c.name, KindName(got), KindName(c.want))
		}
	}
	cb := newTx(5, 5).out(5, 5_000_000, wpkh)
	cb.t.Coinbase = true
	if got := DetectCoinJoin(&cb.t); got != 0 {
		t.Errorf("coinbase detected as %s", KindName(got))
	}
}

func TestWasabi2Denoms(t *testing.T) {
	for _, v := range []int64{5_000, 6_561, 8_192, 10_000, 13_122, 20_000, 50_000, 1 << 20, 200_000_000, 387_420_489} {
		if !isWasabi2Denom(v) {
			t.Errorf("%d should be a standard denomination", v)
		}
	}
	for _, v := range []int64{4_096, 4_999, 7_000, 10_001, 30_000, 123_456} {
		if isWasabi2Denom(v) {
			t.Errorf("%d should not be a standard denomination", v)
		}
	}
	if !slices.IsSorted(wasabi2Denoms) {
		t.Fatal("denominations not sorted")
	}
}

func TestClassify(t *testing.T) {
	var ids []uint64
	// Three inputs from addresses 2, 1, 2 plus an unknown one: a link of
	// {1, 2}.
	b := newTx(3, 2).outs(pkh, 5, 6)
	b.t.Ins[0].AddrID = 2
	b.t.Ins = append(b.t.Ins, store.InRec{External: true})
	kind, ids, ok := Classify(&b.t, ids)
	if !ok || kind != store.LinkMultiInput || !slices.Equal(ids, []uint64{1, 2}) {
		t.Fatalf("Classify = %d %v %v", kind, ids, ok)
	}
	// One distinct address: no entry.
	if _, _, ok := Classify(&newTx(4, 1).outs(pkh, 5).t, ids); ok {
		t.Fatal("a single input address got a link")
	}
	// A CoinJoin: its kind, no ids.
	kind, ids, ok = Classify(&newTx(5, 5).out(5, 1_000_000, wpkh).t, ids)
	if !ok || kind != store.LinkWhirlpool || len(ids) != 0 {
		t.Fatalf("Classify(whirlpool) = %d %v %v", kind, ids, ok)
	}
	cb := newTx(3, 3).outs(pkh, 5)
	cb.t.Coinbase = true
	if _, _, ok := Classify(&cb.t, ids); ok {
		t.Fatal("a coinbase got a link")
	}
}
