package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// selectorFlags are watch add's flags that choose addresses from labels
// or clusters instead of listing them.
type selectorFlags struct {
	actor, category, cluster string
}

// register adds the selector flags to watch add's flag set.
func (s *selectorFlags) register(f *pflag.FlagSet) {
	f.StringVar(&s.actor, "actor", "", "watch the addresses labelled with an actor and its sub-actors (id, name or alias: lazarusgroup, \"Lazarus Group\")")
	f.StringVar(&s.category, "category", "", "watch the addresses whose label has a category or abuse of the taxonomy (sanction or sanctioned, exchange, mixing_service, ...)")
	f.StringVar(&s.cluster, "cluster", "", "watch the members of the cluster of an address (needs --chain)")
}

// set reports whether a selector flag was given.
func (s *selectorFlags) set() bool { return s.actor != "" || s.category != "" || s.cluster != "" }

func (s *selectorFlags) selector() monitor.Selector {
	return monitor.Selector{Actor: s.actor, Category: s.category, Cluster: s.cluster}
}

// watchSources opens what selectors resolve against: the label database
// under --data (when there is one) and, on demand, the clustering of a
// Bitcoin chain's store, opened read-only. The returned function closes
// whatever was opened.
func watchSources(ctx context.Context, g *globals) (monitor.Sources, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		closers = nil
	}
	var src monitor.Sources
	dir := workspace.LabelsDir(g.dataDir)
	if _, err := os.Stat(dir); err == nil {
		st, err := labels.Open(ctx, dir)
		if err != nil {
			return src, closeAll, err
		}
		closers = append(closers, func() { _ = st.Close() })
		src.Labels = monitor.StoreLabels{Store: st}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return src, closeAll, err
	}
	// Each chain's store is opened and clustered once, however many
	// cluster watches it has: a second open of the same store would find
	// it locked.
	type opened struct {
		cs  monitor.ClusterSource
		err error
	}
	cache := map[string]opened{}
	src.Clusters = func(ctx context.Context, chain string) (monitor.ClusterSource, error) {
		if o, ok := cache[chain]; ok {
			return o.cs, o.err
		}
		cs, err := openClusters(ctx, g, chain, &closers)
		cache[chain] = opened{cs, err}
		return cs, err
	}
	return src, closeAll, nil
}

// openClusters opens the store of a Bitcoin chain read-only, adding its
// closing to closers, and builds its clustering.
func openClusters(ctx context.Context, g *globals, chain string, closers *[]func()) (monitor.ClusterSource, error) {
	_, network, err := monitor.ChainNetwork(chain)
	if err != nil {
		return nil, fmt.Errorf("clusters of %s are not available to watches: only Bitcoin chains are clustered here", chain)
	}
	sdir := workspace.BTCStoreDir(g.dataDir, network)
	if _, err := os.Stat(sdir); err != nil {
		return nil, fmt.Errorf("no store for %s at %s: run \"chaintrace ingest btc\" first", chain, sdir)
	}
	db, err := store.Open(ctx, sdir, store.ChainMeta{Chain: "btc", Network: network}, store.Options{ReadOnly: true, Logger: g.log})
	if err != nil {
		return nil, fmt.Errorf("%w (a running ingest holds the store: stop it, refresh, and restart it)", err)
	}
	*closers = append(*closers, func() { _ = db.Close() })
	if _, ok, err := db.Progress(ctx, cluster.StageName); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("the store at %s has no link log: re-ingest it with this version", sdir)
	}
	ix, err := cluster.Build(ctx, db)
	if err != nil {
		return nil, err
	}
	return monitor.StoreClusters{Chain: chain, DB: db, Members: ix.Members}, nil
}

// addSelectorWatches is watch add with a selector: one watch per chain
// with matching addresses; the chains and addresses it cannot watch are
// listed, not dropped silently.
func addSelectorWatches(ctx context.Context, g *globals, s *selectorFlags, chain, name string, rules []monitor.Rule, listed bool) error {
	if listed {
		return errors.New("watch add: --actor, --category and --cluster choose the addresses themselves: not with --address or --from-trace")
	}
	src, closeSrc, err := watchSources(ctx, g)
	defer closeSrc()
	if err != nil {
		return err
	}
	sel := s.selector()
	if err := sel.Normalize(); err != nil {
		return err
	}
	ws, skipped, err := monitor.SelectorWatches(ctx, src, sel, chain, name, rules)
	if err != nil {
		printUnwatchable(g.out, skipped)
		return err
	}
	closeSrc()
	if ws[0].Selector.Actor != "" && !strings.EqualFold(ws[0].Selector.Actor, sel.Actor) {
		fmt.Fprintf(g.out, "actor %q is %s\n", sel.Actor, ws[0].Selector.Actor)
	}
	ws, err = monitor.AddWatches(ctx, g.dataDir, ws)
	if err != nil {
		return err
	}
	for _, w := range ws {
		fmt.Fprintf(g.out, "%s\t%s\t%d addresses\t%s\t%s\n", w.ID, w.Chain, len(w.Addresses), rulesText(w.Rules), w.Source)
	}
	printUnwatchable(g.out, skipped)
	return nil
}

