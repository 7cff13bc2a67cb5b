// Package trace follows value through a chain's transaction graph: forward
// from stolen funds to where they went, or backward from an address to
// where its funds came from, under a taint model (poison, haircut, FIFO).
//
// A trace runs on one chain's store through a chain-kind engine (UTXO or
// account); Multi joins engines of several chains through bridge rules.
// Every engine fills the same Result: the flow graph, the endpoints where
// tracing stopped (labelled services), the tainted value still sitting at
// addresses, and totals that account for every unit that left the source.
package trace

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
)

// Direction says which way a trace walks.
type Direction string

const (
	// Forward follows value from the source to where it went.
	Forward Direction = "forward"
	// Backward follows value at the source back to where it came from.
	Backward Direction = "backward"
)

// Model is a taint model: how a transaction passes taint from what it
// spends to what it pays.
type Model string

const (
	// Poison taints every output of a transaction that spends any tainted
	// value, at the output's full value. It is an upper bound: poison
	// taint is not conserved, and every other model's taint stays within
	// it.
	Poison Model = "poison"
	// Haircut gives each output the tainted share of the inputs' value
	// (UTXO), or each outgoing transfer the tainted share of the sender's
	// balance at that moment (account). Taint is conserved.
	Haircut Model = "haircut"
	// FIFO lines value up in order, first in first out: a UTXO
	// transaction's outputs take its inputs' value in input order, an
	// account's outgoing transfers consume its received value in arrival
	// order. Taint is conserved and tracked per unit.
	FIFO Model = "fifo"
)

// Roles of nodes in a result.
const (
	RoleSource   = "source"   // a trace start address
	RoleHop      = "hop"      // an unlabelled address the value passed through
	RoleEndpoint = "endpoint" // a labelled service where tracing stopped
	RoleMixer    = "mixer"    // a mixer (stopped unless ThroughMixers)
	RoleBridge   = "bridge"   // a bridge deposit address or contract
	RoleDEX      = "dex"      // a swap venue passed through
	RoleHolding  = "holding"  // an address still holding tainted value
	RoleLimit    = "limit"    // an address beyond the hop or time limits
)

// Category classes the stop rules use, as GraphSense concept ids.
var (
	// StopCategories are services that can freeze funds or identify
	// their owner: tracing stops there and reports an endpoint.
	StopCategories = []string{"exchange", "payment_processor", "otc_broker", "otc", "gambling", "market", "wallet_service", "service", "miner"}
	// MixerCategories stop tracing unless Params.ThroughMixers is set.
	MixerCategories = []string{"mixing_service", "coinjoin"}
	// BridgeCategories mark bridges, followed by bridge rules.
	BridgeCategories = []string{"defi_bridge", "bridge"}
	// DEXCategories mark swap venues.
	DEXCategories = []string{"defi_dex", "dex"}
)

// Params are a trace's parameters. They are recorded in its Result so that
// the trace can be reproduced.
type Params struct {
	// Chain is the chain id of package addrs ("btc", "btc-regtest", "eth").
	Chain string `json:"chain"`
	// From lists the source addresses, normalised for Chain.
	From []string `json:"from,omitempty"`
	// FromTxs lists source transactions by hash: every output (UTXO) or
	// every transfer's recipient (account) of each is tainted at full
	// value, forward; backward, their inputs or senders are the start.
	FromTxs []string `json:"from_txs,omitempty"`
	// Incident names the registry incident the sources came from, when
	// the trace started from one.
	Incident  string    `json:"incident,omitempty"`
	Direction Direction `json:"direction"`
	Model     Model     `json:"model"`
	// Hops is the maximum number of transactions walked from the source;
	// value that would go further is reported as beyond limits.
	Hops int `json:"hops"`
	// MinValue is the dust threshold in base units: tainted amounts
	// smaller than it are not followed and are reported as dust.
	MinValue model.Amount `json:"min_value"`
	// Since and Until bound the time of the transactions followed (zero:
	// unbounded); value moved outside the window is beyond limits. Source
	// receipts before Since are not tainted.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Asset restricts an account-chain trace to one asset: "native" or a
	// token contract address; empty follows every asset.
	Asset string `json:"asset,omitempty"`
	// ThroughMixers continues through mixers (labelled mixing services
	// and detected CoinJoins) instead of stopping there.
	ThroughMixers bool `json:"through_mixers,omitempty"`
	// NoSwaps stops at DEX swaps instead of following the received asset.
	NoSwaps bool `json:"no_swaps,omitempty"`
	// ChangeSameHop counts a payment to the likely change output of a
	// transaction (package cluster's heuristics, confidence at least
	// ChangeConfidence) as the same hop, so that long peel chains stay
	// within the hop budget.
	ChangeSameHop    bool    `json:"change_same_hop,omitempty"`
	ChangeConfidence float64 `json:"change_confidence,omitempty"`
	// StopAt overrides StopCategories when not empty.
	StopAt []string `json:"stop_at,omitempty"`
}

