package world

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
)

// sortCoins orders coins by outpoint, for choices that must not depend
// on map order.
func sortCoins(cs []btcw.Coin) {
	slices.SortFunc(cs, func(a, b btcw.Coin) int {
		if c := bytes.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]); c != 0 {
			return c
		}
		return int(a.OutPoint.Index) - int(b.OutPoint.Index)
	})
}

// finish writes the TagPack, the bridge rules and the truth.
func (w *world) finish(dir string) (*truth.World, error) {
	tw := &truth.World{Generator: Generator, Seed: w.cfg.Seed, Chains: map[string]truth.Chain{
		"btc": {ID: BTCChain, Network: BTCNetwork, Dir: "btc", Blocks: uint64(w.b.Height()) + 1, Txs: w.b.Stats().Txs},
		"eth": {ID: ETHChain, Network: ETHNetwork, Dir: "eth", Blocks: w.e.Height() + 1, Txs: int64(w.e.Stats().Txs)},
	}}
	tw.Assets = []truth.Asset{
		{Chain: BTCChain, Asset: "BTC", Symbol: "BTC", Decimals: 8, USD: BTCUSD},
		{Chain: ETHChain, Asset: "ETH", Symbol: "ETH", Decimals: 18, USD: ETHUSD},
		{Chain: ETHChain, Asset: w.assetUSDT(), Symbol: "USDT", Decimals: 6, USD: USDTUSD},
	}
	for _, e := range w.entities {
		tw.Entities = append(tw.Entities, *e)
	}
	for _, h := range w.heists {
		tw.Heists = append(tw.Heists, w.heistTruth(h))
	}
	if err := tw.Check(); err != nil {
		return nil, fmt.Errorf("world: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels", "world.yaml"), w.tagpack(), 0o644); err != nil {
		return nil, fmt.Errorf("world: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bridges.yaml"), w.bridgeRules(), 0o644); err != nil {
		return nil, fmt.Errorf("world: %w", err)
	}
	if err := tw.Write(filepath.Join(dir, "truth.json")); err != nil {
		return nil, fmt.Errorf("world: %w", err)
	}
	return tw, nil
}

// tagpack renders the labelled addresses as a GraphSense TagPack: Bitcoin
// addresses on network btc-regtest, Ethereum ones on ETH (the tracer
// gives eth-* chains Ethereum's labels); hot wallets define clusters.
func (w *world) tagpack() []byte {
	var b strings.Builder
	b.WriteString(`title: chaintrace simulated world
creator: chaintrace sim/world
description: Services of a simulated world (fictional names); Harbor Exchange and Sable OTC are deliberately left out.
is_public: true
source: https://github.com/chaintrace/chaintrace/tree/main/internal/sim/world
confidence: ownership
lastmod: ` + w.cfg.Start.Format("2006-01-02") + `
tags:
`)
	for _, e := range w.entities {
		if !e.Labelled {
			continue
		}
		for _, a := range e.Addresses {
			if !a.Labelled {
				continue
			}
			fmt.Fprintf(&b, "- address: '%s'\n  label: '%s'\n  category: %s\n", a.Address, e.Name, tagCategory(e.Category))
			if a.Chain == BTCChain {
				b.WriteString("  currency: BTC\n  network: " + BTCChain + "\n")
			} else {
				b.WriteString("  currency: ETH\n")
			}
			if a.Role == "hot" && e.Category == "exchange" {
				b.WriteString("  is_cluster_definer: true\n")
			}
		}
	}
	return []byte(b.String())
}

// bridgeRules renders Span Bridge's two directions for the tracer: ETH
// locked in the contract is released by the custodian's float address
// as BTC, and BTC paid to the custodian's deposit address is released by
// the contract as ETH; rates are in base units (1 ETH = 0.05 BTC).
func (w *world) bridgeRules() []byte {
	br := w.bridge
	return fmt.Appendf(nil, `bridges:
  - name: Span Bridge ETH to BTC
    type: pegged
    deposit: {chain: %[1]s, asset: ETH, addresses: ["%[3]s"]}
    release: {chain: %[2]s, asset: BTC, addresses: ["%[4]s"]}
    rate: 1/%[6]d
    max_fee: 0.002
    window: 24h
  - name: Span Bridge BTC to ETH
    type: pegged
    deposit: {chain: %[2]s, asset: BTC, addresses: ["%[5]s"]}
    release: {chain: %[1]s, asset: ETH, addresses: ["%[3]s"]}
    rate: %[6]d/1
    max_fee: 0.002
    window: 24h
`, ETHChain, BTCChain, br.contract.Hex(), w.b.AddrString(br.float.addr), w.b.AddrString(br.deposit.addr), WeiPerSat)
}

// tagCategory maps an entity's category to the TagPack taxonomy's
// concept: the taxonomy has no OTC concept (the tracer stops at
// "service" all the same) and names bridges defi_bridge.
func tagCategory(c string) string {
	switch c {
	case "otc_broker":
		return "service"
	case "bridge":
		return "defi_bridge"
	}
	return c
}
