package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chaintrace/chaintrace/internal/incident"
)

func newIncidentsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "The registry of DPRK-attributed thefts: list, statistics, reconciliation, validation, drafts",
		Long: `The incident registry ships with chaintrace (data/incidents/*.yaml): one
record per theft with its date, victim, amounts in native units and USD,
attack vector, attribution (actor, confidence, sources) and public
addresses and transactions. Statistics are computed from it, and compared
with published figures (UN Panel of Experts, Chainalysis) with the
incidents that explain the differences.`,
	}
	cmd.AddCommand(newIncidentsListCmd(g), newIncidentsShowCmd(g), newIncidentsStatsCmd(g),
		newIncidentsValidateCmd(g), newIncidentsImportCmd(g))
	return cmd
}

// loadRegistry loads the shipped registry; a registry that does not
// validate is an error, since every figure would rest on it.
func loadRegistry(ctx context.Context) ([]incident.Record, error) {
	return incident.Builtin(ctx)
}

// listRecord is a record as "incidents list --json" prints it: the
// record's fields, with sources holding the record's and the
// attribution's sources together so that a reader of the list sees every
// citation.
type listRecord struct {
	incident.Record
	Sources []incident.Source `json:"sources"`
}

func newIncidentsListCmd(g *globals) *cobra.Command {
	var f incident.Filter
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List incidents, optionally of one year, actor or victim type",
		Long: `List the registry's incidents in date order. --json prints a JSON array of
records (id, date, date_precision, victim, chains, assets, amounts, usd,
usd_alternatives, vector, attribution, sources, addresses, transactions,
...); usd is null when the value is unknown.`,
		Example: `  chaintrace incidents list --year 2023
  chaintrace incidents list --json --actor tradertraitor`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			recs, err := loadRegistry(cmd.Context())
			if err != nil {
				return err
			}
			sel := incident.Select(recs, f)
			if asJSON {
				out := make([]listRecord, len(sel))
				for i, r := range sel {
					out[i] = listRecord{Record: r, Sources: r.AllSources()}
				}
				return writeJSON(g.out, out)
			}
			tw := tabwriter.NewWriter(g.out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tDATE\tVICTIM\tTYPE\tUSD\tACTOR\tCONFIDENCE")
			for _, r := range sel {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Date, r.Victim.Name, r.Victim.Type,
					usdText(r.USD), r.Attribution.Actor, r.Attribution.Confidence)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of records")
	c.Flags().IntVar(&f.Year, "year", 0, "only incidents of this year")
	c.Flags().StringVar(&f.Actor, "actor", "", "only incidents attributed to this actor id (exactly; sub-groups are not included)")
	c.Flags().StringVar(&f.VictimType, "victim-type", "", "only incidents of this victim type ("+strings.Join(incident.VictimTypes, ", ")+")")
	return c
}

func newIncidentsShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one incident as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			recs, err := loadRegistry(cmd.Context())
			if err != nil {
				return err
			}
			r := incident.Find(recs, args[0])
			if r == nil {
				return fmt.Errorf("incident %q is not in the registry (see \"chaintrace incidents list\")", args[0])
			}
			return writeJSON(g.out, listRecord{Record: *r, Sources: r.AllSources()})
		},
	}
}

// statsOutput is what "incidents stats --json" prints.
type statsOutput struct {
	incident.Stats
	Reconciliation []incident.Reconciliation `json:"reconciliation,omitempty"`
}

