// Package eval scores traces of a simulated world's heists against the
// world's ground truth (package truth): for each heist it runs one forward
// trace per source chain and compares where the trace says the stolen
// value went with where it went, value-weighted in USD at the world's
// prices.
//
// The metrics:
//
//   - Endpoints. The truth's T_e is the value credited to each service or
//     mixer e (destinations of kind service and mixer, by entity); the
//     trace's R_e is the value its endpoints (labelled services, and
//     mixers where the trace stopped) report for e. matched is
//     Σ_e min(R_e, T_e); precision is matched / Σ_e R_e and recall is
//     matched / Σ_e T_e. A denominator of zero gives 1: a trace that
//     names nothing makes no wrong claim, and a heist that reached no
//     service leaves nothing to find.
//   - Located. The truth's holdings (value still at the launderers'
//     addresses) against the trace's holdings, by address:
//     Σ_a min(traced_a, truth_a) over Σ_a truth_a, and over Σ_a traced_a
//     for the holdings' precision (1 when the denominator is zero).
//   - False alerts. Σ R_e over the entities that received nothing of the
//     heist in the truth: value the trace would have an investigator ask
//     the wrong service to freeze.
//
// Entities are matched by name: the trace names an endpoint by its
// label's actor or label, and the world's TagPack labels each service with
// its entity name. An endpoint whose name is no entity of the world (a
// service the tracer recognised by behaviour, "unidentified service ...")
// is credited to the entity that owns the endpoint's address in the truth
// (which lists every service address, labelled or not), and is a false
// alert when no entity owns it. RecallNamed is the recall of the
// endpoints matched by name alone, what the labels achieve without that
// credit. CoinJoins are the exception: the tracer detects them by
// shape and names them by kind (whirlpool, wasabi2), not by coordinator,
// so every CoinJoin entity of the truth and every CoinJoin stop of the
// trace count as the one entity "coinjoin".
package eval

