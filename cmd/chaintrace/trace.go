package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/ethcluster"
	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
)

// traceEnv holds every store under --data opened read-only as a trace
// engine, keyed by chain id, with what display and bridges need.
type traceEnv struct {
	engines map[string]trace.Engine
	listers map[string]trace.PaymentLister
	eth     map[string]*store.DB // account stores, for token units
	btc     map[string]*store.DB // Bitcoin stores, for clusters
	labels  trace.Labeler
	lstore  *labels.Store // nil without a label database
	rules   []trace.BridgeRule
	closers []func() error
}

func (e *traceEnv) Close() {
	for _, c := range e.closers {
		_ = c()
	}
}

// ethChainID maps an EVM store's chain name to the chain id of labels.
func ethChainID(name string) string {
	switch name {
	case "ethereum", "mainnet":
		return "eth"
	}
	return "eth-" + name
}

func openTraceEnv(ctx context.Context, g *globals, bridgesPath string) (*traceEnv, error) {
	env := &traceEnv{engines: map[string]trace.Engine{}, listers: map[string]trace.PaymentLister{}, eth: map[string]*store.DB{}}
	if _, err := os.Stat(labelsDir(g.dataDir)); err == nil {
		st, err := openLabels(ctx, g)
		if err != nil {
			return nil, err
		}
		env.closers = append(env.closers, st.Close)
		env.lstore = st
		ix, err := st.Index(ctx)
		if err != nil {
			env.Close()
			return nil, err
		}
		// A simulated or private EVM chain takes Ethereum's labels.
		env.labels = trace.AddrChainLabeler{Base: ix}
	} else {
		g.log.Warn("no label database: tracing without stop rules (import labels with \"chaintrace labels import\")")
	}
	btcDBs := map[string]*store.DB{}
	dirs, _ := filepath.Glob(filepath.Join(g.dataDir, "btc-*"))
	for _, dir := range dirs {
		db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
		if err != nil {
			g.log.Warn("Bitcoin store not usable for tracing", "dir", dir, "err", err)
			continue
		}
		env.closers = append(env.closers, db.Close)
		chain := btc.ChainID(db.Meta().Network)
		btcDBs[chain] = db
		if env.listers[chain], err = trace.NewUTXOPayments(db, chain); err != nil {
			env.Close()
			return nil, err
		}
	}
	dirs, _ = filepath.Glob(filepath.Join(g.dataDir, "eth-*"))
	for _, dir := range dirs {
		db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
		if err != nil {
			g.log.Warn("EVM store not usable for tracing", "dir", dir, "err", err)
			continue
		}
		env.closers = append(env.closers, db.Close)
		chain := ethChainID(db.Meta().Network)
		env.listers[chain] = trace.NewAccountPayments(db, chain)
		env.eth[chain] = db
	}
	if bridgesPath != "" {
		rules, skipped, err := trace.LoadBridges(bridgesPath, env.listers)
		if err != nil {
			env.Close()
			return nil, err
		}
		if len(skipped) > 0 {
			g.log.Warn("bridge rules skipped: their release chain has no store", "bridges", strings.Join(skipped, ", "))
		}
		env.rules = rules
		env.labels = trace.WithBridgeLabels(env.labels, rules)
	}
	env.btc = btcDBs
	for chain, db := range btcDBs {
		e, err := trace.NewUTXO(db, trace.UTXOOptions{Chain: chain, Labels: env.labels, Annotator: cluster.NewAnnotator(db)})
		if err != nil {
			env.Close()
			return nil, err
		}
		env.engines[chain] = e
	}
	for chain, db := range env.eth {
		e, err := trace.NewAccount(db, trace.AccountOptions{Chain: chain, Labels: env.labels})
		if err != nil {
			env.Close()
			return nil, err
		}
		env.engines[chain] = e
	}
	return env, nil
}

// clusterOf names the cluster of an address when it has more than one
// member: on Bitcoin stores by the multi-input index, on EVM stores by the
// deposit-address heuristic around the labelled exchanges (customers who
// share deposit addresses form one entity; deposit addresses join the
// exchange wallet they sweep to).
func (e *traceEnv) clusterOf(ctx context.Context) (trace.ClusterOf, error) {
	type chainIx struct {
		db  *store.DB
		ix  *cluster.Index
		net *chaincfg.Params
	}
	ixs := map[string]chainIx{}
	for chain, db := range e.btc {
		ix, err := cluster.Build(ctx, db)
		if err != nil {
			return nil, err
		}
		net, err := btc.Network(db.Meta().Network)
		if err != nil {
			return nil, err
		}
		ixs[chain] = chainIx{db, ix, net}
	}
	entities := map[string]map[string]string{} // chain -> lower-case address -> cluster name
	for chain, db := range e.eth {
		if e.lstore == nil {
			break
		}
		services, exclude, err := ethServices(ctx, e.lstore, chain)
		if err != nil {
			return nil, err
		}
		res, err := ethcluster.FindDeposits(ctx, db, services, ethcluster.Options{Exclude: func(a string) bool { return exclude[strings.ToLower(a)] }})
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, group := range res.Entities() {
			for _, a := range group {
				m[a] = "entity-" + group[0]
			}
		}
		for _, d := range res.Deposits {
			m[strings.ToLower(d.Address)] = "service-" + d.Wallet
			m[strings.ToLower(d.Wallet)] = "service-" + d.Wallet
		}
		entities[chain] = m
	}
	return func(chain, address string) (string, bool) {
		if m, ok := entities[chain]; ok {
			c, ok := m[strings.ToLower(address)]
			return c, ok
		}
		c, ok := ixs[chain]
		if !ok {
			return "", false
		}
		k, err := btc.ParseAddress(address, c.net)
		if err != nil {
			return "", false
		}
		id, err := c.db.AddrID(ctx, k.Bytes())
		if err != nil {
			return "", false
		}
		cid := c.ix.ClusterOf(id)
		if c.ix.Size(cid) < 2 {
			return "", false
		}
		return strconv.FormatUint(cid, 10), true
	}, nil
}

