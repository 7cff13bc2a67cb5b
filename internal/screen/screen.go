// Package screen answers the compliance question "may I deal with this
// address?": it identifies an address against the label index (sanctions
// lists, attributed hacks, mixers, exchanges, ...), measures how much of
// the value the address received came from labelled sources (its
// exposure, see Exposure for the haircut model), and rates the result
// LOW, MEDIUM, HIGH or SEVERE with configurable Rules.
//
// Identification needs only a labels.Index: a labelled address is
// answered in about half a microsecond, an unlabelled one after validating
// it with addrs.Normalize (about a microsecond more). Exposure needs the chain's transaction graph (a Graph, such
// as BTCGraph over a Bitcoin store); for chains without one the Result
// carries a note instead.
package screen

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
)

// DefaultHops is how many transactions back exposure looks when
// Options.Hops is zero.
const DefaultHops = 3

// MaxHops is the largest Options.Hops Screen accepts.
const MaxHops = 10

// DefaultMaxTxs is the transaction budget of one exposure computation when
// Options.MaxTxs is zero.
const DefaultMaxTxs = 20000

// ErrBadOptions is wrapped by errors about out-of-range Options.
var ErrBadOptions = errors.New("screen: bad options")

// Options tunes one Screen call. The zero value asks for identification
// and, where the chain has a graph, exposure within DefaultHops hops.
type Options struct {
	// Hops is how many transactions back indirect exposure traces: 1
	// counts only the senders of the transactions that paid the address.
	// Zero means DefaultHops; more than MaxHops is an error.
	Hops int
	// NoExposure skips exposure (identification and risk only).
	NoExposure bool
	// MaxTxs caps the transactions read for exposure; past it the
	// untraced value counts as unlabelled and Exposure.Truncated is set.
	// Zero means DefaultMaxTxs.
	MaxTxs int
}

// Result is the answer for one address.
type Result struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
	// Identifications are the address's active labels, never nil.
	Identifications []Identification `json:"identifications"`
	// Exposure is nil when it was not asked for or the chain has no graph
	// (Notes then say why).
	Exposure *Exposure `json:"exposure,omitempty"`
	Risk     Risk      `json:"risk"`
	Notes    []string  `json:"notes,omitempty"`
}