import (
	"sort"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// CoinJoinEntity is the one entity every CoinJoin counts as.
const CoinJoinEntity = "coinjoin"

// HeistScore is how well the traces of one heist match its truth. USD
// figures are at the world's prices.
type HeistScore struct {
	Heist  string `json:"heist"`
	Kind   string `json:"kind"`
	Title  string `json:"title,omitempty"`
	Mixers bool   `json:"mixers"`
	// Model and Rules are the taint model and rule set of the traces
	// (filled by Run).
	Model string `json:"model,omitempty"`
	Rules string `json:"rules,omitempty"`

	StolenUSD float64 `json:"stolen_usd"`
	// TruthUSD is Σ T_e, TracedUSD Σ R_e, MatchedUSD Σ min(R_e, T_e).
	TruthUSD   float64 `json:"truth_usd"`
	TracedUSD  float64 `json:"traced_usd"`
	MatchedUSD float64 `json:"matched_usd"`
	Precision  float64 `json:"precision"`
	Recall     float64 `json:"recall"`
	// TruthLabelledUSD is Σ T_e over the entities the world's labels
	// name (CoinJoins count: the tracer detects them), MatchedLabelledUSD
	// their matched value, and RecallLabelled the recall over them: how
	// much of what labels make findable the trace found. Recall stays the
	// headline; this says how much of its shortfall is missing labels.
	TruthLabelledUSD   float64 `json:"truth_labelled_usd"`
	MatchedLabelledUSD float64 `json:"matched_labelled_usd"`
	RecallLabelled     float64 `json:"recall_labelled"`
	// MatchedNamedUSD is Σ min(R_e, T_e) over the endpoints that name a
	// world entity themselves, and RecallNamed its share of TruthUSD:
	// the recall without crediting unnamed endpoints (services detected
	// by behaviour) to the entity owning their address.
	MatchedNamedUSD float64 `json:"matched_named_usd"`
	RecallNamed     float64 `json:"recall_named"`

	TruthHoldingsUSD  float64 `json:"truth_holdings_usd"`
	TracedHoldingsUSD float64 `json:"traced_holdings_usd"`
	LocatedUSD        float64 `json:"located_usd"`
	Located           float64 `json:"located"`
	HoldingsPrecision float64 `json:"holdings_precision"`

	FalseAlertUSD float64  `json:"false_alert_usd"`
	FalseAlerts   []string `json:"false_alerts,omitempty"`
	// Entities compares truth and trace per entity, largest first.
	Entities []EntityScore `json:"entities"`

	// What the traces accounted as fees, beyond the limits, dust, stopped
	// at mixers and still unspent, in USD.
	FeesUSD         float64       `json:"fees_usd"`
	BeyondLimitsUSD float64       `json:"beyond_limits_usd"`
	DustUSD         float64       `json:"dust_usd"`
	MixersUSD       float64       `json:"mixers_usd"`
	UnspentUSD      float64       `json:"unspent_usd"`
	Elapsed         time.Duration `json:"elapsed_ns"`
	// Truncated says a trace hit its work limit.
	Truncated bool `json:"truncated,omitempty"`
}

// EntityScore is one entity's value in the truth and in the trace.
type EntityScore struct {
	Entity    string  `json:"entity"`
	TruthUSD  float64 `json:"truth_usd"`
	TracedUSD float64 `json:"traced_usd"`
}

// Score scores the forward traces of heist h (one per source chain, each
// continuing across bridges) against the truth of world w.
func Score(w *truth.World, h *truth.Heist, results []*trace.Result) HeistScore {
	s := HeistScore{Heist: h.ID, Kind: h.Kind, Title: h.Title, Mixers: h.Mixers, StolenUSD: w.StolenUSD(h)}
	px := newPricer(w)
	categories := map[string]string{}
	labelled := map[string]bool{CoinJoinEntity: true}
	known := map[string]bool{CoinJoinEntity: true}
	owners := map[string]string{} // address -> entity
	for _, e := range w.Entities {
		categories[e.Name] = e.Category
		labelled[e.Name] = labelled[e.Name] || e.Labelled
		known[entityKey(e.Name, e.Category)] = true
		for _, a := range e.Addresses {
			owners[addrKey(a.Address)] = e.Name
		}
	}
	truthE, tracedE, namedE := map[string]float64{}, map[string]float64{}, map[string]float64{}
	truthH, tracedH := map[string]float64{}, map[string]float64{}
	for _, d := range h.Destinations {
		v := px.usd(d.Chain, d.Asset, d.Amount)
		switch d.Kind {
		case truth.KindService, truth.KindMixer:
			cat := d.Category
			if cat == "" {
				cat = categories[d.Entity]
			}
			truthE[entityKey(d.Entity, cat)] += v
		case truth.KindHolding:
			truthH[addrKey(d.Address)] += v
		}
	}
	for _, r := range results {
		if r == nil {
			continue
		}
		for _, e := range r.Endpoints {
			v := px.usd(e.Chain, e.Asset, e.Tainted)
			k := entityKey(e.Entity, e.Category)
			if known[k] {
				namedE[k] += v
			} else if o, ok := owners[addrKey(e.Address)]; ok {
				k = entityKey(o, categories[o])
			}
			tracedE[k] += v
		}
		for _, hd := range r.Holdings {
			tracedH[addrKey(hd.Address)] += px.usd(hd.Chain, hd.Asset, hd.Amount)
		}
		for _, t := range r.Totals {
			s.FeesUSD += px.usd(t.Chain, t.Asset, t.Fees)
			s.BeyondLimitsUSD += px.usd(t.Chain, t.Asset, t.BeyondLimits)
			s.DustUSD += px.usd(t.Chain, t.Asset, t.Dust)
			s.MixersUSD += px.usd(t.Chain, t.Asset, t.Mixers)
			s.UnspentUSD += px.usd(t.Chain, t.Asset, t.Unspent)
		}
		s.Elapsed += r.Stats.Elapsed
		s.Truncated = s.Truncated || r.Stats.Truncated
	}
	for e, t := range truthE {
		s.TruthUSD += t
		s.MatchedUSD += min(t, tracedE[e])
		s.MatchedNamedUSD += min(t, namedE[e])
		if labelled[e] {
			s.TruthLabelledUSD += t
			s.MatchedLabelledUSD += min(t, tracedE[e])
		}
	}
	for e, r := range tracedE {
		s.TracedUSD += r
		if truthE[e] == 0 && r > 0 {
			s.FalseAlertUSD += r
			s.FalseAlerts = append(s.FalseAlerts, e)
		}
	}
	sort.Strings(s.FalseAlerts)
	s.Precision, s.Recall = ratio(s.MatchedUSD, s.TracedUSD), ratio(s.MatchedUSD, s.TruthUSD)
	s.RecallLabelled = ratio(s.MatchedLabelledUSD, s.TruthLabelledUSD)
	s.RecallNamed = ratio(s.MatchedNamedUSD, s.TruthUSD)
	for a, t := range truthH {
		s.TruthHoldingsUSD += t
		s.LocatedUSD += min(t, tracedH[a])
	}
	for _, r := range tracedH {
		s.TracedHoldingsUSD += r
	}
	s.Located, s.HoldingsPrecision = ratio(s.LocatedUSD, s.TruthHoldingsUSD), ratio(s.LocatedUSD, s.TracedHoldingsUSD)
	s.Entities = entityScores(truthE, tracedE)
	return s
}

func entityScores(truthE, tracedE map[string]float64) []EntityScore {
	var out []EntityScore
	for e, t := range truthE {
		out = append(out, EntityScore{Entity: e, TruthUSD: t, TracedUSD: tracedE[e]})
	}
	for e, r := range tracedE {
		if _, ok := truthE[e]; !ok {
			out = append(out, EntityScore{Entity: e, TracedUSD: r})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := max(out[i].TruthUSD, out[i].TracedUSD), max(out[j].TruthUSD, out[j].TracedUSD)
		if a != b {
			return a > b
		}
		return out[i].Entity < out[j].Entity
	})
	return out
}

// ratio is num/den, and 1 when den is zero (nothing claimed, or nothing
// to find: no error either way).
func ratio(num, den float64) float64 {
	if den == 0 {
		return 1
	}
	return num / den
}

// entityKey names an entity for matching: its name, or CoinJoinEntity for
// any CoinJoin.
func entityKey(name, category string) string {
	if strings.EqualFold(category, "coinjoin") {
		return CoinJoinEntity
	}
	return name
}

// addrKey normalises an address for matching: EVM addresses are
// case-insensitive hex, Bitcoin's base58 is not.
func addrKey(a string) string {
	if strings.HasPrefix(a, "0x") || strings.HasPrefix(a, "0X") {
		return strings.ToLower(a)
	}
	return a
}

// pricer values amounts of the trace's chain ids and asset names at the
// truth's prices. The truth may name a chain by its id ("btc-regtest") or
// by its role ("btc"), and an account chain's native coin "ETH" where the
// tracer may say "native".
type pricer struct {
	w     *truth.World
	alias map[string]string // chain id <-> role
}

func newPricer(w *truth.World) *pricer {
	p := &pricer{w: w, alias: map[string]string{}}
	for role, c := range w.Chains {
		p.alias[c.ID] = role
		p.alias[role] = c.ID
	}
	return p
}

func (p *pricer) usd(chain, asset string, a model.Amount) float64 {
	if a.IsZero() {
		return 0
	}
	for _, c := range []string{chain, p.alias[chain]} {
		for _, as := range []string{asset, strings.ToLower(asset), nativeAlias(asset)} {
			if _, _, ok := p.w.Price(c, as); ok {
				return p.w.USD(c, as, a)
			}
		}
	}
	return 0
}

func nativeAlias(asset string) string {
	if strings.EqualFold(asset, "native") {
		return "ETH"
	}
	return asset
}
