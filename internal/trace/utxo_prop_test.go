package trace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// utxoRandomGraph generates a valid random chain: blocks of a coinbase and
// a few transactions spending random unspent outputs (several inputs,
// several outputs, a fee), with a labelled exchange and mixer among the
// addresses, some CoinJoin marks and change guesses.
func utxoRandomGraph(rng *rand.Rand, blocks, txsPerBlock, addrs int) *utxoGraph {
	g := newUTXOGraph()
	g.labels["a1"] = []labels.Label{{Chain: utxoTestChain, Category: "exchange", Label: "Exchange"}}
	g.labels["a2"] = []labels.Label{{Chain: utxoTestChain, Category: "mixing_service", Label: "Mixer"}}
	addr := func() string {
		if rng.IntN(20) == 0 {
			return "-"
		}
		return fmt.Sprintf("a%d", rng.IntN(addrs))
	}
	var unspent []utxoGRef
	vals := map[utxoGRef]int64{}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for h := range blocks {
		b := utxoGBlock{time: start.Add(time.Duration(h) * time.Hour)}
		addTx := func(tx utxoGTx) {
			for vout, o := range tx.outs {
				if o.addr != "-" {
					ref := utxoGRef{tx.name, uint32(vout)}
					unspent = append(unspent, ref)
					vals[ref] = o.value
				}
			}
			b.txs = append(b.txs, tx)
		}
		cb := utxoGTx{name: fmt.Sprintf("cb%d", h), coinbase: true}
		for range 1 + rng.IntN(2) {
			cb.outs = append(cb.outs, utxoGOut{fmt.Sprintf("a%d", rng.IntN(addrs)), 1000 + rng.Int64N(9000)})
		}
		addTx(cb)
		for range rng.IntN(txsPerBlock + 1) {
			if len(unspent) == 0 {
				break
			}
			n++
			tx := utxoGTx{name: fmt.Sprintf("t%d", n)}
			var in int64
			for range 1 + rng.IntN(3) {
				if len(unspent) == 0 {
					break
				}
				k := rng.IntN(len(unspent))
				ref := unspent[k]
				unspent[k] = unspent[len(unspent)-1]
				unspent = unspent[:len(unspent)-1]
				tx.ins = append(tx.ins, ref)
				in += vals[ref]
			}
			left := in - rng.Int64N(min(in, 200)+1)
			nOut := 1 + rng.IntN(3)
			for k := range nOut {
				v := left
				if k < nOut-1 {
					v = rng.Int64N(left + 1)
				}
				a := addr()
				if a == "-" && rng.IntN(2) == 0 {
					v = 0
				}
				tx.outs = append(tx.outs, utxoGOut{a, v})
				left -= v
			}
			if rng.IntN(10) == 0 {
				g.joins[tx.name] = "whirlpool"
			}
			if rng.IntN(3) == 0 {
				g.change[tx.name] = utxoGChange{rng.IntN(nOut), rng.Float64()}
			}
			addTx(tx)
		}
		g.blocks = append(g.blocks, b)
	}
	return g
}

// utxoOutKey names an output by transaction ordinal and index.
type utxoOutKey struct {
	tx   uint64
	vout uint32
}

