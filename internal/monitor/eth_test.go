package monitor

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// ethAddr is the address of twenty bytes b.
func ethAddr(b byte) [20]byte {
	var a [20]byte
	for i := range a {
		a[i] = b
	}
	return a
}

func ethHex(a [20]byte) string {
	s, err := normalize("eth-dev", nil, "0x"+hex.EncodeToString(a[:]))
	if err != nil {
		panic(err)
	}
	return s
}

var (
	eA, eB, eC, eD, eX, eY = ethAddr(0xa1), ethAddr(0xb1), ethAddr(0xc1), ethAddr(0xd1), ethAddr(0x11), ethAddr(0x22)
	eEx                    = ethAddr(0xee) // the exchange
	eUSDT                  = ethAddr(0x55) // a token, 6 decimals
	native                 = [20]byte{}
)

// ether is n thousandths of ETH in wei.
func ether(milli uint64) model.Amount {
	a, _ := model.MulDiv(model.AmountFromUint64(milli), model.AmountFromUint64(1e18), model.AmountFromUint64(1000))
	return a
}

type xfer struct {
	kind     eth.Kind
	from, to [20]byte
	token    [20]byte
	amount   model.Amount
}

// ethChain is a hand-made account chain in a real store: one transaction
// per block, applied through a batch as ingest's stage would.
type ethChain struct {
	t      *testing.T
	db     *store.DB
	m      *EthMonitor
	ids    map[[20]byte]uint64
	addrs  map[uint64][20]byte
	height uint64
	txs    map[uint64]store.EthTxRec
}