func newIncidentsStatsCmd(g *globals) *cobra.Command {
	var asJSON, reconcile bool
	c := &cobra.Command{
		Use:   "stats",
		Short: "Counts and USD by year, actor, victim type, vector and chain; --reconcile compares with published figures",
		Long: `Statistics computed from the registry: count and USD by year, actor,
victim type, vector and chain (a record counts under every chain it names,
so chain rows overlap). Records whose USD is unknown add to the counts
only (column UNKNOWN).

--reconcile compares our figures with the published ones of
data/incidents/published.yaml (UN Panel of Experts 2017-2023, Chainalysis
2022 and 2023): ours, theirs, the gap, the named differences (our
incidents outside their scope, valuations, incidents they count that we
lack) and what remains. A gap is "explained" when the differences bring
us within 10% of their figure (counts: within 2 incidents or 10%).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			recs, err := loadRegistry(ctx)
			if err != nil {
				return err
			}
			out := statsOutput{Stats: incident.Compute(recs)}
			if reconcile {
				figs, err := incident.LoadPublished(ctx)
				if err != nil {
					return err
				}
				if out.Reconciliation, err = incident.Reconcile(recs, figs); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(g.out, out)
			}
			writeStats(g.out, out.Stats)
			for i := range out.Reconciliation {
				writeReconciliation(g.out, &out.Reconciliation[i])
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&reconcile, "reconcile", false, "add the reconciliation with published figures")
	return c
}

func writeStats(w io.Writer, s incident.Stats) {
	fmt.Fprintf(w, "%d incidents, %s (%d of unknown value)\n", s.Total.Count, usdText(&s.Total.USD), s.Total.UnknownUSD)
	for _, sec := range []struct {
		name string
		b    []incident.Bucket
	}{{"YEAR", s.ByYear}, {"ACTOR", s.ByActor}, {"VICTIM TYPE", s.ByVictim}, {"VECTOR", s.ByVector}, {"CHAIN", s.ByChain}} {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\tCOUNT\tUSD\tUNKNOWN\t\n", sec.name)
		for _, b := range sec.b {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t\n", b.Key, b.Count, usdText(&b.USD), b.UnknownUSD)
		}
		tw.Flush()
	}
}

// writeReconciliation prints one reconciliation as a small table and the
// list of differences.
func writeReconciliation(w io.Writer, rc *incident.Reconciliation) {
	f := rc.Figure
	fmt.Fprintf(w, "\n%s: %s, %d-%d\n  %s\n", f.ID, f.Publisher, f.From, f.To, f.URL)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tOURS\tTHEIRS\tGAP\tRESIDUAL\tVERDICT\t")
	fmt.Fprintf(tw, "incidents\t%d\t%d\t%+d\t%+d\t%s\t\n", rc.OurCount, f.Incidents, rc.GapCount, rc.ResidualCount, rc.CountVerdict)
	fmt.Fprintf(tw, "USD\t%s\t%s\t%s\t%s\t%s\t\n", usdText(&rc.OurUSD), usdText(&f.USD), signedUSD(rc.GapUSD), signedUSD(rc.ResidualUSD), rc.USDVerdict)
	tw.Flush()
	fmt.Fprintf(w, "  our largest: %s\n", strings.Join(rc.Largest, ", "))
	for _, d := range rc.Differences {
		what := d.Incident
		if what == "" {
			what = d.Name
		}
		fmt.Fprintf(w, "  %-13s %-40s %+d %s  %s\n", d.Kind, what, d.EffectCount, signedUSD(d.EffectUSD), d.Reason)
	}
}

func newIncidentsValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Validate the shipped registry, or a registry file or directory (drafts)",
		Long: `Validate checks every record: sources with URLs, known actors (data/actors.yaml),
addresses valid on their chain, known victim types, vectors and
confidences, dates, unique ids and consistent amounts. Each problem is
printed with its file and line; the command fails when there is any.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var recs []incident.Record
			var err error
			if len(args) == 0 {
				recs, err = incident.Builtin(ctx)
			} else {
				recs, err = incident.LoadFile(ctx, args[0])
			}
			var es incident.Errors
			if errors.As(err, &es) {
				for _, e := range es {
					fmt.Fprintln(g.out, e)
				}
				return fmt.Errorf("%d problems in %d records", len(es), len(recs))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%d records valid\n", len(recs))
			return nil
		},
	}
}

