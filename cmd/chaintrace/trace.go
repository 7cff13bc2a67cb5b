package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/tracestore"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
)

// traceEnv is the data directory's workspace as the trace and report
// commands use it.
type traceEnv struct {
	*workspace.Workspace
	engines map[string]trace.Engine
	rules   []trace.BridgeRule
}

// ethChainID maps an EVM store's chain name to the chain id of labels.
func ethChainID(name string) string { return workspace.ETHChainID(name) }

// openTraceEnv opens the data directory's workspace; detect runs the
// behavioural detection of unlabelled services (package service).
func openTraceEnv(ctx context.Context, g *globals, bridgesPath string, detect bool) (*traceEnv, error) {
	ws, err := workspace.Open(ctx, g.dataDir, workspace.Options{Bridges: bridgesPath, Logger: g.log, DetectServices: detect})
	if err != nil {
		return nil, err
	}
	return &traceEnv{Workspace: ws, engines: ws.Engines(), rules: ws.Rules()}, nil
}

// resolveChain turns --chain (btc, eth, or a full chain id) into the id of
// an open store.
func (e *traceEnv) resolveChain(flag string) (string, error) { return e.ResolveChain(flag) }

// units displays amounts in whole units where the decimals are known.
func (e *traceEnv) units(ctx context.Context) trace.Units { return e.Units(ctx) }

type traceFlags struct {
	chain, from, txs, direction, model, min, since, until, asset  string
	format, table, output, bridges, stopAt, group, incident       string
	hops                                                          int
	asJSON, throughMixers, noSwaps, changeSameHop, detectServices bool
	save                                                          bool
}

func newTraceCmd(g *globals) *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Follow funds forward to where they went, or backward to where they came from",
		Long: `Trace value through the transaction graph of an ingested chain.

Forward (default) starts from the value received by the source addresses
(--from) or paid by source transactions (--tx) and follows it hop by hop
until it reaches a labelled service that can freeze or identify (exchange,
payment processor, OTC desk, ...: an endpoint), a mixer (stopped unless
--through-mixers; Bitcoin CoinJoins are detected without labels), a bridge
(continued on the other chain when both stores are present and a rule in
--bridges matches the release), an address where it still sits (a holding:
freeze and watch candidates), or a limit (--hops, --min dust, --since and
--until). Backward starts from the value the addresses received and finds
where it came from.

Taint models:
  poison   any tainted input taints every output in full (an upper bound;
           not conserved)
  haircut  every output carries the tainted share of the inputs (UTXO), or
           every payment the tainted share of the sender's balance at that
           moment (account)
  fifo     value is consumed first in, first out, per unit

For haircut and fifo the totals add up exactly: what left the source =
endpoints + mixers + unspent + dust + beyond limits + fees (+ burnt,
swapped and bridged value). Amounts in JSON and CSV are integers of the
smallest unit (satoshi, wei). The result records the parameters and the
store heights it saw, so that it can be reproduced.

--detect-services (on by default) recognises custodial services no label
database knows by their behaviour: an address that many deposit addresses,
each paid by a different customer, forward everything into within a day,
over at least twelve hours (Ethereum), or that sweeps many deposit
addresses in multi-input transactions over as long (Bitcoin). Such a wallet
and its deposit addresses, when they have no label of their own, are
labelled "unidentified service <address>" (category service, dataset
behaviour, low confidence), so the trace ends at the first deposit
address; a labelled exchange's detected deposit addresses take its name.
Detection reads each store once when the command starts (about a second
per 100,000 transactions); --detect-services=false skips it.

--incident ID starts from the attacker addresses and theft transactions
the incident registry holds for the chain (chaintrace incidents show ID).

--save keeps the result under --data/traces with an id derived from its
content (logged on standard error), for "chaintrace traces show ID" and
"chaintrace watch add --from-trace ID".`,
		Example: `  chaintrace trace --chain btc --from 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S --hops 3 --json
  chaintrace trace --chain eth --from 0x098B716B8Aaf21512996dC57EB0615e2383E2f96 --model fifo --format dot -o flow.dot
  chaintrace trace --chain eth --incident 2022-03-ronin-bridge --hops 4
  chaintrace trace --chain btc --from bc1q... --direction backward --model haircut --format csv --table endpoints`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrace(cmd.Context(), g, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.chain, "chain", "btc", "chain: btc, eth, or a store's full chain id (btc-regtest, eth-dev)")
	fl.StringVar(&f.from, "from", "", "source addresses, comma-separated")
	fl.StringVar(&f.txs, "tx", "", "source transactions, comma-separated")
	fl.StringVar(&f.incident, "incident", "", "start from a registry incident's attacker addresses and theft transactions on --chain (see \"chaintrace incidents list\")")
	fl.StringVar(&f.direction, "direction", "forward", "forward or backward")
	fl.StringVar(&f.model, "model", "haircut", "taint model: poison, haircut or fifo")
	fl.IntVar(&f.hops, "hops", 6, "maximum transactions walked from the source")
	fl.StringVar(&f.min, "min", "0", "dust threshold in base units (satoshi, wei): smaller tainted amounts are not followed")
	fl.StringVar(&f.since, "since", "", "follow only transactions at or after this time (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&f.until, "until", "", "follow only transactions at or before this time")
	fl.StringVar(&f.asset, "asset", "", "account chains: follow only this asset (native or a token contract)")
	fl.BoolVar(&f.throughMixers, "through-mixers", false, "continue through mixers and CoinJoins instead of stopping there")
	fl.BoolVar(&f.noSwaps, "no-swaps", false, "stop at DEX swaps instead of following the received asset")
	fl.BoolVar(&f.changeSameHop, "change-same-hop", false, "count a payment to a likely change output as the same hop (long peel chains)")
	fl.BoolVar(&f.detectServices, "detect-services", true, "recognise unlabelled deposit-sweep services by behaviour and stop there (see above)")
	fl.StringVar(&f.stopAt, "stop-at", "", "categories to stop at, comma-separated (default: "+strings.Join(trace.StopCategories, ",")+")")
	fl.StringVar(&f.group, "group", "address", "flow-graph nodes: address, or cluster (Bitcoin: multi-input heuristic; EVM: deposit-address heuristic)")
	fl.StringVar(&f.bridges, "bridges", "", "bridge rules file (YAML) to continue across chains")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON (same as --format json)")
	fl.StringVar(&f.format, "format", "text", "output format: text, json, csv or dot")
	fl.StringVar(&f.table, "table", trace.TableEdges, "CSV table: edges, endpoints, holdings or totals")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file instead of standard output")
	fl.BoolVar(&f.save, "save", false, "save the result under --data/traces and print its id (see chaintrace traces)")
	return cmd
}

