// Package monitor watches the chain tip for funds of interest. A watch is
// a set of addresses on one chain with rules (any movement, movement above
// an amount, arrival at a labelled service category or at a named entity);
// ingest's monitor stage hands every new block to a Monitor, which matches
// the block's transactions against the watches, writes an alert record and
// an outbox entry for each match, and extends each watch to the outputs a
// watched output moved to (haircut taint, down to a dust threshold), all
// in the batch that carries the block. On EVM chains an EthMonitor does
// the same per transfer, with taint kept per address and asset (see
// eth.go for its "tainted first" model). Unwinding a block writes a
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
	"github.com/chaintrace/chaintrace/internal/model"
)

// ErrInvalid is wrapped by every *FieldError.
var ErrInvalid = errors.New("monitor: invalid watch")

// FieldError reports a watch definition refused because of one field.
type FieldError struct {
	// Field is the offending field: "chain", "address", "rule", "name",
	// "model".
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
	Kind RuleKind `json:"kind"`
	// Amount is RuleAbove's amount in satoshis when it is an amount of
	// BTC (at most eight decimals, at most 21 million); Bitcoin watches
	// compare with it.
	Amount int64 `json:"amount,omitempty"`
	// Limit is RuleAbove's amount as written, a decimal in whole units
	// of the asset ("0.5"); account chains read it in the asset's
	// decimals, as wei and token units overflow Amount. Rules stored
	// before it existed have only Amount, which stands for it.
	Limit string `json:"limit,omitempty"`
	// Asset restricts RuleAbove to one asset: a token's symbol or its
	// contract address (normalised), or the native coin's symbol. Empty
	// means the chain's native coin.
	Asset string `json:"asset,omitempty"`
	Value string `json:"value,omitempty"` // RuleCategory, RuleEntity
}

// String is the rule in the form ParseRule reads; alerts name their rule
// this way.
func (r Rule) String() string {
	switch r.Kind {
	case RuleAbove:
		s := "above:" + r.limit()
		if r.Asset != "" {
			s += ":" + r.Asset
		}
		return s
	case RuleCategory, RuleEntity:
		return string(r.Kind) + ":" + r.Value
	}
	return string(r.Kind)
}

// limit is RuleAbove's decimal amount: Limit, or for rules stored before
// it existed, Amount in BTC.
func (r Rule) limit() string {
	if r.Limit != "" {
		return r.Limit
	}
	return formatBTC(r.Amount)
}

// maxDecimals bounds the fraction of an amount in a rule: no asset has
// more than 18 decimals in practice, and the limit keeps the scaled
// amount far inside 256 bits.
const maxDecimals = 36

// ParseRule reads "any", "above:AMOUNT" (in the chain's native coin, BTC
// or ETH, e.g. 0.5), "above:AMOUNT:ASSET" (a token's symbol or contract
// address), "category:C" or "entity:NAME". Whether an amount fits its
// chain (eight decimals for BTC) is Watch.Check's to say, as ParseRule
// does not know the chain.
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
		amount, asset, _ := strings.Cut(arg, ":")
		limit, err := parseDecimal(amount)
		if err != nil {
			return Rule{}, bad(err.Error())
		}
		r := Rule{Kind: RuleAbove, Limit: limit}
		if sat, err := parseBTC(limit); err == nil {
			r.Amount = sat
		}
		if strings.Contains(arg, ":") {
			if r.Asset, err = parseAsset(asset); err != nil {
				return Rule{}, bad(err.Error())
			}
		}
		return r, nil
	case RuleCategory, RuleEntity:
		arg = strings.TrimSpace(arg)
		if arg == "" {
			return Rule{}, bad(fmt.Sprintf("%q needs a value, as in %s:exchange", kind, kind))
		}
		return Rule{Kind: RuleKind(kind), Value: arg}, nil
	}
	return Rule{}, bad("want any, above:AMOUNT, above:AMOUNT:ASSET, category:CATEGORY or entity:NAME")
}