// TestUTXOConservation traces random graphs with every model both ways
// and checks what must hold whatever the graph: haircut and FIFO totals
// balance to the satoshi; no output carries more taint than its value;
// poison bounds the other models output by output (anything they taint,
// poison taints at least as much); and equal input gives equal output.
func TestUTXOConservation(t *testing.T) {
	graphs := 200
	if testing.Short() {
		graphs = 40
	}
	ctx := context.Background()
	runs, tainted := 0, 0
	for seed := range graphs {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		g := utxoRandomGraph(rng, 4+rng.IntN(6), 4, 8)
		ub, err := g.build(ctx, t.TempDir())
		if err != nil {
			t.Fatalf("graph %d: %v", seed, err)
		}
		values := map[utxoOutKey]int64{}
		for ref, v := range ub.outVals {
			values[utxoOutKey{ub.txnums[ref.tx], ref.vout}] = v
		}
		e := ub.engine(t, 0)
		base := Params{
			From:          []string{ub.addr(fmt.Sprintf("a%d", rng.IntN(8)))},
			Hops:          1 + rng.IntN(5),
			ThroughMixers: rng.IntN(2) == 0,
			ChangeSameHop: rng.IntN(2) == 0,
		}
		if rng.IntN(3) == 0 {
			base.MinValue = model.AmountFromUint64(uint64(rng.IntN(500)))
		}
		if rng.IntN(3) == 0 {
			base.Since = time.Date(2024, 1, 1, rng.IntN(3), 0, 0, 0, time.UTC)
			base.Until = base.Since.Add(time.Duration(1+rng.IntN(5)) * time.Hour)
		}
		for _, dir := range []Direction{Forward, Backward} {
			taint := map[Model]map[utxoOutKey]int64{}
			for _, m := range []Model{Poison, Haircut, FIFO} {
				p := base
				p.Direction, p.Model = dir, m
				seen := map[utxoOutKey]int64{}
				e.observe = func(tx uint64, vout uint32, amt int64, hop int) {
					k := utxoOutKey{tx, vout}
					if _, dup := seen[k]; dup {
						t.Errorf("graph %d %s %s: output %v observed twice", seed, dir, m, k)
					}
					seen[k] = amt
					if amt < 0 || amt > values[k] {
						t.Errorf("graph %d %s %s: output %v carries %d of %d", seed, dir, m, k, amt, values[k])
					}
				}
				res, err := e.Run(ctx, p, nil)
				if err != nil {
					e.observe = nil
					if errors.Is(err, store.ErrNotFound) {
						continue // the chosen address never appeared
					}
					t.Fatalf("graph %d %s %s: %v", seed, dir, m, err)
				}
				e.observe = nil
				taint[m] = seen
				runs++
				tainted += len(seen)
				if m != Poison {
					for _, tt := range res.Totals {
						if !tt.Balanced() {
							t.Errorf("graph %d %s %s: totals do not balance: %+v", seed, dir, m, tt)
						}
					}
				}
				if seed%10 == 0 {
					again, err := e.Run(ctx, p, nil)
					if err != nil {
						t.Fatal(err)
					}
					res.Stats.Elapsed, again.Stats.Elapsed = 0, 0
					if !reflect.DeepEqual(res, again) {
						t.Errorf("graph %d %s %s: two runs differ", seed, dir, m)
					}
				}
			}
			for _, m := range []Model{Haircut, FIFO} {
				for k, amt := range taint[m] {
					if amt > 0 && taint[Poison][k] < amt {
						t.Errorf("graph %d %s: output %v: %s taint %d above poison's %d", seed, dir, k, m, amt, taint[Poison][k])
					}
				}
			}
		}
		ub.db.Close()
	}
	// Guard against a vacuous pass: most traces must find value to follow.
	t.Logf("%d traces, %d tainted outputs", runs, tainted)
	if runs < graphs*3 || tainted < runs*2 {
		t.Fatalf("only %d traces and %d tainted outputs over %d graphs", runs, tainted, graphs)
	}
}

// BenchmarkUTXOTrace measures a forward haircut trace, and a FIFO one, on
// a generated graph of a few thousand transactions.
func BenchmarkUTXOTrace(b *testing.B) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	g := utxoRandomGraph(rng, 400, 10, 50)
	ub, err := g.build(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer ub.db.Close()
	e := ub.engine(b, 0)
	for _, m := range []Model{Haircut, FIFO} {
		b.Run(string(m), func(b *testing.B) {
			p := Params{From: []string{ub.addr("a3")}, Model: m, Hops: 50, ThroughMixers: true}
			b.ReportAllocs()
			var txs int
			for b.Loop() {
				res, err := e.Run(ctx, p, nil)
				if err != nil {
					b.Fatal(err)
				}
				txs = res.Stats.Txs
			}
			b.ReportMetric(float64(txs), "txs/op")
		})
	}
}
