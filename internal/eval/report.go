package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/sim/truth"
)

// Report is an evaluation of a world's heists.
type Report struct {
	World    WorldInfo `json:"world"`
	Settings Settings  `json:"settings"`
	Targets  Targets   `json:"targets"`
	// Overall aggregates every heist at the default model and rule set;
	// OverallNoMixers the heists whose laundering avoids mixers, which
	// the targets are about.
	Overall         Summary `json:"overall"`
	OverallNoMixers Summary `json:"overall_no_mixers"`
	// Heists are the per-heist scores at the default model and rules.
	Heists []HeistScore `json:"heists"`
	// Models aggregate every heist per model and rule set.
	Models []Summary `json:"models"`
	// All are the per-heist scores of every model and rule set.
	All []HeistScore `json:"all"`
	// Services are the services the tracer detected by behaviour, each
	// checked against the truth (empty with detection off).
	Services []DetectedService `json:"services,omitempty"`
	Elapsed  time.Duration     `json:"elapsed_ns"`
}

// WorldInfo describes the evaluated world.
type WorldInfo struct {
	Generator string  `json:"generator"`
	Seed      int64   `json:"seed"`
	Heists    int     `json:"heists"`
	StolenUSD float64 `json:"stolen_usd"`
}

// Targets are the accuracy targets for heists without mixers, and whether
// the defaults meet them.
type Targets struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Met       bool    `json:"met"`
}

// Summary aggregates heist scores value-weighted: the sums of the USD
// figures, and ratios of the sums (a heist counts by its value, not
// once).
type Summary struct {
	Model             string        `json:"model,omitempty"`
	Rules             string        `json:"rules,omitempty"`
	Heists            int           `json:"heists"`
	StolenUSD         float64       `json:"stolen_usd"`
	TruthUSD          float64       `json:"truth_usd"`
	TracedUSD         float64       `json:"traced_usd"`
	MatchedUSD        float64       `json:"matched_usd"`
	Precision         float64       `json:"precision"`
	Recall            float64       `json:"recall"`
	TruthLabelledUSD  float64       `json:"truth_labelled_usd"`
	MatchedLabelled   float64       `json:"matched_labelled_usd"`
	RecallLabelled    float64       `json:"recall_labelled"`
	MatchedNamedUSD   float64       `json:"matched_named_usd"`
	RecallNamed       float64       `json:"recall_named"`
	TruthHoldingsUSD  float64       `json:"truth_holdings_usd"`
	TracedHoldingsUSD float64       `json:"traced_holdings_usd"`
	LocatedUSD        float64       `json:"located_usd"`
	Located           float64       `json:"located"`
	HoldingsPrecision float64       `json:"holdings_precision"`
	FalseAlertUSD     float64       `json:"false_alert_usd"`
	FeesUSD           float64       `json:"fees_usd"`
	BeyondLimitsUSD   float64       `json:"beyond_limits_usd"`
	DustUSD           float64       `json:"dust_usd"`
	MixersUSD         float64       `json:"mixers_usd"`
	Elapsed           time.Duration `json:"elapsed_ns"`
}

// Aggregate sums heist scores into a Summary. Ratios of zero
// denominators are 1, as in Score.
func Aggregate(scores []HeistScore) Summary {
	var a Summary
	for _, s := range scores {
		a.Heists++
		a.StolenUSD += s.StolenUSD
		a.TruthUSD += s.TruthUSD
		a.TracedUSD += s.TracedUSD
		a.MatchedUSD += s.MatchedUSD
		a.TruthLabelledUSD += s.TruthLabelledUSD
		a.MatchedLabelled += s.MatchedLabelledUSD
		a.MatchedNamedUSD += s.MatchedNamedUSD
		a.TruthHoldingsUSD += s.TruthHoldingsUSD
		a.TracedHoldingsUSD += s.TracedHoldingsUSD
		a.LocatedUSD += s.LocatedUSD
		a.FalseAlertUSD += s.FalseAlertUSD
		a.FeesUSD += s.FeesUSD
		a.BeyondLimitsUSD += s.BeyondLimitsUSD
		a.DustUSD += s.DustUSD
		a.MixersUSD += s.MixersUSD
		a.Elapsed += s.Elapsed
	}
	a.Precision, a.Recall = ratio(a.MatchedUSD, a.TracedUSD), ratio(a.MatchedUSD, a.TruthUSD)
	a.RecallLabelled = ratio(a.MatchedLabelled, a.TruthLabelledUSD)
	a.RecallNamed = ratio(a.MatchedNamedUSD, a.TruthUSD)
	a.Located, a.HoldingsPrecision = ratio(a.LocatedUSD, a.TruthHoldingsUSD), ratio(a.LocatedUSD, a.TracedHoldingsUSD)
	return a
}

