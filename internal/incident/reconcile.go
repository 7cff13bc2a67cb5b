package incident

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chaintrace/chaintrace/data"
)

// Published is a figure published by someone else for DPRK thefts over a
// period, read from data/incidents/published.yaml (format
// chaintrace-published-figures/1: a "figures" list of these fields).
type Published struct {
	ID        string  `yaml:"id" json:"id"`
	Publisher string  `yaml:"publisher" json:"publisher"`
	Title     string  `yaml:"title" json:"title"`
	URL       string  `yaml:"url" json:"url"`
	Date      string  `yaml:"date" json:"date"`
	From      int     `yaml:"from" json:"from"` // first year, inclusive
	To        int     `yaml:"to" json:"to"`     // last year, inclusive
	Incidents int     `yaml:"incidents" json:"incidents"`
	USD       float64 `yaml:"usd" json:"usd"`
	// Scope says in words what the publisher counts.
	Scope string `yaml:"scope" json:"scope"`
	// ExcludeVictimTypes are victim types of our records that the
	// publisher's scope leaves out (thefts from individuals, campaigns);
	// each such record of the period becomes an out-of-scope difference.
	ExcludeVictimTypes []string `yaml:"exclude_victim_types" json:"exclude_victim_types,omitempty"`
	// Differences are curated, named reasons for the gap.
	Differences []Difference `yaml:"differences" json:"differences,omitempty"`
	// ExpectUSD and ExpectCount are the curated verdicts on the USD and
	// on the count, "explained" or "unexplained"; the registry's tests
	// fail when a computed verdict differs, so that a change of the
	// registry makes someone look at the reconciliation again.
	ExpectUSD   string `yaml:"expect_usd" json:"expect_usd"`
	ExpectCount string `yaml:"expect_count" json:"expect_count"`
}

// Difference is one named reason why our figure differs from a published
// one. Kind is:
//
//   - "out_of_scope": Incident is ours and in the period, the publisher
//     does not count it (effect: minus its USD and one incident);
//   - "valuation": the publisher values Incident at USD (effect: USD minus
//     ours);
//   - "missing": the publisher counts an incident Name worth USD that we
//     do not have (effect: plus USD and one incident);
//   - "period": Incident is ours but the publisher counts it in another
//     period (effect as out_of_scope);
//   - "restated": the publisher later restated its own figure as USD
//     (effect: the published figure minus USD, the part of the gap that
//     is the publisher's own revision).
type Difference struct {
	Kind     string  `yaml:"kind" json:"kind"`
	Incident string  `yaml:"incident,omitempty" json:"incident,omitempty"`
	Name     string  `yaml:"name,omitempty" json:"name,omitempty"`
	USD      float64 `yaml:"usd,omitempty" json:"usd,omitempty"`
	Reason   string  `yaml:"reason" json:"reason"`
	Source   string  `yaml:"source,omitempty" json:"source,omitempty"`
	// EffectUSD and EffectCount are what the difference adds to our
	// figures to reach the publisher's; computed.
	EffectUSD   float64 `yaml:"-" json:"effect_usd"`
	EffectCount int     `yaml:"-" json:"effect_count"`
}

// Tolerance is the share of a published figure that may remain
// unexplained: a gap is explained when the named differences bring our
// USD within Tolerance×published USD of it and our count within
// max(2, Tolerance×published count) of it.
const Tolerance = 0.10

// Reconciliation compares our registry with one published figure.
type Reconciliation struct {
	Figure   Published `json:"figure"`
	OurCount int       `json:"our_count"`
	OurUSD   float64   `json:"our_usd"`
	GapCount int       `json:"gap_count"` // theirs minus ours
	GapUSD   float64   `json:"gap_usd"`
	// Largest are our five largest incidents of the period, for context.
	Largest     []string     `json:"largest"`
	Differences []Difference `json:"differences"`
	// ResidualUSD and ResidualCount are the gap left after the
	// differences.
	ResidualUSD   float64 `json:"residual_usd"`
	ResidualCount int     `json:"residual_count"`
	// USDVerdict and CountVerdict apply the Tolerance rule to the
	// residuals: "explained" or "unexplained".
	USDVerdict   string `json:"usd_verdict"`
	CountVerdict string `json:"count_verdict"`
}