// resolveChain turns --chain (btc, eth, or a full chain id) into the id of
// an open store.
func (e *traceEnv) resolveChain(flag string) (string, error) {
	if _, ok := e.engines[flag]; ok {
		return flag, nil
	}
	var found []string
	for id := range e.engines {
		if strings.HasPrefix(id, flag+"-") || flag == "eth" && id == "eth" {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("no %s store under --data: ingest the chain first (\"chaintrace ingest %s\")", flag, strings.SplitN(flag, "-", 2)[0])
	}
	return "", fmt.Errorf("several stores match --chain %s (%s): give the full chain id", flag, strings.Join(found, ", "))
}

// units displays BTC with 8 decimals, native EVM coins with 18 and tokens
// with the decimals their contract reports.
func (e *traceEnv) units(ctx context.Context) trace.Units {
	return func(chain, asset string) (trace.AssetInfo, bool) {
		switch {
		case asset == "BTC":
			return trace.AssetInfo{Symbol: "BTC", Decimals: 8}, true
		case asset == "ETH" || asset == "native":
			return trace.AssetInfo{Symbol: "ETH", Decimals: 18}, true
		}
		db, ok := e.eth[chain]
		if !ok || !common.IsHexAddress(asset) {
			return trace.AssetInfo{}, false
		}
		id, err := db.AddrID(ctx, common.HexToAddress(asset).Bytes())
		if err != nil {
			return trace.AssetInfo{}, false
		}
		m, ok, err := db.Token(ctx, id)
		if err != nil || !ok || !m.HasDecimals {
			return trace.AssetInfo{}, false
		}
		sym := m.Symbol
		if sym == "" {
			sym = asset
		}
		return trace.AssetInfo{Symbol: sym, Decimals: m.Decimals}, true
	}
}

type traceFlags struct {
	chain, from, txs, direction, model, min, since, until, asset string
	format, table, output, bridges, stopAt, group, incident      string
	hops                                                         int
	asJSON, throughMixers, noSwaps, changeSameHop                bool
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

--incident ID starts from the attacker addresses and theft transactions
the incident registry holds for the chain (chaintrace incidents show ID).`,
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
	fl.StringVar(&f.stopAt, "stop-at", "", "categories to stop at, comma-separated (default: "+strings.Join(trace.StopCategories, ",")+")")
	fl.StringVar(&f.group, "group", "address", "flow-graph nodes: address, or cluster (Bitcoin: multi-input heuristic; EVM: deposit-address heuristic)")
	fl.StringVar(&f.bridges, "bridges", "", "bridge rules file (YAML) to continue across chains")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON (same as --format json)")
	fl.StringVar(&f.format, "format", "text", "output format: text, json, csv or dot")
	fl.StringVar(&f.table, "table", trace.TableEdges, "CSV table: edges, endpoints, holdings or totals")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file instead of standard output")
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
	env, err := openTraceEnv(ctx, g, f.bridges)
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
	m := &trace.Multi{Engines: env.engines, Rules: env.rules}
	g.log.Info("tracing", "chain", chain, "direction", p.Direction, "model", p.Model, "hops", p.Hops, "sources", len(p.From)+len(p.FromTxs))
	res, err := m.Trace(ctx, p)
	if err != nil {
		return err
	}
	switch f.group {
	case "address":
	case "cluster":
		of, err := env.clusterOf(ctx)
		if err != nil {
			return err
		}
		trace.GroupByCluster(res, of)
	default:
		return fmt.Errorf("--group %q: want address or cluster", f.group)
	}
	w := g.out
	if f.output != "" {
		file, err := os.Create(f.output)
		if err != nil {
			return fmt.Errorf("trace: %w", err)
		}
		defer file.Close()
		w = file
	}
	format := f.format
	if f.asJSON {
		format = "json"
	}
	units := env.units(ctx)
	switch format {
	case "json":
		return trace.WriteJSON(w, res)
	case "csv":
		return trace.WriteCSV(w, res, f.table)
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
