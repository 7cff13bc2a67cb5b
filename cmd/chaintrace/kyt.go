package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaintrace/chaintrace/internal/alert"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
)

// openKYTChains opens every chain store under --data read-only as the
// stores transfers resolve in, reusing those of shared (by directory).
// A store another process holds (a following ingest) is offline: its
// transfers wait as pending. The returned func closes the stores it
// opened.
func openKYTChains(ctx context.Context, g *globals, shared map[string]*store.DB) (kyt.Chains, func()) {
	c := kyt.Chains{BTC: map[string]store.Reader{}, EVM: map[string]store.AccountReader{}, Offline: map[string]bool{}}
	var owned []*store.DB
	for _, pat := range []string{"btc-*", "eth-*"} {
		dirs, _ := filepath.Glob(filepath.Join(g.dataDir, pat))
		for _, dir := range dirs {
			db := shared[dir]
			if db == nil {
				var err error
				db, err = store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true, CacheBytes: 64 << 20})
				if err != nil {
					name := filepath.Base(dir)
					if net, ok := strings.CutPrefix(name, "btc-"); ok {
						c.Offline[btc.ChainID(net)] = true
					} else {
						c.Offline[workspace.ETHChainID(strings.TrimPrefix(name, "eth-"))] = false
					}
					g.log.Warn("chain store not readable for deposit screening now; its transfers wait as pending", "dir", dir, "err", err)
					continue
				}
				owned = append(owned, db)
			}
			switch m := db.Meta(); m.Chain {
			case "btc":
				c.BTC[btc.ChainID(m.Network)] = db
			case "eth":
				c.EVM[workspace.ETHChainID(m.Network)] = db
			}
		}
	}
	return c, func() {
		for _, db := range owned {
			_ = db.Close()
		}
	}
}

// kytEnv is an open registry with what it rests on.
type kytEnv struct {
	reg    *kyt.Registry
	screen *screenEnv
	close  []func()
}

// Close closes the registry and then what it rests on.
func (e *kytEnv) Close() {
	for i := len(e.close) - 1; i >= 0; i-- {
		e.close[i]()
	}
}

// openKYT opens the registry under --data for writing, with the label
// store, the exposure graphs and the chain stores.
func openKYT(ctx context.Context, g *globals, rules string, hops int) (*kytEnv, error) {
	senv, err := openScreenEnv(ctx, g, rules)
	if err != nil {
		return nil, err
	}
	e := &kytEnv{screen: senv, close: []func(){senv.Close}}
	chains, closeChains := openKYTChains(ctx, g, senv.stores)
	e.close = append(e.close, closeChains)
	e.reg, err = kyt.Open(ctx, kyt.Options{Data: g.dataDir, Screener: senv.screener, Chains: chains, Screen: screen.Options{Hops: hops}, Logger: g.log})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("%w (does a running \"chaintrace serve\" hold it? use its /api/v1/transfers)", err)
	}
	e.close = append(e.close, func() { _ = e.reg.Close() })
	return e, nil
}

func newKYTCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kyt",
		Short: "Deposit screening: register received transfers, list them, re-screen them",
		Long: `Deposit screening (know your transaction): register each transfer the
platform received, by chain, transaction and output index (Bitcoin) or log
index (an EVM token transfer; none for the native value), with the
platform's user id. The sending side is screened (identifications, and
exposure where the chain has a graph) and the transfer rated with the
worst sender's risk level. A transfer whose transaction is not ingested
yet is pending until it is. The registry lives in --data/kyt; re-screening
after new labels raises a rating_change alert (the alert journal and the
webhooks) when a rating changes. "chaintrace serve" offers the same as
POST /api/v1/transfers and re-screens by itself.`,
	}
	cmd.AddCommand(newKYTRegisterCmd(g), newKYTListCmd(g), newKYTRescreenCmd(g))
	return cmd
}

