package world

import (
	"context"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

type chainAsset struct{ chain, asset string }

// TestStolenIsTheTheft reads each heist's theft transactions back from
// the stores and checks that what they paid the launderers' first
// addresses is, per chain and asset, exactly the flows' Stolen.
func TestStolenIsTheTheft(t *testing.T) {
	iw := ingested(t)
	bq, _, eq, _ := iw.stores(t)
	ctx := context.Background()
	for _, h := range iw.tw.Heists {
		got := map[chainAsset]*big.Int{}
		add := func(k chainAsset, v *big.Int) {
			if got[k] == nil {
				got[k] = new(big.Int)
			}
			got[k].Add(got[k], v)
		}
		for _, s := range h.Sources {
			launderer := map[string]bool{}
			for _, a := range s.Addresses {
				launderer[strings.ToLower(a)] = true
			}
			seen := map[string]bool{}
			for _, txid := range s.Txs {
				if seen[txid] {
					t.Errorf("heist %s: theft tx %s listed twice", h.ID, txid)
				}
				seen[txid] = true
				paid := false
				switch s.Chain {
				case BTCChain:
					tx, err := bq.Tx(ctx, txid)
					if err != nil {
						t.Fatalf("heist %s: theft tx %s: %v", h.ID, txid, err)
					}
					for _, o := range tx.Outputs {
						if launderer[strings.ToLower(o.Address)] {
							add(chainAsset{BTCChain, "BTC"}, big.NewInt(o.Value))
							paid = true
						}
					}
				case ETHChain:
					tx, err := eq.Tx(ctx, txid)
					if err != nil {
						t.Fatalf("heist %s: theft tx %s: %v", h.ID, txid, err)
					}
					if tx.Status != "success" {
						t.Errorf("heist %s: theft tx %s: status %s", h.ID, txid, tx.Status)
					}
					for _, tr := range tx.Transfers {
						if !launderer[strings.ToLower(tr.To)] {
							continue
						}
						asset := "ETH"
						if tr.Token != "" {
							asset = strings.ToLower(tr.Token)
						}
						add(chainAsset{ETHChain, asset}, bigOf(t, tr.Amount))
						paid = true
					}
				default:
					t.Fatalf("heist %s: source on chain %q", h.ID, s.Chain)
				}
				if !paid {
					t.Errorf("heist %s: theft tx %s pays no launderer address", h.ID, txid)
				}
			}
		}
		for _, f := range h.Flows {
			k := chainAsset{f.Chain, f.Asset}
			want := bigOf(t, f.Stolen.String())
			g := got[k]
			if g == nil {
				g = new(big.Int)
			}
			if g.Cmp(want) != 0 {
				t.Errorf("heist %s: %s %s: theft txs paid the launderers %s, truth says %s stolen", h.ID, f.Chain, f.Asset, g, want)
			}
			delete(got, k)
		}
		for k, v := range got {
			t.Errorf("heist %s: theft txs paid %s of %s %s, which has no flow", h.ID, v, k.chain, k.asset)
		}
	}
}

// TestServiceDestinations checks every service destination against the
// chain: the address received at least that amount within the heist's
// window, and a deposit address of the heist's own account at an
// exchange received exactly that amount, all in the window (not counting
// the exchange's own gas top-ups).
func TestServiceDestinations(t *testing.T) {
	iw := ingested(t)
	bq, _, _, edb := iw.stores(t)
	ctx := context.Background()
	usdtID, err := edb.AddrID(ctx, common.HexToAddress(tokenOf(t, iw.tw)).Bytes())
	if err != nil {
		t.Fatal(err)
	}
	btcTime := map[uint64]time.Time{}
	blockTimeBTC := func(height uint64) time.Time {
		if tm, ok := btcTime[height]; ok {
			return tm
		}
		b, err := bq.Block(ctx, strconv.FormatUint(height, 10))
		if err != nil {
			t.Fatal(err)
		}
		btcTime[height] = b.Time
		return b.Time
	}
	ethTime := map[uint64]time.Time{}
	var rec store.EthTxRec
	txTimeETH := func(num uint64) time.Time {
		if err := edb.EthTx(ctx, num, &rec); err != nil {
			t.Fatal(err)
		}
		if tm, ok := ethTime[rec.Height]; ok {
			return tm
		}
		b, err := edb.EthBlockByHeight(ctx, rec.Height)
		if err != nil {
			t.Fatal(err)
		}
		ethTime[rec.Height] = time.Unix(int64(b.Time), 0).UTC()
		return ethTime[rec.Height]
	}
	checked := map[string]int{}
	for _, h := range iw.tw.Heists {
		from, until := h.Start, h.End.Add(stepDur)
		for _, d := range h.Destinations {
			if d.Kind != truth.KindService {
				continue
			}
			ent, ok := iw.tw.Entity(d.Entity)
			if !ok {
				t.Fatalf("heist %s: destination entity %q unknown", h.ID, d.Entity)
			}
			role, own := "", map[uint64]bool{}
			for _, a := range ent.Addresses {
				if a.Chain == d.Chain && a.Address == d.Address {
					role = a.Role
				}
				if a.Chain == ETHChain && a.Role != "deposit" {
					if id, err := edb.AddrID(ctx, common.HexToAddress(a.Address).Bytes()); err == nil {
						own[id] = true
					}
				}
			}
			if role == "" {
				t.Errorf("heist %s: %s is not an address of %s", h.ID, d.Address, d.Entity)
				continue
			}
			want := bigOf(t, d.Amount.String())
			inWindow, all := new(big.Int), new(big.Int)
			switch d.Chain {
			case BTCChain:
				var cursor uint64
				for {
					txs, next, err := bq.AddressTxs(ctx, d.Address, cursor, 500)
					if err != nil {
						t.Fatalf("heist %s: %s: %v", h.ID, d.Address, err)
					}
					for _, tx := range txs {
						v := big.NewInt(tx.Received)
						all.Add(all, v)
						if tm := blockTimeBTC(tx.Height); !tm.Before(from) && tm.Before(until) {
							inWindow.Add(inWindow, v)
						}
					}
					if next == 0 {
						break
					}
					cursor = next
				}
			case ETHChain:
				tok := uint64(0)
				if d.Asset != "ETH" {
					tok = usdtID
				}
				id, err := edb.AddrID(ctx, common.HexToAddress(d.Address).Bytes())
				if err != nil {
					t.Fatalf("heist %s: %s: %v", h.ID, d.Address, err)
				}
				type ev struct {
					num uint64
					v   *big.Int
				}
				var evs []ev
				err = edb.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
					if !e.Out && e.Token == tok {
						evs = append(evs, ev{e.TxNum<<20 | uint64(e.Index), bigOf(t, e.Amount.String())})
					}
					return true
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					tm := txTimeETH(e.num >> 20)
					if own[rec.Transfers[e.num&(1<<20-1)].From] {
						continue // the exchange paying the sweep's gas
					}
					all.Add(all, e.v)
					if !tm.Before(from) && tm.Before(until) {
						inWindow.Add(inWindow, e.v)
					}
				}
			}
			checked[d.Chain]++
			checked[d.Chain+" "+role]++
			if inWindow.Cmp(want) < 0 {
				t.Errorf("heist %s: %s %s %s of %s: received %s in [%v, %v), truth says %s",
					h.ID, d.Chain, d.Asset, d.Address, d.Entity, inWindow, from, until, want)
			}
			if role == "deposit" && (all.Cmp(want) != 0 || inWindow.Cmp(want) != 0) {
				t.Errorf("heist %s: deposit address %s %s %s of %s received %s (%s in the window), truth says %s",
					h.ID, d.Chain, d.Asset, d.Address, d.Entity, all, inWindow, want)
			}
		}
	}
	if checked[BTCChain] == 0 || checked[ETHChain] == 0 {
		t.Errorf("service destinations checked: %v", checked)
	}
	t.Logf("service destinations checked: %v", checked)
}

