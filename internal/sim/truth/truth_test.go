package truth

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
)

func amt(n uint64) model.Amount { return model.AmountFromUint64(n) }

// testWorld has one heist that stole 10 BTC, bridged 4 of it out, and
// received 6 ETH on the other side, all accounted for.
func testWorld() *World {
	return &World{
		Generator: "test",
		Assets: []Asset{
			{Chain: "btc-regtest", Asset: "BTC", Decimals: 8, USD: 40_000},
			{Chain: "eth-sim", Asset: "ETH", Decimals: 18, USD: 2_000},
		},
		Heists: []Heist{{
			ID: "h",
			Flows: []Flow{
				{Chain: "btc-regtest", Asset: "BTC", Stolen: amt(10e8), BridgedOut: amt(4e8)},
				{Chain: "eth-sim", Asset: "ETH", BridgedIn: amt(6e18)},
			},
			Destinations: []Destination{
				{Kind: KindService, Entity: "X", Chain: "btc-regtest", Asset: "BTC", Amount: amt(5e8)},
				{Kind: KindFee, Chain: "btc-regtest", Asset: "BTC", Amount: amt(1e8)},
				{Kind: KindHolding, Chain: "eth-sim", Asset: "ETH", Address: "0xA", Amount: amt(6e18)},
			},
		}},
	}
}

func TestCheck(t *testing.T) {
	w := testWorld()
	if err := w.Check(); err != nil {
		t.Fatalf("balanced world: %v", err)
	}
	if got := w.StolenUSD(&w.Heists[0]); math.Abs(got-400_000) > 1e-6 {
		t.Errorf("StolenUSD = %v, want 400000", got)
	}

	w.Heists[0].Destinations[1].Amount = amt(2e8)
	err := w.Check()
	if err == nil || !strings.Contains(err.Error(), "btc-regtest BTC") {
		t.Errorf("one satoshi too many: %v, want an imbalance on btc-regtest BTC", err)
	}

	w = testWorld()
	w.Heists[0].Destinations = append(w.Heists[0].Destinations, Destination{Kind: "lost", Chain: "eth-sim", Asset: "ETH"})
	if err := w.Check(); err == nil || !strings.Contains(err.Error(), `kind "lost"`) {
		t.Errorf("unknown kind: %v", err)
	}

	w = testWorld()
	w.Assets = w.Assets[:1]
	if err := w.Check(); err == nil || !strings.Contains(err.Error(), "no price") {
		t.Errorf("unpriced asset: %v", err)
	}
}

func TestWriteRead(t *testing.T) {
	w := testWorld()
	w.Heists[0].Sort()
	path := filepath.Join(t.TempDir(), "truth.json")
	if err := w.Write(path); err != nil {
		t.Fatal(err)
	}
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("read back: %v", err)
	}
	got := r.Heists[0].Destinations
	if len(got) != 3 || got[0].Chain != "btc-regtest" || got[0].Kind != KindFee || got[2].Amount.Cmp(amt(6e18)) != 0 {
		t.Errorf("destinations after sort and round trip: %+v", got)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("reading a missing file succeeded")
	}
}
