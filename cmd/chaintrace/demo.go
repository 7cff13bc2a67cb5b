package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/progress"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/spf13/cobra"
)

type demoFlags struct {
	txs  int64
	seed int64
}

func newDemoCmd(g *globals) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Build a chain, ingest it with the real ingest path, and show look-ups (offline)",
		Long: `The demo runs chaintrace's main job end to end without a network:

 1. generates a deterministic synthetic Bitcoin chain (regtest) in Bitcoin
    Core's block-file format, with stale blocks, out-of-order blocks and
    Core 28+ XOR obfuscation, under --data/demo-blocks;
 2. ingests it through the block-file reader and the staged ingester into
    the store (--data/btc-regtest), reporting throughput;
 3. ingests the real Bitcoin mainnet blocks 0-14,131 that ship in the btcd
    Go module (found with "go list"; skipped if absent) into
    --data/btc-mainnet;
 4. prints look-ups: a transaction, an address and a block;
 5. shows the cluster of a real 2009 address and traces its coins forward
    three hops with the haircut model.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), g, f)
		},
	}
	cmd.Flags().Int64Var(&f.txs, "txs", 300_000, "transactions in the synthetic chain")
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "seed of the synthetic chain")
	return cmd
}

func runDemo(ctx context.Context, g *globals, f *demoFlags) error {
	out := g.out
	blocksDir := filepath.Join(g.dataDir, "demo-blocks")
	fmt.Fprintf(out, "== 1. generating a synthetic Bitcoin chain (%d transactions, seed %d) in %s\n", f.txs, f.seed, blocksDir)
	if err := os.RemoveAll(blocksDir); err != nil {
		return err
	}
	key := [8]byte{0x5a, 0x17, 0x3c, 0x99, 0x01, 0xee, 0x42, 0x7b}
	rep := progress.New(os.Stderr, g.log, "generating", "txs", f.txs)
	start := time.Now()
	res, err := btcgen.Generate(ctx, blocksDir, btcgen.Config{
		Seed: f.seed, Net: &chaincfg.RegressionNetParams, MinTxs: f.txs, TxPerBlock: 2000,
		StaleEvery: 25, ShuffleWindow: 8, XORKey: &key, FileSize: 32 << 20,
	}, func(blocks, txs int) { rep.Update(int64(txs), f.txs, "blocks", blocks) })
	rep.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   %d blocks (+%d stale), %d transactions, %d outputs, %d files, %.1f MB in %s\n",
		res.Height+1, res.StaleBlocks, res.Txs, res.Outputs, res.Files, float64(res.Bytes)/1e6, time.Since(start).Round(time.Millisecond))

	fmt.Fprintf(out, "== 2. ingesting the block files into %s\n", btcStoreDir(g.dataDir, "regtest"))
	if err := demoIngest(ctx, g, blocksDir, &chaincfg.RegressionNetParams, "regtest"); err != nil {
		return err
	}
	demoTx, err := demoLookups(ctx, g, "regtest", "")
	if err != nil {
		return err
	}
	if err := demoScreening(ctx, g, demoTx); err != nil {
		return err
	}

	fmt.Fprintln(out, "== 4. ingesting real Bitcoin mainnet blocks 0-14,131 (from the btcd Go module)")
	dir, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	blk := filepath.Join(strings.TrimSpace(string(dir)), "blockchain", "testdata", "blk_0_to_14131.dat")
	if _, serr := os.Stat(blk); err != nil || serr != nil {
		fmt.Fprintln(out, "   skipped: the btcd module is not in the Go module cache (run the demo with `go run ./cmd/chaintrace demo` from the source tree)")
		return nil
	}
	if err := demoIngest(ctx, g, blk, &chaincfg.MainNetParams, "mainnet"); err != nil {
		return err
	}
	fmt.Fprintln(out, "== 5. look-ups anyone can check on a block explorer")
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
	fmt.Fprintln(g.out, "== 6. the cluster of "+addr+" (multi-input heuristic, CoinJoins excluded)")
	if err := runClusterShow(ctx, g, &clusterFlags{network: "mainnet", limit: 10}, addr); err != nil {
		return err
	}
	fmt.Fprintln(g.out, "\n== 7. where its coins went: forward trace, haircut model, 3 hops")
	return runTrace(ctx, g, &traceFlags{chain: "btc", from: addr, direction: "forward", model: "haircut", hops: 3,
		min: "0", format: "text", group: "address"})
}

// demoScreening labels the addresses that funded the demo transaction as
// sanctioned (a demo dataset, imported through the CSV importer like any
// user file), then screens one of the transaction's recipients: it has no
// label of its own but received funds from the labelled senders, which the
// haircut exposure shows.
func demoScreening(ctx context.Context, g *globals, tx model.Tx) error {
	fmt.Fprintln(g.out, "== 3. labels and screening on the synthetic chain")
	var rows []string
	seen := map[string]bool{}
	for _, in := range tx.Inputs {
		if in.Address != "" && !strings.Contains(in.Address, ",") && !seen[in.Address] {
			seen[in.Address] = true
			rows = append(rows, in.Address+",demo sanctioned wallet")
		}
	}
	var target string
	for _, o := range tx.Outputs {
		if o.Address != "" && !strings.Contains(o.Address, ",") && !seen[o.Address] {
			target = o.Address
			break
		}
	}
	if len(rows) == 0 || target == "" {
		fmt.Fprintln(g.out, "   skipped: the demo transaction has no plain addresses")
		return nil
	}
	path := filepath.Join(g.dataDir, "demo-labels.csv")
	if err := os.WriteFile(path, []byte("address,label\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if err := runLabelsImport(ctx, g, path, "csv", "address=address,label=label,chain=btc-regtest,abuse=sanction,category=user,confidence=forensic,source=chaintrace-demo", false); err != nil {
		return err
	}
	env, err := openScreenEnv(ctx, g, "")
	if err != nil {
		return err
	}
	defer env.Close()
	for _, a := range []string{strings.SplitN(rows[0], ",", 2)[0], target} {
		r, err := env.screener.Screen(ctx, "btc-regtest", a, screen.Options{Hops: 3})
		if err != nil {
			return err
		}
		fmt.Fprintln(g.out)
		printScreen(g, r)
	}
	fmt.Fprintln(g.out)
	return nil
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

// pickDemoTx picks a transaction worth showing from a block near the tip:
// the first with at least two inputs and two outputs.
func pickDemoTx(ctx context.Context, q *query.BTC, tip uint64) (string, error) {
	h := tip
	if h > 3 {
		h -= 3
	}
	b, err := q.Block(ctx, fmt.Sprint(h))
	if err != nil {
		return "", err
	}
	ids, err := q.BlockTxIDs(ctx, b)
	if err != nil {
		return "", err
	}
	for i, id := range ids {
		if i > 500 {
			break
		}
		tx, err := q.Tx(ctx, id)
		if err != nil {
			return "", err
		}
		if len(tx.Inputs) >= 2 && len(tx.Outputs) >= 2 {
			return id, nil
		}
	}
	return ids[len(ids)-1], nil
}

// demoLookups prints a transaction (txid, or one picked near the tip), one
// of its addresses and its block, and returns the transaction.
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
	tip, ok, err := q.Tip(ctx)
	if err != nil || !ok {
		return model.Tx{}, fmt.Errorf("demo: empty store: %v", err)
	}
	if txid == "" {
		if txid, err = pickDemoTx(ctx, q, tip.Height); err != nil {
			return model.Tx{}, err
		}
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