func printUnwatchable(w io.Writer, us []monitor.Unwatchable) {
	for _, u := range us {
		fmt.Fprintf(w, "not watched: %s: %d addresses: %s\n", u.Chain, u.Addresses, u.Reason)
	}
}

func newWatchRefreshCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "refresh",
		Short: "Re-resolve the watches made from an actor, a category or a cluster, and report the addresses added and removed",
		Long: `Re-resolve every watch made with --actor, --category or --cluster: labels
imported or retired since, and a clustering that grew with new blocks,
change the addresses such a watch holds. "chaintrace labels import" runs
the actor and category part of this itself; cluster watches need the
chain's store, which a running ingest holds: refresh them while it is
stopped. A running follower picks the new watch list up by itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			chs, err := refreshSelectorWatches(cmd.Context(), g, monitor.RefreshOptions{})
			if err != nil {
				return err
			}
			if asJSON {
				if chs == nil {
					chs = []monitor.Change{}
				}
				return writeJSON(g.out, chs)
			}
			printChanges(g.out, chs)
			for _, c := range chs {
				if c.Err != "" {
					return errors.New("some selector watches could not be refreshed")
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return cmd
}

func refreshSelectorWatches(ctx context.Context, g *globals, o monitor.RefreshOptions) ([]monitor.Change, error) {
	src, closeSrc, err := watchSources(ctx, g)
	defer closeSrc()
	if err != nil {
		return nil, err
	}
	return monitor.RefreshWatches(ctx, g.dataDir, src, o)
}

// printChanges lists what a refresh did per watch, with up to ten of the
// addresses added and removed.
func printChanges(w io.Writer, chs []monitor.Change) {
	if len(chs) == 0 {
		fmt.Fprintln(w, "no selector watches")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCHAIN\tSELECTOR\tADDED\tREMOVED\tADDRESSES")
	for _, c := range chs {
		if c.Err != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t%d (unchanged: %s)\n", c.Watch, c.Chain, c.Selector, c.Total, c.Err)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", c.Watch, c.Chain, c.Selector, len(c.Added), len(c.Removed), c.Total)
	}
	tw.Flush()
	for _, c := range chs {
		for _, l := range []struct {
			sign  string
			addrs []string
		}{{"+", c.Added}, {"-", c.Removed}} {
			for i, a := range l.addrs {
				if i == 10 {
					fmt.Fprintf(w, "  %s %s ... %d more (use --json)\n", c.Watch, l.sign, len(l.addrs)-10)
					break
				}
				fmt.Fprintf(w, "  %s %s %s\n", c.Watch, l.sign, a)
			}
		}
	}
}

// refreshAfterImport brings the actor and category watches up to date
// after a label import; it reports to w (the log when the import printed
// JSON, so as not to break it) and never fails the import.
func refreshAfterImport(ctx context.Context, g *globals, asJSON bool) {
	ws, err := monitor.Watches(g.dataDir)
	if err != nil || !hasLabelSelector(ws) {
		if err != nil {
			g.log.Warn("watches not refreshed after the import", "err", err)
		}
		return
	}
	chs, err := refreshSelectorWatches(ctx, g, monitor.RefreshOptions{LabelsOnly: true})
	if err != nil {
		g.log.Warn("watches not refreshed after the import: run chaintrace watch refresh", "err", err)
		return
	}
	if asJSON {
		for _, c := range chs {
			g.log.Info("watch refreshed", "watch", c.Watch, "selector", c.Selector, "added", len(c.Added), "removed", len(c.Removed), "addresses", c.Total, "err", c.Err)
		}
		return
	}
	fmt.Fprintln(g.out, "selector watches refreshed:")
	printChanges(g.out, chs)
}

func hasLabelSelector(ws []monitor.Watch) bool {
	for _, w := range ws {
		if w.Selector != nil && w.Selector.Cluster == "" {
			return true
		}
	}
	return false
}
