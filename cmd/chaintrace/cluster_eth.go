package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/chaintrace/chaintrace/internal/ethcluster"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/ethereum/go-ethereum/common"
)

// ethClusterJSON is `cluster show` for an account-chain address.
type ethClusterJSON struct {
	Address      string                 `json:"address"`
	Chain        string                 `json:"chain"`
	Kind         ethcluster.AccountKind `json:"kind"`
	KindEvidence string                 `json:"kind_evidence"`
	// DepositOf is set when the address is a service's deposit address.
	DepositOf *ethcluster.Deposit `json:"deposit_of,omitempty"`
	// Entity lists the addresses linked with this one by shared deposit
	// addresses (itself included); empty when it has no link.
	Entity []string `json:"entity"`
	// Deposits are the deposit addresses the entity's members paid into.
	Deposits []ethcluster.Deposit `json:"deposits,omitempty"`
	Labels   []trace.Label        `json:"labels,omitempty"`
	// Services is how many labelled exchange addresses the heuristic
	// examined, Candidates how many addresses that paid them.
	Services   int `json:"services"`
	Candidates int `json:"candidates"`
}

// runClusterShowETH applies the deposit-address heuristic around the
// labelled exchange addresses of the chain's store and reports what it
// says about addr.
func runClusterShowETH(ctx context.Context, g *globals, f *clusterFlags, addr string) error {
	if !common.IsHexAddress(addr) {
		return fmt.Errorf("cluster: %q is not an account address", addr)
	}
	name := f.ethChain
	dir := ethStoreDir(g.dataDir, name)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no store for %s at %s: run \"chaintrace ingest eth\" first (or set --eth-chain)", name, dir)
	}
	db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	chain := ethChainID(db.Meta().Network)
	out := ethClusterJSON{Address: common.HexToAddress(addr).Hex(), Chain: chain}
	id, err := db.AddrID(ctx, common.HexToAddress(addr).Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("cluster: %s has no activity in the %s store", addr, name)
	}
	if err != nil {
		return err
	}
	if out.Kind, out.KindEvidence, err = ethcluster.Kind(ctx, db, id, 0); err != nil {
		return err
	}
	var services []ethcluster.Service
	serviceAddrs := map[string]bool{}
	if _, err := os.Stat(labelsDir(g.dataDir)); err == nil {
		st, err := labels.Open(ctx, labelsDir(g.dataDir))
		if err != nil {
			return err
		}
		defer st.Close()
		if services, serviceAddrs, err = workspace.EthServices(ctx, st, chain); err != nil {
			return err
		}
		ls, err := st.Labels(ctx, chain, out.Address)
		if err != nil {
			return err
		}
		out.Labels = trace.Labels(ls)
	} else {
		g.log.Warn("no label database: the deposit-address heuristic needs labelled exchange addresses")
	}
	out.Services = len(services)
	res, err := ethcluster.FindDeposits(ctx, db, services, ethcluster.Options{
		Exclude: func(a string) bool { return serviceAddrs[strings.ToLower(a)] },
	})
	if err != nil {
		return err
	}
	out.Candidates = res.Candidates
	if d, ok := res.Deposit(out.Address); ok {
		out.DepositOf = &d
	}
	out.Entity = res.Linked(out.Address)
	for _, d := range res.Deposits {
		for _, s := range d.Senders {
			if slices.ContainsFunc(out.Entity, func(x string) bool { return strings.EqualFold(x, s) }) {
				out.Deposits = append(out.Deposits, d)
				break
			}
		}
	}
	if f.json {
		return printJSON(g.out, out)
	}
	w := g.out
	fmt.Fprintf(w, "address   %s (%s)\nkind      %s: %s\n", out.Address, chain, out.Kind, out.KindEvidence)
	for _, l := range out.Labels {
		fmt.Fprintf(w, "label     %s [%s] (dataset %s)\n", l.Label, orDash(l.Category), l.Dataset)
	}
	if out.DepositOf != nil {
		fmt.Fprintf(w, "deposit address of %s (sweeps to %s): %d sweeps, senders %s\n", out.DepositOf.Service, out.DepositOf.Wallet,
			len(out.DepositOf.Sweeps), strings.Join(out.DepositOf.Senders, ", "))
	}
	if len(out.Entity) > 0 {
		fmt.Fprintf(w, "entity    %d addresses linked by shared deposit addresses:\n", len(out.Entity))
		for _, a := range out.Entity {
			fmt.Fprintf(w, "  %s\n", a)
		}
		for _, d := range out.Deposits {
			fmt.Fprintf(w, "  via deposit address %s of %s\n", d.Address, d.Service)
		}
	} else if out.DepositOf == nil {
		fmt.Fprintln(w, "entity    no links: it paid no deposit address another address also paid")
	}
	fmt.Fprintf(w, "(examined %d exchange addresses and %d addresses that paid them)\n", out.Services, out.Candidates)
	return nil
}
