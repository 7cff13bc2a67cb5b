package main

import (
	"path/filepath"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// apiChains makes the chain stores openScreenEnv opened into the chain
// routes' stores, by chain id. A Bitcoin store whose network query does
// not know is left out with a warning. The Bitcoin stores' cluster
// indexes start building at once (minutes on mainnet), and env closes
// the readers, stopping such a build, before their stores.
func apiChains(g *globals, env *screenEnv) map[string]api.Chain {
	chains := map[string]api.Chain{}
	for dir, db := range env.stores {
		switch m := db.Meta(); m.Chain {
		case "btc":
			q, err := query.NewBTC(db)
			if err != nil {
				g.log.Warn("Bitcoin store not served", "dir", dir, "err", err)
				continue
			}
			q.WarmClusters()
			env.closers = append([]func() error{q.Close}, env.closers...)
			chains[btc.ChainID(m.Network)] = api.Chain{BTC: q, Size: db.DiskUsage}
		case "eth":
			chains[workspace.ETHChainID(m.Network)] = api.Chain{ETH: query.NewETH(db), Size: db.DiskUsage}
		default:
			g.log.Warn("chain store of an unknown kind not served", "dir", filepath.Base(dir), "chain", m.Chain)
		}
	}
	return chains
}
