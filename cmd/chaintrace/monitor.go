package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/alert"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/tracestore"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
)

// newMonitorCmds returns the watch, alerts and webhook commands.
func newMonitorCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newWatchCmd(g), newAlertsCmd(g), newWebhookCmd(g)}
}

func newWatchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "watch", Short: "Watch addresses for movements (alerts from ingest --follow)"}
	var chain, name, fromTrace string
	var addrList, rules []string
	var sel selectorFlags
	add := &cobra.Command{
		Use:   "add (--chain CHAIN --address A[,B] | --from-trace ID|FILE.json | --actor A | --category C | --cluster ADDR --chain CHAIN)",
		Short: "Add a watch: addresses with rules any, above:AMOUNT[:ASSET], category:C, entity:NAME",
		Example: `  chaintrace watch add --chain btc --address bc1q... --rule category:exchange --name "hot wallet theft"
  chaintrace watch add --chain eth --address 0x... --rule any --rule above:10000:USDT
  chaintrace watch add --from-trace tr-3f9c2a71d04b8e65 --rule any
  chaintrace watch add --actor lazarusgroup --rule any
  chaintrace watch add --category sanctioned --chain btc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rs []monitor.Rule
			for _, s := range rules {
				r, err := monitor.ParseRule(s)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			if sel.set() {
				return addSelectorWatches(cmd.Context(), g, &sel, chain, name, rs, len(addrList) > 0 || fromTrace != "")
			}
			var ws []monitor.Watch
			if fromTrace != "" {
				var err error
				if ws, err = watchesFromTrace(cmd.Context(), g.dataDir, fromTrace, chain, name, rs); err != nil {
					return err
				}
			} else {
				ws = []monitor.Watch{{Chain: chain, Name: name, Addresses: addrList, Rules: rs}}
			}
			ws, err := monitor.AddWatches(cmd.Context(), g.dataDir, ws)
			if err != nil {
				return err
			}
			for _, w := range ws {
				fmt.Fprintf(g.out, "%s\t%s\t%d addresses\t%s\n", w.ID, w.Chain, len(w.Addresses), rulesText(w.Rules))
			}
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&chain, "chain", "", "chain id: btc, btc-testnet, btc-signet, btc-regtest, btc-simnet, eth (Ethereum mainnet) or eth-NAME (the store of ingest eth --chain NAME)")
	f.StringSliceVar(&addrList, "address", nil, "watched addresses (comma-separated or repeated)")
	f.StringArrayVar(&rules, "rule", nil, "rule: any, above:AMOUNT (in BTC or ETH), above:AMOUNT:ASSET (token symbol or contract), category:CATEGORY, entity:NAME (repeatable; default any)")
	f.StringVar(&name, "name", "", "a name for the watch")
	f.StringVar(&fromTrace, "from-trace", "", "watch the holdings of a saved trace (its id: chaintrace trace --save, traces list) or of a trace file (chaintrace trace --json -o FILE)")
	sel.register(f)
	var asJSON bool
	list := &cobra.Command{
		Use: "list", Short: "List the watches", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := monitor.Watches(g.dataDir)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.out, ws)
			}
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCHAIN\tNAME\tRULES\tADDRESSES")
			for _, w := range ws {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", w.ID, w.Chain, w.Name, rulesText(w.Rules), strings.Join(w.Addresses, ","))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	rm := &cobra.Command{
		Use: "rm ID", Short: "Remove a watch", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return monitor.RemoveWatch(cmd.Context(), g.dataDir, args[0])
		},
	}
	cmd.AddCommand(add, list, rm, newWatchRefreshCmd(g))
	return cmd
}

func rulesText(rs []monitor.Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	return strings.Join(s, ",")
}

// watchesFromTrace makes one watch per monitored chain of a trace's
// holdings (the unspent tainted outputs' addresses); only restricts to
// one chain when set.
func watchesFromTrace(ctx context.Context, data, ref, only, name string, rs []monitor.Rule) ([]monitor.Watch, error) {
	var res *trace.Result
	source := ref
	if tracestore.ValidID(ref) {
		r, _, err := tracestore.Load(ctx, data, ref)
		if err != nil {
			return nil, fmt.Errorf("--from-trace: %w", err)
		}
		res = r
	} else {
		b, err := os.ReadFile(ref)
		if err != nil {
			return nil, fmt.Errorf("--from-trace: %w (want a saved trace id, see chaintrace traces list, or a file of chaintrace trace --json)", err)
		}
		if res, err = tracestore.Decode(ref, b); err != nil {
			return nil, fmt.Errorf("--from-trace: %w", err)
		}
		source = filepath.Base(ref)
	}
	if res.Params.Direction == trace.Backward {
		return nil, fmt.Errorf("--from-trace %s: a backward trace's holdings are origins, not where the funds are: watch a forward trace", ref)
	}
	byChain := map[string][]string{}
	var order []string
	for _, h := range res.Holdings {
		if only != "" && h.Chain != only || h.Address == "" {
			continue
		}
		if _, _, err := monitor.ChainNetwork(h.Chain); err != nil && !monitor.IsEVM(h.Chain) {
			continue
		}
		if byChain[h.Chain] == nil {
			order = append(order, h.Chain)
		}
		if !slices.Contains(byChain[h.Chain], h.Address) {
			byChain[h.Chain] = append(byChain[h.Chain], h.Address)
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("--from-trace %s: no holdings on a monitored chain", ref)
	}
	if name == "" {
		name = "trace " + source
	}
	var ws []monitor.Watch
	for _, c := range order {
		w := monitor.Watch{Chain: c, Name: name, Addresses: byChain[c], Rules: rs, Source: "trace:" + source}
		if !monitor.IsEVM(c) {
			// The Bitcoin monitor extends the watch the way the
			// trace followed the funds; the account monitor has its
			// own model (tainted first).
			w.Model = string(res.Params.Model)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "List alerts, deliver them to webhooks, show dead letters"}
	var chain string
	var asJSON, follow bool
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List stored alerts (and retractions), oldest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			as, err := listAlerts(cmd.Context(), g, chain, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.out, as)
			}
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tID\tKIND\tWATCH\tRULE\tHEIGHT\tTX\tDIR\tAMOUNT\tASSET")
			for _, a := range as {
				// Value (base units) is set on every alert since the
				// account monitor; older Bitcoin alerts have Amount.
				amount := a.Value
				if amount == "" {
					amount = strconv.FormatInt(a.Amount, 10)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", a.Seq, a.ID, a.Kind, a.Watch, a.Rule, a.Height, a.Tx, a.Direction, amount, a.Asset)
			}
			return tw.Flush()
		},
	}
	deliver := &cobra.Command{
		Use: "deliver", Short: "Deliver pending alerts to the webhooks (until none is left, or with --follow until interrupted)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openMonitorStore(cmd.Context(), g, chain, false)
			if err != nil {
				return err
			}
			defer db.Close()
			d := alert.NewDeliverer(db, alert.Options{Data: g.dataDir, Logger: g.log})
			if follow {
				return d.Run(cmd.Context())
			}
			return d.Drain(cmd.Context())
		},
	}
	dead := &cobra.Command{
		Use: "dead", Short: "List deliveries given up after the last retry", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openMonitorStore(cmd.Context(), g, chain, true)
			if err != nil {
				return err
			}
			defer db.Close()
			ds, err := alert.DeadLetters(cmd.Context(), db)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.out, ds)
			}
			for _, d := range ds {
				fmt.Fprintf(g.out, "%d\t%s\t%s\t%d attempts\t%s\n", d.Seq, d.AlertID, d.Webhook, d.Attempts, d.Error)
			}
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, deliver, dead} {
		c.Flags().StringVar(&chain, "chain", "", "chain id, btc-... or eth[-NAME] (default: the only Bitcoin store under --data)")
	}
	tail := newAlertsTailCmd(g)
	list.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	list.Flags().IntVar(&limit, "limit", 0, "at most this many (0: all)")
	dead.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	deliver.Flags().BoolVar(&follow, "follow", false, "keep delivering until interrupted")
	cmd.AddCommand(list, deliver, dead, tail, newAlertsCompactCmd(g))
	return cmd
}

func newWebhookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Webhook targets of alerts"}
	var secret string
	var allowPrivate bool
	add := &cobra.Command{
		Use: "add URL --secret S", Short: "Add a webhook (http or https; private addresses need --allow-private)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := alert.AddWebhook(cmd.Context(), g.dataDir, args[0], secret, allowPrivate)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s\t%s\n", h.ID, h.URL)
			return nil
		},
	}
	add.Flags().StringVar(&secret, "secret", "", "HMAC-SHA256 key of the "+alert.HeaderSignature+" header")
	add.Flags().BoolVar(&allowPrivate, "allow-private", false, "allow loopback, private and link-local targets")
	list := &cobra.Command{
		Use: "list", Short: "List webhooks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hs, err := alert.Webhooks(g.dataDir)
			for _, h := range hs {
				fmt.Fprintf(g.out, "%s\t%s\tallow_private=%v\n", h.ID, h.URL, h.AllowPrivate)
			}
			return err
		},
	}
	rm := &cobra.Command{
		Use: "rm ID", Short: "Remove a webhook", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return alert.RemoveWebhook(cmd.Context(), g.dataDir, args[0])
		},
	}
	cmd.AddCommand(add, list, rm)
	return cmd
}

// openMonitorStore opens the store of a chain id (Bitcoin or EVM), or
// the only Bitcoin one under --data, or the only EVM one when there is
// no Bitcoin store.
func openMonitorStore(ctx context.Context, g *globals, chain string, readOnly bool) (*store.DB, error) {
	if chain == "" {
		btcs, _ := filepath.Glob(filepath.Join(g.dataDir, "btc-*"))
		eths, _ := filepath.Glob(filepath.Join(g.dataDir, "eth-*"))
		if len(btcs) == 0 && len(eths) == 1 {
			chain = workspace.ETHChainID(strings.TrimPrefix(filepath.Base(eths[0]), "eth-"))
		}
	}
	var dir string
	var meta store.ChainMeta
	if monitor.IsEVM(chain) {
		network, err := monitor.EVMNetwork(chain)
		if err != nil {
			return nil, err
		}
		dir, meta = workspace.ETHStoreDir(g.dataDir, network), store.ChainMeta{Chain: "eth", Network: network}
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("no store for %s at %s: run \"chaintrace ingest eth\" first", chain, dir)
		}
	} else {
		network := ""
		if chain != "" {
			_, n, err := monitor.ChainNetwork(chain)
			if err != nil {
				return nil, err
			}
			network = n
		}
		network, err := findBTCNetwork(g.dataDir, network)
		if err != nil {
			return nil, err
		}
		dir, meta = workspace.BTCStoreDir(g.dataDir, network), store.ChainMeta{Chain: "btc", Network: network}
	}
	db, err := store.Open(ctx, dir, meta, store.Options{ReadOnly: readOnly, Logger: g.log})
	if err != nil {
		return nil, fmt.Errorf("%w (a following ingest holds the store: its alerts are delivered by it)", err)
	}
	return db, nil
}

// ingestBTCMonitored is the Bitcoin ingest of the CLI: the monitor stage
// evaluates new blocks against the watches under --data and, with
// follow, a deliverer sends the alerts to the webhooks alongside.
func ingestBTCMonitored(ctx context.Context, g *globals, src ingest.BlockSource, network string, opts ingest.Options) (ingest.Status, error) {
	m, err := monitor.New(monitor.Options{Chain: btc.ChainID(network), Data: g.dataDir, Labels: labelIndex(ctx, g), Logger: g.log})
	if err != nil {
		return ingest.Status{}, err
	}
	db, err := store.Open(ctx, workspace.BTCStoreDir(g.dataDir, network), store.ChainMeta{Chain: "btc", Network: network}, store.Options{Bulk: true, Logger: g.log})
	if err != nil {
		return ingest.Status{}, err
	}
	defer db.Close()
	opts.Monitor = m
	st, err := runMonitored(ctx, g, db, btc.ChainID(network), opts.Follow, func() (ingest.Status, error) {
		return ingest.NewBTC(db, src, opts).Run(ctx)
	})
	if err != nil {
		return st, err
	}
	if err := db.Flush(); err != nil {
		return st, err
	}
	g.log.Info("ingest done", "tip_height", st.Height, "blocks", st.Blocks, "txs", st.Txs, "unwound", st.Unwound,
		"elapsed", st.Elapsed.Round(time.Millisecond).String(), "store_bytes", db.DiskUsage())
	return st, nil
}

// newETHMonitor returns the account monitor of an EVM store's chain id,
// following the watches under --data; tokens without stored metadata are
// asked of caller (the ingest's node) when a watched transfer moves them.
func newETHMonitor(ctx context.Context, g *globals, chain string, caller eth.Caller) (*monitor.EthMonitor, error) {
	var fetch func(context.Context, [20]byte) (store.TokenMeta, error)
	if caller != nil {
		fetch = func(ctx context.Context, a [20]byte) (store.TokenMeta, error) {
			m, err := eth.FetchTokenMeta(ctx, caller, common.Address(a), "latest")
			if err != nil {
				return store.TokenMeta{}, err
			}
			return store.TokenMeta{Decimals: m.Decimals, HasDecimals: m.HasDecimals, Name: m.Name, Symbol: m.Symbol}, nil
		}
	}
	return monitor.NewEth(monitor.Options{Chain: chain, Data: g.dataDir, Labels: labelIndex(ctx, g), Logger: g.log, FetchToken: fetch})
}

// runMonitored runs an ingest (run) of a monitored chain's store db and,
// with follow, a deliverer sending its alerts to the webhooks and the
// alert journal's writer alongside; without follow it journals the new
// alerts at the end.
func runMonitored(ctx context.Context, g *globals, db *store.DB, chain string, follow bool, run func() (ingest.Status, error)) (ingest.Status, error) {
	dctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	jw := monitor.NewJournalWriter(g.dataDir, chain)
	if follow {
		d := alert.NewDeliverer(db, alert.Options{Data: g.dataDir, Logger: g.log})
		wg.Go(func() { _ = d.Run(dctx) })
		wg.Go(func() {
			jw.Run(dctx, db, 100*time.Millisecond, func(err error) { g.log.Warn("monitor: journalling alerts failed", "err", err) })
		})
	}
	st, err := run()
	stop()
	wg.Wait()
	if err != nil && follow && ctx.Err() != nil {
		// Interrupting a follower is how it ends: a source call the
		// interruption cut short is not a failure.
		g.log.Info("ingest: follower stopped", "err", err)
		err = nil
	}
	if err != nil {
		return st, err
	}
	if !follow {
		if _, err := jw.Sync(ctx, db); err != nil {
			return st, err
		}
	}
	return st, nil
}

// labelIndex loads the label index for the monitor's category and entity
// rules; without a label store there is none.
func labelIndex(ctx context.Context, g *globals) monitor.Labeler {
	dir := workspace.LabelsDir(g.dataDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	ls, err := labels.Open(ctx, dir)
	if err != nil {
		g.log.Warn("monitor: labels unavailable; category and entity rules will not match", "err", err)
		return nil
	}
	defer ls.Close()
	ix, err := ls.Index(ctx)
	if err != nil {
		g.log.Warn("monitor: labels unavailable; category and entity rules will not match", "err", err)
		return nil
	}
	return ix
}