// TestHeistsGetTheirParams checks that the default world funds its heists
// as their parameters ask: regtest's subsidy halves every 150 blocks, so
// the Bitcoin the world can ever hold is bounded (about 14,000 BTC over
// its ~580 blocks) and a heist could silently take less.
func TestHeistsGetTheirParams(t *testing.T) {
	iw := ingested(t)
	stolen := func(h *truth.Heist, chain, asset string) float64 {
		for _, f := range h.Flows {
			if f.Chain == chain && f.Asset == asset {
				v, _ := new(big.Float).SetString(f.Stolen.String())
				x, _ := v.Float64()
				return x
			}
		}
		return 0
	}
	srcTxs := func(h *truth.Heist, chain string) int {
		for _, s := range h.Sources {
			if s.Chain == chain {
				return len(s.Txs)
			}
		}
		return 0
	}
	usdtAsset := tokenOf(t, iw.tw)
	for i := range iw.tw.Heists {
		h := &iw.tw.Heists[i]
		p := h.Params
		var errs []string
		check := func(what string, got, want float64) {
			if got < want {
				errs = append(errs, what+": got "+strconv.FormatFloat(got, 'f', -1, 64)+", want "+strconv.FormatFloat(want, 'f', -1, 64))
			}
		}
		switch h.Kind {
		case "hot-wallet":
			check("btc_taken", p["btc_taken"], p["btc"])
			check("BTC stolen", stolen(h, BTCChain, "BTC")/sat, p["btc"])
		case "bridge-drain":
			check("ETH stolen", stolen(h, ETHChain, "ETH")/1e18, p["eth"])
			check("USDT stolen", stolen(h, ETHChain, usdtAsset)/1e6, p["usdt"])
		case "dispersal":
			check("ETH stolen", stolen(h, ETHChain, "ETH")/1e18, p["eth"])
		case "wallet-drain":
			check("BTC victims", float64(srcTxs(h, BTCChain)), 0.9*p["btc_victims"])
			check("ETH victims", float64(srcTxs(h, ETHChain)), 0.9*p["eth_victims"])
			check("BTC stolen", stolen(h, BTCChain, "BTC")/sat, 50)
		}
		if len(errs) > 0 {
			t.Errorf("heist %s: %s", h.ID, strings.Join(errs, "; "))
		}
	}
}
