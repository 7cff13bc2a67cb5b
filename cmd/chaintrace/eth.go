package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth/rpc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/progress"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
)

// evmChains maps the --chain names to chain ids.
var evmChains = map[string]uint64{
	"ethereum": 1, "sepolia": 11155111, "bsc": 56, "polygon": 137,
	"arbitrum": 42161, "optimism": 10, "base": 8453, "avalanche": 43114,
}

func evmChainNames() string {
	names := make([]string, 0, len(evmChains))
	for n := range evmChains {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}

// ethStoreDir is where an EVM chain's store lives under --data.
func ethStoreDir(data, chain string) string { return workspace.ETHStoreDir(data, chain) }

type ingestETHFlags struct {
	rpcURL    string
	etlDir    string
	chain     string
	chainID   uint64
	traces    string
	follow    bool
	poll      time.Duration
	maxHeight uint64
	start     uint64
	batchMB   int
}

func newIngestETHCmd(g *globals) *cobra.Command {
	f := &ingestETHFlags{}
	cmd := &cobra.Command{
		Use:   "eth (--rpc URL | --etl DIR) [--chain NAME]",
		Short: "Ingest an Ethereum or EVM chain from a node's JSON-RPC",
		Long: `Ingest every value transfer of an Ethereum or EVM chain into the store under
--data (eth-<chain>): native value of successful calls, internal calls with
value (from traces), contract creations, self-destruct payouts, ERC-20,
ERC-721 and ERC-1155 token events, fees (burnt base fee and miner tip apart)
and beacon-chain withdrawals. Failed transactions move no value but pay fees.

The node's chain id is checked against --chain (` + evmChainNames() + `) or
--chain-id. Receipts come from eth_getBlockReceipts, or one
eth_getTransactionReceipt per transaction on nodes without it. Internal
transfers need traces: with --traces auto the first block is probed with
trace_block (Erigon, Nethermind, Reth), then debug_traceBlockByNumber with
the callTracer (geth); without either, internal transfers are unknown and
the log says so.

Ingest is incremental, survives kills, unwinds reorganised blocks, and
--follow keeps up with the tip. The watches under --data (chaintrace watch
add --chain eth or eth-<chain>) are evaluated on every new block; with
--follow their alerts go to the webhooks as they are raised.

Instead of --rpc, --etl DIR imports an ethereum-etl export (blocks,
transactions, receipts, logs, token_transfers, traces as .csv or .json) of
consecutive blocks into the store named by --chain; absent files are
skipped with a log note on what is then unknown. The export is read into
memory whole.`,
		Example: `  chaintrace ingest eth --rpc http://127.0.0.1:8545 --chain ethereum --start-height 19000000
  chaintrace ingest eth --rpc http://127.0.0.1:8545 --chain-id 1337 --follow
  chaintrace ingest eth --etl ./export --chain ethereum`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngestETH(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.rpcURL, "rpc", "", "JSON-RPC URL of the node (http, https, ws)")
	fl.StringVar(&f.etlDir, "etl", "", "import this ethereum-etl export directory instead of using --rpc")
	fl.StringVar(&f.chain, "chain", "ethereum", "chain name: "+evmChainNames()+", or any name with --chain-id")
	fl.Uint64Var(&f.chainID, "chain-id", 0, "expected chain id (default: the --chain's)")
	fl.StringVar(&f.traces, "traces", "auto", "trace API: auto, geth, parity or none")
	fl.BoolVar(&f.follow, "follow", false, "keep following the tip until interrupted")
	fl.DurationVar(&f.poll, "poll", 5*time.Second, "polling period with --follow")
	fl.Uint64Var(&f.maxHeight, "max-height", 0, "stop at this height (0: the node's tip)")
	fl.Uint64Var(&f.start, "start-height", 0, "for a new store, start at this height instead of genesis")
	fl.IntVar(&f.batchMB, "batch-mb", 64, "commit the store batch every this many MiB")
	return cmd
}

func runIngestETH(ctx context.Context, g *globals, f *ingestETHFlags) error {
	if (f.rpcURL == "") == (f.etlDir == "") {
		return fmt.Errorf("ingest eth: give exactly one of --rpc and --etl")
	}
	if f.etlDir != "" {
		return runIngestETL(ctx, g, f)
	}
	id := f.chainID
	if id == 0 {
		known, ok := evmChains[f.chain]
		if !ok {
			return fmt.Errorf("ingest eth: unknown chain %q: use one of %s, or give --chain-id", f.chain, evmChainNames())
		}
		id = known
	}
	src, err := rpc.Dial(ctx, rpc.Config{URL: f.rpcURL, ChainID: id, Traces: f.traces, Logger: g.log})
	if err != nil {
		return err
	}
	defer src.Close()
	db, err := store.Open(ctx, ethStoreDir(g.dataDir, f.chain), store.ChainMeta{Chain: "eth", Network: f.chain}, store.Options{Bulk: true, Logger: g.log})
	if err != nil {
		return err
	}
	defer db.Close()
	chain := workspace.ETHChainID(f.chain)
	m, err := newETHMonitor(ctx, g, chain, src)
	if err != nil {
		return err
	}
	rep := progress.New(os.Stderr, g.log, "ingesting blocks", "blocks", 0)
	in := ingest.NewEth(db, src, ingest.Options{
		Logger: g.log, Follow: f.follow, PollInterval: f.poll, MaxHeight: f.maxHeight,
		StartHeight: f.start, BatchBytes: f.batchMB << 20, EthMonitor: m,
		Progress: func(s ingest.Status) {
			rep.Update(int64(s.Height), int64(s.Target), "txs", s.Txs)
		},
	})
	st, err := runMonitored(ctx, g, db, chain, f.follow, func() (ingest.Status, error) { return in.Run(ctx) })
	rep.Finish()
	if err != nil {
		return err
	}
	if st.Blocks > 0 {
		from := st.Height + 1 - st.Blocks
		// A follower ends when ctx does; its new tokens' metadata is
		// still worth the few calls it takes.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		n, err := ingest.FillTokenMeta(tctx, db, src, from, st.Height)
		if err != nil {
			g.log.Warn("token metadata incomplete", "err", err)
		} else if n > 0 {
			g.log.Info("token metadata fetched", "tokens", n)
		}
	}
	if err := db.Flush(); err != nil {
		return err
	}
	g.log.Info("ingest done", "chain", f.chain, "tip_height", st.Height, "blocks", st.Blocks, "txs", st.Txs,
		"unwound", st.Unwound, "elapsed", st.Elapsed.Round(time.Millisecond).String(), "trace_api", string(src.Traces()), "store_bytes", db.DiskUsage())
	fmt.Fprintf(g.out, "ingested %d blocks (%d transactions) into %s; tip %d\n", st.Blocks, st.Txs, db.Dir(), st.Height)
	return nil
}

// runIngestETL imports an ethereum-etl export into the --chain store.
func runIngestETL(ctx context.Context, g *globals, f *ingestETHFlags) error {
	rep := progress.New(os.Stderr, g.log, "importing blocks", "blocks", 0)
	st, err := workspace.IngestETL(ctx, g.dataDir, f.etlDir, f.chain, workspace.IngestOptions{Options: ingest.Options{
		Logger: g.log, MaxHeight: f.maxHeight, StartHeight: f.start, BatchBytes: f.batchMB << 20,
		Progress: func(s ingest.Status) {
			rep.Update(int64(s.Height), int64(s.Target), "txs", s.Txs)
		},
	}})
	rep.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(g.out, "ingested %d blocks (%d transactions) into %s; tip %d\n", st.Blocks, st.Txs, ethStoreDir(g.dataDir, f.chain), st.Height)
	return nil
}

func newETHCmd(g *globals) *cobra.Command {
	var chain string
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "eth",
		Short: "Look up Ethereum/EVM transactions and addresses in the store",
		Long: `Look up what the store holds about an Ethereum or EVM transaction or address.
Amounts are exact integers of the smallest unit (wei, token base units);
human-readable output also shows them with decimals where known.`,
	}
	cmd.PersistentFlags().StringVar(&chain, "chain", "ethereum", "chain of the store (eth-<chain> under --data)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	open := func(ctx context.Context) (*query.ETH, func(), error) {
		dir := ethStoreDir(g.dataDir, chain)
		if _, err := os.Stat(dir); err != nil {
			return nil, nil, fmt.Errorf("no store for %s at %s: run \"chaintrace ingest eth\" first", chain, dir)
		}
		db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
		if err != nil {
			return nil, nil, err
		}
		return query.NewETH(db), func() { db.Close() }, nil
	}
	txCmd := &cobra.Command{
		Use:   "tx HASH",
		Short: "Show a transaction and every value transfer in it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, done, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			tx, err := q.Tx(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, tx)
			}
			fmt.Fprintf(g.out, "transaction %s (%s)\n  block  %d %s (%s)\n  from   %s\n", tx.Hash, tx.Status, tx.Block, tx.BlockHash, tx.Time.Format(time.RFC3339), tx.From)
			if tx.To != "" {
				fmt.Fprintf(g.out, "  to     %s\n", tx.To)
			}
			if tx.Created != "" {
				fmt.Fprintf(g.out, "  created contract %s\n", tx.Created)
			}
			fmt.Fprintf(g.out, "  value  %s wei, gas used %d\n  transfers\n", tx.Value, tx.GasUsed)
			tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
			for _, t := range tx.Transfers {
				amt := t.Display
				if amt == "" {
					amt = t.Amount + " (" + orDash(t.Token) + ")"
				}
				fmt.Fprintf(tw, "    %s\t%s\t-> %s\t%s\n", t.Kind, t.From, t.To, amt)
			}
			return tw.Flush()
		},
	}
	addrCmd := &cobra.Command{
		Use:   "address ADDR",
		Short: "Show an address: flows per asset, activity and counterparties",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, done, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			a, err := q.Address(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, a)
			}
			fmt.Fprintf(g.out, "address %s: %d transactions, %d transfers\n", a.Address, a.TxCount, a.Transfers)
			if a.FirstSeen != nil {
				fmt.Fprintf(g.out, "  first seen block %d, last seen block %d\n", a.FirstSeen.Height, a.LastSeen.Height)
			}
			tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  ASSET\tRECEIVED\tSENT\tNET")
			for _, f := range a.Assets {
				asset := "ETH (wei)"
				if f.Token != "" {
					asset = f.Token
					if f.Symbol != "" {
						asset = f.Symbol + " " + f.Token
					}
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", asset, f.Received, f.Sent, f.Net)
			}
			tw.Flush()
			for _, c := range a.Counterparties {
				fmt.Fprintf(g.out, "  counterparty %s: %d transfers (%d in, %d out)\n", c.Address, c.Transfers, c.In, c.Out)
			}
			return nil
		},
	}
	addrCmd.Flags().IntVar(&limit, "counterparties", 10, "counterparties to list")
	cmd.AddCommand(txCmd, addrCmd)
	return cmd
}