// Validate checks the parameters and fills defaults (hops 6).
func (p *Params) Validate() error { return p.validate(0) }

// validate is Validate for a run that also starts from seeds, which are
// a source like addresses and transactions (Multi continues a trace
// across a bridge from seeds alone).
func (p *Params) validate(seeds int) error {
	switch p.Direction {
	case "":
		p.Direction = Forward
	case Forward, Backward:
	default:
		return fmt.Errorf("trace: direction %q: want forward or backward", p.Direction)
	}
	switch p.Model {
	case "":
		p.Model = Haircut
	case Poison, Haircut, FIFO:
	default:
		return fmt.Errorf("trace: model %q: want poison, haircut or fifo", p.Model)
	}
	if p.Hops == 0 {
		p.Hops = 6
	}
	if p.Hops < 0 || p.Hops > 1000 {
		return fmt.Errorf("trace: hops %d: want 1 to 1000", p.Hops)
	}
	if len(p.From) == 0 && len(p.FromTxs) == 0 && seeds == 0 {
		return fmt.Errorf("trace: no source: give addresses or transactions")
	}
	if !p.Until.IsZero() && p.Until.Before(p.Since) {
		return fmt.Errorf("trace: time window ends (%s) before it starts (%s)", p.Until.Format(time.RFC3339), p.Since.Format(time.RFC3339))
	}
	if p.ChangeConfidence == 0 {
		p.ChangeConfidence = 0.7
	}
	return nil
}

// InWindow reports whether time t is inside the parameters' window.
func (p *Params) InWindow(t time.Time) bool {
	if !p.Since.IsZero() && t.Before(p.Since) {
		return false
	}
	return p.Until.IsZero() || !t.After(p.Until)
}

// Result is a finished trace.
type Result struct {
	Params Params `json:"params"`
	// Heights are the tip heights of the stores the trace read, by chain.
	Heights map[string]uint64 `json:"heights"`
	// Nodes are the addresses (or clusters) the tainted value touched.
	Nodes []Node `json:"nodes"`
	// Edges are the tainted value movements, in chain order.
	Edges []Edge `json:"edges"`
	// Endpoints are the labelled places where tracing stopped, by
	// tainted amount, largest first.
	Endpoints []Endpoint `json:"endpoints"`
	// Holdings are the addresses still holding tainted value (forward) or
	// the origins found (backward), by amount, largest first.
	Holdings []Holding `json:"holdings"`
	// Crossings are tainted transfers into bridges (forward), where a
	// bridge rule may continue the trace on another chain.
	Crossings []Crossing `json:"crossings,omitempty"`
	// Totals account for the traced value per chain and asset.
	Totals []Totals `json:"totals"`
	// Stats describe the work done.
	Stats Stats `json:"stats"`
}

// Node is an address (or a cluster) in the flow graph. ID is
// "<chain>:<address>" (or "<chain>:cluster:<id>").
type Node struct {
	ID      string  `json:"id"`
	Chain   string  `json:"chain"`
	Address string  `json:"address"`
	Role    string  `json:"role"`
	Hop     int     `json:"hop"`
	Labels  []Label `json:"labels,omitempty"`
	// Cluster is the address's cluster id when clusters are known.
	Cluster string `json:"cluster,omitempty"`
}

// Label is the part of an attribution a trace shows, with where it came
// from.
type Label struct {
	Label      string `json:"label"`
	Category   string `json:"category,omitempty"`
	Abuse      string `json:"abuse,omitempty"`
	Actor      string `json:"actor,omitempty"`
	Dataset    string `json:"dataset,omitempty"`
	Confidence int    `json:"confidence"`
}

// Edge is tainted value moving from one node to another in one
// transaction. Value is what the transaction moved between the two;
// Tainted the part of it the model taints.
type Edge struct {
	From    string       `json:"from"`
	To      string       `json:"to"`
	Chain   string       `json:"chain"`
	Asset   string       `json:"asset"`
	Tx      string       `json:"tx"`
	Height  uint64       `json:"height"`
	Time    time.Time    `json:"time"`
	Hop     int          `json:"hop"`
	Value   model.Amount `json:"value"`
	Tainted model.Amount `json:"tainted"`
}

