package trace

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
)

// acctRandomGraph generates a small account graph: addresses a0..a(n-1),
// native ETH and two tokens, mints, burns, fees, swaps by construction (a
// transfer and a transfer back in another asset in one transaction), and
// labels on a few addresses.
func acctRandomGraph(rng *rand.Rand, addrs, blocks int) *acctBuild {
	g := newAcctBuild()
	g.tokens = []string{"TKA", "TKB", "NFT"}
	name := func() string { return fmt.Sprintf("a%d", rng.IntN(addrs)) }
	assets := []string{"", "TKA", "TKB"}
	cats := []string{"exchange", "mixing_service", "bridge", "dex"}
	for i := 0; i < 3; i++ {
		if rng.IntN(2) == 0 {
			g.label(name(), cats[rng.IntN(len(cats))], fmt.Sprintf("svc%d", i))
		}
	}
	n := 0
	for b := 0; b < blocks; b++ {
		blk := acctBBlock{time: int64(1_700_000_000 + b*86400)}
		for range 1 + rng.IntN(4) {
			tx := acctBTx{name: fmt.Sprintf("t%d", n)}
			n++
			for range 1 + rng.IntN(3) {
				tr := acctBTr{kind: eth.Native, from: name(), to: name(), amount: model.AmountFromUint64(uint64(1 + rng.IntN(100)))}
				tr.token = assets[rng.IntN(len(assets))]
				if tr.token != "" {
					tr.kind = eth.ERC20
				}
				switch rng.IntN(12) {
				case 0:
					tr.from = "0"
					if tr.token == "" {
						tr.kind = eth.Withdrawal
					}
				case 1:
					tr.to = "0"
				case 2:
					tr.kind, tr.to, tr.token = eth.FeeBurnt, "0", ""
				case 3:
					tr.kind, tr.to, tr.token = eth.FeeTip, "miner", ""
				case 4:
					tr.kind, tr.token, tr.amount = eth.ERC721, "NFT", model.AmountFromUint64(1)
				case 5:
					// A swap: the recipient pays back another asset.
					back := tr
					back.from, back.to = tr.to, tr.from
					back.token = assets[(rng.IntN(2)+1+indexOf(assets, tr.token))%len(assets)]
					back.kind = eth.ERC20
					if back.token == "" {
						back.kind = eth.Internal
					}
					tx.trs = append(tx.trs, tr)
					tr = back
				}
				tx.trs = append(tx.trs, tr)
			}
			blk.txs = append(blk.txs, tx)
		}
		g.blocks = append(g.blocks, blk)
	}
	return g
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// TestAccountConservation checks on random graphs that haircut and FIFO
// totals balance exactly both ways, that every edge's taint lies within its
// value, and that poison taints at least every address haircut or FIFO
// leaves taint at.
func TestAccountConservation(t *testing.T) {
	ctx := context.Background()
	graphs := 200
	if testing.Short() {
		graphs = 40
	}
	for seed := range graphs {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		g := acctRandomGraph(rng, 3+rng.IntN(8), 2+rng.IntN(8))
		eng, err := NewAccount(g.open(t), AccountOptions{Chain: "eth", Labels: g, MaxEvents: 50 + rng.IntN(2000)})
		if err != nil {
			t.Fatal(err)
		}
		// The source is the sender of the first transfer, so that it is
		// in the store.
		src := g.blocks[0].txs[0].trs[0].from
		if src == "0" {
			src = g.blocks[0].txs[0].trs[0].to
		}
		base := Params{From: []string{g.addr(src)}, Hops: 1 + rng.IntN(5),
			MinValue: model.AmountFromUint64(uint64(rng.IntN(4))), ThroughMixers: rng.IntN(2) == 0, NoSwaps: rng.IntN(4) == 0}
		if rng.IntN(3) == 0 {
			base.Since = timeOf(g.blocks[rng.IntN(len(g.blocks))].time)
		}
		for _, dir := range []Direction{Forward, Backward} {
			held := map[Model]map[string]bool{}
			for _, m := range []Model{Poison, Haircut, FIFO} {
				p := base
				p.Direction, p.Model = dir, m
				res, err := eng.Run(ctx, p, nil)
				if err != nil {
					t.Fatalf("seed %d %s %s: %v", seed, dir, m, err)
				}
				held[m] = map[string]bool{}
				for _, h := range res.Holdings {
					held[m][h.Address+" "+h.Asset] = true
				}
				for _, e := range res.Edges {
					if e.Tainted.Cmp(e.Value) > 0 {
						t.Errorf("seed %d %s %s: edge %s %s->%s tainted %s > value %s", seed, dir, m, e.Tx, e.From, e.To, e.Tainted, e.Value)
					}
				}
				if m == Poison {
					continue
				}
				for _, tot := range res.Totals {
					if !tot.Balanced() {
						t.Errorf("seed %d %s %s %s: in %s out %s: %+v", seed, dir, m, tot.Asset, tot.In(), tot.Out(), tot)
					}
				}
			}
			if dir == Forward {
				for _, m := range []Model{Haircut, FIFO} {
					for k := range held[m] {
						if !held[Poison][k] {
							t.Errorf("seed %d %s: %s holds taint under %s but not under poison", seed, dir, k, m)
						}
					}
				}
			}
		}
	}
}

// BenchmarkAccountTrace runs forward and backward haircut traces over a
// generated graph of 300 addresses and about 5,000 transactions.
func BenchmarkAccountTrace(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := acctRandomGraph(rng, 300, 2000)
	eng, err := NewAccount(g.open(b), AccountOptions{Chain: "eth", Labels: g})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	p := Params{From: []string{g.addr("a1")}, Hops: 4}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, dir := range []Direction{Forward, Backward} {
			p.Direction = dir
			if _, err := eng.Run(ctx, p, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
