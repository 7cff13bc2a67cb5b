package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/rpc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/progress"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
)

func newIngestCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Load chain data into the store",
	}
	cmd.AddCommand(newIngestBTCCmd(g), newIngestETHCmd(g))
	return cmd
}

type ingestBTCFlags struct {
	blocks    string
	rpcURL    string
	rpcUser   string
	rpcPass   string
	rpcCookie string
	network   string
	follow    bool
	poll      time.Duration
	maxHeight uint64
	start     uint64
	batchMB   int
	cache     int
}

func newIngestBTCCmd(g *globals) *cobra.Command {
	f := &ingestBTCFlags{}
	cmd := &cobra.Command{
		Use:   "btc (--blocks PATH | --rpc URL)",
		Short: "Ingest a Bitcoin chain from Core block files or a node's JSON-RPC",
		Long: `Ingest a Bitcoin chain into the store under --data.

From files: --blocks is a blk*.dat file or a Bitcoin Core blocks directory.
Blocks may be in any order in the files; chaintrace builds the best chain
(most work) from the prev-hash links and leaves stale blocks out. Bitcoin
Core 28+ block-file obfuscation (blocks/xor.dat) is handled.

From a node: --rpc http://host:port of bitcoind or btcd, with --rpc-user and
--rpc-password or --rpc-cookie (bitcoind's .cookie file).

Ingest is incremental: a second run continues from the stored tip, unwinds
blocks the source no longer has on its best chain (reorgs) and applies the
new branch. Killing it at any moment loses nothing already committed.
--follow keeps polling the source for new blocks.`,
		Example: `  chaintrace ingest btc --blocks ~/.bitcoin/blocks
  chaintrace ingest btc --network regtest --rpc http://127.0.0.1:18443 --rpc-cookie ~/.bitcoin/regtest/.cookie --follow`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngestBTC(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.blocks, "blocks", "", "blk*.dat file or Bitcoin Core blocks directory")
	fl.StringVar(&f.rpcURL, "rpc", "", "JSON-RPC URL of bitcoind or btcd")
	fl.StringVar(&f.rpcUser, "rpc-user", "", "JSON-RPC user")
	fl.StringVar(&f.rpcPass, "rpc-password", "", "JSON-RPC password (env CHAINTRACE_RPC_PASSWORD)")
	fl.StringVar(&f.rpcCookie, "rpc-cookie", "", "bitcoind cookie file, instead of user and password")
	fl.StringVar(&f.network, "network", "mainnet", "mainnet, testnet3, signet, regtest or simnet")
	fl.BoolVar(&f.follow, "follow", false, "keep following the source's tip until interrupted")
	fl.DurationVar(&f.poll, "poll", 5*time.Second, "polling period with --follow")
	fl.Uint64Var(&f.maxHeight, "max-height", 0, "stop at this height (0: the source's tip)")
	fl.Uint64Var(&f.start, "start-height", 0, "for a new store, start at this height instead of genesis (earlier outputs become external inputs)")
	fl.IntVar(&f.batchMB, "batch-mb", 64, "commit the store batch every this many MiB")
	fl.IntVar(&f.cache, "cache", 2_000_000, "entries per generation of the output and address caches")
	return cmd
}

func runIngestBTC(ctx context.Context, g *globals, f *ingestBTCFlags) error {
	if (f.blocks == "") == (f.rpcURL == "") {
		return errors.New("ingest btc: give exactly one of --blocks or --rpc")
	}
	net, err := btc.Network(f.network)
	if err != nil {
		return err
	}
	netName := btc.NetworkName(net)
	var src ingest.BlockSource
	if f.blocks != "" {
		rep := progress.New(os.Stderr, g.log, "scanning block files", "bytes", 0)
		s, err := workspace.OpenBlockFiles(ctx, f.blocks, net, workspace.IngestOptions{
			Options: ingest.Options{Logger: g.log},
			Scan:    func(done, total int64) { rep.Update(done, total) },
		})
		rep.Finish()
		if err != nil {
			return err
		}
		defer s.Close()
		src = s
	} else {
		pass := f.rpcPass
		if pass == "" {
			pass = os.Getenv("CHAINTRACE_RPC_PASSWORD")
		}
		c, err := rpc.New(rpc.Config{URL: f.rpcURL, User: f.rpcUser, Password: pass, CookieFile: f.rpcCookie, Logger: g.log})
		if err != nil {
			return err
		}
		src = c
	}
	return ingestBTC(ctx, g, src, netName, f)
}

func ingestBTC(ctx context.Context, g *globals, src ingest.BlockSource, netName string, f *ingestBTCFlags) error {
	rep := progress.New(os.Stderr, g.log, "ingesting blocks", "blocks", 0)
	st, err := ingestBTCMonitored(ctx, g, src, netName, ingest.Options{
		Logger:       g.log,
		Follow:       f.follow,
		PollInterval: f.poll,
		MaxHeight:    f.maxHeight,
		StartHeight:  f.start,
		BatchBytes:   f.batchMB << 20,
		CacheEntries: f.cache,
		Progress: func(s ingest.Status) {
			rate := 0.0
			if s.Elapsed > 0 {
				rate = float64(s.Txs) / s.Elapsed.Seconds()
			}
			rep.Update(int64(s.Height), int64(s.Target), "txs", s.Txs, "tx_per_s", int64(rate))
		},
	})
	rep.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(g.out, "ingested %d blocks (%d transactions) into %s; tip %d %s\n", st.Blocks, st.Txs, btcStoreDir(g.dataDir, netName), st.Height, st.TipHash)
	return nil
}