// parseDecimal checks a non-negative decimal amount and returns it in
// canonical form: no leading zeros of the whole part, no trailing zeros
// of the fraction ("00.50" is "0.5").
func parseDecimal(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("needs an amount, as in above:0.5")
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) {
		return "", errors.New("not a decimal amount")
	}
	if len(frac) > maxDecimals || len(whole) > 40 {
		return "", fmt.Errorf("not an amount with at most 40 digits and %d decimals", maxDecimals)
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		return whole, nil
	}
	return whole + "." + frac, nil
}

// digits reports whether s is only ASCII digits (true when empty).
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseAsset checks a rule's asset: a contract address (normalised to
// lower case) or a symbol of letters, digits and a few marks.
func parseAsset(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		n, err := addrs.Normalize("eth", s)
		if err != nil {
			return "", fmt.Errorf("asset %q is not a contract address: %w", s, err)
		}
		return n, nil
	}
	if s == "" || len(s) > 32 {
		return "", errors.New("needs an asset after the amount: a token symbol or contract address, as in above:1000:USDT")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_+$", c)) {
			return "", fmt.Errorf("asset %q is not a token symbol", s)
		}
	}
	return s, nil
}

// scaleDecimal returns the canonical decimal d in base units of an asset
// with dec decimals, rounded down: a base-unit amount is above d exactly
// when it is above the result.
func scaleDecimal(d string, dec uint8) (model.Amount, error) {
	whole, frac, _ := strings.Cut(d, ".")
	if len(frac) > int(dec) {
		frac = frac[:dec]
	}
	frac += strings.Repeat("0", int(dec)-len(frac))
	n := strings.TrimLeft(whole+frac, "0")
	if n == "" {
		n = "0"
	}
	a, err := model.ParseAmount(n)
	if err != nil {
		return model.Amount{}, fmt.Errorf("monitor: amount %s: %w", d, err)
	}
	return a, nil
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
	// Model is the taint model (package trace's poison, haircut or fifo)
	// by which the Bitcoin monitor extends the watch to the outputs its
	// value moves to; empty means haircut. A watch made from a trace
	// takes the trace's model. The account monitor has one model of its
	// own (see eth.go) and ignores it.
	Model string `json:"model,omitempty"`
	// Selector, when set, is the rule that chose Addresses from labels
	// or clusters; re-resolving it after a label import or a clustering
	// run brings the watch up to date.
	Selector *Selector `json:"selector,omitempty"`
}

// The taint models of Watch.Model, named as package trace names them.
const (
	ModelHaircut = "haircut"
	ModelPoison  = "poison"
	ModelFIFO    = "fifo"
)

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
		return nil, "", &FieldError{Field: "chain", Value: chain, Reason: notMonitored}
	}
	p, err := btc.Network(name)
	if err != nil || btc.ChainID(btc.NetworkName(p)) != chain {
		return nil, "", &FieldError{Field: "chain", Value: chain, Reason: notMonitored}
	}
	return p, btc.NetworkName(p), nil
}

const notMonitored = "not a monitored chain: want btc, btc-testnet, btc-signet, btc-regtest, btc-simnet, eth or eth-NETWORK"

// EVMNetwork returns the store network name of an EVM chain id: "eth" is
// Ethereum mainnet (store network "ethereum"), "eth-NAME" the store of
// network NAME (workspace.ETHChainID's ids). Other ids are a *FieldError.
func EVMNetwork(chain string) (string, error) {
	if chain == "eth" {
		return "ethereum", nil
	}
	name, ok := strings.CutPrefix(chain, "eth-")
	if !ok || name == "" || len(name) > 64 || name == "ethereum" || name == "mainnet" {
		return "", &FieldError{Field: "chain", Value: chain, Reason: notMonitored}
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", &FieldError{Field: "chain", Value: chain, Reason: notMonitored}
		}
	}
	return name, nil
}

