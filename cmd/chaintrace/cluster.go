package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/spf13/cobra"
)

type clusterFlags struct {
	network  string
	ethChain string
	json     bool
	limit    int
	top      int
}

const clusterHelp = `Group Bitcoin addresses into clusters believed to have one owner.

The grouping is the multi-input heuristic: a transaction that spends
outputs of several addresses was signed by whoever holds all their keys,
so those addresses join one cluster, and clusters chain through shared
addresses. Ingest records every such transaction in the store's link log
(stage "clusters"); these commands replay the log into an in-memory index.

CoinJoins break the heuristic on purpose: several owners sign one
transaction. Transactions that match a CoinJoin pattern never join their
inputs; they are recorded by kind so that tracing can flag them:
  whirlpool   5 inputs, 5 outputs of exactly one pool denomination
              (0.001, 0.01, 0.05 or 0.5 BTC)
  wasabi2     50+ inputs, segwit/taproot outputs, most of them in
              WabiSabi's standard denominations, many repeated
  wasabi1     10+ equal outputs of 0.08-0.12 BTC, as many inputs, a
              coordinator fee output, bech32 outputs
  joinmarket  n >= 3 equal outputs, n-1 or n change outputs and nothing
              else, inputs from n or more addresses
  coinjoin    any other 3+ equal outputs (not dust) making up half the
              outputs, inputs from at least as many addresses
Exchange batch payouts (one or two funding addresses) do not match.

A cluster is an estimate: a single false link merges two owners, and
wallets that never spend several addresses together stay split.

Ethereum and EVM addresses (0x...) have no multi-input transactions; for
them show applies the deposit-address heuristic around the labelled
exchange addresses: an address that receives value and sweeps it, and only
it, to one exchange address within 3,200 blocks, less at most 1% (or 0.01
ETH of gas), is that exchange's deposit address, and every address that
paid into one deposit address belongs to the same customer. It also tells
a contract from an externally owned account by what the store shows.`

