package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/spf13/cobra"
)

type btcFlags struct {
	network string
	json    bool
	limit   int
}

func newBTCCmd(g *globals) *cobra.Command {
	f := &btcFlags{}
	cmd := &cobra.Command{
		Use:   "btc",
		Short: "Look up Bitcoin transactions, addresses and blocks in the store",
		Long: `Look up what the store holds about a Bitcoin transaction, address or block.
Output is human-readable; --json prints one JSON object for scripts, with
amounts as integers of satoshi.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.network, "network", "", "network of the store (default: the only Bitcoin store under --data)")
	pf.BoolVar(&f.json, "json", false, "print JSON")
	txCmd := &cobra.Command{
		Use:   "tx TXID",
		Short: "Show a transaction: inputs with the outputs they spend, outputs with their spenders",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withQuery(cmd.Context(), g, f, func(q *query.BTC) error {
				tx, err := q.Tx(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if f.json {
					return printJSON(g.out, txJSON(tx))
				}
				printTx(g.out, tx)
				return nil
			})
		},
	}
	addrCmd := &cobra.Command{
		Use:   "address ADDR",
		Short: "Show an address: balance, totals, first and last activity, recent transactions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withQuery(cmd.Context(), g, f, func(q *query.BTC) error {
				s, err := q.Address(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				txs, next, err := q.AddressTxs(cmd.Context(), args[0], 0, f.limit)
				if err != nil {
					return err
				}
				if f.json {
					return printJSON(g.out, addressJSON(s, txs, next))
				}
				printAddress(g.out, s, txs, next)
				return nil
			})
		},
	}
	addrCmd.Flags().IntVar(&f.limit, "limit", 25, "transactions to list")
	blockCmd := &cobra.Command{
		Use:   "block HEIGHT|HASH",
		Short: "Show a block and its transactions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withQuery(cmd.Context(), g, f, func(q *query.BTC) error {
				b, err := q.Block(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				ids, err := q.BlockTxIDs(cmd.Context(), b)
				if err != nil {
					return err
				}
				if f.json {
					return printJSON(g.out, blockJSON(b, ids))
				}
				printBlock(g.out, b, ids)
				return nil
			})
		},
	}
	cmd.AddCommand(txCmd, addrCmd, blockCmd)
	return cmd
}

func withQuery(ctx context.Context, g *globals, f *btcFlags, fn func(*query.BTC) error) error {
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
	q, err := query.NewBTC(db)
	if err != nil {
		return err
	}
	return fn(q)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type inputJSON struct {
	Coinbase bool    `json:"coinbase,omitempty"`
	External bool    `json:"external,omitempty"`
	TxID     string  `json:"txid,omitempty"`
	Vout     *uint32 `json:"vout,omitempty"`
	Address  *string `json:"address"`
	Value    int64   `json:"value"`
}

type outputJSON struct {
	N          uint32  `json:"n"`
	Address    *string `json:"address"`
	Script     string  `json:"script_type"`
	Value      int64   `json:"value"`
	SpentBy    *string `json:"spending_txid"`
	SpentInput *uint32 `json:"spending_input,omitempty"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func txJSON(tx model.Tx) any {
	ins := make([]inputJSON, 0, len(tx.Inputs))
	for _, in := range tx.Inputs {
		if in.Coinbase {
			ins = append(ins, inputJSON{Coinbase: true})
			continue
		}
		vout := in.PrevOut
		ins = append(ins, inputJSON{TxID: in.PrevTxID, Vout: &vout, Address: strOrNil(in.Address), Value: in.Value, External: in.External})
	}
	outs := make([]outputJSON, 0, len(tx.Outputs))
	for _, o := range tx.Outputs {
		oj := outputJSON{N: o.Index, Address: strOrNil(o.Address), Script: o.Script.String(), Value: o.Value}
		if o.Spent != nil {
			oj.SpentBy = &o.Spent.TxID
			in := o.Spent.Input
			oj.SpentInput = &in
		}
		outs = append(outs, oj)
	}
	var fee any
	if tx.FeeKnown {
		fee = tx.Fee
	}
	return map[string]any{
		"chain": tx.Chain, "txid": tx.TxID, "block_height": tx.Height, "block_hash": tx.BlockHash,
		"index": tx.Index, "time": tx.Time.Format(time.RFC3339), "coinbase": tx.Coinbase,
		"fee": fee, "size": tx.Size, "vsize": tx.VSize, "inputs": ins, "outputs": outs,
	}
}

func printTx(w io.Writer, tx model.Tx) {
	fmt.Fprintf(w, "transaction %s\n", tx.TxID)
	fmt.Fprintf(w, "  block  %d %s (%s)\n", tx.Height, tx.BlockHash, tx.Time.Format(time.RFC3339))
	fee := "unknown (an input predates the store's start)"
	if tx.FeeKnown {
		fee = model.FormatSats(tx.Fee) + " BTC"
	}
	fmt.Fprintf(w, "  size   %d bytes, %d vbytes; fee %s\n", tx.Size, tx.VSize, fee)
	fmt.Fprintln(w, "  inputs")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, in := range tx.Inputs {
		if in.Coinbase {
			fmt.Fprintln(tw, "    coinbase (newly minted coins)")
			continue
		}
		if in.External {
			fmt.Fprintf(tw, "    %s:%d\t(before the store's start)\t? BTC\n", in.PrevTxID, in.PrevOut)
			continue
		}
		fmt.Fprintf(tw, "    %s:%d\t%s\t%s BTC\n", in.PrevTxID, in.PrevOut, orDash(in.Address), model.FormatSats(in.Value))
	}
	tw.Flush()
	fmt.Fprintln(w, "  outputs")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, o := range tx.Outputs {
		spent := "unspent"
		if o.Spent != nil {
			spent = fmt.Sprintf("spent by %s:%d", o.Spent.TxID, o.Spent.Input)
		}
		fmt.Fprintf(tw, "    %d %s\t%s\t%s BTC\t%s\n", o.Index, o.Script, orDash(o.Address), model.FormatSats(o.Value), spent)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func blockRefJSON(r *model.BlockRef) any {
	if r == nil {
		return nil
	}
	return map[string]any{"height": r.Height, "hash": r.Hash, "time": r.Time.Format(time.RFC3339)}
}

func addressJSON(s model.AddressSummary, txs []query.AddressTx, next uint64) any {
	list := make([]map[string]any, 0, len(txs))
	for _, t := range txs {
		list = append(list, map[string]any{"txid": t.TxID, "block_height": t.Height, "received": t.Received, "sent": t.Sent})
	}
	m := map[string]any{
		"chain": s.Chain, "address": s.Address, "balance": s.Balance,
		"total_received": s.TotalReceived, "total_sent": s.TotalSent, "tx_count": s.TxCount,
		"outputs_received": s.Received, "outputs_spent": s.Spent,
		"first_seen": blockRefJSON(s.FirstSeen), "last_seen": blockRefJSON(s.LastSeen),
		"transactions": list,
	}
	if next != 0 {
		m["next_cursor"] = next
	}
	return m
}

func printAddress(w io.Writer, s model.AddressSummary, txs []query.AddressTx, next uint64) {
	fmt.Fprintf(w, "address %s (%s)\n", s.Address, s.Chain)
	fmt.Fprintf(w, "  balance         %s BTC\n", model.FormatSats(s.Balance))
	fmt.Fprintf(w, "  total received  %s BTC in %d outputs\n", model.FormatSats(s.TotalReceived), s.Received)
	fmt.Fprintf(w, "  total sent      %s BTC from %d outputs\n", model.FormatSats(s.TotalSent), s.Spent)
	fmt.Fprintf(w, "  transactions    %d\n", s.TxCount)
	if s.FirstSeen != nil {
		fmt.Fprintf(w, "  first seen      block %d (%s)\n", s.FirstSeen.Height, s.FirstSeen.Time.Format(time.RFC3339))
		fmt.Fprintf(w, "  last seen       block %d (%s)\n", s.LastSeen.Height, s.LastSeen.Time.Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, t := range txs {
		fmt.Fprintf(tw, "    %d\t%s\t+%s\t-%s\n", t.Height, t.TxID, model.FormatSats(t.Received), model.FormatSats(t.Sent))
	}
	tw.Flush()
	if next != 0 {
		fmt.Fprintf(w, "  ... more transactions (use --json and --limit)\n")
	}
}

func blockJSON(b model.Block, ids []string) any {
	return map[string]any{
		"chain": b.Chain, "height": b.Height, "hash": b.Hash, "prev_hash": b.Prev,
		"time": b.Time.Format(time.RFC3339), "tx_count": b.TxCount, "size": b.Size, "weight": b.Weight, "txids": ids,
	}
}

func printBlock(w io.Writer, b model.Block, ids []string) {
	fmt.Fprintf(w, "block %d %s\n", b.Height, b.Hash)
	fmt.Fprintf(w, "  time    %s\n", b.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "  parent  %s\n", b.Prev)
	fmt.Fprintf(w, "  size    %d bytes, weight %d\n", b.Size, b.Weight)
	fmt.Fprintf(w, "  %d transactions\n", b.TxCount)
	for i, id := range ids {
		fmt.Fprintf(w, "    %d %s\n", i, id)
	}
}
