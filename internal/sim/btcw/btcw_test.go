package btcw

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// TestValidity scripts a few hundred blocks of random spends (chained
// spends in one block, all four kinds, many inputs and outputs, lock
// times), a block filled to the weight limit and one filled to the sigop
// limit, over several obfuscated files, and validates every block read
// back from the files with btcd.
func TestValidity(t *testing.T) {
	dir := t.TempDir()
	key := [8]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	d := newDriver(t, dir, Config{Seed: 1, FileSize: 1 << 20, XORKey: &key}, 1)
	d.run(250, 40)
	if n := d.fill(P2WPKH, 2); n < 5000 {
		t.Fatalf("a block took only %d 1-in-2-out transactions", n)
	}
	d.mine()
	if n := d.fill(P2PKH, 100); n < 150 {
		t.Fatalf("a block took only %d 100-output P2PKH transactions", n)
	}
	d.mine()
	if err := d.c.Close(); err != nil {
		t.Fatal(err)
	}
	st := d.c.Stats()
	v := validate(t, dir, d.c.Net())

	got := [...]int64{v.txs, v.inputs, v.outputs, int64(len(v.utxos))}
	want := [...]int64{st.Txs, st.Inputs, st.Outputs, st.Unspent}
	if got != want {
		t.Fatalf("files hold txs, inputs, outputs, unspent %v; Stats says %v", got, want)
	}
	if st.Blocks != int64(d.c.Height())+1 || d.c.Height() < 350 {
		t.Fatalf("Stats counts %d blocks at height %d", st.Blocks, d.c.Height())
	}
	var value int64
	for op, vc := range v.utxos {
		c, ok := d.c.Unspent(op)
		if !ok || c.Value != vc.value || !bytes.Equal(c.Addr.PkScript(), vc.script) || int(c.Height) != vc.height || c.Coinbase != vc.coinbase {
			t.Fatalf("validator has %v = %+v, ledger %+v (%v)", op, vc, c, ok)
		}
		value += vc.value
	}
	if value != st.UnspentValue {
		t.Fatalf("files leave %d unspent, Stats says %d", value, st.UnspentValue)
	}
	for _, k := range []string{"p2pkh", "p2wpkh", "p2sh-p2wpkh", "p2tr"} {
		if v.spendKinds[k] < 20 {
			t.Errorf("only %d %s spends", v.spendKinds[k], k)
		}
	}
	if v.chained < 100 || v.commitments < 100 {
		t.Errorf("only %d chained spends, %d witness commitments", v.chained, v.commitments)
	}
	if v.maxWeight < 3_990_000 || v.maxSigops < 79_000 {
		t.Errorf("fullest blocks weigh %d and cost %d sigops", v.maxWeight, v.maxSigops)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "blk*.dat")); st.Files < 3 || len(files) != st.Files {
		t.Errorf("Stats counts %d files, dir holds %d", st.Files, len(files))
	}
	t.Logf("height %d, %d txs, %d inputs, %d outputs, %d chained, %d unspent; spends %v",
		d.c.Height(), st.Txs, st.Inputs, st.Outputs, v.chained, st.Unspent, v.spendKinds)
}

// TestDeterminism checks that the same script gives identical files and
// that another seed gives other ones.
func TestDeterminism(t *testing.T) {
	key := [8]byte{9, 8, 7, 6, 5, 4, 3, 2}
	build := func(seed int64) map[string][32]byte {
		dir := t.TempDir()
		d := newDriver(t, dir, Config{Seed: seed, FileSize: 256 << 10, XORKey: &key}, 5)
		d.run(80, 30)
		if err := d.c.Close(); err != nil {
			t.Fatal(err)
		}
		return fileSums(t, dir)
	}
	a, b, other := build(3), build(3), build(4)
	if len(a) < 3 || !maps.Equal(a, b) {
		t.Fatalf("two runs of one script wrote different files (%d and %d)", len(a), len(b))
	}
	if a["blk00000.dat"] == other["blk00000.dat"] {
		t.Fatal("another seed wrote the same first file")
	}
}

