package world

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/ethereum/go-ethereum/common"
)

// ingestedWorld is a default-size world ingested through the real
// ingesters, shared by the tests that read it back from the stores.
type ingestedWorld struct {
	dir  string // the world: btc/, eth/, labels/, bridges.yaml, truth.json
	data string // the data directory with the stores
	tw   *truth.World
	err  error
}

var (
	shared     ingestedWorld
	sharedOnce sync.Once
	sharedRoot string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedRoot != "" {
		os.RemoveAll(sharedRoot)
	}
	os.Exit(code)
}

// ingested returns the shared world, generating and ingesting it on first
// use.
func ingested(t *testing.T) *ingestedWorld {
	t.Helper()
	sharedOnce.Do(func() {
		ctx := context.Background()
		root, err := os.MkdirTemp("", "world-ingest-")
		if err != nil {
			shared.err = err
			return
		}
		sharedRoot = root
		shared.dir, shared.data = filepath.Join(root, "world"), filepath.Join(root, "data")
		began := time.Now()
		if shared.tw, err = Generate(ctx, shared.dir, Config{Seed: 11}); err != nil {
			shared.err = err
			return
		}
		gen := time.Since(began)
		if _, err := workspace.IngestBlockFiles(ctx, shared.data, filepath.Join(shared.dir, "btc"), &chaincfg.RegressionNetParams, workspace.IngestOptions{}); err != nil {
			shared.err = fmt.Errorf("ingest btc: %w", err)
			return
		}
		if _, err := workspace.IngestETL(ctx, shared.data, filepath.Join(shared.dir, "eth"), ETHNetwork, workspace.IngestOptions{}); err != nil {
			shared.err = fmt.Errorf("ingest eth: %w", err)
			return
		}
		t.Logf("world of %d btc and %d eth txs generated in %v, ingested in %v", shared.tw.Chains["btc"].Txs,
			shared.tw.Chains["eth"].Txs, gen.Round(time.Millisecond), (time.Since(began) - gen).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return &shared
}

// stores opens the world's two stores read-only, as the CLI's look-ups do.
func (iw *ingestedWorld) stores(t *testing.T) (*query.BTC, *store.DB, *query.ETH, *store.DB) {
	t.Helper()
	ctx := context.Background()
	bdb, err := store.Open(ctx, workspace.BTCStoreDir(iw.data, BTCNetwork), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bdb.Close() })
	bq, err := query.NewBTC(bdb)
	if err != nil {
		t.Fatal(err)
	}
	edb, err := store.Open(ctx, workspace.ETHStoreDir(iw.data, ETHNetwork), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { edb.Close() })
	return bq, bdb, query.NewETH(edb), edb
}

func bigOf(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("amount %q", s)
	}
	return v
}

// ethNet returns an address's net flow of asset ("ETH" or a token's
// lower-case address) in the store, zero for an address without activity.
func ethNet(t *testing.T, q *query.ETH, addr, asset string) *big.Int {
	t.Helper()
	s, err := q.Address(context.Background(), addr, 0)
	if errors.Is(err, query.ErrNotFound) {
		return new(big.Int)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range s.Assets {
		if a.Token == "" && asset == "ETH" || a.Token != "" && strings.EqualFold(a.Token, asset) {
			return bigOf(t, a.Net)
		}
	}
	return new(big.Int)
}

// TestIngestedWorld ingests a default-size world through the real
// ingesters and checks the stores against the truth: every holding's
// balance, the transaction and block counts, and that ether (withdrawals
// less burnt fees) and USDT (mints) are conserved with no negative
// balance anywhere.
func TestIngestedWorld(t *testing.T) {
	iw := ingested(t)
	tw := iw.tw
	ctx := context.Background()
	bq, _, eq, edb := iw.stores(t)
	if err := tw.Check(); err != nil {
		t.Fatal(err)
	}
	if len(tw.Heists) != 4 {
		t.Fatalf("%d heists", len(tw.Heists))
	}

	// Counts.
	tip, ok, err := bq.Tip(ctx)
	if err != nil || !ok {
		t.Fatalf("btc tip: %v %v", ok, err)
	}
	if got := int64(tip.TxNumMin) + int64(tip.TxCount); got != tw.Chains["btc"].Txs || tip.Height+1 != tw.Chains["btc"].Blocks {
		t.Errorf("btc store: %d txs in %d blocks; truth %+v", got, tip.Height+1, tw.Chains["btc"])
	}
	ep, ok, err := edb.Progress(ctx, "eth-blocks")
	if err != nil || !ok {
		t.Fatalf("eth progress: %v %v", ok, err)
	}
	var etxs int64
	for h := uint64(0); h <= ep.Height; h++ {
		b, err := edb.EthBlockByHeight(ctx, h)
		if err != nil {
			t.Fatalf("eth block %d: %v", h, err)
		}
		etxs += int64(b.TxCount)
	}
	if etxs != tw.Chains["eth"].Txs || ep.Height+1 != tw.Chains["eth"].Blocks {
		t.Errorf("eth store: %d txs in %d blocks; truth %+v", etxs, ep.Height+1, tw.Chains["eth"])
	}
	t.Logf("btc: %d blocks, %d txs; eth: %d blocks, %d txs", tip.Height+1, tw.Chains["btc"].Txs, ep.Height+1, etxs)

	// Holdings.
	holdings := 0
	for _, h := range tw.Heists {
		for _, d := range h.Destinations {
			if d.Kind != truth.KindHolding {
				continue
			}
			holdings++
			want := bigOf(t, d.Amount.String())
			var got *big.Int
			switch d.Chain {
			case BTCChain:
				s, err := bq.Address(ctx, d.Address)
				if err != nil {
					t.Fatalf("heist %s: holding %s: %v", h.ID, d.Address, err)
				}
				got = big.NewInt(s.Balance)
			case ETHChain:
				got = ethNet(t, eq, d.Address, d.Asset)
			default:
				t.Fatalf("heist %s: holding on chain %q", h.ID, d.Chain)
			}
			if got.Cmp(want) != 0 {
				t.Errorf("heist %s: holding %s %s at %s: store %s, truth %s", h.ID, d.Chain, d.Asset, d.Address, got, want)
			}
		}
	}
	if holdings == 0 {
		t.Error("no holdings in the truth")
	}

	// Conservation on the account chain: the sum of all balances is what
	// withdrawals created less what fees burnt (native), and what was
	// minted (USDT); no address holds less than nothing.
	usdtID, err := edb.AddrID(ctx, common.HexToAddress(tokenOf(t, tw)).Bytes())
	if err != nil {
		t.Fatal(err)
	}
	created, burnt, minted := new(big.Int), new(big.Int), new(big.Int)
	var rec store.EthTxRec
	for h := uint64(0); h <= ep.Height; h++ {
		b, err := edb.EthBlockByHeight(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		for n := b.TxNumMin; n < b.TxNumMin+b.TxNums(); n++ {
			if err := edb.EthTx(ctx, n, &rec); err != nil {
				t.Fatal(err)
			}
			for _, tr := range rec.Transfers {
				v := bigOf(t, tr.Amount.String())
				switch {
				case eth.Kind(tr.Kind) == eth.Withdrawal:
					created.Add(created, v)
				case eth.Kind(tr.Kind) == eth.FeeBurnt || eth.Kind(tr.Kind) == eth.FeeBlob:
					burnt.Add(burnt, v)
				case tr.Token == usdtID && tr.From == 0:
					minted.Add(minted, v)
				case tr.Token == usdtID && tr.To == 0:
					minted.Sub(minted, v)
				}
			}
		}
	}
	sumETH, sumUSDT := new(big.Int), new(big.Int)
	addrsSeen := 0
	err = edb.AddrsFrom(ctx, 1, func(id uint64, key []byte) error {
		addrsSeen++
		bal := map[uint64]*big.Int{0: new(big.Int), usdtID: new(big.Int)}
		err := edb.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
			if bal[e.Token] == nil {
				bal[e.Token] = new(big.Int)
			}
			v := bigOf(t, e.Amount.String())
			if e.Out {
				v.Neg(v)
			}
			bal[e.Token].Add(bal[e.Token], v)
			return true
		})
		if err != nil {
			return err
		}
		for tok, v := range bal {
			if v.Sign() < 0 {
				t.Errorf("eth address %s holds %s of token #%d", common.BytesToAddress(key).Hex(), v, tok)
			}
		}
		sumETH.Add(sumETH, bal[0])
		sumUSDT.Add(sumUSDT, bal[usdtID])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Sub(created, burnt); sumETH.Cmp(want) != 0 {
		t.Errorf("eth: %d addresses hold %s wei; withdrawals %s less burnt %s is %s", addrsSeen, sumETH, created, burnt, want)
	}
	if sumUSDT.Cmp(minted) != 0 || minted.Sign() == 0 {
		t.Errorf("usdt: addresses hold %s, minted %s", sumUSDT, minted)
	}
	t.Logf("eth: %d addresses, %s wei withdrawn, %s burnt; usdt supply %s", addrsSeen, created, burnt, minted)
}

// tokenOf returns the USDT contract's address from the truth's assets.
func tokenOf(t *testing.T, tw *truth.World) string {
	t.Helper()
	for _, a := range tw.Assets {
		if a.Symbol == "USDT" {
			return a.Asset
		}
	}
	t.Fatal("no USDT asset")
	return ""
}
