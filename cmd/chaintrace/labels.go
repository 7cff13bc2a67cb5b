package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/labels/importers"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
)

// labelsDir is where the label database lives under --data.
func labelsDir(data string) string { return workspace.LabelsDir(data) }

func openLabels(ctx context.Context, g *globals) (*labels.Store, error) {
	return labels.Open(ctx, labelsDir(g.dataDir))
}

func newLabelsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "labels",
		Short: "Import and inspect address labels (attribution, sanctions) with their provenance",
		Long: `The label database holds attributions of addresses to services, actors and
sanctions lists, each with its source, dataset and confidence. Sources are
imported as whole datasets: re-importing a dataset is idempotent, updates
changed labels and retires (keeps, marked) labels the new version no longer
lists, so a delisting is recorded rather than lost.`,
	}
	var format, csvMap string
	var asJSON bool
	importCmd := &cobra.Command{
		Use:   "import PATH",
		Short: "Import a label source: TagPacks, ActorPacks, OFAC lists, Etherscan exports or CSV",
		Long: `Import a file or a directory. The format is detected from the content;
--format overrides it (formats: ` + strings.Join(importerNames(), ", ") + `).
"builtin:actors" imports chaintrace's own actor relations (aliases and
sub-groups of DPRK-linked groups); "builtin:incidents" labels the attacker
and laundering addresses of the incident registry (abuse service_hack, with
the incident's actor). A generic CSV needs --csv-map, e.g.
"address=0,label=1,chain=eth,category=exchange" (columns by index or header
name, or constants).

Each dataset is applied atomically; rows that cannot be used (invalid
address, unknown currency, missing field) are reported with file and line
and do not stop the import.`,
		Example: `  chaintrace labels import ../shared/data/labels/tagpacks/packs
  chaintrace labels import builtin:actors
  chaintrace labels import builtin:incidents
  chaintrace labels import --format csv --csv-map address=Address,label="Name Tag",chain=eth exchanges.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := runLabelsImport(cmd.Context(), g, args[0], format, csvMap, asJSON); err != nil {
				return err
			}
			// Watches made from an actor or a category follow the labels.
			refreshAfterImport(cmd.Context(), g, asJSON)
			return nil
		},
	}
	importCmd.Flags().StringVar(&format, "format", "", "source format (default: detected)")
	importCmd.Flags().StringVar(&csvMap, "csv-map", "", "column mapping for --format csv")
	importCmd.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON")

	var chain string
	showCmd := &cobra.Command{
		Use:   "show ADDRESS",
		Short: "Show every label on an address, retired ones included",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			addr, err := addrs.Normalize(chain, args[0])
			if err != nil {
				return err
			}
			st, err := openLabels(ctx, g)
			if err != nil {
				return err
			}
			defer st.Close()
			ls, err := st.Labels(ctx, chain, addr)
			if err != nil {
				return err
			}
			if asJSON {
				if ls == nil {
					ls = []labels.Label{}
				}
				return printJSON(g.out, ls)
			}
			if len(ls) == 0 {
				fmt.Fprintf(g.out, "%s %s: no labels\n", chain, addr)
				return nil
			}
			fmt.Fprintf(g.out, "%s %s: %d labels\n", chain, addr, len(ls))
			tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  LABEL\tCATEGORY\tABUSE\tACTOR\tCONFIDENCE\tDATASET\tSTATUS")
			for _, l := range ls {
				status := "active"
				if l.Retired != nil {
					status = "retired " + l.Retired.Format(time.DateOnly)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s (%d)\t%s\t%s\n", l.Label, orDash(l.Category), orDash(l.Abuse), orDash(l.Actor), l.Confidence, l.ConfidenceLevel, l.Dataset, status)
			}
			tw.Flush()
			return nil
		},
	}
	showCmd.Flags().StringVar(&chain, "chain", "eth", "chain of the address (btc, eth, trx, ltc, ...)")
	showCmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	datasetsCmd := &cobra.Command{
		Use:   "datasets",
		Short: "List imported datasets with their counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := openLabels(ctx, g)
			if err != nil {
				return err
			}
			defer st.Close()
			ds, err := st.Datasets(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, ds)
			}
			tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DATASET\tFORMAT\tACTIVE\tRETIRED\tREJECTED\tIMPORTED")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", d.Name, d.Format, d.Active, d.Retired, len(d.Rejected), d.Imported.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	datasetsCmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(importCmd, showCmd, datasetsCmd)
	return cmd
}

func importerNames() []string {
	var names []string
	for _, imp := range importers.All() {
		names = append(names, imp.Name())
	}
	return names
}

func runLabelsImport(ctx context.Context, g *globals, path, format, csvMap string, asJSON bool) error {
	sum, err := workspace.ImportLabels(ctx, g.dataDir, path, workspace.ImportOptions{Format: format, CSVMap: csvMap})
	if err != nil {
		return err
	}
	rows, total := sum.Datasets, sum.Total
	if asJSON {
		return printJSON(g.out, map[string]any{"format": sum.Format, "datasets": rows, "total": total})
	}
	tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATASET\tADDED\tUPDATED\tUNCHANGED\tRETIRED\tREJECTED\tACTORS")
	for _, r := range rows {
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", r.Dataset, c.Added, c.Updated, c.Unchanged, c.Retired, c.Rejected, c.Actors)
	}
	tw.Flush()
	fmt.Fprintf(g.out, "imported %d datasets (%s) in %s: %d added, %d updated, %d unchanged, %d retired, %d rejected, %d actors\n",
		len(rows), sum.Format, sum.Elapsed.Round(time.Millisecond), total.Added, total.Updated, total.Unchanged, total.Retired, total.Rejected, total.Actors)
	shown := 0
	for _, r := range rows {
		for _, rj := range r.Rejected {
			if shown == 10 {
				fmt.Fprintln(g.out, "  ... more rejected rows: use --json")
				return nil
			}
			fmt.Fprintf(g.out, "  rejected %s:%d %s: %s\n", rj.File, rj.Line, rj.Value, rj.Reason)
			shown++
		}
	}
	return nil
}

func newActorsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "actors",
		Short: "Look up actors (groups, services) and their aliases and sub-groups",
	}
	show := &cobra.Command{
		Use:   "show ID|NAME",
		Short: "Show an actor by id, or search by name or alias",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := openLabels(ctx, g)
			if err != nil {
				return err
			}
			defer st.Close()
			var found []labels.Actor
			if a, ok, err := st.Actor(ctx, args[0]); err != nil {
				return err
			} else if ok {
				found = []labels.Actor{a}
			} else if found, err = st.SearchActors(ctx, args[0]); err != nil {
				return err
			}
			if len(found) == 0 {
				return fmt.Errorf("no actor matches %q", args[0])
			}
			if asJSON {
				return printJSON(g.out, found)
			}
			for _, a := range found {
				fmt.Fprintf(g.out, "%s (%s)\n", a.Label, a.ID)
				if len(a.Aliases) > 0 {
					fmt.Fprintf(g.out, "  aliases        %s\n", strings.Join(a.Aliases, ", "))
				}
				if a.Parent != "" {
					fmt.Fprintf(g.out, "  part of        %s\n", a.Parent)
				}
				if len(a.SubGroups) > 0 {
					fmt.Fprintf(g.out, "  sub-groups     %s\n", strings.Join(a.SubGroups, ", "))
				}
				if len(a.Categories) > 0 {
					fmt.Fprintf(g.out, "  categories     %s\n", strings.Join(a.Categories, ", "))
				}
				if len(a.Jurisdictions) > 0 {
					fmt.Fprintf(g.out, "  jurisdictions  %s\n", strings.Join(a.Jurisdictions, ", "))
				}
				for _, r := range a.References {
					fmt.Fprintf(g.out, "  reference      %s\n", r)
				}
			}
			return nil
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(show)
	return cmd
}