// badCalls makes every kind of refused call against the ledger, paying a
// when it needs an address, and checks each error and that nothing
// changed.
func badCalls(t *testing.T, d *driver, a Addr) {
	t.Helper()
	c := d.c
	ctx := context.Background()
	coin, other := d.pool[0], d.pool[1]
	stats, pending, weight, tip := c.Stats(), c.Pending(), c.Weight(), c.TipHash()
	try := func(name string, want error, mention string, err error) {
		t.Helper()
		if err == nil || want != nil && !errors.Is(err, want) || !strings.HasPrefix(err.Error(), "btcw: ") || !strings.Contains(err.Error(), mention) {
			t.Fatalf("%s: got %v, want %v mentioning %q", name, err, want, mention)
		}
		if c.Stats() != stats || c.Pending() != pending || c.Weight() != weight || c.TipHash() != tip {
			t.Fatalf("%s changed the ledger", name)
		}
		for _, k := range []Coin{coin, other} {
			if _, ok := c.Unspent(k.OutPoint); !ok {
				t.Fatalf("%s spent %v", name, k.OutPoint)
			}
		}
	}
	spend := func(ins []Coin, outs ...Output) error {
		_, _, err := c.Spend(ins, outs, TxOpts{})
		return err
	}
	op := coin.OutPoint.String()
	try("overspend", ErrOverspend, "", spend([]Coin{coin}, Output{a, coin.Value + 1}))
	try("overspend by two outputs", ErrOverspend, "", spend([]Coin{coin}, Output{a, coin.Value}, Output{a, 1}))
	try("zero output", ErrBadOutput, "output 1", spend([]Coin{coin}, Output{a, 1}, Output{a, 0}))
	try("negative output", ErrBadOutput, "output 0", spend([]Coin{coin}, Output{a, -5}))
	try("huge output", ErrBadOutput, "output 0", spend([]Coin{coin}, Output{a, 1 << 62}))
	foreign := a
	foreign.Hash[3] ^= 1
	try("foreign address", ErrBadOutput, "did not make", spend([]Coin{coin}, Output{foreign, 1}))
	try("invalid kind", ErrBadOutput, "invalid", spend([]Coin{coin}, Output{c.NewAddr(Kind(9)), 1}))
	unknown := Coin{OutPoint: wire.OutPoint{Hash: chainhash.Hash{1, 2, 3}, Index: 4}, Value: 10, Addr: a}
	try("unknown coin", ErrUnknownCoin, unknown.OutPoint.String(), spend([]Coin{coin, unknown}, Output{a, 1}))
	wrong := coin
	wrong.Value++
	try("wrong value", ErrCoinMismatch, op, spend([]Coin{wrong}, Output{a, 1}))
	try("same coin twice", ErrDoubleSpend, op, spend([]Coin{coin, other, coin}, Output{a, 1}))
	many := append([]Coin{}, d.pool[2:18]...)
	many = append(many, many[7])
	try("same coin twice in a large tx", ErrDoubleSpend, many[7].OutPoint.String(), spend(many, Output{a, 1}))
	try("no inputs", ErrEmptyTx, "", spend(nil, Output{a, 1}))
	try("no outputs", ErrEmptyTx, "", spend([]Coin{coin}))
	young := d.young[len(d.young)-1]
	try("immature coinbase", ErrImmature, young.OutPoint.String(), spend([]Coin{young}, Output{a, 1}))
	_, _, err := c.Spend([]Coin{coin}, []Output{{a, 1}}, TxOpts{LockTime: uint32(c.Height() + 1)})
	try("future lock time", ErrLockTime, "", err)
	_, _, err = c.Spend([]Coin{coin}, []Output{{a, 1}}, TxOpts{LockTime: uint32(time.Now().Unix())})
	try("future lock time by date", ErrLockTime, "", err)
	_, _, err = c.Spend([]Coin{coin}, []Output{{a, 1}}, TxOpts{Sequence: 100_000})
	try("relative lock", ErrLockTime, op, err)
	_, _, err = c.Spend([]Coin{coin}, []Output{{a, 1}}, TxOpts{Sequence: 1<<22 | 1})
	try("time-based relative lock", ErrLockTime, "time-based", err)
	huge := make([]Output, 33_000)
	for i := range huge {
		huge[i] = Output{a, 1}
	}
	want := ErrTxTooLarge
	if c.Pending() > 0 {
		want = ErrBlockFull
	}
	try("huge tx", want, "", spend([]Coin{coin}, huge...))
	_, _, err = c.Mine(ctx, time.Time{}, foreign)
	try("foreign reward", ErrBadOutput, "reward", err)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = c.Mine(cancelled, time.Time{}, a)
	try("cancelled mine", context.Canceled, "", err)
	_, _, err = c.Mine(ctx, time.Unix(1<<33, 0), a)
	try("time past 2106", nil, "2106", err)
}

