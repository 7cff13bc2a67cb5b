package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/incident"
)

// IncidentsOptions select the records of an incidents report; zero
// values select everything.
type IncidentsOptions struct {
	From, To int    // first and last year, inclusive
	Actor    string // the attribution's actor, exactly (see incident.Filter)
	// Title overrides the default title.
	Title string
}

// StatsJSON is the statistics in the shape "chaintrace incidents stats
// --reconcile --json" prints: incident.Stats with the reconciliation.
type StatsJSON struct {
	incident.Stats
	Reconciliation []incident.Reconciliation `json:"reconciliation,omitempty"`
}

// YearVictim is one year's USD split by victim type, for the stacked
// bars.
type YearVictim struct {
	Year    string            `json:"year"`
	Buckets []incident.Bucket `json:"by_victim_type"`
}

// IncidentsReport is the incident statistics report's content.
type IncidentsReport struct {
	Title   string           `json:"title"`
	Options IncidentsOptions `json:"options"`
	// Selection says in words which records are counted.
	Selection string `json:"selection"`
	// Records are the counted records (no drafts), in date order.
	Records []incident.Record `json:"-"`
	Stats   StatsJSON         `json:"stats"`
	// ByYearVictim holds, per year, incident.Compute of that year's
	// records by victim type.
	ByYearVictim []YearVictim `json:"by_year_victim_type"`
	// ReconciliationNote says why the reconciliation is absent or what it
	// covers.
	ReconciliationNote string      `json:"reconciliation_note,omitempty"`
	Valuations         []Valuation `json:"valuations,omitempty"`
}

// BuildIncidents selects the records, computes their statistics with
// incident.Compute and, for the published figures whose period lies in
// the selected years, the reconciliation with incident.Reconcile. With an
// actor selected there is no reconciliation: published figures count
// every DPRK actor. p may be nil (no valuations).
func BuildIncidents(ctx context.Context, recs []incident.Record, figures []incident.Published, opts IncidentsOptions, p Pricer) (*IncidentsReport, error) {
	if opts.From != 0 && opts.To != 0 && opts.To < opts.From {
		return nil, fmt.Errorf("report: years %d to %d: the end is before the start", opts.From, opts.To)
	}
	// Drafts go into Compute, which skips and counts them, as the stats
	// command does; the report lists only the counted records.
	var withDrafts, sel []incident.Record
	for _, r := range incident.Select(recs, incident.Filter{Actor: opts.Actor, Drafts: true}) {
		y := r.Year()
		if (opts.From == 0 || y >= opts.From) && (opts.To == 0 || y <= opts.To) {
			withDrafts = append(withDrafts, r)
			if r.Status != "draft" {
				sel = append(sel, r)
			}
		}
	}
	rep := &IncidentsReport{Title: opts.Title, Options: opts, Records: sel}
	if rep.Title == "" {
		rep.Title = "DPRK-attributed cryptocurrency thefts"
	}
	rep.Selection = selection(opts)
	rep.Stats.Stats = incident.Compute(withDrafts)
	for _, y := range rep.Stats.ByYear {
		var year []incident.Record
		for _, r := range sel {
			if strconv.Itoa(r.Year()) == y.Key {
				year = append(year, r)
			}
		}
		rep.ByYearVictim = append(rep.ByYearVictim, YearVictim{Year: y.Key, Buckets: incident.Compute(year).ByVictim})
	}
	switch {
	case opts.Actor != "":
		rep.ReconciliationNote = "No reconciliation: the published figures count every DPRK actor, and this report counts " + opts.Actor + " only."
	default:
		var in []incident.Published
		for _, f := range figures {
			if (opts.From == 0 || f.From >= opts.From) && (opts.To == 0 || f.To <= opts.To) {
				in = append(in, f)
			}
		}
		rc, err := incident.Reconcile(recs, in)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		rep.Stats.Reconciliation = rc
		if len(in) < len(figures) {
			rep.ReconciliationNote = fmt.Sprintf("%d published figures whose period is outside the selected years are left out.", len(figures)-len(in))
		}
	}
	var err error
	if rep.Valuations, err = Value(ctx, p, sel); err != nil {
		return nil, err
	}
	return rep, nil
}

func selection(o IncidentsOptions) string {
	var parts []string
	switch {
	case o.From != 0 && o.To != 0:
		parts = append(parts, fmt.Sprintf("years %d to %d", o.From, o.To))
	case o.From != 0:
		parts = append(parts, fmt.Sprintf("years from %d", o.From))
	case o.To != 0:
		parts = append(parts, fmt.Sprintf("years up to %d", o.To))
	}
	if o.Actor != "" {
		parts = append(parts, "actor "+o.Actor)
	}
	if len(parts) == 0 {
		return "all reviewed incidents of the registry (drafts excluded)"
	}
	return "reviewed incidents of the registry, " + strings.Join(parts, ", ") + " (drafts excluded)"
}

// Section is one grouping of the statistics, for the templates.
type Section struct {
	Name    string
	Buckets []incident.Bucket
	// Note explains how to read the section (chains overlap).
	Note string
}

// Sections are the statistics tables in display order.
func (r *IncidentsReport) Sections() []Section {
	s := r.Stats.Stats
	return []Section{
		{Name: "Year", Buckets: s.ByYear},
		{Name: "Actor", Buckets: s.ByActor},
		{Name: "Victim type", Buckets: s.ByVictim},
		{Name: "Vector", Buckets: s.ByVector},
		{Name: "Chain", Buckets: s.ByChain, Note: "An incident counts under every chain it names, with its full USD, so these rows overlap and do not add up to the total."},
	}
}

