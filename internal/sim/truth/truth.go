// Package truth holds the ground truth a simulated world is written with:
// the assets and their prices, the services and who labels them, and for
// each heist where every unit of the stolen value went. The simulator
// (package world) writes it as truth.json beside the chains; the evaluation
// (package eval) reads it and scores traces against it.
//
// The truth is about ownership, not about a taint model: the simulator
// knows which coins and balances belong to each heist's launderers (they
// hold stolen value and nothing else), so every payment they make is a
// movement of stolen value. A destination is where the launderers' value
// left their control for good: a service (exchange, OTC desk) credited
// with it, a mixer's fee, a network fee, or an address of theirs where it
// still sits.
package truth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
)

// World is the ground truth of one simulated world.
type World struct {
	// Generator names the program and format version that wrote it.
	Generator string `json:"generator"`
	Seed      int64  `json:"seed"`
	// Chains describes the generated chains by role ("btc", "eth").
	Chains map[string]Chain `json:"chains"`
	// Assets lists every asset with its fixed simulated price.
	Assets []Asset `json:"assets"`
	// Entities are the services of the world, labelled or not.
	Entities []Entity `json:"entities"`
	Heists   []Heist  `json:"heists"`
}

// Chain describes one generated chain.
type Chain struct {
	// ID is the chaintrace chain id its store gets ("btc-regtest",
	// "eth-sim"); Network is the name the ingester is given ("regtest",
	// "sim").
	ID      string `json:"id"`
	Network string `json:"network"`
	// Dir is where the chain's files are, relative to the world's
	// directory (blk files, or an ethereum-etl export).
	Dir    string `json:"dir"`
	Blocks uint64 `json:"blocks"`
	Txs    int64  `json:"txs"`
}

// Asset is one asset of a chain, named as the tracer names it: "BTC",
// "ETH", or a token contract's lower-case 0x address.
type Asset struct {
	Chain    string `json:"chain"`
	Asset    string `json:"asset"`
	Symbol   string `json:"symbol"`
	Decimals int    `json:"decimals"`
	// USD is the price of one whole unit, fixed for the world's lifetime.
	USD float64 `json:"usd"`
}

// Entity is a service of the world.
type Entity struct {
	// Name is the label the TagPack gives it (also for unlabelled ones,
	// which the TagPack leaves out).
	Name string `json:"name"`
	// Category is a GraphSense concept id: exchange, otc_broker,
	// mixing_service, coinjoin, bridge, defi_dex, miner.
	Category string `json:"category"`
	// Labelled says whether the TagPack labels any of its addresses.
	Labelled  bool      `json:"labelled"`
	Addresses []Address `json:"addresses"`
}

// Address is one address of an entity.
type Address struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
	// Role is the address's job: hot, cold, deposit, contract,
	// custodian, coordinator, pool.
	Role string `json:"role"`
	// Labelled says whether the TagPack lists this address.
	Labelled bool `json:"labelled"`
}

// Destination kinds.
const (
	KindService = "service" // credited to a service (exchange, OTC desk)
	KindMixer   = "mixer"   // kept by a mixer (its fee, or value never withdrawn)
	KindHolding = "holding" // still at a launderer's address at the tip
	KindFee     = "fee"     // paid to miners or burnt as network fees
)

// Heist is one theft and where its value went.
type Heist struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Mixers says whether the laundering passes through a mixer.
	Mixers bool `json:"mixers"`
	// Params are the heist's parameters as generated (amounts, hop
	// counts, delays, split widths, mixer share).
	Params map[string]float64 `json:"params"`
	Start  time.Time          `json:"start"`
	End    time.Time          `json:"end"`
	// Sources are the theft transactions and the launderers' first
	// addresses, per chain: what an investigator would start a trace from.
	Sources []Source `json:"sources"`
	// Flows account for the stolen value per chain and asset.
	Flows []Flow `json:"flows"`
	// Destinations say where the value went, per chain and asset.
	Destinations []Destination `json:"destinations"`
}

// Source is where a heist starts on one chain.
type Source struct {
	Chain     string   `json:"chain"`
	Txs       []string `json:"txs"`
	Addresses []string `json:"addresses"`
}

// Flow accounts for a heist's value of one asset on one chain, in base
// units. Stolen + SwappedIn + BridgedIn equals SwappedOut + BridgedOut
// plus the destinations of that chain and asset, exactly.
type Flow struct {
	Chain      string       `json:"chain"`
	Asset      string       `json:"asset"`
	Stolen     model.Amount `json:"stolen"`
	SwappedIn  model.Amount `json:"swapped_in"`
	BridgedIn  model.Amount `json:"bridged_in"`
	SwappedOut model.Amount `json:"swapped_out"`
	BridgedOut model.Amount `json:"bridged_out"`
}

