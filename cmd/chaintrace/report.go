package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/labels/importers"
	"github.com/chaintrace/chaintrace/internal/prices"
	"github.com/chaintrace/chaintrace/internal/report"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// init wires the shipped incident registry into the label importers for
// "chaintrace labels import builtin:incidents": package importers cannot
// import package incident, which uses it to read the builtin actors.
func init() {
	importers.RegisterIncidents(func(ctx context.Context) ([]labels.Label, error) {
		recs, err := incident.Builtin(ctx)
		if err != nil {
			return nil, err
		}
		return incident.Labels(recs), nil
	})
}

func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Printable reports: incident statistics and case reports, as HTML or Markdown",
		Long: `Reports are self-contained HTML pages (inline CSS and SVG charts, nothing
loaded from outside, printable) or Markdown with the same figures.`,
	}
	cmd.AddCommand(newReportIncidentsCmd(g), newReportCaseCmd(g))
	return cmd
}

// openPricer returns the price history under --data, or nil when none was
// imported (reports then show no computed valuations).
func openPricer(ctx context.Context, g *globals) (report.Pricer, error) {
	if _, err := os.Stat(pricesDir(g.dataDir)); err != nil {
		return nil, nil
	}
	st, err := prices.Open(ctx, pricesDir(g.dataDir))
	if err != nil {
		return nil, err
	}
	return st, nil
}