// YearChart is the stacked bar chart of USD by year and victim type.
func (r *IncidentsReport) YearChart() htmltemplate.HTML {
	var years []string
	values := map[string]map[string]float64{}
	for _, y := range r.ByYearVictim {
		years = append(years, y.Year)
		values[y.Year] = map[string]float64{}
		for _, b := range y.Buckets {
			values[y.Year][b.Key] = b.USD
		}
	}
	var series []string
	for _, b := range r.Stats.ByVictim {
		series = append(series, b.Key)
	}
	return stackedBars("USD stolen by year and victim type", years, series, values)
}

// VectorChart is the bar chart of USD by attack vector.
func (r *IncidentsReport) VectorChart() htmltemplate.HTML {
	var bars []bar
	for _, b := range r.Stats.ByVector {
		bars = append(bars, bar{Label: strings.ReplaceAll(b.Key, "_", " "), Value: b.USD, Count: b.Count})
	}
	return hbars("USD stolen by attack vector", bars)
}

// WriteHTML writes the report as a self-contained HTML page.
func (r *IncidentsReport) WriteHTML(w io.Writer) error {
	if err := htmlTemplates.ExecuteTemplate(w, "incidents.html.tmpl", r); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report as Markdown.
func (r *IncidentsReport) WriteMarkdown(w io.Writer) error {
	if err := mdTemplates.ExecuteTemplate(w, "incidents.md.tmpl", r); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Write writes the report in format (HTML or Markdown).
func (r *IncidentsReport) Write(w io.Writer, format string) error {
	if format == Markdown {
		return r.WriteMarkdown(w)
	}
	return r.WriteHTML(w)
}

// WriteData writes the report's data into dir (created): stats.json (the
// shape of "incidents stats --reconcile --json"), incidents.json (the
// counted records), one CSV per statistics table (by_year.csv, ...),
// by_year_victim_type.csv, reconciliation.csv, differences.csv and
// valuations.csv. It returns the files written.
func (r *IncidentsReport) WriteData(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var files []string
	writeJSONFile := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		files = append(files, p)
		return os.WriteFile(p, append(b, '\n'), 0o644)
	}
	writeCSV := func(name string, rows [][]string) error {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		cw := csv.NewWriter(f)
		if err := cw.WriteAll(rows); err != nil {
			f.Close()
			return err
		}
		files = append(files, p)
		return f.Close()
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	bucketRows := func(key string, bs []incident.Bucket) [][]string {
		rows := [][]string{{key, "count", "usd", "unknown_usd"}}
		for _, b := range bs {
			rows = append(rows, []string{b.Key, strconv.Itoa(b.Count), num(b.USD), strconv.Itoa(b.UnknownUSD)})
		}
		return rows
	}
	s := r.Stats.Stats
	tables := []struct {
		name, key string
		b         []incident.Bucket
	}{
		{"by_year.csv", "year", s.ByYear}, {"by_actor.csv", "actor", s.ByActor}, {"by_victim_type.csv", "victim_type", s.ByVictim},
		{"by_vector.csv", "vector", s.ByVector}, {"by_chain.csv", "chain", s.ByChain},
	}
	if err := writeJSONFile("stats.json", r.Stats); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	if err := writeJSONFile("incidents.json", r.Records); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	for _, t := range tables {
		if err := writeCSV(t.name, bucketRows(t.key, t.b)); err != nil {
			return files, fmt.Errorf("report: %w", err)
		}
	}
	yv := [][]string{{"year", "victim_type", "count", "usd", "unknown_usd"}}
	for _, y := range r.ByYearVictim {
		for _, b := range y.Buckets {
			yv = append(yv, []string{y.Year, b.Key, strconv.Itoa(b.Count), num(b.USD), strconv.Itoa(b.UnknownUSD)})
		}
	}
	rc := [][]string{{"figure", "publisher", "from", "to", "our_count", "their_count", "gap_count", "residual_count", "count_verdict",
		"our_usd", "their_usd", "gap_usd", "residual_usd", "usd_verdict", "url"}}
	diffs := [][]string{{"figure", "kind", "incident", "name", "effect_count", "effect_usd", "reason", "source"}}
	for _, x := range r.Stats.Reconciliation {
		f := x.Figure
		rc = append(rc, []string{f.ID, f.Publisher, strconv.Itoa(f.From), strconv.Itoa(f.To), strconv.Itoa(x.OurCount), strconv.Itoa(f.Incidents),
			strconv.Itoa(x.GapCount), strconv.Itoa(x.ResidualCount), x.CountVerdict, num(x.OurUSD), num(f.USD), num(x.GapUSD),
			num(x.ResidualUSD), x.USDVerdict, f.URL})
		for _, d := range x.Differences {
			diffs = append(diffs, []string{f.ID, d.Kind, d.Incident, d.Name, strconv.Itoa(d.EffectCount), num(d.EffectUSD), d.Reason, d.Source})
		}
	}
	vals := [][]string{{"incident", "asset", "native", "usd", "price_day", "close", "exact_day", "price_source", "record_usd", "note"}}
	for _, v := range r.Valuations {
		rec := ""
		if v.RecordUSD != nil {
			rec = num(*v.RecordUSD)
		}
		vals = append(vals, []string{v.Incident, v.Asset, v.Native, num(v.USD), v.Quote.Day, num(v.Quote.Close),
			strconv.FormatBool(v.Quote.Exact), v.Quote.Source, rec, v.Note})
	}
	for name, rows := range map[string][][]string{"by_year_victim_type.csv": yv, "reconciliation.csv": rc, "differences.csv": diffs, "valuations.csv": vals} {
		if err := writeCSV(name, rows); err != nil {
			return files, fmt.Errorf("report: %w", err)
		}
	}
	sort.Strings(files)
	return files, nil
}