func newKYTRegisterCmd(g *globals) *cobra.Command {
	var req kyt.Request
	var vout, logIndex int64
	var rules string
	var hops int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a received transfer and print its screening",
		Example: `  chaintrace kyt register --chain btc --tx 4a5e...3b --vout 0 --user u-1842
  chaintrace kyt register --chain eth --tx 0x5c50...e1 --log-index 17 --user u-1842 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			idx := func(name string, v int64) (*uint32, error) {
				if !fl.Changed(name) {
					return nil, nil
				}
				if v < 0 || v > 1<<32-1 {
					return nil, fmt.Errorf("--%s %d is out of range", name, v)
				}
				u := uint32(v)
				return &u, nil
			}
			var err error
			if req.OutputIndex, err = idx("vout", vout); err != nil {
				return err
			}
			if req.LogIndex, err = idx("log-index", logIndex); err != nil {
				return err
			}
			ctx := cmd.Context()
			e, err := openKYT(ctx, g, rules, hops)
			if err != nil {
				return err
			}
			defer e.Close()
			t, err := e.reg.Register(ctx, req)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, t)
			}
			printTransfer(g, &t)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&req.Chain, "chain", "", "chain of the transfer (btc, eth, or a store's chain id such as btc-regtest, eth-sim)")
	fl.StringVar(&req.Tx, "tx", "", "transaction hash")
	fl.Int64Var(&vout, "vout", 0, "output index (Bitcoin)")
	fl.Int64Var(&logIndex, "log-index", 0, "log index of a token transfer (EVM; omit for the native value)")
	fl.StringVar(&req.UserID, "user", "", "the platform's user id")
	fl.StringVar(&rules, "rules", "", "risk rules file (YAML or JSON)")
	fl.IntVar(&hops, "hops", screen.DefaultHops, "transactions back for the senders' indirect exposure")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("chain")
	_ = cmd.MarkFlagRequired("tx")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}

func newKYTListCmd(g *globals) *cobra.Command {
	var f kyt.Filter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List registered transfers (a running serve answers GET /api/v1/transfers instead)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := kyt.CheckFilter(f); err != nil {
				return err
			}
			var all []kyt.Transfer
			if _, err := os.Stat(kyt.Dir(g.dataDir)); err == nil {
				reg, err := kyt.Open(ctx, kyt.Options{Data: g.dataDir, ReadOnly: true, Logger: g.log})
				if err != nil {
					return fmt.Errorf("%w (does a running \"chaintrace serve\" hold it? use its GET /api/v1/transfers)", err)
				}
				defer reg.Close()
				for cursor := ""; ; {
					p, err := reg.List(ctx, f, cursor, kyt.MaxLimit)
					if err != nil {
						return err
					}
					all = append(all, p.Transfers...)
					if cursor = p.Next; cursor == "" {
						break
					}
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if asJSON {
				if all == nil {
					all = []kyt.Transfer{}
				}
				return printJSON(g.out, all)
			}
			if len(all) == 0 {
				fmt.Fprintln(g.out, "no transfers registered")
				return nil
			}
			tw := tabwriter.NewWriter(g.out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tCHAIN\tTX\tINDEX\tAMOUNT\tRATING\tSCREENED")
			for i := range all {
				t := &all[i]
				rating, when := t.Rating, "-"
				if t.Status == kyt.StatusPending {
					rating = "pending"
				}
				if t.Screened != nil {
					when = t.Screened.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.UserID, t.Chain, t.Tx, indexOf(t), orDash(amountOf(t)), rating, when)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&f.UserID, "user", "", "only this user's transfers")
	cmd.Flags().StringVar(&f.Rating, "rating", "", "only transfers rated LOW, MEDIUM, HIGH, SEVERE, or pending or invalid ones")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newKYTRescreenCmd(g *globals) *cobra.Command {
	var rules string
	var hops int
	cmd := &cobra.Command{
		Use:   "rescreen",
		Short: "Screen every registered transfer again; a changed rating raises an alert",
		Long: `Screen every registered transfer again with the current labels and stores,
and screen the pending ones whose transaction has been ingested since. A
transfer whose rating changed raises a rating_change alert: it goes to the
alert journal at once and to the webhooks (chaintrace alerts webhook) now,
or, if they do not answer, from the next "chaintrace serve".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := openKYT(ctx, g, rules, hops)
			if err != nil {
				return err
			}
			defer e.Close()
			st, err := e.reg.Rescreen(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%d transfers re-screened: %d pending ones screened, %d ratings changed, %d alerts raised\n", st.Transfers, st.Resolved, st.Changed, st.Alerts)
			if st.Vanished > 0 {
				fmt.Fprintf(g.out, "%d transfers pending again: their transaction left the chain store (a reorg)\n", st.Vanished)
			}
			if st.Alerts == 0 {
				return nil
			}
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := alert.NewDeliverer(e.reg.DB(), alert.Options{Data: g.dataDir, Logger: g.log, MaxAttempts: 3}).Drain(dctx); err != nil {
				g.log.Warn("alert delivery incomplete; the next serve retries", "err", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rules, "rules", "", "risk rules file (YAML or JSON)")
	cmd.Flags().IntVar(&hops, "hops", screen.DefaultHops, "transactions back for the senders' indirect exposure")
	return cmd
}

// indexOf names a transfer's index for the table and the summary.
func indexOf(t *kyt.Transfer) string {
	switch {
	case t.OutputIndex != nil:
		return fmt.Sprintf("vout %d", *t.OutputIndex)
	case t.LogIndex != nil:
		return fmt.Sprintf("log %d", *t.LogIndex)
	}
	return "native"
}

// amountOf spells a transfer's amount with its asset, or nothing while
// it is pending.
func amountOf(t *kyt.Transfer) string {
	if t.Amount == "" {
		return ""
	}
	return t.Amount + " " + t.Asset
}

// printTransfer prints a transfer and its senders' screening.
func printTransfer(g *globals, t *kyt.Transfer) {
	w := g.out
	fmt.Fprintf(w, "%s %s: %s %s %s for user %s\n", t.ID, t.Status, t.Chain, t.Tx, indexOf(t), t.UserID)
	if t.Status == kyt.StatusPending {
		fmt.Fprintln(w, "  the transaction is not in the store yet: it is screened once ingested (chaintrace kyt rescreen, or a running serve)")
		return
	}
	fmt.Fprintf(w, "  received %s (base units) by %s\n", amountOf(t), t.Address)
	fmt.Fprintf(w, "  rating %s\n", t.Rating)
	for _, r := range t.Reasons {
		fmt.Fprintf(w, "    %s\n", r)
	}
	for _, s := range t.Senders {
		var names []string
		for _, id := range s.Screening.Identifications {
			names = append(names, id.Name)
		}
		fmt.Fprintf(w, "  sender %s (%s): %s %s\n", s.Address, s.Value, s.Screening.Risk.Level, orDash(strings.Join(names, ", ")))
	}
}

// kytServer is the registry a server holds: it delivers the registry's
// alerts, re-screens when the labels, incidents or traces change, and
// reopens the chain stores while transfers wait for their transaction.
type kytServer struct {
	g           *globals
	labels      *labels.Live
	screener    *screen.Screener
	shared      map[string]*store.DB
	chains      kyt.Chains
	reg         *kyt.Registry
	closeChains func()
	stamp       string
	// rescreenDue is set when the labels changed and cleared once a
	// re-screen against them succeeded.
	rescreenDue bool
}

// startKYT opens the registry under --data for a server and starts its
// delivery and polling; stop ends them and closes the registry. Without
// a usable registry it logs why and returns nil: the server then answers
// that deposit screening is unavailable.
func startKYT(ctx context.Context, g *globals, env *screenEnv, poll time.Duration) (reg *kyt.Registry, stop func()) {
	chains, closeChains := openKYTChains(ctx, g, env.stores)
	r, err := kyt.Open(ctx, kyt.Options{Data: g.dataDir, Screener: env.screener, Chains: chains, Logger: g.log})
	if err != nil {
		closeChains()
		g.log.Warn("deposit screening unavailable", "err", err)
		return nil, func() {}
	}
	ks := &kytServer{g: g, labels: env.labels, screener: env.screener, shared: env.stores, chains: chains, reg: r, closeChains: closeChains}
	if err := r.SyncJournal(ctx); err != nil {
		g.log.Warn("kyt: journalling alerts", "err", err)
	}
	ks.stamp, _ = kyt.Stamp(g.dataDir)
	kctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		_ = alert.NewDeliverer(r.DB(), alert.Options{Data: g.dataDir, Logger: g.log}).Run(kctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		ks.poll(kctx, poll)
	}()
	return r, func() {
		cancel()
		<-done
		<-done
		_ = r.Close()
		ks.closeChains()
	}
}

// poll re-screens every poll when the stamp of the labels, incidents and
// traces changed (with a fresh label index), and screens pending transfers after reopening the
// chain stores it opened (a store a follower held may be free now, and
// a read-only view does not see later writes).
func (ks *kytServer) poll(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := kyt.Stamp(ks.g.dataDir)
		if err != nil {
			ks.g.log.Warn("kyt: stamping the data directory", "err", err)
			continue
		}
		pending, err := ks.reg.HasPending(ctx)
		if err != nil {
			ks.g.log.Warn("kyt: looking for pending transfers", "err", err)
			continue
		}
		// The label store has no file stamp (opening it rewrites some
		// of its files): the Live compares its content's version.
		if ks.labels != nil {
			changed, err := ks.labels.Refresh(ctx)
			if err != nil {
				ks.g.log.Warn("kyt: looking for label changes (an import in progress?)", "err", err)
			} else if changed {
				ks.screener.SetIndex(ks.labels.Current())
				ks.g.log.Info("label index reloaded", "labelled_addresses", ks.labels.Current().Len())
				ks.rescreenDue = true
			}
		}
		if stamp == ks.stamp && !pending && !ks.rescreenDue {
			continue
		}
		if pending {
			// Close first, a store opening once per process; meanwhile
			// the stores being reopened count as offline.
			ks.reg.SetChains(ks.offline())
			ks.closeChains()
			ks.chains, ks.closeChains = openKYTChains(ctx, ks.g, ks.shared)
			ks.reg.SetChains(ks.chains)
		}
		if stamp == ks.stamp && !ks.rescreenDue {
			if st, err := ks.reg.ResolvePending(ctx); err != nil && ctx.Err() == nil {
				ks.g.log.Error("kyt: screening pending transfers failed", "err", err)
			} else if st.Resolved > 0 {
				ks.g.log.Info("kyt: pending transfers screened", "resolved", st.Resolved, "alerts", st.Alerts)
			}
			continue
		}
		if rescreenKYT(ctx, ks.g, ks.reg) {
			ks.stamp, ks.rescreenDue = stamp, false
		}
	}
}

// offline returns the chains with the stores the server opened (not
// shared with the screener) moved to Offline.
func (ks *kytServer) offline() kyt.Chains {
	c := kyt.Chains{BTC: map[string]store.Reader{}, EVM: map[string]store.AccountReader{}, Offline: maps.Clone(ks.chains.Offline)}
	if c.Offline == nil {
		c.Offline = map[string]bool{}
	}
	isShared := func(r any) bool {
		for _, db := range ks.shared {
			if r == any(db) {
				return true
			}
		}
		return false
	}
	for id, db := range ks.chains.BTC {
		if isShared(db) {
			c.BTC[id] = db
		} else {
			c.Offline[id] = true
		}
	}
	for id, db := range ks.chains.EVM {
		if isShared(db) {
			c.EVM[id] = db
		} else {
			c.Offline[id] = false
		}
	}
	return c
}

// rescreenKYT re-screens the registry's transfers and logs the outcome;
// it reports whether the round completed.
func rescreenKYT(ctx context.Context, g *globals, reg *kyt.Registry) bool {
	if reg == nil {
		return true
	}
	st, err := reg.Rescreen(ctx)
	if err != nil {
		if ctx.Err() == nil {
			g.log.Error("kyt: re-screening failed", "err", err)
		}
		return false
	}
	g.log.Info("kyt: transfers re-screened", "transfers", st.Transfers, "resolved", st.Resolved, "changed", st.Changed, "alerts", st.Alerts, "vanished", st.Vanished)
	return true
}
