package main

import (
	"context"
	"fmt"
	"os"

	"github.com/chaintrace/chaintrace/internal/eval"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/progress"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/spf13/cobra"
)

type evalFlags struct {
	world, model           string
	hops                   int
	asJSON, markdown       bool
	noChangeSameHop, force bool
	noDetectServices       bool
}

func newEvalCmd(g *globals) *cobra.Command {
	f := &evalFlags{}
	cmd := &cobra.Command{
		Use:   "eval --world DIR",
		Short: "Measure the tracer's accuracy on a simulated world with ground truth",
		Long: `Evaluate the tracer on a world written by "chaintrace sim": ingest its chains
and labels into --data (skipped when --data already holds this world at the
same tips), trace every heist forward from the launderers' first addresses
on each source chain (continuing across the world's bridge), and compare
where the traces say the stolen value went with where it went.

Every figure is value-weighted in USD at the world's prices:

  precision  of the value the trace reports at services and mixers, the
             share it puts at the right entity: Σ min(R_e, T_e) / Σ R_e,
             where R_e is what the trace reports at entity e and T_e what
             e was credited in the truth (1 when the trace reports nothing)
  recall     of the value that reached services and mixers, the share the
             trace finds at the right entity: Σ min(R_e, T_e) / Σ T_e
             (1 when nothing reached one)
  located    of the value still at the launderers' addresses, the share the
             trace lists as holdings at those addresses
  false alerts
             value the trace reports at entities that received nothing of
             the heist: a freeze request to the wrong service

The tracer recognises unlabelled deposit-sweep services by behaviour, as
"chaintrace trace --detect-services" does (--no-detect-services turns it
off). An endpoint whose name is no entity of the world (an "unidentified
service") is credited to the entity owning its address in the truth, and
is a false alert when none does; "recall (named)" is the recall of the
endpoints that name the entity themselves, what the labels achieve. The
report lists every detected service with the world entity it belongs to:
one that belongs to none is a false detection.

Detected CoinJoins are named by kind, not by coordinator, so all CoinJoins
count as one entity. The report gives the figures per heist, per taint
model (poison, haircut, fifo) and rule set (default: stop at mixers;
through-mixers), the overall figures at the defaults (haircut, default
rules), and the overall for heists without mixers, where the targets are
precision >= 0.9 and recall >= 0.8. It also shows what the traces counted
as fees, beyond the limits, dust and stopped at mixers.`,
		Example: `  chaintrace sim --out world
  chaintrace eval --world world --data world-data
  chaintrace eval --world world --data world-data --json
  chaintrace eval --world world --data world-data --model fifo --hops 20 --markdown`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEval(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.world, "world", "", "world directory written by chaintrace sim (required)")
	fl.StringVar(&f.model, "model", "", "evaluate only this taint model: poison, haircut or fifo (default: all, overall at haircut)")
	fl.IntVar(&f.hops, "hops", eval.DefaultHops, "maximum transactions walked from the source")
	fl.BoolVar(&f.noChangeSameHop, "no-change-same-hop", false, "spend a hop on a peel chain's likely change too")
	fl.BoolVar(&f.noDetectServices, "no-detect-services", false, "do not recognise unlabelled services by behaviour")
	fl.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	fl.BoolVar(&f.markdown, "markdown", false, "print the report as Markdown tables")
	fl.BoolVar(&f.force, "reingest", false, "ingest the world even when --data already holds it")
	return cmd
}

func runEval(ctx context.Context, g *globals, f *evalFlags) error {
	if f.world == "" {
		return fmt.Errorf("eval: give the world directory with --world (write one with \"chaintrace sim --out DIR\")")
	}
	if f.asJSON && f.markdown {
		return fmt.Errorf("eval: give at most one of --json and --markdown")
	}
	o := eval.Options{Hops: f.hops, NoChangeSameHop: f.noChangeSameHop, NoDetectServices: f.noDetectServices}
	switch m := trace.Model(f.model); m {
	case "":
	case trace.Poison, trace.Haircut, trace.FIFO:
		o.Models = []trace.Model{m}
	default:
		return fmt.Errorf("eval: --model %q: want poison, haircut or fifo", f.model)
	}
	prep, err := prepareWorld(ctx, g, f.world, f.force)
	if err != nil {
		return err
	}
	if prep.Skipped {
		g.log.Info("the data directory already holds this world: not ingesting", "data", g.dataDir)
	} else {
		for chain, st := range prep.Ingested {
			g.log.Info("ingested", "chain", chain, "blocks", st.Blocks, "txs", st.Txs, "elapsed", st.Elapsed.String())
		}
		g.log.Info("labels imported", "added", prep.Labels.Total.Added, "updated", prep.Labels.Total.Updated, "unchanged", prep.Labels.Total.Unchanged)
	}
	ws, err := eval.OpenWorkspace(ctx, g.dataDir, prep, o, g.log)
	if err != nil {
		return err
	}
	defer ws.Close()
	o.Services = ws.Services()
	rep := progress.New(os.Stderr, g.log, "tracing heists", "traces", 0)
	o.Progress = func(done, total int) { rep.Update(int64(done), int64(total)) }
	r, err := eval.Run(ctx, ws.Multi(), prep.World, o)
	rep.Finish()
	if err != nil {
		return err
	}
	switch {
	case f.asJSON:
		return r.WriteJSON(g.out)
	case f.markdown:
		return r.WriteMarkdown(g.out)
	}
	return r.WriteText(g.out)
}

// prepareWorld ingests a world's chains and labels into g.dataDir (see
// eval.Prepare), with a progress report per chain on stderr.
func prepareWorld(ctx context.Context, g *globals, worldDir string, force bool) (*eval.Prepared, error) {
	reps := map[string]*progress.Reporter{}
	prep, err := eval.Prepare(ctx, worldDir, g.dataDir, eval.PrepareOptions{
		Logger: g.log, Force: force,
		Progress: func(chain string, s ingest.Status) {
			r, ok := reps[chain]
			if !ok {
				r = progress.New(os.Stderr, g.log, "ingesting "+chain, "blocks", 0)
				reps[chain] = r
			}
			r.Update(int64(s.Height), int64(s.Target), "txs", s.Txs)
		},
	})
	for _, r := range reps {
		r.Finish()
	}
	return prep, err
}