// Destination is value of one asset that left the launderers for good,
// or still sits with them.
type Destination struct {
	Kind string `json:"kind"`
	// Entity and Category name the service or mixer (empty for holdings
	// and fees).
	Entity   string `json:"entity,omitempty"`
	Category string `json:"category,omitempty"`
	Chain    string `json:"chain"`
	Asset    string `json:"asset"`
	// Address is the holding address, or the service address paid.
	Address string       `json:"address,omitempty"`
	Amount  model.Amount `json:"amount"`
}

// Price returns the USD price of one whole unit of asset on chain and its
// decimals.
func (w *World) Price(chain, asset string) (usd float64, decimals int, ok bool) {
	for _, a := range w.Assets {
		if a.Chain == chain && a.Asset == asset {
			return a.USD, a.Decimals, true
		}
	}
	return 0, 0, false
}

// USD values amount base units of asset on chain.
func (w *World) USD(chain, asset string, amount model.Amount) float64 {
	p, dec, ok := w.Price(chain, asset)
	if !ok {
		return 0
	}
	f, _ := amountFloat(amount)
	for range dec {
		f /= 10
	}
	return f * p
}

func amountFloat(a model.Amount) (float64, bool) {
	f, err := strconv.ParseFloat(a.String(), 64)
	return f, err == nil
}

// StolenUSD returns the heist's stolen value in USD.
func (w *World) StolenUSD(h *Heist) float64 {
	var s float64
	for _, f := range h.Flows {
		s += w.USD(f.Chain, f.Asset, f.Stolen)
	}
	return s
}

// Check verifies that every heist's flows balance with its destinations,
// per chain and asset, and that every asset is priced.
func (w *World) Check() error {
	var errs []error
	for i := range w.Heists {
		h := &w.Heists[i]
		type key struct{ chain, asset string }
		dest := map[key]model.Amount{}
		for _, d := range h.Destinations {
			switch d.Kind {
			case KindService, KindMixer, KindHolding, KindFee:
			default:
				errs = append(errs, fmt.Errorf("truth: heist %s: destination kind %q", h.ID, d.Kind))
			}
			k := key{d.Chain, d.Asset}
			dest[k], _ = dest[k].Add(d.Amount)
		}
		seen := map[key]bool{}
		for _, f := range h.Flows {
			k := key{f.Chain, f.Asset}
			seen[k] = true
			if _, _, ok := w.Price(f.Chain, f.Asset); !ok {
				errs = append(errs, fmt.Errorf("truth: heist %s: asset %s on %s has no price", h.ID, f.Asset, f.Chain))
			}
			in, _ := f.Stolen.Add(f.SwappedIn)
			in, _ = in.Add(f.BridgedIn)
			out, _ := dest[k].Add(f.SwappedOut)
			out, _ = out.Add(f.BridgedOut)
			if in.Cmp(out) != 0 {
				errs = append(errs, fmt.Errorf("truth: heist %s: %s %s: in %s (stolen %s, swapped in %s, bridged in %s) but out %s (destinations %s, swapped out %s, bridged out %s)",
					h.ID, f.Chain, f.Asset, in, f.Stolen, f.SwappedIn, f.BridgedIn, out, dest[k], f.SwappedOut, f.BridgedOut))
			}
		}
		for k, v := range dest {
			if !seen[k] && !v.IsZero() {
				errs = append(errs, fmt.Errorf("truth: heist %s: destinations in %s %s without a flow", h.ID, k.chain, k.asset))
			}
		}
	}
	return errors.Join(errs...)
}

// Entity returns the entity named name.
func (w *World) Entity(name string) (*Entity, bool) {
	for i := range w.Entities {
		if w.Entities[i].Name == name {
			return &w.Entities[i], true
		}
	}
	return nil, false
}

// Sort puts destinations in a stable order: by chain, asset, kind,
// entity and address.
func (h *Heist) Sort() {
	sort.SliceStable(h.Destinations, func(i, j int) bool {
		a, b := &h.Destinations[i], &h.Destinations[j]
		if a.Chain != b.Chain {
			return a.Chain < b.Chain
		}
		if a.Asset != b.Asset {
			return a.Asset < b.Asset
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Entity != b.Entity {
			return a.Entity < b.Entity
		}
		return a.Address < b.Address
	})
}

// Write writes w as indented JSON to path.
func (w *World) Write(path string) error {
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	return nil
}

// Read reads a truth file.
func Read(path string) (*World, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	var w World
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("truth: %s: %w", path, err)
	}
	return &w, nil
}
