package kyt_test

import (
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/store"
)

// benchDeposits is how many deposits the benchmark chain holds.
const benchDeposits = 500

// depositChain is a regtest store in which a source address fans a
// coinbase out to benchDeposits customers, each of whom then pays a
// deposit address (output 0) with a change output.
type depositChain struct {
	db       *store.DB
	source   string
	deposits []string // transaction hashes
}

func buildDepositChain(b *testing.B) *depositChain {
	b.Helper()
	ctx := context.Background()
	blk := b.TempDir()
	c, err := btcw.New(blk, btcw.Config{Seed: 11})
	if err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	src, miner, dep := c.NewAddr(btcw.P2WPKH), c.NewAddr(btcw.P2WPKH), c.NewAddr(btcw.P2WPKH)
	dc := &depositChain{source: c.AddrString(src)}
	_, coin, err := c.Mine(ctx, time.Time{}, src)
	must(err)
	for range 100 {
		_, _, err := c.Mine(ctx, time.Time{}, miner)
		must(err)
	}
	outs := make([]btcw.Output, benchDeposits)
	for i := range outs {
		outs[i] = btcw.Output{Addr: c.NewAddr(btcw.P2WPKH), Value: 5_000_000}
	}
	_, coins, err := c.Spend([]btcw.Coin{coin}, outs, btcw.TxOpts{})
	must(err)
	_, _, err = c.Mine(ctx, time.Time{}, miner)
	must(err)
	for i, cn := range coins {
		h, _, err := c.Spend([]btcw.Coin{cn}, []btcw.Output{{Addr: dep, Value: 3_000_000}, {Addr: outs[i].Addr, Value: 1_990_000}}, btcw.TxOpts{})
		must(err)
		dc.deposits = append(dc.deposits, h.String())
	}
	_, _, err = c.Mine(ctx, time.Time{}, miner)
	must(err)
	must(c.Close())
	dc.db, err = store.Open(ctx, b.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	must(err)
	b.Cleanup(func() { dc.db.Close() })
	bs, err := blkfile.Open(ctx, blk, chaincfg.RegressionNetParams.Net)
	must(err)
	defer bs.Close()
	_, err = ingest.NewBTC(dc.db, bs, ingest.Options{}).Run(ctx)
	must(err)
	return dc
}

// registry opens a registry in a fresh data directory over the chain.
func (dc *depositChain) registry(b *testing.B, ix *labels.Index) (*kyt.Registry, *screen.Screener) {
	b.Helper()
	gr, err := screen.NewBTCGraph(dc.db)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := screen.New(ix, map[string]screen.Graph{"btc-regtest": gr}, screen.DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	r, err := kyt.Open(context.Background(), kyt.Options{Data: b.TempDir(), Screener: sc,
		Chains: kyt.Chains{BTC: map[string]store.Reader{"btc-regtest": dc.db}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r, sc
}

func (dc *depositChain) registerAll(b *testing.B, r *kyt.Registry) {
	b.Helper()
	for i, tx := range dc.deposits {
		if _, err := r.Register(context.Background(), kyt.Request{Chain: "btc", Tx: tx, OutputIndex: u32(0), UserID: "u" + string(rune('a'+i%26))}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegister registers benchDeposits fresh deposits (resolve,
// screen the sender with exposure over three hops, one synced commit
// each) into an empty registry per iteration.
func BenchmarkRegister(b *testing.B) {
	dc := buildDepositChain(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r, _ := dc.registry(b, nil)
		b.StartTimer()
		dc.registerAll(b, r)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*benchDeposits), "µs/transfer")
}

// BenchmarkRescreen re-screens benchDeposits registered deposits after
// the source of every sender's coins is sanctioned: each rating changes
// (LOW to HIGH, indirect exposure) and raises an alert, journalled.
func BenchmarkRescreen(b *testing.B) {
	dc := buildDepositChain(b)
	sanctioned := labels.NewIndex([]labels.Label{{Chain: "btc-regtest", Address: dc.source, Label: "Sanctioned source", Abuse: "sanction",
		ConfidenceLevel: 100, Source: "bench", Dataset: "ofac-sdn"}}, nil)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r, sc := dc.registry(b, nil)
		dc.registerAll(b, r)
		sc.SetIndex(sanctioned)
		b.StartTimer()
		st, err := r.Rescreen(context.Background())
		if err != nil || st.Alerts != benchDeposits {
			b.Fatalf("%+v %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*benchDeposits), "µs/transfer")
}