func newEthChain(t *testing.T, ws ...Watch) *ethChain {
	db, err := store.Open(t.Context(), t.TempDir(), store.ChainMeta{Chain: "eth", Network: "dev"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i := range ws {
		if err := ws[i].Check(); err != nil {
			t.Fatal(err)
		}
	}
	lab := fakeLabels{"eth|" + ethHex(eEx): {{Label: "Big Exchange", Category: "exchange", Actor: "bigex"}}}
	m, err := NewEth(Options{Chain: "eth-dev", Watches: ws, Labels: lab})
	if err != nil {
		t.Fatal(err)
	}
	c := &ethChain{t: t, db: db, m: m, ids: map[[20]byte]uint64{native: 0}, addrs: map[uint64][20]byte{0: native}, height: 1, txs: map[uint64]store.EthTxRec{}}
	w := db.NewAccountBatch()
	defer w.Close()
	w.PutToken(c.id(eUSDT), store.TokenMeta{Standard: store.TokenERC20, Decimals: 6, HasDecimals: true, Symbol: "USDT"})
	if err := w.Commit(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if err := m.Load(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *ethChain) id(a [20]byte) uint64 {
	if id, ok := c.ids[a]; ok {
		return id
	}
	id := uint64(len(c.ids))
	c.ids[a], c.addrs[id] = id, a
	return id
}

// block mines one transaction with the transfers xs.
func (c *ethChain) block(xs ...xfer) {
	ctx := c.t.Context()
	rec := store.EthTxRec{TxNum: c.height, Height: c.height, Hash: [32]byte{byte(c.height), 0xf}, Status: store.EthTxOK}
	for _, x := range xs {
		tr := store.EthTransferRec{Kind: uint8(x.kind), From: c.id(x.from), To: c.id(x.to), Amount: x.amount, LogIndex: -1}
		if x.token != native {
			tr.Token = c.id(x.token)
		}
		rec.Transfers = append(rec.Transfers, tr)
	}
	c.txs[c.height] = rec
	w := c.db.NewAccountBatch()
	defer w.Close()
	b := &EthBlock{Height: c.height, Hash: [32]byte{byte(c.height)}, Time: time.Unix(1e9+int64(c.height), 0), Txs: []store.EthTxRec{rec},
		Addr: func(id uint64) [20]byte { return c.addrs[id] }}
	if err := c.m.Forward(ctx, w.(Writer), c.db, b); err != nil {
		c.t.Fatal(err)
	}
	if err := w.Commit(ctx, true); err != nil {
		c.t.Fatal(err)
	}
	c.height++
}

// unwind unwinds the tip block and reloads the monitor, as ingest does.
func (c *ethChain) unwind() {
	ctx := c.t.Context()
	c.height--
	w := c.db.NewAccountBatch()
	defer w.Close()
	b := &EthBlock{Height: c.height, Hash: [32]byte{byte(c.height)}, Txs: []store.EthTxRec{c.txs[c.height]}}
	if err := c.m.Unwind(ctx, w.(Writer), c.db, b); err != nil {
		c.t.Fatal(err)
	}
	if err := w.Commit(ctx, true); err != nil {
		c.t.Fatal(err)
	}
	if err := c.m.Load(ctx, c.db); err != nil {
		c.t.Fatal(err)
	}
}

func (c *ethChain) alerts() []Alert {
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

// table returns the entries of a monitor table, to compare states.
func (c *ethChain) table(t store.MonitorTable) string {
	var b bytes.Buffer
	err := c.db.MonitorScan(c.t.Context(), t, nil, func(k, v []byte) (bool, error) {
		b.WriteString(hex.EncodeToString(k) + "=" + hex.EncodeToString(v) + "\n")
		return true, nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return b.String()
}

func (c *ethChain) tainted(a, token [20]byte) (model.Amount, int) {
	amt, hop, _ := c.m.Tainted(a, token, "w1")
	return amt, hop
}

// since returns the alerts after the first n.
func since(all []Alert, n int) []Alert { return all[n:] }

// TestEthHopsToExchange watches an address on an account chain: value
// arriving alerts "in", leaving alerts "out" and taints the recipient,
// taint follows two hops tainted first, a token transfer matches
// above:AMOUNT:USDT in the token's decimals, dust is not followed, the
// deposit at a labelled exchange matches category and entity rules
// without tainting the exchange, and unwinding the deposit restores the
// taint exactly and retracts its alerts.
func TestEthHopsToExchange(t *testing.T) {
	c := newEthChain(t, Watch{ID: "w1", Chain: "eth-dev", Addresses: []string{ethHex(eA)},
		Rules: rules(t, "any", "above:2", "above:1000:USDT", "category:exchange", "entity:bigex")})

	c.block(xfer{eth.Native, eX, eA, native, ether(5000)}) // in: any, above:2
	got := c.alerts()
	if len(got) != 2 || got[0].Direction != DirIn || got[0].Asset != "ETH" || got[0].Value != ether(5000).String() ||
		got[0].Amount != 0 || got[0].Token != "" || got[0].Counterparties[0].Address != ethHex(eX) || got[1].Rule != "above:2" {
		t.Fatalf("alerts of the funding: %+v", got)
	}
	if !strings.HasPrefix(got[0].Tx, "0x") || !strings.HasPrefix(got[0].Block, "0x") || got[0].Height != 1 {
		t.Fatalf("alert's tx and block %+v", got[0])
	}

	// First hop: A -> B 3 ETH: out, B tainted 3 at hop 1.
	n := len(c.alerts())
	c.block(xfer{eth.Native, eA, eB, native, ether(3000)})
	out := since(c.alerts(), n)
	if len(out) != 2 || out[0].Direction != DirOut || out[0].Hop != 0 || out[0].Counterparties[0].TaintedAmount != ether(3000).String() {
		t.Fatalf("first hop alerts %+v", out)
	}
	if amt, hop := c.tainted(eB, native); amt != ether(3000) || hop != 1 {
		t.Fatalf("B tainted %s at hop %d", amt, hop)
	}

	// B gets 10 clean ETH, then pays C 4 ETH: tainted first moves all 3
	// tainted ETH (and the alert says 3 moved), B keeps none.
	c.block(xfer{eth.Native, eY, eB, native, ether(10000)})
	n = len(c.alerts())
	if n != 4 {
		t.Fatalf("clean value into a tainted address alerted: %+v", c.alerts()[4:])
	}
	c.block(xfer{eth.Internal, eB, eC, native, ether(4000)})
	out = since(c.alerts(), n)
	if len(out) != 2 || out[0].Hop != 1 || out[0].Value != ether(3000).String() || out[1].Rule != "above:2" {
		t.Fatalf("second hop alerts %+v", out)
	}
	if amt, _ := c.tainted(eB, native); !amt.IsZero() {
		t.Fatalf("B still tainted %s", amt)
	}
	if amt, hop := c.tainted(eC, native); amt != ether(3000) || hop != 2 {
		t.Fatalf("C tainted %s at hop %d", amt, hop)
	}

	// Dust: C sends 0.0005 ETH to D, below the default 0.001: alerts, D
	// stays clean.
	half, _ := model.ParseAmount("500000000000000")
	n = len(c.alerts())
	c.block(xfer{eth.Native, eC, eD, native, half})
	if out = since(c.alerts(), n); len(out) != 1 || out[0].Rule != "any" {
		t.Fatalf("dust alerts %+v", out)
	}
	if amt, _ := c.tainted(eD, native); !amt.IsZero() {
		t.Fatalf("dust extended the watch: D tainted %s", amt)
	}

	// Tokens: A sends 1500 USDT and 500 USDT to B: any for both, above:1000:USDT
	// for the first only; above:2 (ETH) never.
	n = len(c.alerts())
	c.block(xfer{eth.ERC20, eA, eB, eUSDT, model.AmountFromUint64(1500_000000)}, xfer{eth.ERC20, eA, eB, eUSDT, model.AmountFromUint64(500_000000)})
	out = since(c.alerts(), n)
	if len(out) != 3 || out[0].Rule != "any" || out[1].Rule != "above:1000:USDT" || out[2].Rule != "any" ||
		out[0].Asset != "USDT" || out[0].Token != ethHex(eUSDT) || out[0].Value != "1500000000" {
		t.Fatalf("token alerts %+v", out)
	}
	if amt, hop := c.tainted(eB, eUSDT); amt != model.AmountFromUint64(2000_000000) || hop != 1 {
		t.Fatalf("B's USDT tainted %s at hop %d", amt, hop)
	}

	// Into the exchange: C deposits 2.5 ETH. any, above:2 (2.5 of C's
	// 2.9995 tainted moved), category and entity; the exchange is not
	// tainted.
	taintBefore, undoBefore := c.table(store.MonTaint), c.table(store.MonUndo)
	cBefore, _ := c.tainted(eC, native)
	n = len(c.alerts())
	c.block(xfer{eth.Native, eC, eEx, native, ether(2500)})
	dep := since(c.alerts(), n)
	var names []string
	for _, a := range dep {
		names = append(names, a.Rule)
		if a.Hop != 2 || a.Counterparties[0].Labels[0].Category != "exchange" {
			t.Fatalf("deposit alert %+v", a)
		}
	}
	if strings.Join(names, ",") != "any,above:2,category:exchange,entity:bigex" {
		t.Fatalf("deposit alerts %v", names)
	}
	if amt, _ := c.tainted(eEx, native); !amt.IsZero() {
		t.Fatalf("the watch extended into the exchange: %s", amt)
	}

	// Unwind the deposit: four retractions, C's taint and the tables
	// exactly as before.
	c.unwind()
	retr := since(c.alerts(), n+4)
	if len(retr) != 4 {
		t.Fatalf("%d retractions, want 4", len(retr))
	}
	for i, r := range retr {
		if r.Kind != KindRetraction || r.Retracts != dep[i].ID || r.Reason != RetractedReason {
			t.Fatalf("retraction %+v of %+v", r, dep[i])
		}
	}
	if amt, _ := c.tainted(eC, native); amt != cBefore {
		t.Fatalf("C tainted %s after the unwind, want %s", amt, cBefore)
	}
	if c.table(store.MonTaint) != taintBefore || c.table(store.MonUndo) != undoBefore {
		t.Fatal("taint tables differ after the unwind")
	}
	// A second unwind of the token block restores B's USDT and retracts
	// only its own three alerts.
	c.unwind()
	if amt, _ := c.tainted(eB, eUSDT); !amt.IsZero() {
		t.Fatalf("B's USDT tainted %s after unwinding its block", amt)
	}
	if got := len(c.alerts()); got != n+4+4+3 {
		t.Fatalf("%d alerts after the second unwind, want %d", got, n+11)
	}
}

// TestEthServiceNotExtended checks that value leaving a watched address
// into a labelled service or a token contract (WETH-like) alerts but does
// not taint it, so its payouts to others do not alert.
func TestEthServiceNotExtended(t *testing.T) {
	c := newEthChain(t, Watch{ID: "w1", Chain: "eth-dev", Addresses: []string{ethHex(eA)}})
	c.block(xfer{eth.Native, eA, eEx, native, ether(1000)})
	c.block(xfer{eth.Native, eEx, eY, native, ether(1000)})
	c.block(xfer{eth.Native, eA, eUSDT, native, ether(1000)})
	c.block(xfer{eth.Internal, eUSDT, eY, native, ether(1000)})
	if got := c.alerts(); len(got) != 2 || got[0].Direction != DirOut || got[1].Counterparties[0].Address != ethHex(eUSDT) {
		t.Fatalf("alerts %+v", got)
	}
	if _, n := c.m.Watching(); n != 0 {
		t.Fatalf("%d tainted holdings, want none", n)
	}
}

// TestEthCheckRefuses names the offending field of invalid watches on
// account chains and accepts the new rule forms.
func TestEthCheckRefuses(t *testing.T) {
	good := ethHex(eA)
	cases := []struct {
		w     Watch
		field string
	}{
		{Watch{Chain: "eth-", Addresses: []string{good}}, "chain"},
		{Watch{Chain: "eth-Dev!", Addresses: []string{good}}, "chain"},
		{Watch{Chain: "eth", Addresses: []string{"0x123"}}, "address"},
		{Watch{Chain: "eth-dev", Addresses: []string{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}}, "address"},
		{Watch{Chain: "eth", Addresses: []string{good}, Rules: []Rule{{Kind: RuleAbove, Limit: "1.0000000000000000001"}}}, "rule"},
		{Watch{Chain: "btc-regtest", Addresses: []string{addrA}, Rules: []Rule{{Kind: RuleAbove, Limit: "1", Asset: "USDT"}}}, "rule"},
		{Watch{Chain: "btc-regtest", Addresses: []string{addrA}, Rules: []Rule{{Kind: RuleAbove, Limit: "1.123456789"}}}, "rule"},
		{Watch{Chain: "eth", Addresses: []string{good}, Rules: []Rule{{Kind: RuleAbove, Limit: "1", Asset: "no good"}}}, "rule"},
	}
	for _, tc := range cases {
		err := tc.w.Check()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want a %s error", tc.w, err, tc.field)
		}
	}
	w := Watch{Chain: "eth", Addresses: []string{strings.ToLower(good)}, Rules: rules(t, "above:0.000000000000000001", "above:1000:usdt", "above:5:"+strings.ToLower(ethHex(eUSDT)), "above:1:ETH")}
	if err := w.Check(); err != nil || w.Addresses[0] != good {
		t.Fatalf("%+v: %v", w, err)
	}
	for i, want := range []string{"above:0.000000000000000001", "above:1000:usdt", "above:5:" + ethHex(eUSDT), "above:1:ETH"} {
		if got := w.Rules[i].String(); got != want {
			t.Errorf("rule %d is %s, want %s", i, got, want)
		}
	}
	if r, err := ParseRule("above:007.50"); err != nil || r.Limit != "7.5" || r.Amount != 7.5e8 {
		t.Errorf("above:007.50: %+v %v", r, err)
	}
	for _, bad := range []string{"above:1:", "above:1:0x12", "above:.", "above:1e5"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
	if _, err := NewEth(Options{Chain: "btc"}); err == nil {
		t.Error("an account monitor of btc")
	}
}

// TestEthTokenMetadata names a token without stored metadata by its
// contract and counts it in base units, and with FetchToken asks for its
// metadata once and uses its symbol and decimals.
func TestEthTokenMetadata(t *testing.T) {
	foo := ethAddr(0x66)
	w := Watch{ID: "w1", Chain: "eth-dev", Addresses: []string{ethHex(eA)}, Rules: rules(t, "above:5:"+ethHex(foo), "above:5:FOO")}
	c := newEthChain(t, w)
	c.block(xfer{eth.ERC20, eA, eB, foo, model.AmountFromUint64(6)})
	if got := c.alerts(); len(got) != 1 || got[0].Rule != "above:5:"+ethHex(foo) || got[0].Asset != ethHex(foo) || got[0].Token != ethHex(foo) {
		t.Fatalf("alerts without metadata %+v", got)
	}

	c = newEthChain(t, w)
	asked := 0
	c.m.opts.FetchToken = func(_ context.Context, a [20]byte) (store.TokenMeta, error) {
		asked++
		if a != foo {
			t.Errorf("asked for %x", a)
		}
		return store.TokenMeta{Symbol: "FOO", Decimals: 2, HasDecimals: true}, nil
	}
	c.block(xfer{eth.ERC20, eA, eB, foo, model.AmountFromUint64(600)})
	c.block(xfer{eth.ERC20, eA, eB, foo, model.AmountFromUint64(400)})
	got := c.alerts()
	if len(got) != 2 || got[0].Asset != "FOO" || got[0].Value != "600" || asked != 1 {
		t.Fatalf("alerts with fetched metadata (asked %d times) %+v", asked, got)
	}
}

// TestEthForgedAmounts moves the largest amount a forged token log can
// claim twice into one address: the taint saturates, ingest goes on.
func TestEthForgedAmounts(t *testing.T) {
	c := newEthChain(t, Watch{ID: "w1", Chain: "eth-dev", Addresses: []string{ethHex(eA)}})
	fake := ethAddr(0x77)
	c.block(xfer{eth.ERC20, eA, eB, fake, maxAmount}, xfer{eth.ERC20, eA, eB, fake, maxAmount})
	if amt, _ := c.tainted(eB, fake); amt != maxAmount {
		t.Fatalf("B tainted %s", amt)
	}
}

// TestEthTaintDecodeCorrupt feeds truncated and random records to the
// taint and undo decoders: errors, never a panic.
func TestEthTaintDecodeCorrupt(t *testing.T) {
	m, err := NewEth(Options{Chain: "eth"})
	if err != nil {
		t.Fatal(err)
	}
	m.taint = map[acct]map[string]tval{}
	k := taintKey(acct{eA, eUSDT}, "w1")
	v := encodeTaint(tval{amount: ether(1500), hop: 3})
	if a, w, tv, err := decodeTaint(k, v); err != nil || a.addr != eA || w != "w1" || tv.hop != 3 || tv.amount != ether(1500) {
		t.Fatalf("round trip: %v %v %v %v", a, w, tv, err)
	}
	for n := range v {
		if _, _, _, err := decodeTaint(k, v[:n]); err == nil {
			t.Errorf("taint value cut to %d bytes decoded", n)
		}
	}
	u := binary.AppendUvarint(nil, 1)
	u = binary.AppendUvarint(u, uint64(len(k)))
	u = append(append(u, k...), 1)
	u = binary.AppendUvarint(u, uint64(len(v)))
	u = append(u, v...)
	db, err := store.Open(t.Context(), t.TempDir(), store.ChainMeta{Chain: "eth", Network: "dev"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := db.NewAccountBatch()
	defer w.Close()
	if err := m.restore(w.(Writer), u); err != nil {
		t.Fatal(err)
	}
	for n := range u {
		if err := m.restore(w.(Writer), u[:n]); err == nil && n > 0 {
			t.Errorf("undo record cut to %d bytes applied", n)
		}
	}
	r := uint32(1)
	for range 2000 {
		b := make([]byte, int(r%90))
		for i := range b {
			r = r*1664525 + 1013904223
			b[i] = byte(r >> 24)
		}
		_ = m.restore(w.(Writer), b)
		_, _, _, _ = decodeTaint(b, b)
	}
}
