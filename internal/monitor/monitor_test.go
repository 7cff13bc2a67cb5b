package monitor

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

var (
	addrA  = testAddr(btc.AddrWPKH, 20, 0xa) // watched
	addrB  = testAddr(btc.AddrPKH, 20, 0xb)
	addrC  = testAddr(btc.AddrSH, 20, 0xc)
	addrEx = testAddr(btc.AddrWSH, 32, 0xe) // the exchange
)

// testAddr is a regtest address of kind with a payload of n bytes b.
func testAddr(kind btc.AddrKind, n int, b byte) string {
	p := make([]byte, n)
	for i := range p {
		p[i] = b
	}
	k, err := btc.NewAddrKey(kind, 0, p)
	if err != nil {
		panic(err)
	}
	return k.Encode(&chaincfg.RegressionNetParams)
}

type fakeLabels map[string][]labels.Label

func (f fakeLabels) Lookup(chain, a string) []labels.Label { return f[chain+"|"+a] }

// chain is a hand-made chain in a real store: blocks of one transaction
// each, applied through the store like ingest's stages would.
type chain struct {
	t      *testing.T
	db     *store.DB
	m      *Monitor
	ids    map[string]uint64
	next   uint64
	txnum  uint64
	height uint64
	txs    map[uint64]store.TxRec
}

type pay struct {
	addr  string
	value int64
}