// IsEVM reports whether chain is a monitored EVM chain id (EVMNetwork
// accepts it).
func IsEVM(chain string) bool {
	_, err := EVMNetwork(chain)
	return err == nil
}

// NativeAsset is the symbol of a monitored chain's native coin, which
// alerts carry as Asset and rules accept as theirs: BTC on Bitcoin
// chains, ETH on EVM chains except the few whose coin is another.
func NativeAsset(chain string) string {
	if !IsEVM(chain) {
		return "BTC"
	}
	switch chain {
	case "eth-bsc":
		return "BNB"
	case "eth-polygon":
		return "POL"
	case "eth-avalanche":
		return "AVAX"
	}
	return "ETH"
}

// nativeDecimals is the number of decimals of a chain's native coin.
func nativeDecimals(chain string) uint8 {
	if IsEVM(chain) {
		return 18
	}
	return 8
}

// Check validates w and normalises its addresses in place: a monitored
// chain, at least one valid address, valid rules (any when none) whose
// amounts fit the chain.
func (w *Watch) Check() error {
	var net *chaincfg.Params
	if !IsEVM(w.Chain) {
		var err error
		if net, _, err = ChainNetwork(w.Chain); err != nil {
			return err
		}
	}
	if len(w.Addresses) == 0 {
		return &FieldError{Field: "address", Value: "", Reason: "a watch needs at least one address"}
	}
	switch w.Model {
	case "", ModelHaircut, ModelPoison, ModelFIFO:
	default:
		return &FieldError{Field: "model", Value: w.Model, Reason: "want haircut, poison or fifo"}
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
		if err := checkRule(w.Chain, r); err != nil {
			return err
		}
	}
	if len(w.Name) > 200 {
		return &FieldError{Field: "name", Value: w.Name[:40] + "…", Reason: "longer than 200 characters"}
	}
	return nil
}

// checkRule validates r for chain: it reads back from its text, and an
// amount of the native coin fits the coin's decimals (BTC also its
// supply). Bitcoin watches follow only BTC, so an asset other than BTC
// is refused there; a token's decimals are known only once it moves, so
// token amounts are checked then.
func checkRule(chain string, r Rule) error {
	back, err := ParseRule(r.String())
	if err != nil {
		return err
	}
	if r.Kind != RuleAbove {
		return nil
	}
	bad := func(why string) error { return &FieldError{Field: "rule", Value: r.String(), Reason: why} }
	native := back.Asset == "" || strings.EqualFold(back.Asset, NativeAsset(chain))
	if !IsEVM(chain) {
		if !native {
			return bad("Bitcoin watches follow BTC only")
		}
		if _, err := parseBTC(back.Limit); err != nil {
			return bad(err.Error())
		}
		return nil
	}
	if _, frac, _ := strings.Cut(back.Limit, "."); native && len(frac) > int(nativeDecimals(chain)) {
		return bad(fmt.Sprintf("more than %d decimals", nativeDecimals(chain)))
	}
	return nil
}

// normalize checks an address with package addrs and, on Bitcoin, that
// the monitor can match it (it parses as a key of net). EVM chains share
// one address form, which package addrs knows as eth's.
func normalize(chain string, net *chaincfg.Params, a string) (string, error) {
	id := chain
	if IsEVM(chain) {
		id = "eth"
	}
	n, err := addrs.Normalize(id, a)
	if err != nil {
		var ae *addrs.Error
		reason := err.Error()
		if errors.As(err, &ae) {
			reason = ae.Reason
		}
		return "", &FieldError{Field: "address", Value: strings.TrimSpace(a), Reason: reason}
	}
	if net == nil {
		return n, nil
	}
	if _, err := btc.ParseAddress(n, net); err != nil {
		return "", &FieldError{Field: "address", Value: n, Reason: err.Error()}
	}
	return n, nil
}
