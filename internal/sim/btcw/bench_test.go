package btcw

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSpend measures Spend on 1-in-2-out P2WPKH transactions, each
// paying two fresh addresses, mining a block every 2,000 transactions:
// the cost per transaction of a simulated economy, file output included.
// Coins are spent oldest first, so none is spent in the block creating
// it, and the unspent set grows by one coin per transaction.
func BenchmarkSpend(b *testing.B) {
	c, err := New(b.TempDir(), Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	miner := c.NewAddr(P2WPKH)
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var queue []Coin
	for range 200 {
		now = now.Add(10 * time.Minute)
		_, cb, err := c.Mine(ctx, now, miner)
		if err != nil {
			b.Fatal(err)
		}
		queue = append(queue, cb)
	}
	queue = queue[:100] // The mature ones.
	outs := make([]Output, 2)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		coin := queue[0]
		queue = queue[1:]
		v := (coin.Value - 200) / 2
		outs[0] = Output{Addr: c.NewAddr(P2WPKH), Value: v}
		outs[1] = Output{Addr: c.NewAddr(P2WPKH), Value: v}
		_, coins, err := c.Spend([]Coin{coin}, outs, TxOpts{})
		if err != nil {
			b.Fatal(err)
		}
		queue = append(queue, coins...)
		if c.Pending() == 2000 {
			now = now.Add(10 * time.Minute)
			if _, _, err := c.Mine(ctx, now, miner); err != nil {
				b.Fatal(err)
			}
		}
	}
	sec := time.Since(start).Seconds()
	st := c.Stats()
	b.ReportMetric(float64(b.N)/sec, "tx/s")
	b.ReportMetric(float64(st.Bytes)/float64(st.Txs), "bytes/tx")
}
