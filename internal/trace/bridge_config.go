package trace

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"gopkg.in/yaml.v3"
)

// BridgeConfig is the file form of the bridge rules, YAML:
//
//	bridges:
//	  - name: Example BTC-ETH bridge
//	    type: pegged
//	    deposit: {chain: btc, asset: BTC, addresses: [bc1q...]}
//	    release: {chain: eth, asset: "0x2260...c599", addresses: ["0x..."]}
//	    rate: 1/1          # release base units per deposit base unit
//	    max_fee: 0.01      # fraction the bridge may keep
//	    window: 24h        # releases within this long after the deposit
type BridgeConfig struct {
	Bridges []BridgeSpec `yaml:"bridges"`
}

// BridgeSpec is one bridge of a BridgeConfig.
type BridgeSpec struct {
	Name    string     `yaml:"name"`
	Type    string     `yaml:"type"`
	Deposit BridgeSide `yaml:"deposit"`
	Release BridgeSide `yaml:"release"`
	Rate    string     `yaml:"rate"`
	MaxFee  float64    `yaml:"max_fee"`
	Window  string     `yaml:"window"`
	line    int
}

// BridgeSide is one chain's side of a bridge.
type BridgeSide struct {
	Chain     string   `yaml:"chain"`
	Asset     string   `yaml:"asset"`
	Addresses []string `yaml:"addresses"`
}

// LoadBridges reads bridge rules from path. listers gives each chain's
// payment lister; a bridge whose release chain has none is skipped (its
// store is not open), and the skipped names are returned.
func LoadBridges(path string, listers map[string]PaymentLister) ([]BridgeRule, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("trace: bridges: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("trace: bridges file %s: %w", path, err)
	}
	var cfg BridgeConfig
	if err := doc.Decode(&cfg); err != nil {
		return nil, nil, fmt.Errorf("trace: bridges file %s: %w", path, err)
	}
	// Line numbers of each bridge entry, for error messages.
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "bridges" {
				for j, n := range root.Content[i+1].Content {
					if j < len(cfg.Bridges) {
						cfg.Bridges[j].line = n.Line
					}
				}
			}
		}
	}
	var rules []BridgeRule
	var skipped []string
	for _, s := range cfg.Bridges {
		pos := fmt.Sprintf("%s:%d", path, s.line)
		if s.Type != "" && s.Type != "pegged" {
			return nil, nil, fmt.Errorf("trace: %s: bridge %q: unknown type %q (want pegged)", pos, s.Name, s.Type)
		}
		if s.Name == "" || s.Deposit.Chain == "" || s.Release.Chain == "" || len(s.Deposit.Addresses) == 0 || len(s.Release.Addresses) == 0 {
			return nil, nil, fmt.Errorf("trace: %s: bridge %q needs a name and deposit and release chains with addresses", pos, s.Name)
		}
		num, den := uint64(1), uint64(1)
		if s.Rate != "" {
			if _, err := fmt.Sscanf(s.Rate, "%d/%d", &num, &den); err != nil || num == 0 || den == 0 {
				return nil, nil, fmt.Errorf("trace: %s: bridge %q: rate %q: want N/D with positive integers", pos, s.Name, s.Rate)
			}
		}
		var window time.Duration
		if s.Window != "" {
			if window, err = time.ParseDuration(s.Window); err != nil || window <= 0 {
				return nil, nil, fmt.Errorf("trace: %s: bridge %q: window %q: want a positive duration like 24h", pos, s.Name, s.Window)
			}
		}
		if s.MaxFee < 0 || s.MaxFee >= 1 {
			return nil, nil, fmt.Errorf("trace: %s: bridge %q: max_fee %v: want 0 to 1", pos, s.Name, s.MaxFee)
		}
		l, ok := listers[s.Release.Chain]
		if !ok {
			skipped = append(skipped, s.Name)
			continue
		}
		rules = append(rules, &PeggedBridge{Label: s.Name, DepositChain: s.Deposit.Chain, DepositAddresses: s.Deposit.Addresses,
			DepositAsset: s.Deposit.Asset, ReleaseChain: s.Release.Chain, ReleaseAddresses: s.Release.Addresses,
			ReleaseAsset: s.Release.Asset, Num: num, Den: den, MaxFee: s.MaxFee, Window: window, Releases: l})
	}
	return rules, skipped, nil
}

// ExtraLabels is a Labeler that adds labels to those of Base (which may be
// nil): a trace's bridge deposit addresses are bridges to the stop rules
// even when no label database says so.
type ExtraLabels struct {
	Base  Labeler
	Extra map[string][]labels.Label // by chain + "\x00" + normalised address
}

// Lookup implements Labeler. The returned slice must not be modified.
func (x *ExtraLabels) Lookup(chain, address string) []labels.Label {
	var base []labels.Label
	if x.Base != nil {
		base = x.Base.Lookup(chain, address)
	}
	extra := x.Extra[chain+"\x00"+address]
	if len(extra) == 0 {
		return base
	}
	if len(base) == 0 {
		return extra
	}
	out := make([]labels.Label, 0, len(base)+len(extra))
	return append(append(out, base...), extra...)
}

// WithBridgeLabels returns base with a "bridge" label on every deposit
// address of the pegged bridge rules.
func WithBridgeLabels(base Labeler, rules []BridgeRule) Labeler {
	x := &ExtraLabels{Base: base, Extra: map[string][]labels.Label{}}
	for _, r := range rules {
		b, ok := r.(*PeggedBridge)
		if !ok {
			continue
		}
		for _, a := range b.DepositAddresses {
			if n, err := addrs.Normalize(AddrChain(b.DepositChain), a); err == nil {
				a = n
			}
			k := b.DepositChain + "\x00" + a
			x.Extra[k] = append(x.Extra[k], labels.Label{Chain: b.DepositChain, Address: a, Label: b.Label,
				Category: "bridge", Dataset: "bridge-rules", Confidence: "bridge_rules", ConfidenceLevel: 100})
		}
	}
	if len(x.Extra) == 0 {
		return base
	}
	return x
}
