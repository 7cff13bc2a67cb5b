//go:build unix

package ingest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

// benchEnvInt reads a positive integer from the environment, def when
// unset.
func benchEnvInt(name string, def int) int {
	n := def
	if s := os.Getenv(name); s != "" {
		fmt.Sscan(s, &n)
	}
	return n
}

// benchOccurring lists how many of the watched addresses occur in the
// chain in each monitored sub-benchmark: CHAINTRACE_BENCH_OCCURRING
// (comma-separated), by default none, a thousand (a watch list of
// sanctioned and stolen-funds addresses, few of them active in any
// stretch of blocks) and a tenth of the watched set (an alert storm).
func benchOccurring(watched int) []int {
	s := os.Getenv("CHAINTRACE_BENCH_OCCURRING")
	if s == "" {
		return []int{0, min(1000, watched), watched / 10}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err == nil && n >= 0 && n <= watched {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkIngestMonitor measures what watching costs ingest: the
// generated chain of BenchmarkIngest (CHAINTRACE_BENCH_TXS transactions)
// ingested with no watch, then with CHAINTRACE_BENCH_WATCHED watched
// addresses (default 1,000,000, rule any) in CHAINTRACE_BENCH_WATCH_LISTS
// watches (default 100): first none of them occurring in the chain (the
// cost of the watch set itself), then some of them occurring (taken
// evenly over the address ids of the first run's store; benchOccurring
// says how many), so that alerts are raised and watches extended to where
// the coins go; the rest are random addresses that never occur. The
// monitored sub-benchmarks report their slowdown against the first of the
// same run. Run with -benchtime 1x.
func BenchmarkIngestMonitor(b *testing.B) {
	net := &chaincfg.RegressionNetParams
	path := generatedChain(b, benchChainTxs())
	watched := benchEnvInt("CHAINTRACE_BENCH_WATCHED", 1_000_000)
	lists := max(1, benchEnvInt("CHAINTRACE_BENCH_WATCH_LISTS", 100))
	keep := b.TempDir() // the unmonitored store, for the watched addresses
	var base, baseCPU float64
	kept := false
	// cpu is the CPU time of the last runOnce: on a machine shared with
	// other jobs it is a steadier figure than the wall-clock rate.
	var cpu time.Duration
	runOnce := func(b *testing.B, dir string, m *monitor.Monitor) ingest.Status {
		db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "btc", Network: btc.NetworkName(net)}, store.Options{Bulk: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		src, err := blkfile.Open(context.Background(), path, wire.BitcoinNet(net.Net))
		if err != nil {
			b.Fatal(err)
		}
		defer src.Close()
		b.StartTimer()
		cpu0 := processCPU(b)
		st, err := ingest.NewBTC(db, src, ingest.Options{BatchBytes: benchBatchBytes(), Monitor: m}).Run(context.Background())
		if err == nil {
			err = db.Flush()
		}
		cpu = processCPU(b) - cpu0
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	b.Run("watched=0", func(b *testing.B) {
		b.StopTimer()
		var txs uint64
		var cpuSum time.Duration
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			if !kept {
				dir, kept = keep, true
			}
			txs = runOnce(b, dir, nil).Txs
			cpuSum += cpu
		}
		base = float64(txs) * float64(b.N) / b.Elapsed().Seconds()
		baseCPU = cpuSum.Seconds() / float64(b.N)
		b.ReportMetric(base, "tx/s")
		b.ReportMetric(baseCPU, "cpu-s")
	})
	// The watch set alone (no watched address occurs: what the look-ups
	// and the loading of the watches cost), then with some of it
	// occurring (alerts and extensions on top).
	for _, occurring := range benchOccurring(watched) {
		b.Run(fmt.Sprintf("watched=%d/occurring=%d", watched, occurring), func(b *testing.B) {
			b.StopTimer()
			if !kept {
				// Run alone (-bench .../watched=N, for profiling): the
				// addresses come from an unmeasured ingest.
				runOnce(b, keep, nil)
				b.ResetTimer()
				b.StopTimer()
				kept = true
			}
			ws, occ := benchWatches(b, keep, net, watched, occurring, lists)
			load := benchLoad(b, keep, net, ws)
			var txs, alerts uint64
			var outs int
			var cpuSum time.Duration
			for i := 0; i < b.N; i++ {
				m, err := monitor.New(monitor.Options{Chain: btc.ChainID(btc.NetworkName(net)), Watches: ws})
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				txs = runOnce(b, dir, m).Txs
				cpuSum += cpu
				_, outs = m.Watching()
				alerts = countAlerts(b, dir, net)
			}
			rate := float64(txs) * float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "tx/s")
			perRun := cpuSum.Seconds() / float64(b.N)
			b.ReportMetric(perRun, "cpu-s")
			if base > 0 {
				b.ReportMetric(100*(base-rate)/base, "slowdown-%")
				b.ReportMetric(100*(perRun-baseCPU)/baseCPU, "cpu-slowdown-%")
			}
			b.ReportMetric(load.Seconds(), "load-full-store-s")
			b.ReportMetric(float64(occ), "occurring")
			b.ReportMetric(float64(alerts), "alerts")
			b.ReportMetric(float64(outs), "watched-outputs")
		})
	}
}

// benchWatches returns lists watches holding n addresses in all: occ of
// them (at most all) addresses of the store in dir, spread evenly over
// its address ids, the rest random P2WPKH addresses; and how many occur.
func benchWatches(b *testing.B, dir string, net *chaincfg.Params, n, occ, lists int) ([]monitor.Watch, int) {
	addrs := make([]string, 0, n)
	have := 0
	if occ > 0 {
		addrs, have = occurringAddrs(b, dir, net, occ, addrs)
		occ = len(addrs)
	}
	r := rand.New(rand.NewPCG(7, 11))
	var p [20]byte
	for len(addrs) < n {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		k, err := btc.NewAddrKey(btc.AddrWPKH, 0, p[:])
		if err != nil {
			b.Fatal(err)
		}
		addrs = append(addrs, k.Encode(net))
	}
	// Deal the addresses round-robin so that every watch holds some that
	// occur.
	ws := make([]monitor.Watch, lists)
	for i := range ws {
		ws[i] = monitor.Watch{ID: fmt.Sprintf("w%d", i+1), Chain: btc.ChainID(btc.NetworkName(net)), Rules: []monitor.Rule{{Kind: monitor.RuleAny}},
			Addresses: make([]string, 0, n/lists+1)}
	}
	for i, a := range addrs {
		ws[i%lists].Addresses = append(ws[i%lists].Addresses, a)
	}
	if have > 0 {
		b.Logf("%d watched addresses in %d watches, %d of them among the chain's %d addresses", n, lists, occ, have)
	}
	return ws, occ
}

// occurringAddrs appends to dst up to n addresses of the store in dir,
// spread evenly over its address ids, and returns the store's number of
// addresses.
func occurringAddrs(b *testing.B, dir string, net *chaincfg.Params, n int, dst []string) ([]string, int) {
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.ChainMeta{Chain: "btc", Network: btc.NetworkName(net)}, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	next, _, err := db.MetaU64(ctx, "next_addr_id")
	if err != nil {
		b.Fatal(err)
	}
	have := int(next) - 1
	n = min(n, have)
	for i := range n {
		id := 1 + uint64(i)*uint64(have)/uint64(n)
		kb, err := db.AddrKey(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		k, err := btc.AddrKeyFromBytes(kb)
		if err != nil {
			b.Fatal(err)
		}
		dst = append(dst, k.Encode(net))
	}
	return dst, have
}

// benchLoad returns how long loading the watches ws takes against the
// store in dir (every occurring address's id looked up), which is what a
// follower pays on starting or when the watch list changes; the ingests
// measured load them against an empty store.
func benchLoad(b *testing.B, dir string, net *chaincfg.Params, ws []monitor.Watch) time.Duration {
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.ChainMeta{Chain: "btc", Network: btc.NetworkName(net)}, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	m, err := monitor.New(monitor.Options{Chain: btc.ChainID(btc.NetworkName(net)), Watches: ws})
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	if err := m.Load(ctx, db); err != nil {
		b.Fatal(err)
	}
	return time.Since(began)
}

// processCPU returns the user and system CPU time the process used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countAlerts returns the number of alerts the store in dir holds.
func countAlerts(b *testing.B, dir string, net *chaincfg.Params) uint64 {
	ctx := context.Background()
	db, err := store.Open(ctx, dir, store.ChainMeta{Chain: "btc", Network: btc.NetworkName(net)}, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n uint64
	err = db.MonitorScan(ctx, store.MonAlert, nil, func(_, _ []byte) (bool, error) {
		n++
		return true, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkMonitorLoad measures loading CHAINTRACE_BENCH_WATCHED random
// watched addresses (default 1,000,000) in 100 watches into a monitor
// over an empty store, which is what BenchmarkIngestMonitor's ingests pay
// before their first block.
func BenchmarkMonitorLoad(b *testing.B) {
	net := &chaincfg.RegressionNetParams
	n := benchEnvInt("CHAINTRACE_BENCH_WATCHED", 1_000_000)
	db, err := store.Open(context.Background(), b.TempDir(), store.ChainMeta{Chain: "btc", Network: btc.NetworkName(net)}, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ws, _ := benchWatches(b, "", net, n, 0, 100)
	b.ResetTimer()
	for b.Loop() {
		m, err := monitor.New(monitor.Options{Chain: btc.ChainID(btc.NetworkName(net)), Watches: ws})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Load(context.Background(), db); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/address")
}