func newIncidentsImportCmd(g *globals) *cobra.Command {
	var dhl, csvFile, mapping, outDir, match, actor, srcURL string
	c := &cobra.Command{
		Use:   "import (--defihacklabs FILE | --csv FILE --map MAPPING) --out DIR",
		Short: "Make draft records for review from the DeFiHackLabs table or a CSV file",
		Long: `Import writes draft records (status: draft) for the rows that the shipped
registry does not already hold (same victim name or alias, dates within
31 days or the same year when one is imprecise). It writes one new file in
--out and never overwrites a file, curated or draft. --match keeps rows
whose victim name matches a regular expression; --actor fills the
attribution (otherwise left empty for the curator, and "incidents validate
DIR" reports it).

--map names the CSV columns (by header or 0-based index) of: ` + strings.Join(incident.MapKeys, ", ") + `;
victim_type, vector and chain may be constants instead.`,
		Example: `  chaintrace incidents import --defihacklabs ../shared/data/incidents/defihacklabs_incidents.csv --match 'Bybit|Orbit' --out drafts
  chaintrace incidents import --csv ../shared/data/incidents/dprk_incidents_tayvano.csv \
      --map date=date,victim=incident,usd=value_stolen_usd_text --actor lazarusgroup \
      --source-url https://github.com/tayvano/lazarus-bluenoroff-research --out drafts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (dhl == "") == (csvFile == "") {
				return errors.New("give one of --defihacklabs FILE and --csv FILE")
			}
			if outDir == "" {
				return errors.New("--out DIR is required")
			}
			opts := incident.DraftOptions{Actor: actor}
			if match != "" {
				re, err := regexp.Compile("(?i)" + match)
				if err != nil {
					return fmt.Errorf("--match: %w", err)
				}
				opts.Match = re
			}
			recs, err := loadRegistry(ctx)
			if err != nil {
				return err
			}
			file, name := dhl, "defihacklabs"
			var m map[string]string
			if csvFile != "" {
				file, name = csvFile, "csv"
				if m, err = incident.ParseMap(mapping); err != nil {
					return err
				}
				if srcURL == "" {
					return errors.New("--csv needs --source-url, the CSV's upstream, which every draft cites")
				}
				opts.Source = incident.Source{Title: filepath.Base(csvFile), URL: srcURL}
			}
			fh, err := os.Open(file)
			if err != nil {
				return err
			}
			defer fh.Close()
			var drafts []incident.Record
			var skipped []incident.Skipped
			if dhl != "" {
				drafts, skipped, err = incident.ImportDeFiHackLabs(ctx, fh, recs, opts)
			} else {
				drafts, skipped, err = incident.ImportCSV(ctx, fh, m, recs, opts)
			}
			if err != nil {
				return err
			}
			out := filepath.Join(outDir, name+"-drafts.yaml")
			if len(drafts) > 0 {
				if err := incident.WriteDrafts(out, drafts); err != nil {
					return err
				}
			}
			for _, s := range skipped {
				fmt.Fprintf(g.out, "skipped %s:%d %s: %s\n", file, s.Line, s.Name, s.Reason)
			}
			if len(drafts) == 0 {
				fmt.Fprintf(g.out, "no drafts: %d rows skipped\n", len(skipped))
				return nil
			}
			fmt.Fprintf(g.out, "%d drafts written to %s, %d rows skipped\n", len(drafts), out, len(skipped))
			return nil
		},
	}
	c.Flags().StringVar(&dhl, "defihacklabs", "", "DeFiHackLabs incident table (CSV)")
	c.Flags().StringVar(&csvFile, "csv", "", "CSV file with a header row")
	c.Flags().StringVar(&mapping, "map", "", "column mapping for --csv, e.g. date=date,victim=incident,usd=value")
	c.Flags().StringVar(&outDir, "out", "", "directory for the drafts file (created; an existing file is never overwritten)")
	c.Flags().StringVar(&match, "match", "", "only rows whose victim name matches this regular expression (case-insensitive)")
	c.Flags().StringVar(&actor, "actor", "", "attribution actor id for the drafts")
	c.Flags().StringVar(&srcURL, "source-url", "", "with --csv: the URL of the CSV's upstream, cited by every draft")
	return c
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// usdText formats a USD value as "$1,234,567", or "unknown" for nil.
func usdText(v *float64) string {
	if v == nil {
		return "unknown"
	}
	return "$" + thousands(*v)
}

func signedUSD(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v < 0:
		return "-$" + thousands(-v)
	}
	return "+$" + thousands(v)
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