// writeOutput runs write on the file out, or on stdout when out is empty.
func writeOutput(g *globals, out string, write func(io.Writer) error) error {
	if out == "" {
		return write(g.out)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func newReportIncidentsCmd(g *globals) *cobra.Command {
	var opts report.IncidentsOptions
	var format, out, dataOut string
	c := &cobra.Command{
		Use:   "incidents",
		Short: "Statistics report of the incident registry with charts and the reconciliation",
		Long: `The incidents report gives the registry's counts and USD by year, actor,
victim type, vector and chain, stacked bars of USD by year and victim
type, a bar chart by attack vector, the reconciliation with published
figures and the list of incidents. Its figures are those of "chaintrace
incidents stats --reconcile --json". Amounts the registry gives in native
units only are valued from the price history when one was imported
(chaintrace prices import), shown apart from the totals.

--data-out DIR also writes the data: stats.json, incidents.json and CSV
tables.`,
		Example: `  chaintrace report incidents -o incidents.html
  chaintrace report incidents --from 2022 --to 2023 --format md
  chaintrace report incidents --actor tradertraitor --data-out data/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := report.ParseFormat(format)
			if err != nil {
				return err
			}
			recs, err := loadRegistry(ctx)
			if err != nil {
				return err
			}
			figs, err := incident.LoadPublished(ctx)
			if err != nil {
				return err
			}
			pr, err := openPricer(ctx, g)
			if err != nil {
				return err
			}
			rep, err := report.BuildIncidents(ctx, recs, figs, opts, pr)
			if err != nil {
				return err
			}
			if dataOut != "" {
				files, err := rep.WriteData(dataOut)
				if err != nil {
					return err
				}
				g.log.Info("report data written", "dir", dataOut, "files", len(files))
			}
			return writeOutput(g, out, func(w io.Writer) error { return rep.Write(w, f) })
		},
	}
	c.Flags().IntVar(&opts.From, "from", 0, "first year (YYYY)")
	c.Flags().IntVar(&opts.To, "to", 0, "last year (YYYY)")
	c.Flags().StringVar(&opts.Actor, "actor", "", "only incidents attributed to this actor id (exactly)")
	c.Flags().StringVar(&format, "format", "html", "html or md")
	c.Flags().StringVarP(&out, "output", "o", "", "write the report to this file (default: stdout)")
	c.Flags().StringVar(&dataOut, "data-out", "", "also write the report's data as CSV and JSON into this directory")
	return c
}

func newReportCaseCmd(g *globals) *cobra.Command {
	var format, out, traceJSON, bridges string
	c := &cobra.Command{
		Use:   "case INCIDENT-ID",
		Short: "Case report of one incident: facts, sources, attribution, the trace of its funds and the evidence",
		Long: `The case report gives the incident's facts and every source, the
attribution and the alternatives, the amounts, and the trace of the stolen
funds: its parameters and store heights (to reproduce it), the endpoints
with amounts and shares, the funds still at addresses, the mixers and
bridges reached, the totals, a flow diagram, and the evidence: every
transaction the report relies on with its block-explorer link.

The trace comes from --trace-json (the output of "chaintrace trace
--incident ID --json") or, without it, is run here with the defaults of
"chaintrace trace --incident ID" on the first of the incident's chains
that has a store under --data. When no store holds them the report gives
the facts and sources and says so.`,
		Example: `  chaintrace report case 2022-03-ronin-bridge -o ronin.html
  chaintrace trace --chain btc --incident 2024-05-dmm-bitcoin --json > dmm.json
  chaintrace report case 2024-05-dmm-bitcoin --trace-json dmm.json --format md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := report.ParseFormat(format)
			if err != nil {
				return err
			}
			recs, err := loadRegistry(ctx)
			if err != nil {
				return err
			}
			rec := incident.Find(recs, args[0])
			if rec == nil {
				return fmt.Errorf("report: incident %q is not in the registry (see \"chaintrace incidents list\")", args[0])
			}
			pr, err := openPricer(ctx, g)
			if err != nil {
				return err
			}
			var res *trace.Result
			var note string
			var units trace.Units
			if traceJSON != "" {
				if res, err = readTraceJSON(traceJSON); err != nil {
					return err
				}
				switch res.Params.Incident {
				case rec.ID:
				case "":
					note = fmt.Sprintf("The trace in %s was not started from this incident (no --incident): check that its sources are the incident's.", traceJSON)
				default:
					note = fmt.Sprintf("The trace in %s was started from incident %s, not %s.", traceJSON, res.Params.Incident, rec.ID)
				}
			} else {
				env, err := openTraceEnv(ctx, g, bridges, false)
				if err != nil {
					return err
				}
				defer env.Close()
				units = env.units(ctx)
				if res, note, err = traceIncident(ctx, env, rec); err != nil {
					return err
				}
			}
			cr, err := report.BuildCase(ctx, rec, res, note, units, pr)
			if err != nil {
				return err
			}
			return writeOutput(g, out, func(w io.Writer) error { return cr.Write(w, f) })
		},
	}
	c.Flags().StringVar(&format, "format", "html", "html or md")
	c.Flags().StringVarP(&out, "output", "o", "", "write the report to this file (default: stdout)")
	c.Flags().StringVar(&traceJSON, "trace-json", "", "use this trace result (chaintrace trace --json) instead of tracing")
	c.Flags().StringVar(&bridges, "bridges", "", "bridge rules file (YAML) for the trace, as in chaintrace trace")
	return c
}

// readTraceJSON reads a trace result as "chaintrace trace --json" prints
// it.
func readTraceJSON(file string) (*trace.Result, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var res trace.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("report: %s: not a trace result: %w", file, err)
	}
	if res.Params.Chain == "" {
		return nil, fmt.Errorf("report: %s: not a trace result (no params.chain)", file)
	}
	return &res, nil
}

// traceIncident traces the incident's funds forward, with the trace
// command's defaults, on the first of its chains that has a store and
// holds attacker addresses or transactions of the incident. When there is
// none it returns a nil result and a note saying why.
func traceIncident(ctx context.Context, env *traceEnv, rec *incident.Record) (*trace.Result, string, error) {
	var why []string
	for _, chain := range rec.Chains {
		id, err := env.resolveChain(chain)
		if err != nil {
			why = append(why, "no "+chain+" store under --data")
			continue
		}
		p := trace.Params{Chain: id}
		if err := addIncidentSources(ctx, &p, rec.ID); err != nil {
			why = append(why, "the registry lists no attacker address or transaction on "+chain)
			continue
		}
		m := &trace.Multi{Engines: env.engines, Rules: env.rules}
		res, err := m.Trace(ctx, p)
		if errors.Is(err, store.ErrNotFound) {
			// The store exists but does not reach the incident (a
			// partial or test chain): say so rather than fail.
			why = append(why, fmt.Sprintf("the %s store%s does not hold the incident's activity (%v)", id, tipText(ctx, env, id), err))
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return res, "", nil
	}
	if len(rec.Chains) == 0 {
		why = append(why, "the registry names no chain for this incident")
	}
	note := "No trace: " + strings.Join(why, "; ") + ". This report gives the incident's facts and sources only; ingest the chain and rerun, or pass --trace-json with the output of \"chaintrace trace --incident " + rec.ID + " --json\"."
	return nil, note, nil
}

// tipText is " at height N" for a store whose tip is known.
func tipText(ctx context.Context, env *traceEnv, id string) string {
	if tip, err := env.engines[id].Tip(ctx); err == nil {
		return fmt.Sprintf(" at height %d", tip)
	}
	return ""
}