// Endpoint is a labelled place where tracing stopped.
type Endpoint struct {
	Node     string       `json:"node"`
	Chain    string       `json:"chain"`
	Address  string       `json:"address"`
	Entity   string       `json:"entity"`
	Label    string       `json:"label"`
	Category string       `json:"category"`
	Asset    string       `json:"asset"`
	Tainted  model.Amount `json:"tainted"`
	// Share is Tainted over the source total of the same chain and asset.
	Share float64 `json:"share"`
	Hop   int     `json:"hop"`
	Txs   int     `json:"txs"`
}

// Holding is tainted value still sitting at an address at the store's tip
// (forward), or value found at an origin (backward).
type Holding struct {
	Node    string       `json:"node"`
	Chain   string       `json:"chain"`
	Address string       `json:"address"`
	Asset   string       `json:"asset"`
	Amount  model.Amount `json:"amount"`
	Hop     int          `json:"hop"`
	// Outputs lists the unspent outputs ("txid:vout") holding it, UTXO
	// chains only.
	Outputs []string `json:"outputs,omitempty"`
}

// Crossing is tainted value sent into a bridge: transfer (or output)
// Index of transaction Tx paid Value to the bridge address To, Tainted of
// it. Continued names the seed the bridge rule continued with on the other
// chain ("<chain>:<tx>:<index>"), empty when no rule matched a release.
type Crossing struct {
	Chain     string       `json:"chain"`
	Asset     string       `json:"asset"`
	Tx        string       `json:"tx"`
	Index     uint32       `json:"index"`
	From      string       `json:"from"`
	To        string       `json:"to"`
	Bridge    string       `json:"bridge"`
	Value     model.Amount `json:"value"`
	Tainted   model.Amount `json:"tainted"`
	Height    uint64       `json:"height"`
	Time      time.Time    `json:"time"`
	Hop       int          `json:"hop"`
	Continued string       `json:"continued,omitempty"`
}

// Seed is a starting point given by position rather than by address: a
// bridge release or an incident's transaction. Forward on a UTXO chain,
// output Index of Tx holds Tainted (FIFO: its first Tainted units); on an
// account chain, the recipient of transfer Index of Tx received Tainted of
// it. Hop is the hop count the seed starts at.
type Seed struct {
	Tx      string       `json:"tx"`
	Index   uint32       `json:"index"`
	Tainted model.Amount `json:"tainted"`
	Hop     int          `json:"hop"`
}

// Engine runs traces on one chain's store; UTXO and Account implement it.
// Implementations are safe for concurrent use; each Run returns a Result
// the caller owns.
type Engine interface {
	// Chain is the chain id of the engine's store (package addrs').
	Chain() string
	// Tip is the store's best height.
	Tip(ctx context.Context) (uint64, error)
	// Run traces from p's sources and, forward, from seeds as well. Seed
	// value counts as SwappedIn/BridgedIn-style entry under Source.
	Run(ctx context.Context, p Params, seeds []Seed) (*Result, error)
}

// Totals account for the traced value of one asset on one chain. For the
// conserving models (haircut, FIFO) In equals Out exactly:
//
//	Source + SwappedIn + BridgedIn =
//	    Endpoints + Mixers + Unspent + Dust + BeyondLimits + Fees + Burnt
//	    + Minted + SwappedOut + BridgedOut
//
// Forward, Unspent is tainted value still at addresses; Burnt is value sent
// to the zero address. Backward, the figures are of origins: Endpoints are
// labelled origins, Minted is value that came from coinbases, token mints
// or beacon withdrawals, Unspent stays zero.
// Under poison the figures are the full values of tainted outputs and do
// not balance.
type Totals struct {
	Chain        string       `json:"chain"`
	Asset        string       `json:"asset"`
	Source       model.Amount `json:"source"`
	SwappedIn    model.Amount `json:"swapped_in"`
	BridgedIn    model.Amount `json:"bridged_in"`
	Endpoints    model.Amount `json:"endpoints"`
	Mixers       model.Amount `json:"mixers"`
	Unspent      model.Amount `json:"unspent"`
	Dust         model.Amount `json:"dust"`
	BeyondLimits model.Amount `json:"beyond_limits"`
	Fees         model.Amount `json:"fees"`
	Burnt        model.Amount `json:"burnt"`
	Minted       model.Amount `json:"minted"`
	SwappedOut   model.Amount `json:"swapped_out"`
	BridgedOut   model.Amount `json:"bridged_out"`
}

