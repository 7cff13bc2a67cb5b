package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/web"
	"github.com/spf13/cobra"
)

// screenEnv is what screening needs: the label store and index, the
// Bitcoin graphs for exposure, and the stores to close afterwards.
type screenEnv struct {
	labels   *labels.Live
	screener *screen.Screener
	// stores are the chain stores opened, by directory, for deposit
	// screening and the chain routes to share (a store opens once per
	// process).
	stores  map[string]*store.DB
	closers []func() error
}

func (e *screenEnv) Close() {
	for _, c := range e.closers {
		_ = c()
	}
}

// openScreenEnv opens the label store and every Bitcoin store under
// --data (read-only) as exposure graphs, and the EVM stores beside them
// for the API's chain routes and deposit screening.
func openScreenEnv(ctx context.Context, g *globals, rulesPath string) (*screenEnv, error) {
	env := &screenEnv{stores: map[string]*store.DB{}}
	// The server holds no lock on the label store (labels.Live), so
	// that label imports run while it serves.
	live, err := labels.OpenLive(ctx, labelsDir(g.dataDir), 0)
	if err != nil {
		return nil, err
	}
	env.labels = live
	ix := live.Current()
	graphs := map[string]screen.Graph{}
	dirs, _ := filepath.Glob(filepath.Join(g.dataDir, "btc-*"))
	for _, dir := range dirs {
		db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
		if err != nil {
			g.log.Warn("Bitcoin store not usable for exposure", "dir", dir, "err", err)
			continue
		}
		env.closers = append(env.closers, db.Close)
		env.stores[dir] = db
		gr, err := screen.NewBTCGraph(db)
		if err != nil {
			g.log.Warn("Bitcoin store not usable for exposure", "dir", dir, "err", err)
			continue
		}
		graphs[gr.Chain()] = gr
	}
	// The EVM stores serve the chain routes and deposit screening; they
	// are no exposure graph.
	dirs, _ = filepath.Glob(filepath.Join(g.dataDir, "eth-*"))
	for _, dir := range dirs {
		db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
		if err != nil {
			g.log.Warn("EVM store not usable", "dir", dir, "err", err)
			continue
		}
		env.closers = append(env.closers, db.Close)
		env.stores[dir] = db
	}
	rules := screen.DefaultRules()
	if rulesPath != "" {
		if rules, err = screen.LoadRules(rulesPath); err != nil {
			env.Close()
			return nil, err
		}
	}
	if env.screener, err = screen.New(ix, graphs, rules); err != nil {
		env.Close()
		return nil, err
	}
	return env, nil
}