func newChain(t *testing.T, w ...Watch) *chain {
	db, err := store.Open(t.Context(), t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i := range w {
		if err := w[i].Check(); err != nil {
			t.Fatal(err)
		}
	}
	lab := fakeLabels{"btc-regtest|" + addrEx: {{Label: "Big Exchange", Category: "exchange", Actor: "bigex"}}}
	m, err := New(Options{Chain: "btc-regtest", Watches: w, Labels: lab})
	if err != nil {
		t.Fatal(err)
	}
	c := &chain{t: t, db: db, m: m, ids: map[string]uint64{}, next: 1, txs: map[uint64]store.TxRec{}}
	if err := m.Load(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return c
}

func key(t *testing.T, a string) btc.AddrKey {
	k, err := btc.ParseAddress(a, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// block mines one transaction spending ins (txnum, vout) and paying outs,
// and returns its txnum.
func (c *chain) block(ins [][2]uint64, outs ...pay) uint64 {
	t := c.t
	ctx := t.Context()
	w := c.db.NewBatch()
	defer w.Close()
	rec := store.TxRec{TxNum: c.txnum, Height: c.height, TxID: chainhash.Hash{byte(c.txnum), 1}}
	var keys [][]btc.AddrKey
	for _, in := range ins {
		prev := c.txs[in[0]]
		o := prev.Outs[in[1]]
		rec.Ins = append(rec.Ins, store.InRec{PrevTxNum: in[0], PrevVout: uint32(in[1]), Value: o.Value, AddrID: o.AddrIDs[0]})
		w.PutSpend(in[0], uint32(in[1]), store.SpendRec{TxNum: rec.TxNum})
	}
	for _, p := range outs {
		id, ok := c.ids[p.addr]
		if !ok {
			id = c.next
			c.next++
			c.ids[p.addr] = id
			w.PutAddr(id, key(t, p.addr).Bytes())
		}
		rec.Outs = append(rec.Outs, store.OutRec{Value: p.value, Class: model.ScriptP2WPKH, AddrIDs: []uint64{id}})
		keys = append(keys, []btc.AddrKey{key(t, p.addr)})
	}
	w.PutTx(&rec)
	b := &Block{Height: c.height, Hash: chainhash.Hash{byte(c.height)}, Txs: []store.TxRec{rec},
		OutAddrs: func(i, vout int) []btc.AddrKey { return keys[vout] }}
	if err := c.m.Forward(ctx, w, c.db, b); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	c.txs[rec.TxNum] = rec
	c.txnum++
	c.height++
	return rec.TxNum
}

// unwind removes the last block as the stages would, tip first.
func (c *chain) unwind() {
	t := c.t
	ctx := t.Context()
	c.height--
	c.txnum--
	rec := c.txs[c.txnum]
	w := c.db.NewBatch()
	defer w.Close()
	if err := c.m.Unwind(ctx, w, c.db, &Block{Height: c.height, Hash: chainhash.Hash{byte(c.height)}, Txs: []store.TxRec{rec}}); err != nil {
		t.Fatal(err)
	}
	for _, in := range rec.Ins {
		w.DeleteSpend(in.PrevTxNum, in.PrevVout)
	}
	w.DeleteTx(rec.TxNum, rec.TxID)
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	delete(c.txs, rec.TxNum)
	if err := c.m.Load(ctx, c.db); err != nil {
		t.Fatal(err)
	}
}

func (c *chain) alerts() []Alert {
	var out []Alert
	err := c.db.MonitorScan(c.t.Context(), store.MonAlert, nil, func(_, v []byte) (bool, error) {
		a, err := DecodeAlert(v)
		out = append(out, a)
		return true, err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func rules(t *testing.T, s ...string) []Rule {
	var rs []Rule
	for _, x := range s {
		r, err := ParseRule(x)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// TestPeelChainToExchange follows a watched address's coins through two
// hops into an exchange: every hop alerts under "any", the last also under
// "category:exchange" and "entity:bigex", amounts follow the haircut, a
// dust output is not followed, and unwinding the last block retracts its
// alerts and brings its spent watched output back.
func TestPeelChainToExchange(t *testing.T) {
	c := newChain(t, Watch{ID: "w1", Chain: "btc-regtest", Addresses: []string{addrA}, Rules: rules(t, "any", "above:4", "category:exchange", "entity:bigex")})
	fund := c.block(nil, pay{addrA, 5e8})                                       // in: any, above
	hop1 := c.block([][2]uint64{{fund, 0}}, pay{addrB, 3e8}, pay{addrC, 1.9e8}) // out 5e8: any, above
	got := c.alerts()
	if len(got) != 4 {
		t.Fatalf("%d alerts after two blocks, want 4: %+v", len(got), got)
	}
	if got[0].Direction != DirIn || got[0].Amount != 5e8 || got[2].Direction != DirOut || got[2].Amount != 5e8 ||
		got[0].Asset != "BTC" || got[0].Value != "500000000" || got[0].Token != "" {
		t.Fatalf("alerts %+v", got)
	}
	// Haircut: 5e8 in, 4.9e8 out; B holds 3e8 of it, all tainted.
	if cp := got[2].Counterparties[0]; cp.Address != addrB || cp.Tainted != 3e8 {
		t.Fatalf("counterparty %+v", cp)
	}
	if _, n := c.m.Watching(); n != 2 {
		t.Fatalf("%d watched outputs after the first hop, want 2", n)
	}
	hop2 := c.block([][2]uint64{{hop1, 0}}, pay{addrC, 2.9e8}, pay{addrB, 999})
	if _, n := c.m.Watching(); n != 2 {
		t.Fatalf("%d watched outputs after the second hop (dust output must not count), want 2", n)
	}
	nBefore := len(c.alerts())
	c.block([][2]uint64{{hop2, 0}, {hop1, 1}}, pay{addrEx, 4.8e8})
	all := c.alerts()
	last := all[nBefore:]
	var names []string
	for _, a := range last {
		names = append(names, a.Rule)
		if a.Hop != 2 || a.Counterparties[0].Labels[0].Category != "exchange" {
			t.Fatalf("last alert %+v", a)
		}
	}
	if len(last) != 4 || names[0] != "any" || names[1] != "above:4" || names[2] != "category:exchange" || names[3] != "entity:bigex" {
		t.Fatalf("alerts of the exchange deposit: %v", names)
	}
	c.unwind()
	retr := c.alerts()[len(all):]
	if len(retr) != 4 {
		t.Fatalf("%d retractions, want 4", len(retr))
	}
	for i, r := range retr {
		if r.Kind != KindRetraction || r.Retracts != last[i].ID || r.Reason != RetractedReason || r.ID == last[i].ID {
			t.Fatalf("retraction %+v of %+v", r, last[i])
		}
	}
	if _, n := c.m.Watching(); n != 2 {
		t.Fatalf("%d watched outputs after the unwind, want 2 (hop2:0 and hop1:1 back)", n)
	}
	// A second unwind of the same height must not retract again.
	c.unwind()
	// hop2's block raised one "any" alert only (3 BTC is not above 4):
	// one more retraction, none of the exchange deposit's again.
	if n := len(c.alerts()); n != len(all)+4+1 {
		t.Fatalf("%d alerts after unwinding hop2, want %d", n, len(all)+5)
	}
}

// TestCheckRefuses names the offending field of invalid watches.
func TestCheckRefuses(t *testing.T) {
	cases := []struct {
		w     Watch
		field string
	}{
		{Watch{Chain: "doge", Addresses: []string{addrA}}, "chain"},
		{Watch{Chain: "btc-regtest", Addresses: []string{"bc1qnotanaddress"}}, "address"},
		{Watch{Chain: "btc-regtest"}, "address"},
		{Watch{Chain: "btc", Addresses: []string{addrA}}, "address"},
		{Watch{Chain: "btc-regtest", Addresses: []string{addrA}, Rules: []Rule{{Kind: "sometimes"}}}, "rule"},
	}
	for _, tc := range cases {
		err := tc.w.Check()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want a %s error", tc.w, err, tc.field)
		}
	}
	// More than eight decimals is an amount of ETH, refused on Bitcoin
	// by Check (TestEthCheckRefuses).
	for _, bad := range []string{"above", "above:-1", "category:", "any:x", "most"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
	if r, err := ParseRule("above:0.5"); err != nil || r.Amount != 5e7 || r.String() != "above:0.5" {
		t.Errorf("above:0.5: %+v %v", r, err)
	}
}

// TestWatchFile adds, lists and removes watches in the file the follower
// reads, and refuses an invalid one without writing anything.
func TestWatchFile(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	ws, err := AddWatches(ctx, data, []Watch{{Chain: "btc-regtest", Addresses: []string{addrA}}})
	if err != nil || ws[0].ID != "w1" {
		t.Fatalf("%+v %v", ws, err)
	}
	if _, err := AddWatches(ctx, data, []Watch{{Chain: "btc-regtest", Addresses: []string{"nope"}}}); err == nil {
		t.Fatal("invalid watch added")
	}
	if err := RemoveWatch(ctx, data, "w1"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveWatch(ctx, data, "w1"); err == nil {
		t.Fatal("removed twice")
	}
	ws, _ = AddWatches(ctx, data, []Watch{{Chain: "btc-regtest", Addresses: []string{addrB}}})
	if ws[0].ID != "w2" {
		t.Fatalf("id %s reused", ws[0].ID)
	}
	l, err := Watches(data)
	if err != nil || len(l) != 1 || l[0].Rules[0].Kind != RuleAny {
		t.Fatalf("%+v %v", l, err)
	}
}

func TestHaircutNoOverflow(t *testing.T) {
	if got := haircut(21e14, 21e14, 21e14); got != 21e14 {
		t.Fatal(got)
	}
	if got := haircut(3, 1, 4); got != 0 {
		t.Fatal(got)
	}
}

// TestParseSegwitFast checks the watch loader's segwit fast path against
// btc.ParseAddress: on valid addresses of every kind and network, and on
// each of them with every character replaced, upper-cased or cut short,
// the fast path gives ParseAddress's key or declines.
func TestParseSegwitFast(t *testing.T) {
	nets := []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.RegressionNetParams, &chaincfg.TestNet3Params}
	var inputs []string
	for _, kind := range []btc.AddrKind{btc.AddrWPKH, btc.AddrWSH, btc.AddrTR, btc.AddrPKH, btc.AddrSH} {
		n := 20
		if kind == btc.AddrWSH || kind == btc.AddrTR {
			n = 32
		}
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*37 + int(kind))
		}
		k, err := btc.NewAddrKey(kind, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, net := range nets {
			inputs = append(inputs, k.Encode(net))
		}
	}
	// A v2 program and a v0 one of 25 bytes, valid bech32 that the fast
	// path leaves to ParseAddress.
	for _, c := range []struct {
		ver int
		n   int
	}{{2, 32}, {16, 40}} {
		k, err := btc.NewAddrKey(btc.AddrWitnessUnknown, c.ver, make([]byte, c.n))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, k.Encode(&chaincfg.MainNetParams))
	}
	const alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7lQB1"
	var all []string
	for _, s := range inputs {
		all = append(all, s, strings.ToUpper(s), s[:len(s)-1], s+"q")
		for i := range s {
			for _, c := range alphabet {
				all = append(all, s[:i]+string(c)+s[i+1:])
			}
		}
	}
	fast := 0
	for _, net := range nets {
		sum := bech32HRPSum(net.Bech32HRPSegwit)
		for _, s := range all {
			got, ok := parseSegwitFast(s, net.Bech32HRPSegwit, sum)
			want, err := btc.ParseAddress(s, net)
			if !ok {
				continue
			}
			fast++
			if err != nil || !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%s on %s: fast path %x, ParseAddress %x %v", s, btc.NetworkName(net), got.Bytes(), want.Bytes(), err)
			}
		}
	}
	if fast < 9 {
		t.Fatalf("the fast path took only %d inputs", fast)
	}
}

// TestWatchModels spends a watched coin of 5 BTC after a clean one of 3
// BTC into outputs of 4 and 3.9 BTC (0.1 BTC fee) under each taint
// model and checks the watched value each output carries, in the alert
// and in the extended watch: haircut 5/8 of each, poison all of each,
// FIFO the value's ranges (the clean input first: 1 BTC of the first
// output, all of the second).
func TestWatchModels(t *testing.T) {
	cases := []struct {
		model  string
		b, c   int64
		extend int
	}{
		{"", 2.5e8, 2.4375e8, 2},
		{ModelHaircut, 2.5e8, 2.4375e8, 2},
		{ModelPoison, 4e8, 3.9e8, 2},
		{ModelFIFO, 1e8, 3.9e8, 2},
	}
	for _, tc := range cases {
		t.Run("model="+tc.model, func(t *testing.T) {
			c := newChain(t, Watch{ID: "w1", Chain: "btc-regtest", Addresses: []string{addrA}, Rules: rules(t, "any"), Model: tc.model})
			clean := c.block(nil, pay{addrEx, 3e8})
			loot := c.block(nil, pay{addrA, 5e8})
			c.block([][2]uint64{{clean, 0}, {loot, 0}}, pay{addrB, 4e8}, pay{addrC, 3.9e8})
			var out *Alert
			for _, a := range c.alerts() {
				if a.Direction == DirOut {
					out = &a
				}
			}
			if out == nil || out.Amount != 5e8 {
				t.Fatalf("out alert %+v, want one of 5 BTC", out)
			}
			if cps := out.Counterparties; cps[0].Tainted != tc.b || cps[1].Tainted != tc.c {
				t.Fatalf("tainted %d and %d, want %d and %d", cps[0].Tainted, cps[1].Tainted, tc.b, tc.c)
			}
			if _, n := c.m.Watching(); n != tc.extend {
				t.Fatalf("%d watched outputs, want %d", n, tc.extend)
			}
		})
	}
	w := Watch{ID: "w1", Chain: "btc-regtest", Addresses: []string{addrA}, Model: "lifo"}
	var fe *FieldError
	if err := w.Check(); !errors.As(err, &fe) || fe.Field != "model" {
		t.Fatalf("model lifo: %v, want a FieldError on model", err)
	}
}

// TestFIFOShares checks the range overlap on a transaction with watched
// value in two inputs around a clean one, spread over three outputs and
// the fee.
func TestFIFOShares(t *testing.T) {
	rec := &store.TxRec{
		Ins:  []store.InRec{{Value: 4}, {Value: 10}, {Value: 6}},  // laid out [0,4) [4,14) [14,20)
		Outs: []store.OutRec{{Value: 3}, {Value: 12}, {Value: 4}}, // [0,3) [3,15) [15,19), fee [19,20)
	}
	// Watched: 2 of input 0 ([0,2)) and 5 of input 2 ([14,19)).
	out := make([]int64, 3)
	fifoShares(rec, []inTaint{{0, 2}, {2, 5}}, out)
	if out[0] != 2 || out[1] != 1 || out[2] != 4 {
		t.Fatalf("fifo shares %v, want [2 1 4]", out)
	}
}

// TestKeyIndex loads watches sharing addresses (and one listing an
// address twice) and checks that every key finds exactly its watches and
// that other keys find none.
func TestKeyIndex(t *testing.T) {
	var addrs []string
	for i := range 12000 {
		p := make([]byte, 20)
		p[0], p[1] = byte(i), byte(i>>8)
		k, err := btc.NewAddrKey(btc.AddrWPKH, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, k.Encode(&chaincfg.RegressionNetParams))
	}
	// w1 holds 0-7999, w2 4000-11999 and address 5 twice, w3 address 6000:
	// enough addresses for the loader to parse them on all CPUs.
	ws := []Watch{
		{ID: "w1", Chain: "btc-regtest", Addresses: addrs[:8000]},
		{ID: "w2", Chain: "btc-regtest", Addresses: append(append([]string(nil), addrs[4000:]...), addrs[5], addrs[5])},
		{ID: "w3", Chain: "btc-regtest", Addresses: []string{addrs[6000], "not-an-address"}},
	}
	c := newChain(t, ws[0])
	m, err := New(Options{Chain: "btc-regtest", Watches: ws})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(t.Context(), c.db); err != nil {
		t.Fatal(err)
	}
	want := func(i int) []string {
		var out []string
		if i < 8000 {
			out = append(out, "w1")
		}
		if i >= 4000 || i == 5 {
			out = append(out, "w2")
		}
		if i == 6000 {
			out = append(out, "w3")
		}
		return out
	}
	for i, a := range addrs {
		got := slices.Clone(m.keys.lookup(key(t, a).Bytes()))
		slices.Sort(got)
		if !slices.Equal(got, want(i)) {
			t.Fatalf("address %d: watches %v, want %v", i, got, want(i))
		}
	}
	for i := range 10000 {
		p := make([]byte, 20)
		p[0], p[1], p[19] = byte(i), byte(i>>8), 1
		k, err := btc.NewAddrKey(btc.AddrWPKH, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.keys.lookup(k.Bytes()); got != nil {
			t.Fatalf("unwatched key %x found in %v", k.Bytes(), got)
		}
	}
}
