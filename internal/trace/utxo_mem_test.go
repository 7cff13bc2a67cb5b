package trace

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace/graphidx"
)

// memEngine returns an engine with e's options over an in-memory index
// of db.
func memEngine(tb testing.TB, db *store.DB, e *UTXO) *UTXO {
	tb.Helper()
	x, err := graphidx.Build(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := NewUTXO(x, e.opts)
	if err != nil {
		tb.Fatal(err)
	}
	if utxoReadsAhead(x) {
		tb.Fatal("the index is read ahead")
	}
	return m
}

// sameRun runs p on both engines and requires the same Result, or an
// error from both.
func sameRun(t *testing.T, what string, a, b *UTXO, p Params, seeds []Seed) *Result {
	t.Helper()
	ctx := context.Background()
	ra, erra := a.Run(ctx, p, seeds)
	rb, errb := b.Run(ctx, p, seeds)
	if (erra == nil) != (errb == nil) {
		t.Fatalf("%s: store engine error %v, index engine error %v", what, erra, errb)
	}
	if erra != nil {
		return nil
	}
	ra.Stats.Elapsed, rb.Stats.Elapsed = 0, 0
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("%s: results differ:\nstore %+v\nindex %+v", what, ra, rb)
	}
	return ra
}

// TestUTXOInMemoryGolden runs every trace of testdata/utxo on the store
// engine and on the engine over the in-memory index of the same store,
// and requires identical Results.
func TestUTXOInMemoryGolden(t *testing.T) {
	ctx := context.Background()
	files, err := filepath.Glob("testdata/utxo/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata (%v)", err)
	}
	runs := 0
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cases, err := parseGolden(path, strings.Split(strings.TrimRight(string(raw), "\n"), "\n"))
		if err != nil {
			t.Fatal(err)
		}
		var ub *utxoBuilt
		for _, c := range cases {
			switch c.Cmd {
			case "graph":
				g, err := parseUTXOGraph(c.Input)
				if err != nil {
					t.Fatal(err)
				}
				if ub, err = g.build(ctx, t.TempDir()); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ub.db.Close() })
			case "trace":
				p, seeds, maxTxs, err := ub.params(c)
				if err != nil {
					t.Fatal(err)
				}
				e := ub.engine(t, maxTxs)
				sameRun(t, c.Pos, e, memEngine(t, ub.db, e), p, seeds)
				runs++
			}
		}
	}
	if runs < 20 {
		t.Fatalf("only %d traces compared", runs)
	}
}

// TestUTXOInMemoryRandom compares both engines on the random graphs of
// TestUTXOConservation, every model both ways, with random hop limits,
// dust thresholds, time windows, mixers and change rules.
func TestUTXOInMemoryRandom(t *testing.T) {
	graphs := 100
	if testing.Short() {
		graphs = 20
	}
	ctx := context.Background()
	runs := 0
	for seed := range graphs {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		g := utxoRandomGraph(rng, 4+rng.IntN(6), 4, 8)
		ub, err := g.build(ctx, t.TempDir())
		if err != nil {
			t.Fatalf("graph %d: %v", seed, err)
		}
		e := ub.engine(t, 0)
		m := memEngine(t, ub.db, e)
		base := Params{
			From:          []string{ub.addr(fmt.Sprintf("a%d", rng.IntN(8))), ub.addr(fmt.Sprintf("a%d", rng.IntN(8)))},
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
			for _, md := range []Model{Poison, Haircut, FIFO} {
				p := base
				p.Direction, p.Model = dir, md
				if sameRun(t, fmt.Sprintf("graph %d %s %s", seed, dir, md), e, m, p, nil) != nil {
					runs++
				}
			}
		}
		ub.db.Close()
	}
	if runs < graphs*3 {
		t.Fatalf("only %d traces compared over %d graphs", runs, graphs)
	}
}

// TestUTXOInMemoryMainnet compares both engines on the real mainnet
// blocks 0-14131: forward haircut traces of 6 hops from 300 single
// addresses (whose value moved) and from sets of 20, then poison, FIFO and backward traces
// from a few of them.
func TestUTXOInMemoryMainnet(t *testing.T) {
	_, db := utxoMainnetStore(t)
	ctx := context.Background()
	e, err := NewUTXO(db, UTXOOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := memEngine(t, db, e)

	// Sources: the first address of a spent output of a random
	// transaction (most outputs of these blocks, coinbases, never moved).
	tip, err := e.Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, err := db.BlockByHeight(ctx, tip)
	if err != nil {
		t.Fatal(err)
	}
	nTx := last.TxNumMin + uint64(last.TxCount)
	rng := rand.New(rand.NewPCG(5, 5))
	seen := map[string]bool{}
	var sources []string
	var rec store.TxRec
	for tries := 0; len(sources) < 300 && tries < 1_000_000; tries++ {
		if err := db.Tx(ctx, rng.Uint64N(nTx), &rec); err != nil {
			t.Fatal(err)
		}
		vout := rng.IntN(len(rec.Outs))
		o := rec.Outs[vout]
		if _, spent, err := db.Spender(ctx, rec.TxNum, uint32(vout)); err != nil || !spent || len(o.AddrIDs) == 0 {
			continue
		}
		kb, err := db.AddrKey(ctx, o.AddrIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		k, err := btc.AddrKeyFromBytes(kb)
		if err != nil {
			t.Fatal(err)
		}
		if a := k.Encode(&chaincfg.MainNetParams); !seen[a] {
			seen[a] = true
			sources = append(sources, a)
		}
	}
	if len(sources) < 200 {
		t.Fatalf("only %d sources whose value moved", len(sources))
	}
	var edges, txs int
	for i, s := range sources {
		p := Params{From: []string{s}, Model: Haircut, Hops: 6}
		if i%3 == 0 {
			p.MinValue = model.AmountFromUint64(100_000_000)
		}
		res := sameRun(t, "haircut from "+s, e, m, p, nil)
		edges += len(res.Edges)
		txs += res.Stats.Txs
	}
	for i := 0; i+20 <= len(sources); i += 20 {
		sameRun(t, fmt.Sprintf("haircut from set %d", i/20), e, m, Params{From: sources[i : i+20], Model: Haircut, Hops: 6}, nil)
	}
	for _, s := range sources[:30] {
		for _, md := range []Model{Poison, FIFO} {
			sameRun(t, string(md)+" from "+s, e, m, Params{From: []string{s}, Model: md, Hops: 4}, nil)
		}
		sameRun(t, "backward from "+s, e, m, Params{From: []string{s}, Direction: Backward, Model: Haircut, Hops: 4}, nil)
	}
	t.Logf("%d haircut traces: %d edges, %d transactions visited in all", len(sources), edges, txs)
	if edges < 300 {
		t.Fatalf("only %d edges over %d traces: the comparison is vacuous", edges, len(sources))
	}
}
