package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/eval"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/progress"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/sim/world"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
)

type demoFlags struct {
	txs     int64
	seed    int64
	labels  string
	noServe bool
	addr    string
	mainnet bool
}

func newDemoCmd(g *globals) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Simulate a world with four heists, ingest it, trace every heist and serve the API",
		Long: `The demo runs chaintrace's main job end to end, offline, in --data/demo
(wiped first):

 1. simulates a seeded world of two chains — a Bitcoin-like chain written as
    Bitcoin Core block files and an Ethereum-like chain (ETH and a USDT-like
    token) written as an ethereum-etl export — with users, exchanges, OTC
    desks, a CoinJoin coordinator, a pool mixer, a bridge, a DEX, miners and
    four heists laundered the ways published for DPRK-attributed thefts
    (bridge drain, wallet-provider compromise, exchange hot wallet, large
    dispersal), with the ground truth of where every stolen unit went;
 2. ingests both chains through the real ingesters (block files, ETL);
 3. imports the world's labels (a GraphSense TagPack; some services are
    deliberately left unlabelled) and any label sets given with --labels;
 4. shows the address clusters (multi-input heuristic, CoinJoins found);
 5. traces every heist forward (haircut, across the bridge, following peel
    chains) and prints an investigation summary: what was stolen, which
    services received it, what sits in mixers and at attacker addresses,
    and how the trace compares with the ground truth;
 6. ingests the real Bitcoin blocks 0-14,131 shipped in the btcd Go module
    (when present; --mainnet=false skips it) and shows look-ups anyone can
    check on a block explorer;
 7. serves the REST API on --addr over the demo's stores until interrupted
    (--no-serve exits instead).

Every step can be repeated by hand on the demo's data directory; the
summary prints the commands.`,
		Example: `  chaintrace demo --no-serve
  chaintrace demo --labels ../shared/data/tagpacks --addr 127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), g, f)
		},
	}
	cmd.Flags().Int64Var(&f.txs, "txs", 40_000, "about how many transactions the simulated world has (both chains)")
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "seed of the simulated world")
	cmd.Flags().StringVar(&f.labels, "labels", "", "also import this label file or directory (TagPacks, OFAC, CSV, ...)")
	cmd.Flags().BoolVar(&f.noServe, "no-serve", false, "exit after the offline part instead of serving the API")
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address of the API served at the end")
	cmd.Flags().BoolVar(&f.mainnet, "mainnet", true, "also ingest the real mainnet blocks 0-14,131 from the btcd module")
	return cmd
}

func runDemo(ctx context.Context, g *globals, f *demoFlags) error {
	began := time.Now()
	dg := *g
	dg.dataDir = filepath.Join(g.dataDir, "demo")
	out := g.out
	if err := os.RemoveAll(dg.dataDir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	worldDir := filepath.Join(dg.dataDir, "world")

	fmt.Fprintf(out, "== 1. simulating a world (seed %d, about %d transactions) in %s\n", f.seed, f.txs, worldDir)
	rep := progress.New(os.Stderr, g.log, "simulating", "steps", 0)
	start := time.Now()
	w, err := world.Generate(ctx, worldDir, world.Config{Seed: f.seed, Txs: f.txs, Progress: func(s world.Stats) {
		rep.Update(int64(s.Step), int64(s.Steps), "txs", s.BTCTxs+s.ETHTxs)
	}})
	rep.Finish()
	if err != nil {
		return err
	}
	printWorld(out, w, time.Since(start))

	fmt.Fprintln(out, "== 2. ingesting both chains through the real ingesters")
	prep, err := prepareWorld(ctx, &dg, worldDir, true)
	if err != nil {
		return err
	}
	for _, id := range sortedKeys(prep.Ingested) {
		st := prep.Ingested[id]
		fmt.Fprintf(out, "   %-12s %5d blocks %7d transactions in %s\n", id, st.Blocks, st.Txs, st.Elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(out, "   (%s)\n", time.Since(start).Round(time.Millisecond))

	fmt.Fprintln(out, "== 3. labels")
	t := prep.Labels.Total
	fmt.Fprintf(out, "   the world's TagPack: %d labels added, %d rejected (Harbor Exchange and Sable OTC are left unlabelled on purpose)\n", t.Added, t.Rejected)
	if f.labels != "" {
		sum, err := workspace.ImportLabels(ctx, dg.dataDir, f.labels, workspace.ImportOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "   %s: %d labels added, %d rejected, in %d datasets\n", f.labels, sum.Total.Added, sum.Total.Rejected, len(sum.Datasets))
	}

	fmt.Fprintln(out, "== 4. address clusters on the Bitcoin chain (multi-input heuristic, CoinJoins excluded)")
	if err := runClusterStats(ctx, &dg, &clusterFlags{network: "regtest", top: 5}); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n== 5. tracing every heist (forward, haircut, across the bridge, peel chains followed, services recognised by behaviour)")
	ws, err := workspace.Open(ctx, dg.dataDir, workspace.Options{Bridges: prep.Bridges, Logger: g.log, DetectServices: true})
	if err != nil {
		return err
	}
	for _, chain := range sortedKeys(ws.Services()) {
		r := ws.Services()[chain]
		deposits := 0
		for _, sv := range r.Services {
			deposits += len(sv.Deposits)
		}
		fmt.Fprintf(out, "   %s: %d deposit-sweep services recognised by behaviour (%d deposit addresses), labelled or not, in %s\n",
			chain, len(r.Services), deposits, r.Elapsed.Round(time.Millisecond))
	}
	trep := progress.New(os.Stderr, g.log, "tracing heists", "traces", 0)
	r, err := eval.Run(ctx, ws.Multi(), w, eval.Options{Models: []trace.Model{eval.DefaultModel}, Rules: []string{eval.RulesDefault},
		Progress: func(done, total int) { trep.Update(int64(done), int64(total)) }})
	trep.Finish()
	ws.Close()
	if err != nil {
		return err
	}
	printInvestigation(out, w, r)
	fmt.Fprintf(out, "   offline part so far: %s\n", time.Since(began).Round(time.Millisecond))

	if f.mainnet {
		if err := demoMainnet(ctx, &dg); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\n== done in %s. Go on by hand, for example:\n", time.Since(began).Round(time.Millisecond))
	if len(w.Heists) > 0 && len(w.Heists[0].Sources) > 0 {
		h := &w.Heists[0]
		src := h.Sources[0]
		fmt.Fprintf(out, "   chaintrace --data %s trace --chain %s --from %s --hops %d --change-same-hop --through-mixers --bridges %s\n",
			dg.dataDir, chainOfRole(w, src.Chain), strings.Join(src.Addresses, ","), eval.DefaultHops, prep.Bridges)
	}
	fmt.Fprintf(out, "   chaintrace --data %s eval --world %s\n", dg.dataDir, worldDir)
	if f.noServe {
		return nil
	}
	fmt.Fprintf(out, "\n== 7. serving the REST API on http://%s/api/v1 over the demo's stores (Ctrl-C to stop)\n", f.addr)
	return serveAPI(ctx, &dg, f.addr, "")
}

// printWorld summarises a generated world: its chains, services and heists.
func printWorld(out io.Writer, w *truth.World, took time.Duration) {
	var txs int64
	for _, c := range w.Chains {
		txs += c.Txs
	}
	fmt.Fprintf(out, "   %d transactions in %s (%.0f tx/s)\n", txs, took.Round(time.Millisecond), float64(txs)/took.Seconds())
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	for _, role := range sortedKeys(w.Chains) {
		c := w.Chains[role]
		fmt.Fprintf(tw, "   chain %s\t%d blocks\t%d transactions\t%s\n", c.ID, c.Blocks, c.Txs, filepath.Join("world", c.Dir))
	}
	labelled := 0
	for _, e := range w.Entities {
		if e.Labelled {
			labelled++
		}
	}
	fmt.Fprintf(tw, "   %d services, %d of them labelled\t\t\t\n", len(w.Entities), labelled)
	for i := range w.Heists {
		h := &w.Heists[i]
		fmt.Fprintf(tw, "   heist %s\t%s\t%s\t%s\n", h.ID, usdShort(w.StolenUSD(h)), h.Start.Format("2006-01-02 15:04"), h.Title)
	}
	tw.Flush()
}

// printInvestigation prints, per heist, what an investigator learns from
// the trace: the services that received the funds (where they can be
// frozen), what sits in mixers and at the launderers' addresses, and how
// that compares with the world's ground truth.
func printInvestigation(out io.Writer, w *truth.World, r *eval.Report) {
	for _, s := range r.Heists {
		fmt.Fprintf(out, "\n-- %s: %s\n", s.Heist, s.Title)
		fmt.Fprintf(out, "   stolen %s; traced in %s\n", usdShort(s.StolenUSD), s.Elapsed.Round(time.Millisecond))
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "   \tservice\ttraced\tground truth\t\n")
		shown := 0
		for _, e := range s.Entities {
			if e.TracedUSD < 1 && e.TruthUSD < 1 {
				continue
			}
			if shown == 8 {
				fmt.Fprintf(tw, "   \t... %d more\t\t\t\n", len(s.Entities)-shown)
				break
			}
			name := e.Entity
			if ent, ok := w.Entity(name); ok && !ent.Labelled {
				name += " (unlabelled)"
			}
			fmt.Fprintf(tw, "   \t%s\t%s\t%s\t\n", name, usdShort(e.TracedUSD), usdShort(e.TruthUSD))
			shown++
		}
		tw.Flush()
		fmt.Fprintf(out, "   stopped at mixers %s; still at attacker addresses %s (truth %s); beyond the hop limit %s; fees %s\n",
			usdShort(s.MixersUSD), usdShort(s.TracedHoldingsUSD), usdShort(s.TruthHoldingsUSD), usdShort(s.BeyondLimitsUSD), usdShort(s.FeesUSD))
		fmt.Fprintf(out, "   against the ground truth: precision %.3f, recall %.3f (%.3f over labelled services), holdings located %.3f, false alerts %s\n",
			s.Precision, s.Recall, s.RecallLabelled, s.Located, usdShort(s.FalseAlertUSD))
	}
	o, nm := r.Overall, r.OverallNoMixers
	fmt.Fprintf(out, "\n   all heists: precision %.3f, recall %.3f; heists that avoid mixers: precision %.3f, recall %.3f (targets %.1f and %.1f)\n",
		o.Precision, o.Recall, nm.Precision, nm.Recall, r.Targets.Precision, r.Targets.Recall)
}

// usdShort formats a dollar amount compactly ($1.23M).
func usdShort(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("$%.2fB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("$%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("$%.1fk", v/1e3)
	}
	return fmt.Sprintf("$%.0f", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// chainOfRole returns the chain id of a truth chain named by role or id.
func chainOfRole(w *truth.World, chain string) string {
	if c, ok := w.Chains[chain]; ok {
		return c.ID
	}
	return chain
}

// demoMainnet ingests the real Bitcoin blocks 0-14,131 that ship in the
// btcd module and shows look-ups, a cluster and a trace on them.
func demoMainnet(ctx context.Context, g *globals) error {
	out := g.out
	fmt.Fprintln(out, "\n== 6. real Bitcoin mainnet blocks 0-14,131 (from the btcd Go module)")
	dir, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	blk := filepath.Join(strings.TrimSpace(string(dir)), "blockchain", "testdata", "blk_0_to_14131.dat")
	if _, serr := os.Stat(blk); err != nil || serr != nil {
		fmt.Fprintln(out, "   skipped: the btcd module is not in the Go module cache (run the demo with `go run ./cmd/chaintrace demo` from the source tree)")
		return nil
	}
	if err := demoIngest(ctx, g, blk, &chaincfg.MainNetParams, "mainnet"); err != nil {
		return err
	}
	fmt.Fprintln(out, "   look-ups anyone can check on a block explorer: the first bitcoin payment between people (block 170)")
	if _, err = demoLookups(ctx, g, "mainnet", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"); err != nil {
		return err
	}
	return demoClusterTrace(ctx, g)
}

// demoClusterTrace shows clustering and tracing on the real 2009-2010
// blocks: the cluster of the address that paid the first person-to-person
// bitcoin transaction (block 170), and where its coins went within three
// hops under the haircut model.
func demoClusterTrace(ctx context.Context, g *globals) error {
	const addr = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
	fmt.Fprintln(g.out, "   the cluster of "+addr+" (multi-input heuristic, CoinJoins excluded)")
	if err := runClusterShow(ctx, g, &clusterFlags{network: "mainnet", limit: 10}, addr); err != nil {
		return err
	}
	fmt.Fprintln(g.out, "\n   where its coins went: forward trace, haircut model, 3 hops")
	return runTrace(ctx, g, &traceFlags{chain: "btc", from: addr, direction: "forward", model: "haircut", hops: 3,
		min: "0", format: "text", group: "address"})
}

func demoIngest(ctx context.Context, g *globals, path string, net *chaincfg.Params, netName string) error {
	src, err := blkfile.Open(ctx, path, wire.BitcoinNet(net.Net), blkfile.WithLogger(g.log))
	if err != nil {
		return err
	}
	defer src.Close()
	st := src.Stats()
	fmt.Fprintf(g.out, "   block files: %d best-chain blocks, %d stale, %d orphans\n", st.Blocks, st.Stale, st.Orphans)
	return ingestBTC(ctx, g, src, netName, &ingestBTCFlags{batchMB: 64, cache: 2_000_000, poll: time.Second})
}

// demoLookups prints transaction txid, one of its addresses and its
// block, and returns the transaction.
func demoLookups(ctx context.Context, g *globals, network, txid string) (model.Tx, error) {
	db, err := store.Open(ctx, btcStoreDir(g.dataDir, network), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		return model.Tx{}, err
	}
	defer db.Close()
	q, err := query.NewBTC(db)
	if err != nil {
		return model.Tx{}, err
	}
	tx, err := q.Tx(ctx, txid)
	if err != nil {
		return model.Tx{}, err
	}
	fmt.Fprintln(g.out)
	printTx(g.out, tx)
	addr := ""
	for _, o := range tx.Outputs {
		if o.Address != "" && !strings.Contains(o.Address, ",") {
			addr = o.Address
			break
		}
	}
	if addr != "" {
		s, err := q.Address(ctx, addr)
		if err != nil {
			return model.Tx{}, err
		}
		txs, next, err := q.AddressTxs(ctx, addr, 0, 5)
		if err != nil {
			return model.Tx{}, err
		}
		fmt.Fprintln(g.out)
		printAddress(g.out, s, txs, next)
	}
	b, err := q.Block(ctx, fmt.Sprint(tx.Height))
	if err != nil {
		return model.Tx{}, err
	}
	ids, err := q.BlockTxIDs(ctx, b)
	if err != nil {
		return model.Tx{}, err
	}
	if len(ids) > 5 {
		ids = ids[:5]
	}
	fmt.Fprintln(g.out)
	printBlock(g.out, b, ids)
	fmt.Fprintln(g.out)
	return tx, nil
}
