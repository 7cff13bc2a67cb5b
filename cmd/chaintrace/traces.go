package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/tracestore"
	"github.com/spf13/cobra"
)

// newTracesCmd returns "traces", the saved traces (trace --save).
func newTracesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "traces",
		Short: "Saved traces: list them, show one (trace --save keeps them)",
		Long: `A trace run with --save is kept under --data/traces/ID.json, where ID
(tr- and 16 hex digits) is derived from the result's content. A saved
trace can be shown again in any output format, watched (chaintrace watch
add --from-trace ID) and cited by id.`,
	}
	var asJSON bool
	list := &cobra.Command{
		Use: "list", Short: "List the saved traces, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ss, err := tracestore.List(cmd.Context(), g.dataDir)
			if err != nil {
				return err
			}
			if asJSON {
				if ss == nil {
					ss = []tracestore.Summary{}
				}
				return writeJSON(g.out, ss)
			}
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSAVED\tCHAIN\tDIRECTION\tMODEL\tHOPS\tSOURCES\tENDPOINTS\tHOLDINGS\tINCIDENT")
			for _, s := range ss {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.ID, s.Saved.Format("2006-01-02 15:04:05"), s.Chain, s.Direction, s.Model, s.Hops, s.Sources, s.Endpoints, s.Holdings, s.Incident)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	var format, table, output string
	var showJSON bool
	show := &cobra.Command{
		Use: "show ID", Short: "Print a saved trace (text, json, csv or dot)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, _, err := tracestore.Load(cmd.Context(), g.dataDir, args[0])
			if err != nil {
				return err
			}
			var units trace.Units
			if format == "text" || format == "dot" {
				// Units come from the stores; a saved trace shown
				// without them prints base units.
				if env, err := openTraceEnv(cmd.Context(), g, "", false); err == nil {
					units = env.units(cmd.Context())
					defer env.Close()
				}
			}
			return writeTraceResult(g, res, format, showJSON, table, output, units)
		},
	}
	show.Flags().StringVar(&format, "format", "text", "output format: text, json, csv or dot")
	show.Flags().BoolVar(&showJSON, "json", false, "same as --format json")
	show.Flags().StringVar(&table, "table", trace.TableEdges, "CSV table: edges, endpoints, holdings or totals")
	show.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	cmd.AddCommand(list, show)
	return cmd
}