// script drives a ledger through random blocks and then a fixed run of
// spends, making refused calls in between when bad is set.
func script(t *testing.T, dir string, bad bool) *driver {
	d := newDriver(t, dir, Config{Seed: 9}, 9)
	d.run(20, 10)
	a, w := d.c.NewAddr(P2TR), d.c.NewAddr(P2WPKH)
	for i := range 3 {
		if bad {
			badCalls(t, d, w)
		}
		coin := d.take(0)
		if i > 0 && bad {
			// A coin spent in an earlier block is unknown now.
			_, _, err := d.c.Spend([]Coin{d.spent}, []Output{{a, 1}}, TxOpts{})
			if !errors.Is(err, ErrUnknownCoin) || !strings.Contains(err.Error(), d.spent.OutPoint.String()) {
				t.Fatalf("spending a coin spent a block ago: %v", err)
			}
		}
		_, coins, err := d.c.Spend([]Coin{coin}, []Output{{a, coin.Value / 2}, {d.c.NewAddr(P2PKH), coin.Value / 3}}, TxOpts{})
		if err != nil {
			t.Fatal(err)
		}
		d.record(coins...)
		if bad {
			_, _, err := d.c.Spend([]Coin{coin}, []Output{{a, 1}}, TxOpts{})
			if !errors.Is(err, ErrDoubleSpend) || !strings.Contains(err.Error(), coin.OutPoint.String()) {
				t.Fatalf("double spend in one block: %v", err)
			}
			badCalls(t, d, w)
		}
		// The new coins are spendable at once.
		_, more, err := d.c.Spend(coins, []Output{{d.c.NewAddr(P2SHP2WPKH), coins[0].Value}}, TxOpts{})
		if err != nil {
			t.Fatal(err)
		}
		d.record(more...)
		d.pool = append(d.pool, more...)
		d.spent = coin
		d.mine()
	}
	if err := d.c.Close(); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBadCalls checks that double spends, immature coinbases,
// overspends, unknown coins, bad outputs and lock times get clear errors
// and change nothing: the chain stays valid, and it is byte for byte the
// chain the same script writes without the refused calls.
func TestBadCalls(t *testing.T) {
	good, bad := t.TempDir(), t.TempDir()
	script(t, good, false)
	d := script(t, bad, true)
	validate(t, bad, d.c.Net())
	if !maps.Equal(fileSums(t, good), fileSums(t, bad)) {
		t.Fatal("refused calls changed the files")
	}
}

// TestClose checks Close's refusal to drop a block being built and that
// a closed ledger refuses calls.
func TestClose(t *testing.T) {
	d := newDriver(t, t.TempDir(), Config{}, 1)
	d.run(1, 3)
	if !d.randomTx() {
		t.Fatal("no transaction")
	}
	if err := d.c.Close(); err == nil || !strings.Contains(err.Error(), "Mine first") {
		t.Fatalf("Close with a pending transaction: %v", err)
	}
	if err := d.c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := d.c.Mine(context.Background(), time.Time{}, d.c.NewAddr(P2TR)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Mine after Close: %v", err)
	}
	if _, _, err := d.c.Spend(d.pool[:1], []Output{{d.c.NewAddr(P2TR), 1}}, TxOpts{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Spend after Close: %v", err)
	}
}

// TestNew checks New's refusals, the genesis block, address encoding per
// network, and Mine's handling of times.
func TestNew(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	c, err := New(dir, Config{Start: start})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(dir, Config{}); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("New over existing files: %v", err)
	}
	if c.Height() != 0 || c.TipHash() != *chaincfg.RegressionNetParams.GenesisHash || c.Stats().Blocks != 1 {
		t.Fatalf("a new ledger is at %d %v", c.Height(), c.TipHash())
	}
	ctx := context.Background()
	r := c.NewAddr(P2WPKH)
	for i, want := range []time.Time{start, start.Add(600 * time.Second), start.Add(601 * time.Second), start.Add(5000 * time.Second)} {
		at := time.Time{}
		switch i {
		case 2:
			at = start // Backwards: bumped.
		case 3:
			at = want
		}
		if _, _, err := c.Mine(ctx, at, r); err != nil {
			t.Fatal(err)
		}
		if got := time.Unix(int64(c.prevTime()), 0).UTC(); !got.Equal(want) {
			t.Fatalf("block %d at %v, want %v", i+1, got, want)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	validate(t, dir, &chaincfg.RegressionNetParams)

	if _, err := New(t.TempDir(), Config{Net: &chaincfg.MainNetParams}); err == nil || !strings.Contains(err.Error(), "SkipPoW") {
		t.Fatalf("mainnet without SkipPoW: %v", err)
	}
	prefixes := map[*chaincfg.Params][numKinds]string{
		&chaincfg.RegressionNetParams: {"bcrt1q", "m", "2", "bcrt1p"},
		&chaincfg.MainNetParams:       {"bc1q", "1", "3", "bc1p"},
	}
	for net, want := range prefixes {
		c, err := New(t.TempDir(), Config{Net: net, SkipPoW: true})
		if err != nil {
			t.Fatal(err)
		}
		for k := range numKinds {
			s := c.AddrString(c.NewAddr(k))
			if !strings.HasPrefix(s, want[k]) && !(k == P2PKH && strings.HasPrefix(s, "n")) {
				t.Errorf("%s %s address %q", net.Name, k, s)
			}
		}
		if s := c.AddrString(Addr{Kind: 7}); s != "" {
			t.Errorf("invalid kind encodes as %q", s)
		}
		c.Close()
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %d files, want blk00000.dat alone", len(entries))
	}
}

// TestMaturity checks the coinbase maturity boundary: a coinbase of
// height h is refused in block h+99 and spendable in block h+100.
func TestMaturity(t *testing.T) {
	dir := t.TempDir()
	c, err := New(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := c.NewAddr(P2PKH)
	h, cb, err := c.Mine(ctx, time.Time{}, a)
	if err != nil || h != 1 || !cb.Coinbase || cb.Value != c.Subsidy(1) || c.Maturity() != 100 {
		t.Fatalf("block %d, coinbase %+v, %v", h, cb, err)
	}
	if u, ok := c.Unspent(cb.OutPoint); !ok || u != cb {
		t.Fatalf("Unspent has %+v, %v; Mine returned %+v", u, ok, cb)
	}
	for c.Height() < cb.Height+c.Maturity()-2 {
		if _, _, err := c.Mine(ctx, time.Time{}, a); err != nil {
			t.Fatal(err)
		}
	}
	outs := []Output{{c.NewAddr(P2TR), cb.Value - 1000}}
	if c.Spendable(cb) {
		t.Fatal("Spendable says a coinbase is mature one block early")
	}
	if _, _, err := c.Spend([]Coin{cb}, outs, TxOpts{}); !errors.Is(err, ErrImmature) {
		t.Fatalf("spending a coinbase one block early: %v", err)
	}
	if _, _, err := c.Mine(ctx, time.Time{}, a); err != nil {
		t.Fatal(err)
	}
	if !c.Spendable(cb) {
		t.Fatal("Spendable says a mature coinbase is not")
	}
	if _, _, err := c.Spend([]Coin{cb}, outs, TxOpts{}); err != nil {
		t.Fatalf("spending a coinbase at maturity: %v", err)
	}
	if _, _, err := c.Mine(ctx, time.Time{}, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if v := validate(t, dir, c.Net()); v.spendKinds["p2pkh"] != 1 {
		t.Fatalf("spends %v", v.spendKinds)
	}
}

// TestSubsidyRunsOut mines past regtest's last halving, where a block
// without fees has a worthless coinbase, and checks that such a coin is
// still a coin: in the unspent set and spendable, as in Core.
func TestSubsidyRunsOut(t *testing.T) {
	dir := t.TempDir()
	c, err := New(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := c.NewAddr(P2SHP2WPKH)
	var first, zero Coin
	for c.Height() < 5100 {
		_, cb, err := c.Mine(ctx, time.Time{}, a)
		if err != nil {
			t.Fatal(err)
		}
		switch cb.Height {
		case 1:
			first = cb
		case 4949:
			if cb.Value != 1 {
				t.Fatalf("block 4949 pays %d", cb.Value)
			}
		case 4950:
			zero = cb
		}
	}
	if u, ok := c.Unspent(zero.OutPoint); !ok || u.Value != 0 || c.Subsidy(4950) != 0 {
		t.Fatalf("worthless coinbase %+v in the unspent set: %v", u, ok)
	}
	if _, _, err := c.Spend([]Coin{zero, first}, []Output{{c.NewAddr(P2WPKH), first.Value - 500}}, TxOpts{}); err != nil {
		t.Fatal(err)
	}
	if _, cb, err := c.Mine(ctx, time.Time{}, a); err != nil || cb.Value != 500 {
		t.Fatalf("the coinbase after the spend: %+v, %v", cb, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	v := validate(t, dir, c.Net())
	if int64(len(v.utxos)) != c.Stats().Unspent {
		t.Fatalf("files leave %d coins, Stats says %d", len(v.utxos), c.Stats().Unspent)
	}
}
