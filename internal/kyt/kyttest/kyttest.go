// Package kyttest builds the data directory the deposit-screening tests
// share: a Bitcoin regtest store and a simulated EVM store, each written
// by the simulators (package btcw, package ethw) and ingested by the real
// ingesters, and a label store, under the paths the CLI uses.
//
// The Bitcoin chain: blocks 1 and 2 pay their rewards to Bad and Clean,
// 100 blocks mature them, then DepositTx spends both coinbases into
// Deposit (output 0, 30 BTC) and change. Extend ingests one more block
// with PendingTx (a miner's coin into Deposit, output 0), which the store
// does not hold before. The EVM chain: ETHBad receives minted USDT and
// sends 250 USDT to ETHDeposit (TokenTx, TokenLog), ETHClean sends it
// 1 ETH (NativeTx). Labels: Clean is an exchange, ETHBad a hacker.
package kyttest

import (
	"context"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/eth/etl"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/ethereum/go-ethereum/common"
)

// Chain ids of the fixture's stores.
const (
	BTCChain = "btc-regtest"
	ETHChain = "eth-sim"
)

// Fixture is a data directory with its stores open.
type Fixture struct {
	Data     string
	BTC, ETH *store.DB
	Labels   *labels.Store
	Screener *screen.Screener

	Bad, Clean, Deposit string
	Unused              string // an address no transaction pays
	DepositTx           string // output 0 pays Deposit
	PendingTx           string // in the store only after Extend

	ETHBad, ETHClean, ETHDeposit, USDT string
	TokenTx, NativeTx                  string
	TokenLog                           uint32

	t       testing.TB
	fullBlk string // the Bitcoin chain with PendingTx's block
	closed  bool
}

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// Build writes and ingests the fixture into a fresh temporary data
// directory; the stores close when the test ends.
func Build(t testing.TB) *Fixture {
	t.Helper()
	ctx := context.Background()
	f := &Fixture{Data: t.TempDir(), t: t}
	shortBlk, fullBlk := t.TempDir(), t.TempDir()
	f.bitcoin(ctx, shortBlk, false)
	f.bitcoin(ctx, fullBlk, true)
	f.fullBlk = fullBlk
	db, err := store.Open(ctx, workspace.BTCStoreDir(f.Data, "regtest"), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.BTC = db
	t.Cleanup(f.Close)
	f.ingestBTC(ctx, shortBlk)
	f.ethereum(ctx)
	if f.Labels, err = labels.Open(ctx, workspace.LabelsDir(f.Data)); err != nil {
		t.Fatal(err)
	}
	f.Apply(ctx, labels.Dataset{Name: "tagpack:fixture.yaml", Format: "tagpack", Labels: []labels.Label{
		{Chain: BTCChain, Address: f.Clean, Label: "Fixture Exchange", Category: "exchange", ConfidenceLevel: 50, Source: "fixture", Dataset: "tagpack:fixture.yaml"},
		{Chain: "eth", Address: f.ETHBad, Label: "Fixture hacker", Abuse: "hack", ConfidenceLevel: 80, Source: "fixture", Dataset: "tagpack:fixture.yaml"},
	}})
	gr, err := screen.NewBTCGraph(f.BTC)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := f.Labels.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Screener, err = screen.New(ix, map[string]screen.Graph{BTCChain: gr}, screen.DefaultRules()); err != nil {
		t.Fatal(err)
	}
	return f
}

// bitcoin writes the Bitcoin chain's blk file into dir, with PendingTx's
// block when full. The calls up to it are the same either way, so the
// short chain is a prefix of the full one.
func (f *Fixture) bitcoin(ctx context.Context, dir string, full bool) {
	t := f.t
	c, err := btcw.New(dir, btcw.Config{Seed: 7, Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	bad, clean, miner, dep, change := c.NewAddr(btcw.P2WPKH), c.NewAddr(btcw.P2WPKH), c.NewAddr(btcw.P2WPKH), c.NewAddr(btcw.P2WPKH), c.NewAddr(btcw.P2WPKH)
	f.Bad, f.Clean, f.Deposit = c.AddrString(bad), c.AddrString(clean), c.AddrString(dep)
	f.Unused = c.AddrString(c.NewAddr(btcw.P2WPKH))
	_, badCoin, err := c.Mine(ctx, time.Time{}, bad)
	must(err)
	_, cleanCoin, err := c.Mine(ctx, time.Time{}, clean)
	must(err)
	var minerCoin btcw.Coin
	for i := range 100 {
		_, cb, err := c.Mine(ctx, time.Time{}, miner)
		must(err)
		if i == 0 {
			minerCoin = cb
		}
	}
	h, _, err := c.Spend([]btcw.Coin{badCoin, cleanCoin}, []btcw.Output{{Addr: dep, Value: 30 * 1e8}, {Addr: change, Value: 70*1e8 - 10_000}}, btcw.TxOpts{})
	must(err)
	f.DepositTx = h.String()
	_, _, err = c.Mine(ctx, time.Time{}, miner)
	must(err)
	if full {
		h, _, err = c.Spend([]btcw.Coin{minerCoin}, []btcw.Output{{Addr: dep, Value: 1e8}, {Addr: change, Value: 49*1e8 - 10_000}}, btcw.TxOpts{})
		must(err)
		f.PendingTx = h.String()
		_, _, err = c.Mine(ctx, time.Time{}, miner)
		must(err)
	}
	must(c.Close())
}

func (f *Fixture) ingestBTC(ctx context.Context, blkDir string) {
	src, err := blkfile.Open(ctx, blkDir, chaincfg.RegressionNetParams.Net)
	if err != nil {
		f.t.Fatal(err)
	}
	defer src.Close()
	if _, err := ingest.NewBTC(f.BTC, src, ingest.Options{}).Run(ctx); err != nil {
		f.t.Fatal(err)
	}
}

// Extend ingests the block holding PendingTx.
func (f *Fixture) Extend() {
	f.t.Helper()
	f.ingestBTC(context.Background(), f.fullBlk)
}

// ethereum writes the EVM chain as an ethereum-etl export and imports it.
func (f *Fixture) ethereum(ctx context.Context) {
	t := f.t
	dir := t.TempDir()
	c, err := ethw.New(dir, ethw.Config{Seed: 3, GenesisTime: t0})
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ common.Hash, err error) common.Hash {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return common.Hash{}
	}
	bad, clean, dep, miner := c.NewAddr(), c.NewAddr(), c.NewAddr(), c.NewAddr()
	f.ETHBad, f.ETHClean, f.ETHDeposit = bad.Hex(), clean.Hex(), dep.Hex()
	c.Withdraw(bad, 2_000_000_000)
	c.Withdraw(clean, 5_000_000_000)
	usdt := c.DeployToken("USDT", "Tether USD", 6)
	f.USDT = usdt.Hex()
	now := t0
	mine := func() {
		now = now.Add(12 * time.Second)
		if _, err := c.Mine(ctx, now, miner); err != nil {
			t.Fatal(err)
		}
	}
	mine()
	must(c.Mint(usdt, bad, big.NewInt(1_000_000_000)))
	mine()
	tok, err := c.TokenTransfer(bad, usdt, dep, big.NewInt(250_000_000))
	must(tok, err)
	nat, err := c.Send(clean, dep, new(big.Int).Mul(big.NewInt(1e9), big.NewInt(1e9)))
	must(nat, err)
	f.TokenTx, f.NativeTx = tok.Hex(), nat.Hex()
	mine()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := etl.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, workspace.ETHStoreDir(f.Data, "sim"), store.ChainMeta{Chain: "eth", Network: "sim"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.ETH = db
	st, err := ingest.NewEthDecoded(db, src, ingest.Options{StartHeight: src.First()}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.FillTokenMeta(ctx, db, src, src.First(), st.Height); err != nil {
		t.Fatal(err)
	}
	num, err := db.EthTxNum(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	var rec store.EthTxRec
	if err := db.EthTx(ctx, num, &rec); err != nil {
		t.Fatal(err)
	}
	for _, tr := range rec.Transfers {
		if eth.Kind(tr.Kind) == eth.ERC20 {
			f.TokenLog = uint32(tr.LogIndex)
		}
	}
}

// Apply applies a label dataset and, once the screener exists, reloads
// its index, as a server does after an import.
func (f *Fixture) Apply(ctx context.Context, d labels.Dataset) {
	f.t.Helper()
	if _, err := f.Labels.Apply(ctx, d); err != nil {
		f.t.Fatal(err)
	}
	if f.Screener != nil {
		ix, err := f.Labels.Index(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		f.Screener.SetIndex(ix)
	}
}

// Sanction labels a Bitcoin address of the fixture as sanctioned and
// reloads the index.
func (f *Fixture) Sanction(address string) {
	f.t.Helper()
	f.Apply(context.Background(), SanctionDataset(address))
}

// SanctionDataset is an OFAC-like dataset that lists a Bitcoin address of
// the fixture as sanctioned; applying it again with another address
// delists the first.
func SanctionDataset(address string) labels.Dataset {
	return labels.Dataset{Name: "ofac-sdn", Format: "ofac", Labels: []labels.Label{
		{Chain: BTCChain, Address: address, Label: "Fixture sanctioned wallet", Abuse: "sanction", Entity: "FIXTURE ENTITY",
			ConfidenceLevel: 100, Source: "https://sanctionssearch.ofac.treas.gov/", Dataset: "ofac-sdn"},
	}}
}

// Chains returns the fixture's stores as a registry's chains.
func (f *Fixture) Chains() kyt.Chains {
	return kyt.Chains{BTC: map[string]store.Reader{BTCChain: f.BTC}, EVM: map[string]store.AccountReader{ETHChain: f.ETH}}
}

// Open opens a registry over the fixture.
func (f *Fixture) Open(ctx context.Context) *kyt.Registry {
	f.t.Helper()
	r, err := kyt.Open(ctx, kyt.Options{Data: f.Data, Screener: f.Screener, Chains: f.Chains(),
		Now: func() time.Time { return time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// Close closes the stores, so that another process (the CLI) may open
// the data directory.
func (f *Fixture) Close() {
	if f.closed {
		return
	}
	f.closed = true
	for _, db := range []*store.DB{f.BTC, f.ETH} {
		if db != nil {
			_ = db.Close()
		}
	}
	if f.Labels != nil {
		_ = f.Labels.Close()
	}
}

// Path is a file under the fixture's data directory.
func (f *Fixture) Path(elem ...string) string {
	return filepath.Join(append([]string{f.Data}, elem...)...)
}