// Identification is one label of the screened address. Its first four
// fields follow the shape of Chainalysis's free sanctions API; the others
// carry the label's provenance.
type Identification struct {
	// Category is the label's category (a GraphSense concepts id such as
	// exchange or mixing_service), or its abuse when it has no category.
	Category    string `json:"category"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
	// Abuse is the abuse concept id (sanction, hack, ransomware, ...).
	Abuse string `json:"abuse,omitempty"`
	// Actor is the actor the label points to, with its root actor (the
	// top of its parent chain, e.g. tradertraitor -> lazarusgroup).
	Actor           ActorRef `json:"actor,omitzero"`
	Source          string   `json:"source"`
	Dataset         string   `json:"dataset"`
	Confidence      string   `json:"confidence,omitempty"`
	ConfidenceLevel int      `json:"confidence_level"`
	Entity          string   `json:"entity,omitempty"`
	EntityUID       string   `json:"entity_uid,omitempty"`
	Programs        []string `json:"programs,omitempty"`
}

// ActorRef names an actor and the root of its group hierarchy. Name and
// RootName are empty when the index has no record of the actor; the zero
// ActorRef means the label names no actor.
type ActorRef struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Root     string `json:"root"`
	RootName string `json:"root_name,omitempty"`
}

// Screener screens addresses against a label index and, where available,
// transaction graphs. It is safe for concurrent use, and SetIndex swaps
// the index without disturbing screens in flight.
type Screener struct {
	ix     atomic.Pointer[labels.Index]
	graphs map[string]Graph
	rules  ruleSet
}

// New returns a Screener over ix (nil means an empty index), with graphs
// mapping a chain id to its transaction graph (nil or missing chains get
// no exposure) and rules to rate results (use DefaultRules for the
// shipped ones). It fails if the rules are invalid.
func New(ix *labels.Index, graphs map[string]Graph, rules Rules) (*Screener, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	s := &Screener{graphs: make(map[string]Graph, len(graphs)), rules: compileRules(rules)}
	for c, g := range graphs {
		if g != nil {
			s.graphs[c] = g
		}
	}
	s.SetIndex(ix)
	return s, nil
}

// SetIndex replaces the label index; nil means an empty index. Screens
// already running finish with the index they started with.
func (s *Screener) SetIndex(ix *labels.Index) {
	if ix == nil {
		ix = labels.NewIndex(nil, nil)
	}
	s.ix.Store(ix)
}

// Index returns the current label index.
func (s *Screener) Index() *labels.Index { return s.ix.Load() }

// Rules returns a copy of the rules in use.
func (s *Screener) Rules() Rules { return s.rules.Rules.clone() }

// Chains returns the chain ids that have a graph, sorted.
func (s *Screener) Chains() []string {
	out := make([]string, 0, len(s.graphs))
	for c := range s.graphs {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Identify returns the identifications of an address: its active labels in
// the index's order. An address without labels has none and is no error;
// an address that does not parse for the chain is an error wrapping
// addrs.ErrInvalid, and an unknown chain one wrapping
// addrs.ErrUnknownChain.
func (s *Screener) Identify(chain, address string) ([]Identification, error) {
	ix := s.ix.Load()
	_, _, found, err := resolve(ix, chain, address)
	if err != nil {
		return nil, err
	}
	return identify(ix, found), nil
}

// resolve canonicalises the chain id and address and looks the address
// up. The index holds only normalised addresses and normalising is
// idempotent, so input found as it is needs no normalising: only misses
// pay for validation (EVM checksums cost a Keccak hash).
func resolve(ix *labels.Index, chain, address string) (string, string, []labels.Label, error) {
	chain = canonChain(chain)
	if found := ix.Lookup(chain, address); found != nil {
		return chain, address, found, nil
	}
	norm, err := addrs.Normalize(chain, address)
	if err != nil {
		return "", "", nil, fmt.Errorf("screen: %w", err)
	}
	if norm == address {
		return chain, norm, nil, nil
	}
	return chain, norm, ix.Lookup(chain, norm), nil
}

// Screen identifies an address, measures its exposure when opts and the
// available graphs allow, and rates its risk. The address is normalised
// first; errors are those of Identify, of out-of-range options (wrapping
// ErrBadOptions), of the graph and of ctx. An address nobody labelled and
// the graph has not seen is no error: it gets no identifications and
// risk LOW.
func (s *Screener) Screen(ctx context.Context, chain, address string, opts Options) (Result, error) {
	if opts.Hops < 0 || opts.Hops > MaxHops {
		return Result{}, fmt.Errorf("%w: hops %d is outside 1..%d", ErrBadOptions, opts.Hops, MaxHops)
	}
	if opts.MaxTxs < 0 {
		return Result{}, fmt.Errorf("%w: negative transaction budget %d", ErrBadOptions, opts.MaxTxs)
	}
	ix := s.ix.Load()
	chain, norm, found, err := resolve(ix, chain, address)
	if err != nil {
		return Result{}, err
	}
	res := Result{Chain: chain, Address: norm, Identifications: identify(ix, found)}
	if !opts.NoExposure {
		g := s.graphs[chain]
		if g == nil {
			res.Notes = append(res.Notes, "exposure not computed: no transaction graph is loaded for chain "+chain)
		} else {
			if opts.Hops == 0 {
				opts.Hops = DefaultHops
			}
			if opts.MaxTxs == 0 {
				opts.MaxTxs = DefaultMaxTxs
			}
			exp, err := exposure(ctx, g, ix, chain, norm, opts)
			if err != nil {
				return Result{}, err
			}
			res.Exposure = exp
		}
	}
	res.Risk = s.rules.rate(ix, found, res.Exposure)
	return res, nil
}

// identify turns labels into identifications; it never returns nil.
func identify(ix *labels.Index, ls []labels.Label) []Identification {
	if len(ls) == 0 {
		return []Identification{}
	}
	out := make([]Identification, len(ls))
	for i := range ls {
		toIdentification(ix, &ls[i], &out[i])
	}
	return out
}

func toIdentification(ix *labels.Index, l *labels.Label, id *Identification) {
	cat := l.Category
	if cat == "" {
		cat = l.Abuse
	}
	name := l.Label
	if name == "" {
		name = l.Entity
	}
	*id = Identification{
		Category:        cat,
		Name:            name,
		Abuse:           l.Abuse,
		Source:          l.Source,
		Dataset:         l.Dataset,
		Confidence:      l.Confidence,
		ConfidenceLevel: l.ConfidenceLevel,
		Entity:          l.Entity,
		EntityUID:       l.EntityUID,
		Programs:        l.Programs,
	}
	if strings.HasPrefix(l.Source, "https://") || strings.HasPrefix(l.Source, "http://") {
		id.URL = l.Source
	}
	if l.Actor != "" {
		ref := &id.Actor
		ref.ID, ref.Root = l.Actor, ix.ActorRoot(l.Actor)
		if ref.Root == "" {
			ref.Root = l.Actor
		}
		if a, ok := ix.Actor(l.Actor); ok {
			ref.Name = a.Label
		}
		if ref.Root == l.Actor {
			ref.RootName = ref.Name
		} else if a, ok := ix.Actor(ref.Root); ok {
			ref.RootName = a.Label
		}
	}
	id.Description = describe(l, &id.Actor)
}

// describe writes a one-sentence description of a label.
func describe(l *labels.Label, actor *ActorRef) string {
	var b strings.Builder
	// One allocation: room for every part that may be written.
	n := 64 + 2*len(l.Category) + len(l.Abuse) + len(l.Entity) + len(l.Source) + len(l.Dataset) +
		len(actor.Name) + len(actor.ID) + len(actor.RootName) + len(actor.Root)
	for _, p := range l.Programs {
		n += len(p) + 2
	}
	b.Grow(n)
	switch {
	case l.Abuse == "sanction" && l.Entity != "":
		b.WriteString("Sanctioned entity ")
		b.WriteString(l.Entity)
	case l.Abuse == "sanction":
		b.WriteString("Sanctioned address")
	case l.Abuse != "" && l.Category != "":
		b.WriteString(humanize(l.Category))
		b.WriteString(" associated with ")
		b.WriteString(humanize(l.Abuse))
	case l.Abuse != "":
		b.WriteString("Address associated with ")
		b.WriteString(humanize(l.Abuse))
	case l.Category != "":
		b.WriteString(humanize(l.Category))
	default:
		b.WriteString("Labelled address")
	}
	for i, p := range l.Programs {
		if i == 0 {
			b.WriteString(" (programs ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(p)
		if i == len(l.Programs)-1 {
			b.WriteString(")")
		}
	}
	if actor.ID != "" {
		b.WriteString(", attributed to ")
		b.WriteString(orID(actor.Name, actor.ID))
		if actor.Root != actor.ID {
			b.WriteString(" (part of ")
			b.WriteString(orID(actor.RootName, actor.Root))
			b.WriteString(")")
		}
	}
	b.WriteString("; reported by ")
	b.WriteString(orID(l.Source, l.Dataset))
	b.WriteString(".")
	return b.String()
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// humanize turns a concepts id into words: mixing_service -> "Mixing service".
func humanize(id string) string {
	if id == "" {
		return ""
	}
	s := strings.ReplaceAll(id, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// canonChain trims and lower-cases a chain id as package addrs matches
// it, allocating only when it has to.
func canonChain(c string) string {
	for i := 0; i < len(c); i++ {
		if b := c[i]; (b >= 'A' && b <= 'Z') || b <= ' ' || b >= 0x80 {
			return strings.ToLower(strings.TrimSpace(c))
		}
	}
	return c
}
