// Package monitor watches the chain tip for funds of interest. A watch is
// a set of addresses on one chain with rules (any movement, movement above
// an amount, arrival at a labelled service category or at a named entity);
// ingest's monitor stage hands every new block to a Monitor, which matches
// the block's transactions against the watches, writes an alert record and
// an outbox entry for each match, and extends each watch to the outputs a
// watched output moved to (haircut taint, down to a dust threshold), all
// in the batch that carries the block. Unwinding a block writes a
// retraction for each of its alerts. Delivery of the outbox is package
// alert's.
package monitor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/btc"
)

// ErrInvalid is wrapped by every *FieldError.
var ErrInvalid = errors.New("monitor: invalid watch")

// FieldError reports a watch definition refused because of one field.
type FieldError struct {
	// Field is the offending field: "chain", "address", "rule", "name".
	Field  string
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("monitor: invalid watch: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// RuleKind is what a rule matches.
type RuleKind string

// The rule kinds.
const (
	// RuleAny matches every movement of watched funds, out or in.
	RuleAny RuleKind = "any"
	// RuleAbove matches a movement of more than Amount satoshis.
	RuleAbove RuleKind = "above"
	// RuleCategory matches watched funds arriving at an address whose
	// label has the category Value (exchange, mixing_service, ...).
	RuleCategory RuleKind = "category"
	// RuleEntity matches watched funds arriving at an address whose label
	// names the entity Value (its actor id, entity name or label text).
	RuleEntity RuleKind = "entity"
)

// Rule is one condition of a watch.
type Rule struct {
	Kind   RuleKind `json:"kind"`
	Amount int64    `json:"amount,omitempty"` // satoshis, RuleAbove
	Value  string   `json:"value,omitempty"`  // RuleCategory, RuleEntity
}

// String is the rule in the form ParseRule reads; alerts name their rule
// this way.
func (r Rule) String() string {
	switch r.Kind {
	case RuleAbove:
		return "above:" + formatBTC(r.Amount)
	case RuleCategory, RuleEntity:
		return string(r.Kind) + ":" + r.Value
	}
	return string(r.Kind)
}

// ParseRule reads "any", "above:AMOUNT" (in BTC, e.g. 0.5), "category:C"
// or "entity:NAME".
func ParseRule(s string) (Rule, error) {
	bad := func(why string) error { return &FieldError{Field: "rule", Value: s, Reason: why} }
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	switch RuleKind(kind) {
	case RuleAny:
		if hasArg {
			return Rule{}, bad(`"any" takes no argument`)
		}
		return Rule{Kind: RuleAny}, nil
	case RuleAbove:
		sat, err := parseBTC(arg)
		if err != nil {
			return Rule{}, bad(err.Error())
		}
		return Rule{Kind: RuleAbove, Amount: sat}, nil
	case RuleCategory, RuleEntity:
		arg = strings.TrimSpace(arg)
		if arg == "" {
			return Rule{}, bad(fmt.Sprintf("%q needs a value, as in %s:exchange", kind, kind))
		}
		return Rule{Kind: RuleKind(kind), Value: arg}, nil
	}
	return Rule{}, bad("want any, above:AMOUNT, category:CATEGORY or entity:NAME")
}

// parseBTC reads a non-negative decimal amount of BTC with at most eight
// decimals into satoshis.
func parseBTC(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("needs an amount in BTC, as in above:0.5")
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 8 {
		return 0, errors.New("more than 8 decimals")
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w > 21_000_000 {
		return 0, errors.New("not an amount of BTC between 0 and 21,000,000")
	}
	f := uint64(0)
	if frac != "" {
		f, err = strconv.ParseUint(frac+strings.Repeat("0", 8-len(frac)), 10, 64)
		if err != nil {
			return 0, errors.New("not a decimal amount")
		}
	}
	return int64(w*100_000_000 + f), nil
}

func formatBTC(sat int64) string {
	s := fmt.Sprintf("%d.%08d", sat/100_000_000, sat%100_000_000)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Watch is a set of addresses on one chain and the rules that raise
// alerts on their funds. Addresses are normalised (package addrs).
type Watch struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	Chain     string   `json:"chain"`
	Addresses []string `json:"addresses"`
	Rules     []Rule   `json:"rules"`
	// Source says where the watch came from: "manual" or "trace:FILE".
	Source string `json:"source,omitempty"`
	// Selector, when set, is the rule that chose Addresses from labels
	// or clusters; re-resolving it after a label import or a clustering
	// run brings the watch up to date.
	Selector *Selector `json:"selector,omitempty"`
}

// Selector chooses a watch's addresses: those labelled with an actor or
// a category, or the members of the cluster of an address. Exactly one
// field is set.
type Selector struct {
	Actor    string `json:"actor,omitempty"`
	Category string `json:"category,omitempty"`
	// Cluster is an address whose cluster's members are watched.
	Cluster string `json:"cluster,omitempty"`
}

// ChainNetwork returns the Bitcoin network of a monitored chain id
// (btc.ChainID's ids: btc, btc-testnet, btc-signet, btc-regtest,
// btc-simnet) and its store's network name.
func ChainNetwork(chain string) (*chaincfg.Params, string, error) {
	name := ""
	switch {
	case chain == "btc":
		name = "mainnet"
	case chain == "btc-testnet":
		name = "testnet3"
	case strings.HasPrefix(chain, "btc-"):
		name = chain[len("btc-"):]
	default:
		return nil, "", &FieldError{Field: "chain", Value: chain, Reason: "not a monitored chain: want btc, btc-testnet, btc-signet, btc-regtest or btc-simnet"}
	}
	p, err := btc.Network(name)
	if err != nil || btc.ChainID(btc.NetworkName(p)) != chain {
		return nil, "", &FieldError{Field: "chain", Value: chain, Reason: "not a monitored chain: want btc, btc-testnet, btc-signet, btc-regtest or btc-simnet"}
	}
	return p, btc.NetworkName(p), nil
}

// Check validates w and normalises its addresses in place: a monitored
// chain, at least one valid address, valid rules (any when none).
func (w *Watch) Check() error {
	net, _, err := ChainNetwork(w.Chain)
	if err != nil {
		return err
	}
	if len(w.Addresses) == 0 {
		return &FieldError{Field: "address", Value: "", Reason: "a watch needs at least one address"}
	}
	seen := map[string]bool{}
	out := w.Addresses[:0]
	for _, a := range w.Addresses {
		n, err := normalize(w.Chain, net, a)
		if err != nil {
			return err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	w.Addresses = out
	if len(w.Rules) == 0 {
		w.Rules = []Rule{{Kind: RuleAny}}
	}
	for _, r := range w.Rules {
		if _, err := ParseRule(r.String()); err != nil {
			return err
		}
	}
	if len(w.Name) > 200 {
		return &FieldError{Field: "name", Value: w.Name[:40] + "…", Reason: "longer than 200 characters"}
	}
	return nil
}

// normalize checks an address with package addrs and that the monitor can
// match it (it parses as a key of net).
func normalize(chain string, net *chaincfg.Params, a string) (string, error) {
	n, err := addrs.Normalize(chain, a)
	if err != nil {
		var ae *addrs.Error
		reason := err.Error()
		if errors.As(err, &ae) {
			reason = ae.Reason
		}
		return "", &FieldError{Field: "address", Value: strings.TrimSpace(a), Reason: reason}
	}
	if _, err := btc.ParseAddress(n, net); err != nil {
		return "", &FieldError{Field: "address", Value: n, Reason: err.Error()}
	}
	return n, nil
}