// In returns the value that entered the trace.
func (t *Totals) In() model.Amount { return sum(t.Source, t.SwappedIn, t.BridgedIn) }

// Out returns the value the trace accounted for.
func (t *Totals) Out() model.Amount {
	return sum(t.Endpoints, t.Mixers, t.Unspent, t.Dust, t.BeyondLimits, t.Fees, t.Burnt, t.Minted, t.SwappedOut, t.BridgedOut)
}

// Balanced reports whether In equals Out.
func (t *Totals) Balanced() bool { return t.In().Cmp(t.Out()) == 0 }

func sum(as ...model.Amount) model.Amount {
	var s model.Amount
	for _, a := range as {
		s, _ = s.Add(a)
	}
	return s
}

// Stats describe the work a trace did.
type Stats struct {
	Txs       int           `json:"txs"`
	Addresses int           `json:"addresses"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	// Truncated is set when a work limit stopped the trace early; the
	// value not followed is counted as beyond limits.
	Truncated bool `json:"truncated,omitempty"`
}

// Labeler looks up the labels of an address; *labels.Index implements it.
// The returned slice belongs to the labeler and must not be modified.
// Implementations are safe for concurrent use.
type Labeler interface {
	Lookup(chain, address string) []labels.Label
}

// AddrChain returns the addrs chain id whose address format and labels
// apply to chain: chain itself when package addrs knows it, and "eth" for
// an EVM chain of chaintrace's "eth-<network>" form that addrs does not
// know (a private or simulated network), whose addresses are Ethereum's.
func AddrChain(chain string) string {
	if addrs.IsEVM(chain) || !strings.HasPrefix(chain, "eth-") {
		return chain
	}
	return "eth"
}

// AddrChainLabeler looks labels up under AddrChain of the chain asked
// for, so that a simulated or private EVM chain ("eth-sim") is labelled
// from the Ethereum labels of the database in Base.
type AddrChainLabeler struct{ Base Labeler }

// Lookup implements Labeler.
func (l AddrChainLabeler) Lookup(chain, address string) []labels.Label {
	return l.Base.Lookup(AddrChain(chain), address)
}

// Class is what the stop rules make of an address's labels.
type Class uint8

const (
	ClassNone   Class = iota // unlabelled or labelled with no rule (a thief)
	ClassStop                // a service: stop and report an endpoint
	ClassMixer               // a mixer
	ClassBridge              // a bridge
	ClassDEX                 // a swap venue
)

// Classify applies the stop rules of p to an address's labels. It returns
// the class and the label that decided it.
func Classify(p *Params, ls []labels.Label) (Class, *labels.Label) {
	stop := p.StopAt
	if len(stop) == 0 {
		stop = StopCategories
	}
	best, bestClass := (*labels.Label)(nil), ClassNone
	for i := range ls {
		l := &ls[i]
		var c Class
		switch {
		case contains(MixerCategories, l.Category):
			c = ClassMixer
		case contains(BridgeCategories, l.Category):
			c = ClassBridge
		case contains(DEXCategories, l.Category):
			c = ClassDEX
		case contains(stop, l.Category):
			c = ClassStop
		default:
			continue
		}
		// The first label of the strongest class wins: stop (a service
		// that can freeze), then mixer, bridge and DEX.
		if best == nil || rank(c) < rank(bestClass) {
			best, bestClass = l, c
		}
	}
	return bestClass, best
}

func rank(c Class) int {
	switch c {
	case ClassStop:
		return 0
	case ClassMixer:
		return 1
	case ClassBridge:
		return 2
	case ClassDEX:
		return 3
	}
	return 4
}

func contains(set []string, s string) bool {
	if s == "" {
		return false
	}
	for _, x := range set {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Labels converts attribution labels for a Node.
func Labels(ls []labels.Label) []Label {
	if len(ls) == 0 {
		return nil
	}
	out := make([]Label, 0, len(ls))
	for _, l := range ls {
		out = append(out, Label{Label: l.Label, Category: l.Category, Abuse: l.Abuse, Actor: l.Actor, Dataset: l.Dataset, Confidence: l.ConfidenceLevel})
	}
	return out
}

// Entity names the owner an endpoint label stands for: its actor when
// set, else its label.
func Entity(l *labels.Label) string {
	if l.Actor != "" {
		return l.Actor
	}
	return l.Label
}