func newScreenCmd(g *globals) *cobra.Command {
	var chain, rules string
	var asJSON, noExposure bool
	var hops int
	cmd := &cobra.Command{
		Use:   "screen ADDRESS...",
		Short: "Screen addresses: identifications (sanctions, actors, services), exposure and a risk rating",
		Long: `Screen one or more addresses against the label database (import labels
first with "chaintrace labels import"). For each address: its direct
identifications (category, name, actor and root actor, source, dataset,
confidence, OFAC entity and programmes), its exposure when the chain is
ingested (counterparties with labels, and value received from labelled
sources within --hops transactions back, by category, with the haircut
model), and a risk rating from the rules (--rules FILE, YAML or JSON;
default rules: sanctioned address SEVERE, hack/ransomware/fraud/mixer HIGH,
exposure to sanctioned sources >=10% HIGH and >=1% MEDIUM, ...).

An address nobody labelled answers "no identifications", risk LOW.`,
		Example: `  chaintrace screen --chain eth 0x098B716B8Aaf21512996dC57EB0615e2383E2f96
  chaintrace screen --chain btc --hops 4 --json 1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := openScreenEnv(ctx, g, rules)
			if err != nil {
				return err
			}
			defer env.Close()
			var results []screen.Result
			for _, a := range args {
				r, err := env.screener.Screen(ctx, chain, a, screen.Options{Hops: hops, NoExposure: noExposure})
				if err != nil {
					return err
				}
				results = append(results, r)
			}
			if asJSON {
				if len(results) == 1 {
					return printJSON(g.out, results[0])
				}
				return printJSON(g.out, results)
			}
			for _, r := range results {
				printScreen(g, r)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&chain, "chain", "eth", "chain of the addresses (btc, eth, trx, ltc, ...)")
	fl.StringVar(&rules, "rules", "", "risk rules file (YAML or JSON)")
	fl.IntVar(&hops, "hops", screen.DefaultHops, "transactions back for indirect exposure")
	fl.BoolVar(&noExposure, "no-exposure", false, "identifications only")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printScreen(g *globals, r screen.Result) {
	w := g.out
	fmt.Fprintf(w, "%s %s: risk %s", r.Chain, r.Address, r.Risk.Level)
	if r.Risk.Rule != "" {
		fmt.Fprintf(w, " (rule %s: %s)", r.Risk.Rule, r.Risk.Reason)
	}
	fmt.Fprintln(w)
	if len(r.Identifications) == 0 {
		fmt.Fprintln(w, "  no identifications")
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, id := range r.Identifications {
		actor := "-"
		if id.Actor.ID != "" {
			actor = id.Actor.ID
			if id.Actor.Root != "" && id.Actor.Root != id.Actor.ID {
				actor += " (part of " + id.Actor.Root + ")"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s (%d)\t%s\n", id.Name, orDash(id.Category), orDash(id.Abuse), actor, id.Confidence, id.ConfidenceLevel, id.Dataset)
	}
	tw.Flush()
	if e := r.Exposure; e != nil {
		fmt.Fprintf(w, "  exposure over %d transactions, %d hops: received %s, sent %s\n", e.Txs, e.Hops, model.FormatSats(e.Received), model.FormatSats(e.Sent))
		for _, in := range e.Indirect {
			fmt.Fprintf(w, "    %-16s %s (%.2f%% of received)\n", in.Category, model.FormatSats(in.Value), in.Share*100)
		}
		if e.Truncated {
			fmt.Fprintln(w, "    (history truncated: raise the transaction budget)")
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func newServeCmd(g *globals) *cobra.Command {
	var addr, rules string
	var rescreenEvery time.Duration
	var anonymous, rateLimit string
	var traces traceLimits
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API (screening, labels, actors, chain data, metrics)",
		Long: `Serve chaintrace's REST API from the stores in --data:

  GET  /api/v1/screen/{chain}/{address}?hops=N&exposure=false
  POST /api/v1/screen            {"addresses":[{"chain":"eth","address":"0x..."}]}
  GET  /api/v1/labels/{chain}/{address}
  GET  /api/v1/actors/{id}
  POST /api/v1/transfers         {"chain":"btc","tx":"...","output_index":0,"user_id":"u-1"}
  GET  /api/v1/transfers/{id}, GET /api/v1/transfers?user_id=&rating=
  GET  /api/v1/chains, GET /api/v1/chains/{chain}    stores, tips, stage progress
  GET  /api/v1/chains/{chain}/blocks/{height|hash}?cursor=&limit=
  GET  /api/v1/chains/{chain}/txs/{hash}             with every party's labels
  GET  /api/v1/chains/{chain}/addresses/{address}    balances, labels, cluster
  GET  /api/v1/chains/{chain}/addresses/{address}/txs?cursor=&limit=
  GET  /api/v1/chains/{chain}/addresses/{address}/neighbors?direction=in|out&limit=
  GET  /api/v1/chains/{chain}/clusters/{id}          Bitcoin cluster: totals, labels, members
  GET  /api/v1/chains/{chain}/clusters/{id}/neighbors?direction=in|out&limit=
  GET  /api/v1/incidents?from=&to=&actor=&victim_type=&vector=&chain=&q=&cursor=&limit=
  GET  /api/v1/incidents/{id}, GET /api/v1/incidents/reconciliation
  GET  /api/v1/incidents/stats?by=year|actor|victim_type|vector|chain&from=&to=&actor=
  GET  /api/v1/search?q=    addresses, txs, blocks, clusters, actors, incidents, labels
  POST /api/v1/traces[?wait=30s]  {"chain":"btc","from":["..."],"hops":6}: a trace job
  GET  /api/v1/traces[/{id}[/result?format=json|csv|dot]], DELETE /api/v1/traces/{id}
  POST /api/v1/cases, GET /api/v1/cases[/{id}], PUT|DELETE /api/v1/cases/{id} (If-Match)
  GET  /healthz, GET /metrics (Prometheus)
  GET  /                         the web interface (search, incidents, graph, screening)

The incident routes serve <data>/incidents when it holds a registry
(with its published.yaml, if any), else the registry built in.
Errors are RFC 9457 problem details; every response carries X-Request-Id.
Requests authenticate with an API key ("chaintrace apikey create"):
Authorization: Bearer <key> or X-API-Key: <key>. --anonymous read lets
requests without one use the GET routes; write routes need a write key,
the audit log (GET /api/v1/audit) an admin key. Writes are logged to
<data>/audit/audit.jsonl.
SIGHUP reloads the label index after an import and re-screens the
registered transfers (as does a change to the labels, incidents or traces
noticed every --rescreen-every); SIGINT/SIGTERM shut down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sec, err := parseServeSecurity(anonymous, rateLimit)
			if err != nil {
				return err
			}
			sec.traces = traces
			return serveAPIWith(cmd.Context(), g, addr, rules, rescreenEvery, sec)
		},
	}
	cmd.Flags().StringVar(&anonymous, "anonymous", "read", "what requests without an API key may do: read (GET routes) or none (only /healthz and the OpenAPI document)")
	cmd.Flags().StringVar(&rateLimit, "rate-limit", api.DefaultRateLimits().String(), "token buckets per API key and per anonymous client IP: ROLE=N/s[:BURST],... (roles anonymous, read, write, admin; N/m per minute; 0 unlimited), or off")
	cmd.Flags().DurationVar(&rescreenEvery, "rescreen-every", time.Minute, "how often to look for changed labels, incidents and traces, and for pending transfers (0: only on SIGHUP)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT")
	cmd.Flags().StringVar(&rules, "rules", "", "risk rules file (YAML or JSON)")
	traces.flags(cmd)
	return cmd
}

