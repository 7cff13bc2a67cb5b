package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/progress"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/sim/world"
	"github.com/spf13/cobra"
)

type simFlags struct {
	out  string
	seed int64
	txs  int64
	// memprofile, when set, gets a heap profile taken as the last step
	// finishes, while the generator's state is still live.
	memprofile string
}

func newSimCmd(g *globals) *cobra.Command {
	f := &simFlags{}
	cmd := &cobra.Command{
		Use:   "sim --out DIR",
		Short: "Generate a simulated world (Bitcoin and Ethereum chains, services, heists) with ground truth",
		Long: `Generate a deterministic simulated world into --out: a Bitcoin regtest chain
in Bitcoin Core's block files (btc/), an Ethereum-like chain as an
ethereum-etl export (eth/), users, exchanges, OTC desks, mixers, a bridge
and a DEX trading with each other, heists laundered through them, a
GraphSense TagPack of the services (labels/world.yaml), the bridge rules
(bridges.yaml) and the ground truth of where every stolen unit went
(truth.json). The same --seed and --txs always give the same world.

"chaintrace eval --world DIR" ingests it and scores the tracer against the
truth.`,
		Example: `  chaintrace sim --out world
  chaintrace sim --out world-big --seed 7 --txs 1000000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSim(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "directory to write the world into (required; must not hold a world)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the world")
	fl.Int64Var(&f.txs, "txs", 40_000, "about how many transactions both chains hold together")
	fl.StringVar(&f.memprofile, "memprofile", "", "write a heap profile of the generator's live state at its last step to this file")
	_ = fl.MarkHidden("memprofile")
	return cmd
}

func runSim(ctx context.Context, g *globals, f *simFlags) error {
	if f.out == "" {
		return fmt.Errorf("sim: give the output directory with --out")
	}
	if f.txs <= 0 {
		return fmt.Errorf("sim: --txs %d: want a positive number", f.txs)
	}
	rep := progress.New(os.Stderr, g.log, "generating", "steps", 0)
	began := time.Now()
	var profErr error
	w, err := world.Generate(ctx, f.out, world.Config{Seed: f.seed, Txs: f.txs, Progress: func(s world.Stats) {
		rep.Update(int64(s.Step), int64(s.Steps), "txs", s.BTCTxs+s.ETHTxs, "tx_per_s", int64(s.TxPerSec))
		if f.memprofile != "" && s.Step+1 >= s.Steps {
			profErr = writeHeapProfile(f.memprofile)
		}
	}})
	rep.Finish()
	if err != nil {
		return err
	}
	if profErr != nil {
		return profErr
	}
	elapsed := time.Since(began)
	out := g.out
	var txs int64
	roles := make([]string, 0, len(w.Chains))
	for r, c := range w.Chains {
		roles = append(roles, r)
		txs += c.Txs
	}
	sort.Strings(roles)
	fmt.Fprintf(out, "world seed %d in %s: %d transactions in %s (%.0f tx/s)\n", w.Seed, f.out, txs, elapsed.Round(time.Millisecond), float64(txs)/elapsed.Seconds())
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	for _, r := range roles {
		c := w.Chains[r]
		fmt.Fprintf(tw, "  chain %s\t%s\t%d blocks\t%d transactions\t%s\n", c.ID, c.Network, c.Blocks, c.Txs, c.Dir)
	}
	tw.Flush()
	labelled := 0
	for _, e := range w.Entities {
		if e.Labelled {
			labelled++
		}
	}
	fmt.Fprintf(out, "  %d services (%d labelled), %d heists, $%.0f stolen\n", len(w.Entities), labelled, len(w.Heists), worldStolen(w))
	for i := range w.Heists {
		h := &w.Heists[i]
		mix := "no mixers"
		if h.Mixers {
			mix = "through mixers"
		}
		fmt.Fprintf(tw, "  heist %s\t%s\t%s\t$%.0f\t%s\n", h.ID, h.Kind, mix, w.StolenUSD(h), h.Title)
	}
	tw.Flush()
	fmt.Fprintf(out, "next: chaintrace eval --world %s --data DIR\n", f.out)
	return nil
}

// writeHeapProfile writes the live heap, after a collection, to path.
func writeHeapProfile(path string) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	runtime.GC()
	err = pprof.Lookup("heap").WriteTo(fh, 0)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sim: memprofile: %w", err)
	}
	return nil
}

func worldStolen(w *truth.World) float64 {
	var s float64
	for i := range w.Heists {
		s += w.StolenUSD(&w.Heists[i])
	}
	return s
}