func worldInfo(w *truth.World, heists []*truth.Heist) WorldInfo {
	info := WorldInfo{Generator: w.Generator, Seed: w.Seed, Heists: len(heists)}
	for _, h := range heists {
		info.StolenUSD += w.StolenUSD(h)
	}
	return info
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

func usd(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("$%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("$%.1fk", v/1e3)
	}
	return fmt.Sprintf("$%.0f", v)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

// WriteText writes the report as plain-text tables.
func (r *Report) WriteText(w io.Writer) error {
	s := &r.Settings
	fmt.Fprintf(w, "world seed %d (%s): %d heists, %s stolen\n", r.World.Seed, r.World.Generator, r.World.Heists, usd(r.World.StolenUSD))
	fmt.Fprintf(w, "defaults: %s %s, %s rules, %d hops, change same hop %v; from %s\n\n", s.Direction, s.Model, s.Rules, s.Hops, s.ChangeSameHop, s.Sources)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tHEISTS\tPRECISION\tRECALL\tRECALL (NAMED)\tRECALL (LABELLED)\tLOCATED\tHOLD.PREC\tFALSE ALERTS\t")
	for _, x := range []struct {
		name string
		a    *Summary
	}{{"overall", &r.Overall}, {"without mixers", &r.OverallNoMixers}} {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", x.name, x.a.Heists, pct(x.a.Precision), pct(x.a.Recall), pct(x.a.RecallNamed), pct(x.a.RecallLabelled), pct(x.a.Located), pct(x.a.HoldingsPrecision), usd(x.a.FalseAlertUSD))
	}
	tw.Flush()
	met := "not met"
	if r.Targets.Met {
		met = "met"
	}
	fmt.Fprintf(w, "targets without mixers: precision >= %s, recall >= %s: %s\n", pct(r.Targets.Precision), pct(r.Targets.Recall), met)

	fmt.Fprintf(w, "\nper heist (%s, %s rules)\n", s.Model, s.Rules)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "HEIST\tKIND\tMIXERS\tSTOLEN\tPRECISION\tRECALL\tREC.NAMED\tREC.LAB\tLOCATED\tFALSE ALERTS\tFEES\tBEYOND\tDUST\tAT MIXERS\tMS\t")
	for _, h := range r.Heists {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t\n", h.Heist, h.Kind, h.Mixers, usd(h.StolenUSD), pct(h.Precision), pct(h.Recall), pct(h.RecallNamed), pct(h.RecallLabelled), pct(h.Located),
			usd(h.FalseAlertUSD), usd(h.FeesUSD), usd(h.BeyondLimitsUSD), usd(h.DustUSD), usd(h.MixersUSD), float64(h.Elapsed.Microseconds())/1000)
	}
	tw.Flush()
	for _, h := range r.Heists {
		if len(h.FalseAlerts) > 0 {
			fmt.Fprintf(w, "  %s false alerts: %s\n", h.Heist, strings.Join(h.FalseAlerts, ", "))
		}
	}

	fmt.Fprintln(w, "\nper model and rule set (all heists)")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tRULES\tPRECISION\tRECALL\tLOCATED\tHOLD.PREC\tFALSE ALERTS\tMS\t")
	for _, a := range r.Models {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t\n", a.Model, a.Rules, pct(a.Precision), pct(a.Recall), pct(a.Located), pct(a.HoldingsPrecision), usd(a.FalseAlertUSD), float64(a.Elapsed.Microseconds())/1000)
	}
	tw.Flush()
	r.writeServicesText(w)
	fmt.Fprintf(w, "\nevaluated in %s\n", r.Elapsed.Round(time.Millisecond))
	return nil
}

// WriteMarkdown writes the report's tables in Markdown for the README.
func (r *Report) WriteMarkdown(w io.Writer) error {
	s := &r.Settings
	fmt.Fprintf(w, "Simulated world, seed %d: %d heists, %s stolen. Forward traces, %d hops, change on the same hop: %v.\n\n", r.World.Seed, r.World.Heists, usd(r.World.StolenUSD), s.Hops, s.ChangeSameHop)
	fmt.Fprintf(w, "| heist | kind | mixers | stolen | precision | recall | recall (named) | located | false alerts |\n|---|---|---|--:|--:|--:|--:|--:|--:|\n")
	for _, h := range r.Heists {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", h.Heist, h.Kind, yesNo(h.Mixers), usd(h.StolenUSD), pct(h.Precision), pct(h.Recall), pct(h.RecallNamed), pct(h.Located), usd(h.FalseAlertUSD))
	}
	fmt.Fprintf(w, "| **overall** | | | %s | **%s** | **%s** | %s | %s | %s |\n", usd(r.Overall.StolenUSD), pct(r.Overall.Precision), pct(r.Overall.Recall), pct(r.Overall.RecallNamed), pct(r.Overall.Located), usd(r.Overall.FalseAlertUSD))
	n := &r.OverallNoMixers
	fmt.Fprintf(w, "| **without mixers** | | | %s | **%s** | **%s** | %s | %s | %s |\n\n", usd(n.StolenUSD), pct(n.Precision), pct(n.Recall), pct(n.RecallNamed), pct(n.Located), usd(n.FalseAlertUSD))
	detect := "services detected by behaviour credited to the entity owning the address"
	if !s.DetectServices {
		detect = "no detection of services by behaviour"
	}
	fmt.Fprintf(w, "(%s model, %s rules; %s.)\n\n", s.Model, s.Rules, detect)
	fmt.Fprintf(w, "| model | rules | precision | recall | located | false alerts |\n|---|---|--:|--:|--:|--:|\n")
	for _, a := range r.Models {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", a.Model, a.Rules, pct(a.Precision), pct(a.Recall), pct(a.Located), usd(a.FalseAlertUSD))
	}
	if len(r.Services) > 0 {
		fmt.Fprintf(w, "\n| detected service | chain | deposit addresses | span | truth entity | deposits of it | verdict |\n|---|---|--:|--:|---|--:|---|\n")
		for _, d := range r.Services {
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %d | %s |\n", d.Wallet, d.Chain, d.Deposits, d.Span, orNone(d.Entity), d.DepositsOwned, d.verdict())
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