func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 (2022-03-29T12:00:00Z) or YYYY-MM-DD", flag, s)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runTrace(ctx context.Context, g *globals, f *traceFlags) error {
	env, err := openTraceEnv(ctx, g, f.bridges, f.detectServices)
	if err != nil {
		return err
	}
	defer env.Close()
	chain, err := env.resolveChain(f.chain)
	if err != nil {
		return err
	}
	p := trace.Params{Chain: chain, From: splitList(f.from), FromTxs: splitList(f.txs),
		Direction: trace.Direction(f.direction), Model: trace.Model(f.model), Hops: f.hops, Asset: f.asset,
		ThroughMixers: f.throughMixers, NoSwaps: f.noSwaps, ChangeSameHop: f.changeSameHop, StopAt: splitList(f.stopAt)}
	if f.incident != "" {
		if err := addIncidentSources(ctx, &p, f.incident); err != nil {
			return err
		}
	}
	if p.MinValue, err = model.ParseAmount(f.min); err != nil {
		return fmt.Errorf("--min: %w", err)
	}
	if p.Since, err = parseTime("since", f.since); err != nil {
		return err
	}
	if p.Until, err = parseTime("until", f.until); err != nil {
		return err
	}
	m := env.Multi()
	g.log.Info("tracing", "chain", chain, "direction", p.Direction, "model", p.Model, "hops", p.Hops, "sources", len(p.From)+len(p.FromTxs))
	res, err := m.Trace(ctx, p)
	if err != nil {
		return err
	}
	switch f.group {
	case "address":
	case "cluster":
		of, err := env.ClusterOf(ctx)
		if err != nil {
			return err
		}
		trace.GroupByCluster(res, of)
	default:
		return fmt.Errorf("--group %q: want address or cluster", f.group)
	}
	if f.save {
		sum, err := tracestore.Save(ctx, g.dataDir, res)
		if err != nil {
			return err
		}
		g.log.Info("trace saved", "id", sum.ID, "endpoints", sum.Endpoints, "holdings", sum.Holdings, "file", filepath.Join(tracestore.Dir(g.dataDir), sum.ID+".json"))
	}
	return writeTraceResult(g, res, f.format, f.asJSON, f.table, f.output, env.units(ctx))
}