func newClusterCmd(g *globals) *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Address clusters by the multi-input heuristic, CoinJoins excluded",
		Long:  clusterHelp,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.network, "network", "", "network of the store (default: the only Bitcoin store under --data)")
	pf.StringVar(&f.ethChain, "eth-chain", "ethereum", "chain of the EVM store for 0x addresses (eth-<chain> under --data)")
	pf.BoolVar(&f.json, "json", false, "print JSON")
	showCmd := &cobra.Command{
		Use:   "show ADDR",
		Short: "Show the cluster of an address: members, totals, activity, labels",
		Long: clusterHelp + `

show prints the cluster of ADDR: its size and members (up to --limit),
the totals of its members' activity (transfers between members, such as
change, count on both sides), its first and last activity, and the
labels found on members. A label marked as a cluster definer applies to
the whole cluster; others only to the member they are on.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.HasPrefix(args[0], "0x") || strings.HasPrefix(args[0], "0X") {
				return runClusterShowETH(cmd.Context(), g, f, args[0])
			}
			return runClusterShow(cmd.Context(), g, f, args[0])
		},
	}
	showCmd.Flags().IntVar(&f.limit, "limit", 25, "member addresses to list (0: all)")
	statsCmd := &cobra.Command{
		Use:   "stats",
		Short: "Show the number of clusters, the largest ones and the CoinJoins detected",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runClusterStats(cmd.Context(), g, f)
		},
	}
	statsCmd.Flags().IntVar(&f.top, "top", 10, "largest clusters to list")
	cmd.AddCommand(showCmd, statsCmd)
	return cmd
}

// withClusters opens the network's store read-only and builds its index.
func withClusters(ctx context.Context, g *globals, f *clusterFlags, fn func(db *store.DB, ix *cluster.Index) error) error {
	network, err := findBTCNetwork(g.dataDir, f.network)
	if err != nil {
		return err
	}
	dir := btcStoreDir(g.dataDir, network)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no store for btc/%s at %s: run \"chaintrace ingest btc\" first", network, dir)
	}
	db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, ok, err := db.Progress(ctx, cluster.StageName); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("the store at %s has no link log: re-ingest it with this version", dir)
	}
	ix, err := cluster.Build(ctx, db)
	if err != nil {
		return err
	}
	return fn(db, ix)
}

func runClusterShow(ctx context.Context, g *globals, f *clusterFlags, addr string) error {
	return withClusters(ctx, g, f, func(db *store.DB, ix *cluster.Index) error {
		q, err := query.NewBTC(db)
		if err != nil {
			return err
		}
		id, err := q.AddressID(ctx, addr)
		if err != nil {
			return err
		}
		var lb cluster.Labeler
		if _, err := os.Stat(labelsDir(g.dataDir)); err == nil {
			st, err := labels.Open(ctx, labelsDir(g.dataDir))
			if err != nil {
				return err
			}
			defer st.Close()
			lix, err := st.Index(ctx)
			if err != nil {
				return err
			}
			lb = lix
		}
		s, err := cluster.Summarize(ctx, db, lb, ix, id, f.limit)
		if err != nil {
			return err
		}
		if f.json {
			return printJSON(g.out, s)
		}
		printCluster(g.out, s)
		return nil
	})
}

func printCluster(w io.Writer, s cluster.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "address\t%s\n", s.Address)
	fmt.Fprintf(tw, "cluster\t#%d (%d addresses)\n", s.ClusterID, s.Size)
	fmt.Fprintf(tw, "balance\t%s BTC\n", clusterBTC(s.Balance))
	fmt.Fprintf(tw, "received\t%s BTC\n", clusterBTC(s.Received))
	fmt.Fprintf(tw, "sent\t%s BTC\n", clusterBTC(s.Sent))
	fmt.Fprintf(tw, "transactions\t%d\n", s.TxCount)
	if s.First != nil {
		fmt.Fprintf(tw, "first seen\tblock %d (%s)\n", s.First.Height, s.First.Time.Format("2006-01-02 15:04:05Z"))
		fmt.Fprintf(tw, "last seen\tblock %d (%s)\n", s.Last.Height, s.Last.Time.Format("2006-01-02 15:04:05Z"))
	}
	tw.Flush()
	if len(s.Labels) > 0 {
		fmt.Fprintln(w, "labels:")
		for _, l := range s.Labels {
			scope := "on member"
			if l.Cluster {
				scope = "defines cluster, from"
			}
			fmt.Fprintf(w, "  %s [%s] %s %s (dataset %s)\n", l.Label.Label, orDash(l.Label.Category), scope, l.Address, l.Label.Dataset)
		}
	}
	fmt.Fprintf(w, "members (%d):\n", s.Size)
	for _, a := range s.Addresses {
		fmt.Fprintf(w, "  %s\n", a)
	}
	if len(s.Addresses) < s.Size {
		fmt.Fprintf(w, "  ... %d more (use --limit 0)\n", s.Size-len(s.Addresses))
	}
}

// clusterBTC formats satoshi as BTC with eight decimals.
func clusterBTC(sat int64) string {
	sign := ""
	if sat < 0 {
		sign, sat = "-", -sat
	}
	return fmt.Sprintf("%s%d.%08d", sign, sat/100_000_000, sat%100_000_000)
}

type clusterStatsJSON struct {
	Height    uint64           `json:"height"`
	Addresses int              `json:"addresses"`
	Clusters  int              `json:"clusters"`
	Links     int              `json:"multi_input_links"`
	CoinJoins map[string]int   `json:"coinjoins"`
	Largest   []clusterSizeRef `json:"largest"`
}

type clusterSizeRef struct {
	ID      uint64 `json:"cluster_id"`
	Address string `json:"address"` // the cluster's first-seen member
	Size    int    `json:"size"`
}

func runClusterStats(ctx context.Context, g *globals, f *clusterFlags) error {
	return withClusters(ctx, g, f, func(db *store.DB, ix *cluster.Index) error {
		net, err := btc.Network(db.Meta().Network)
		if err != nil {
			return err
		}
		st := ix.Stats()
		out := clusterStatsJSON{Height: st.Tip.Height, Addresses: ix.Addresses(), Clusters: ix.Count(), Links: st.Links, CoinJoins: st.CoinJoins}
		ids, sizes := ix.Largest(f.top)
		for i, id := range ids {
			kb, err := db.AddrKey(ctx, id)
			if err != nil {
				return err
			}
			k, err := btc.AddrKeyFromBytes(kb)
			if err != nil {
				return fmt.Errorf("address #%d: %w", id, err)
			}
			out.Largest = append(out.Largest, clusterSizeRef{ID: id, Address: k.Encode(net), Size: sizes[i]})
		}
		if f.json {
			return printJSON(g.out, out)
		}
		w := g.out
		fmt.Fprintf(w, "height %d: %d addresses in %d clusters, %d multi-input links\n", out.Height, out.Addresses, out.Clusters, out.Links)
		kinds := slices.Sorted(maps.Keys(out.CoinJoins))
		fmt.Fprintln(w, "CoinJoins (not linked):")
		if len(kinds) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, k := range kinds {
			fmt.Fprintf(w, "  %-11s %d\n", k, out.CoinJoins[k])
		}
		fmt.Fprintln(w, "largest clusters:")
		for _, c := range out.Largest {
			fmt.Fprintf(w, "  #%-10d %8d addresses  %s\n", c.ID, c.Size, c.Address)
		}
		return nil
	})
}
