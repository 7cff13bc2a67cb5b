package workspace

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/ethcluster"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/ethereum/go-ethereum/common"
)

// ResolveChain turns a chain name as a user gives it (btc, eth, or a full
// chain id such as btc-regtest) into the id of an open store, so that the
// common case of one store per chain needs no network name.
func (w *Workspace) ResolveChain(name string) (string, error) {
	if _, ok := w.engines[name]; ok {
		return name, nil
	}
	var found []string
	for id := range w.engines {
		if strings.HasPrefix(id, name+"-") || name == "eth" && id == "eth" {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("workspace: no %s store under %s: ingest the chain first (\"chaintrace ingest %s\")", name, w.dir, strings.SplitN(name, "-", 2)[0])
	}
	slices.Sort(found)
	return "", fmt.Errorf("workspace: several stores match chain %s (%s): give the full chain id", name, strings.Join(found, ", "))
}

// Units displays BTC with 8 decimals, native EVM coins with 18 and tokens
// with the decimals their contract reported at ingest (stores imported
// from an export have none, and show base units).
func (w *Workspace) Units(ctx context.Context) trace.Units {
	return func(chain, asset string) (trace.AssetInfo, bool) {
		switch {
		case asset == "BTC":
			return trace.AssetInfo{Symbol: "BTC", Decimals: 8}, true
		case asset == "ETH" || asset == "native":
			return trace.AssetInfo{Symbol: "ETH", Decimals: 18}, true
		}
		db, ok := w.eth[chain]
		if !ok || !common.IsHexAddress(asset) {
			return trace.AssetInfo{}, false
		}
		id, err := db.AddrID(ctx, common.HexToAddress(asset).Bytes())
		if err != nil {
			return trace.AssetInfo{}, false
		}
		m, ok, err := db.Token(ctx, id)
		if err != nil || !ok || !m.HasDecimals {
			return trace.AssetInfo{}, false
		}
		sym := m.Symbol
		if sym == "" {
			sym = asset
		}
		return trace.AssetInfo{Symbol: sym, Decimals: m.Decimals}, true
	}
}

// ClusterOf names the cluster of an address when it has more than one
// member: on Bitcoin stores by the multi-input index (built here from the
// link log, which takes a while on a large store), on EVM stores by the
// deposit-address heuristic around the labelled exchanges (customers who
// share deposit addresses form one entity; deposit addresses join the
// exchange wallet they sweep to).
func (w *Workspace) ClusterOf(ctx context.Context) (trace.ClusterOf, error) {
	type chainIx struct {
		db  *store.DB
		ix  *cluster.Index
		net *chaincfg.Params
	}
	ixs := map[string]chainIx{}
	for chain, db := range w.btc {
		ix, err := cluster.Build(ctx, db)
		if err != nil {
			return nil, err
		}
		net, err := btc.Network(db.Meta().Network)
		if err != nil {
			return nil, err
		}
		ixs[chain] = chainIx{db, ix, net}
	}
	entities := map[string]map[string]string{} // chain -> lower-case address -> cluster name
	for chain, db := range w.eth {
		if w.lstore == nil {
			break
		}
		// A simulated or private EVM chain's labels are Ethereum's.
		services, exclude, err := EthServices(ctx, w.lstore, trace.AddrChain(chain))
		if err != nil {
			return nil, err
		}
		res, err := ethcluster.FindDeposits(ctx, db, services, ethcluster.Options{Exclude: func(a string) bool { return exclude[strings.ToLower(a)] }})
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, group := range res.Entities() {
			for _, a := range group {
				m[a] = "entity-" + group[0]
			}
		}
		for _, d := range res.Deposits {
			m[strings.ToLower(d.Address)] = "service-" + d.Wallet
			m[strings.ToLower(d.Wallet)] = "service-" + d.Wallet
		}
		entities[chain] = m
	}
	return func(chain, address string) (string, bool) {
		if m, ok := entities[chain]; ok {
			c, ok := m[strings.ToLower(address)]
			return c, ok
		}
		c, ok := ixs[chain]
		if !ok {
			return "", false
		}
		k, err := btc.ParseAddress(address, c.net)
		if err != nil {
			return "", false
		}
		id, err := c.db.AddrID(ctx, k.Bytes())
		if err != nil {
			return "", false
		}
		cid := c.ix.ClusterOf(id)
		if c.ix.Size(cid) < 2 {
			return "", false
		}
		return strconv.FormatUint(cid, 10), true
	}, nil
}

// EthServices lists the labelled exchange addresses of chain, which the
// deposit-address heuristic sweeps towards, and the set of every labelled
// service address (lower case), which cannot be deposit addresses.
func EthServices(ctx context.Context, st *labels.Store, chain string) ([]ethcluster.Service, map[string]bool, error) {
	var services []ethcluster.Service
	serviceAddrs := map[string]bool{}
	err := st.All(ctx, func(l labels.Label) bool {
		if l.Chain != chain || l.Address == "" || l.Retired != nil {
			return true
		}
		key := strings.ToLower(l.Address)
		if c, _ := trace.Classify(&trace.Params{}, []labels.Label{l}); c != trace.ClassNone {
			serviceAddrs[key] = true
			known := slices.ContainsFunc(services, func(x ethcluster.Service) bool { return strings.EqualFold(x.Address, key) })
			if l.Category == "exchange" && !known {
				services = append(services, ethcluster.Service{Address: l.Address, Name: l.Label})
			}
		}
		return true
	})
	if err != nil {
		return nil, nil, fmt.Errorf("workspace: %w", err)
	}
	return services, serviceAddrs, nil
}