// Explained reports whether both the USD and the count gap are
// explained.
func (rc *Reconciliation) Explained() bool {
	return rc.USDVerdict == "explained" && rc.CountVerdict == "explained"
}

func verdict(ok bool) string {
	if ok {
		return "explained"
	}
	return "unexplained"
}

// LoadPublished reads the published figures shipped with chaintrace.
func LoadPublished(ctx context.Context) ([]Published, error) {
	return LoadPublishedFS(ctx, data.Incidents, "incidents/published.yaml")
}

// LoadPublishedFS reads a published-figures file from fsys.
func LoadPublishedFS(ctx context.Context, fsys fs.FS, name string) ([]Published, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	var doc struct {
		Format  string      `yaml:"format"`
		Figures []Published `yaml:"figures"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("incident: %s: %w", path.Base(name), err)
	}
	if doc.Format != PublishedFormat {
		return nil, fmt.Errorf("incident: %s: format is not %q", name, PublishedFormat)
	}
	return doc.Figures, nil
}

// Reconcile compares the non-draft records with each published figure.
// A difference naming an incident the registry lacks, one of an unknown
// kind, or a missing or restated figure without a source URL is an
// error: the reconciliation would silently be wrong.
func Reconcile(records []Record, figures []Published) ([]Reconciliation, error) {
	var out []Reconciliation
	for _, f := range figures {
		rc := Reconciliation{Figure: f}
		var in []*Record
		for i := range records {
			r := &records[i]
			if y := r.Year(); r.Status != "draft" && y >= f.From && y <= f.To {
				in = append(in, r)
				rc.OurCount++
				rc.OurUSD += r.USDOr0()
			}
		}
		sort.SliceStable(in, func(i, j int) bool { return in[i].USDOr0() > in[j].USDOr0() })
		for i := 0; i < len(in) && i < 5; i++ {
			rc.Largest = append(rc.Largest, in[i].ID)
		}
		rc.GapCount = f.Incidents - rc.OurCount
		rc.GapUSD = f.USD - rc.OurUSD
		named := map[string]bool{}
		for _, d := range f.Differences {
			if (d.Kind == "missing" || d.Kind == "restated") && !strings.HasPrefix(d.Source, "https://") {
				return nil, fmt.Errorf("incident: published figure %s: difference %q of kind %s needs a source URL", f.ID, d.Name, d.Kind)
			}
			switch d.Kind {
			case "out_of_scope", "period", "valuation":
				r := Find(records, d.Incident)
				if r == nil {
					return nil, fmt.Errorf("incident: published figure %s: difference names unknown incident %q", f.ID, d.Incident)
				}
				named[r.ID] = true
				if d.Kind == "valuation" {
					d.EffectUSD = d.USD - r.USDOr0()
				} else {
					d.EffectUSD, d.EffectCount = -r.USDOr0(), -1
				}
			case "missing":
				d.EffectUSD, d.EffectCount = d.USD, 1
			case "restated":
				d.EffectUSD = f.USD - d.USD
			default:
				return nil, fmt.Errorf("incident: published figure %s: unknown difference kind %q", f.ID, d.Kind)
			}
			rc.Differences = append(rc.Differences, d)
		}
		for _, r := range in {
			if !named[r.ID] && contains(f.ExcludeVictimTypes, r.Victim.Type) {
				rc.Differences = append(rc.Differences, Difference{Kind: "out_of_scope", Incident: r.ID,
					Reason:    "victim type " + r.Victim.Type + " is outside the publisher's scope",
					EffectUSD: -r.USDOr0(), EffectCount: -1})
			}
		}
		rc.ResidualUSD, rc.ResidualCount = rc.GapUSD, rc.GapCount
		for _, d := range rc.Differences {
			rc.ResidualUSD -= d.EffectUSD
			rc.ResidualCount -= d.EffectCount
		}
		countTol := math.Max(2, Tolerance*float64(f.Incidents))
		rc.USDVerdict = verdict(math.Abs(rc.ResidualUSD) <= Tolerance*f.USD)
		rc.CountVerdict = verdict(math.Abs(float64(rc.ResidualCount)) <= countTol)
		out = append(out, rc)
	}
	return out, nil
}