// writeTraceResult writes a trace result in format (json when asJSON) to
// output, standard output when empty.
func writeTraceResult(g *globals, res *trace.Result, format string, asJSON bool, table, output string, units trace.Units) error {
	w := g.out
	if output != "" {
		file, err := os.Create(output)
		if err != nil {
			return fmt.Errorf("trace: %w", err)
		}
		defer file.Close()
		w = file
	}
	if asJSON {
		format = "json"
	}
	switch format {
	case "json":
		return trace.WriteJSON(w, res)
	case "csv":
		return trace.WriteCSV(w, res, table)
	case "dot":
		return trace.WriteDOT(w, res, units)
	case "text":
		return writeTraceText(w, res, units)
	}
	return fmt.Errorf("--format %q: want text, json, csv or dot", format)
}

// addIncidentSources adds the addresses and transactions the registry
// holds for incident id on p's chain to p's sources.
func addIncidentSources(ctx context.Context, p *trace.Params, id string) error {
	recs, err := loadRegistry(ctx)
	if err != nil {
		return err
	}
	for i := range recs {
		if recs[i].ID != id {
			continue
		}
		labelChain := p.Chain
		if strings.HasPrefix(labelChain, "eth-") {
			labelChain = "eth"
		}
		a, txs := incident.TraceSources(&recs[i], labelChain)
		if len(a) == 0 && len(txs) == 0 {
			return fmt.Errorf("trace: incident %s lists no attacker addresses or transactions on %s", id, p.Chain)
		}
		p.From = append(p.From, a...)
		p.FromTxs = append(p.FromTxs, txs...)
		p.Incident = id
		return nil
	}
	return fmt.Errorf("trace: no incident %q in the registry (see \"chaintrace incidents list\")", id)
}

func writeTraceText(w io.Writer, r *trace.Result, u trace.Units) error {
	p := &r.Params
	fmt.Fprintf(w, "trace %s %s on %s from %s, %d hops", p.Direction, p.Model, p.Chain, strings.Join(append(append([]string{}, p.From...), p.FromTxs...), ", "), p.Hops)
	for c, h := range r.Heights {
		fmt.Fprintf(w, "; %s at height %d", c, h)
	}
	fmt.Fprintf(w, "\n%d transactions, %d addresses, %.1f ms\n", r.Stats.Txs, r.Stats.Addresses, float64(r.Stats.Elapsed.Microseconds())/1000)
	if r.Stats.Truncated {
		fmt.Fprintln(w, "work limit reached: the rest is counted as beyond limits")
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\ntotals")
	for _, t := range r.Totals {
		d := func(a model.Amount) string { return u.Display(t.Chain, t.Asset, a) }
		fmt.Fprintf(tw, "  %s %s\tsource %s\tendpoints %s\tmixers %s\tunspent %s\tdust %s\tbeyond limits %s\tfees %s",
			t.Chain, t.Asset, d(t.Source), d(t.Endpoints), d(t.Mixers), d(t.Unspent), d(t.Dust), d(t.BeyondLimits), d(t.Fees))
		for _, x := range []struct {
			name string
			v    model.Amount
		}{{"swapped in", t.SwappedIn}, {"bridged in", t.BridgedIn}, {"swapped out", t.SwappedOut}, {"bridged out", t.BridgedOut}, {"burnt", t.Burnt}, {"minted", t.Minted}} {
			if !x.v.IsZero() {
				fmt.Fprintf(tw, "\t%s %s", x.name, d(x.v))
			}
		}
		if p.Model != trace.Poison {
			fmt.Fprintf(tw, "\tbalanced %v", t.Balanced())
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(r.Endpoints) > 0 {
		fmt.Fprintln(w, "\nendpoints")
		for _, e := range r.Endpoints {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%.2f%%\thop %d\t%d txs\n", e.Address, e.Entity, e.Category, u.Display(e.Chain, e.Asset, e.Tainted), e.Share*100, e.Hop, e.Txs)
		}
		tw.Flush()
	}
	if len(r.Holdings) > 0 {
		fmt.Fprintln(w, "\nholdings")
		for i, h := range r.Holdings {
			if i == 20 {
				fmt.Fprintf(w, "  ... %d more (see --json or --format csv --table holdings)\n", len(r.Holdings)-i)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\thop %d\n", h.Address, u.Display(h.Chain, h.Asset, h.Amount), h.Hop)
		}
		tw.Flush()
	}
	for _, c := range r.Crossings {
		cont := "not continued: no matching release"
		if c.Continued != "" {
			cont = "continued at " + c.Continued
		}
		fmt.Fprintf(w, "\nbridge %s: %s into %s in %s (%s)", c.Bridge, u.Display(c.Chain, c.Asset, c.Tainted), c.To, c.Tx, cont)
	}
	if len(r.Crossings) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%d edges in the flow graph (--format dot or --json for all)\n", len(r.Edges))
	return nil
}
