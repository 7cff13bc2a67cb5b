package ingest_test

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/monitor"
)

// BenchmarkEthIngest ingests 200 synthetic blocks of 100 transactions, each
// with 8 ERC-20 transfer logs (11 transfers per transaction with value and
// fees), into a fresh store per iteration.
func BenchmarkEthIngest(b *testing.B) { benchEthIngest(b, nil) }

// BenchmarkEthIngestMonitored is BenchmarkEthIngest with the account
// monitor watching 1,000 of the senders with rule any and following taint
// down to one base unit: a busy worst case (most transfers alert or move
// taint), to compare with the plain ingest.
func BenchmarkEthIngestMonitored(b *testing.B) {
	w := monitor.Watch{ID: "w1", Chain: "eth", Rules: []monitor.Rule{{Kind: monitor.RuleAny}}}
	for k := range 1000 {
		w.Addresses = append(w.Addresses, synthAddr(0, k).Hex())
	}
	if err := w.Check(); err != nil {
		b.Fatal(err)
	}
	benchEthIngest(b, func() *monitor.EthMonitor {
		m, err := monitor.NewEth(monitor.Options{Chain: "eth", Watches: []monitor.Watch{w}, AssetDust: map[string]string{"ETH": "0"}})
		if err != nil {
			b.Fatal(err)
		}
		return m
	})
}

func benchEthIngest(b *testing.B, newMonitor func() *monitor.EthMonitor) {
	raws := synthChain(b, 0, common.Hash{}, 200, synthConfig{txs: 100, logs: 8, seed: 1, pool: 5000})
	transfers := 0
	for _, r := range raws {
		blk, err := eth.Decode(r)
		if err != nil {
			b.Fatal(err)
		}
		trs, _ := eth.Extract(blk)
		transfers += len(trs)
	}
	var bytesPer float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		db := openEthStore(b, b.TempDir())
		var opts ingest.Options
		if newMonitor != nil {
			opts.EthMonitor = newMonitor()
		}
		b.StartTimer()
		if _, err := ingest.NewEth(db, newMemEthSource(raws), opts).Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
		bytesPer = float64(db.DiskUsage()) / float64(transfers)
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(transfers)*float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	b.ReportMetric(bytesPer, "store-bytes/transfer")
}