// serveAPI serves the REST API from the stores in g.dataDir on addr until
// ctx ends, re-screening registered transfers every minute when due.
func serveAPI(ctx context.Context, g *globals, addr, rules string) error {
	return serveAPIEvery(ctx, g, addr, rules, time.Minute)
}

// serveAPIEvery is serveAPI looking for changes every rescreenEvery.
func serveAPIEvery(ctx context.Context, g *globals, addr, rules string, rescreenEvery time.Duration) error {
	return serveAPIWith(ctx, g, addr, rules, rescreenEvery, serveSecurity{anonymous: auth.RoleRead, limits: api.DefaultRateLimits()})
}

// serveAPIWith is serveAPIEvery with API keys from --data's key file,
// anonymous access, rate limits, the audit log and label imports.
func serveAPIWith(ctx context.Context, g *globals, addr, rules string, rescreenEvery time.Duration, sec serveSecurity) error {
	keys, err := auth.OpenKeyring(g.dataDir, auth.DefaultCheckEvery)
	if err != nil {
		return err
	}
	env, err := openScreenEnv(ctx, g, rules)
	if err != nil {
		return err
	}
	defer env.Close()
	if os.Getenv("GOGC") == "" {
		// The label index is a large, long-lived heap (about 450 MB
		// per million labels); collecting less often keeps tail
		// latency down at a modest memory cost.
		debug.SetGCPercent(400)
	}
	reg, stopKYT := startKYT(ctx, g, env, rescreenEvery)
	defer stopKYT()
	cfg := api.Config{Screener: env.screener, Labels: env.labels, Logger: g.log, Version: "dev", AlertData: g.dataDir,
		Chains: apiChains(g, env),
		Keys:   keys, Anonymous: sec.anonymous, RateLimits: sec.limits, AuditData: g.dataDir,
		LabelData: g.dataDir, LabelSource: importedLabels{ctx, g, env.labels, reg}}
	if reg != nil {
		cfg.Transfers = reg
	}
	if cfg.Incidents, err = serveIncidents(ctx, g.dataDir); err != nil {
		return err
	}
	tracer := newServeTracer(g, env, cfg.Incidents)
	defer tracer.Close()
	cfg.Traces, cfg.Cases = sec.traces.config(tracer, g.dataDir), newServeCases(g)
	srv := api.NewServer(cfg)
	srv.MountUI(web.Handler())
	// Traces under way stop before the stores they read close.
	defer srv.CloseTraces()
	go reloadOnHUP(ctx, g, srv, env.labels, reg)
	g.log.Info("serving", "addr", addr, "labelled_addresses", env.screener.Index().Len())
	err = srv.Run(ctx, addr)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// reloadOnHUP rebuilds the label index on SIGHUP, so a label import
// reaches a running server at once (the server's poll finds it within
// --rescreen-every otherwise), and re-screens the registered transfers
// (reg may be nil) against it.
func reloadOnHUP(ctx context.Context, g *globals, srv *api.Server, st *labels.Live, reg *kyt.Registry) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := srv.Reload(ctx, st); err != nil {
				g.log.Error("label index reload failed", "err", err)
				continue
			}
			g.log.Info("label index reloaded", "labelled_addresses", srv.Screener().Index().Len())
			rescreenKYT(ctx, g, reg)
		}
	}
}
