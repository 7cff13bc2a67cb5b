package ingest_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/alert"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
)

// gatedSource is a block source whose tip is a height the benchmark
// raises block by block, like a node receiving blocks.
type gatedSource struct {
	*blkfile.Source
	tip atomic.Uint64
}

func (g *gatedSource) Tip(ctx context.Context) (uint64, chainhash.Hash, error) {
	h := g.tip.Load()
	hash, err := g.Source.HashAt(ctx, h)
	return h, hash, err
}

func (g *gatedSource) HashAt(ctx context.Context, h uint64) (chainhash.Hash, error) {
	if h > g.tip.Load() {
		return chainhash.Hash{}, fmt.Errorf("height %d above the released tip: %w", h, btc.ErrNotFound)
	}
	return g.Source.HashAt(ctx, h)
}

// hookTimes is a loopback webhook receiver noting when each alert first
// arrived.
type hookTimes struct {
	mu    sync.Mutex
	first map[string]time.Time
}

func (h *hookTimes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	var a monitor.Alert
	if json.Unmarshal(body, &a) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	if _, ok := h.first[a.ID]; !ok {
		h.first[a.ID] = now
	}
	h.mu.Unlock()
}

func (h *hookTimes) at(id string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.first[id]
	return t, ok
}

// BenchmarkAlertLatency measures the time from a block's commit by a
// following ingest to the webhook request of each of its alerts
// reaching a loopback receiver, through the monitor stage, the outbox and
// an alert.Deliverer polling every 10 ms. Blocks of a generated chain
// are released one at a time (CHAINTRACE_BENCH_LATENCY_BLOCKS, default
// 200) after the previous one's alerts arrived; the watches are the
// mining pools' coinbase addresses, so that nearly every block raises
// alerts. The commit is seen by polling the monitor stage's progress
// every 200 µs. Reports p50, p99 and max in milliseconds.
func BenchmarkAlertLatency(b *testing.B) {
	blocks := benchEnvInt("CHAINTRACE_BENCH_LATENCY_BLOCKS", 200)
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		lat = append(lat, measureAlertLatency(b, blocks)...)
	}
	if len(lat) == 0 {
		b.Fatal("no alerts")
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(float64(len(lat))/float64(b.N), "alerts")
}

func measureAlertLatency(b *testing.B, blocks int) []time.Duration {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := &chaincfg.RegressionNetParams
	const start = 110 // past coinbase maturity
	dir := b.TempDir()
	if _, err := btcgen.Generate(ctx, dir, btcgen.Config{Seed: 9, Net: net, Blocks: start + blocks, TxPerBlock: 60, Users: 400}, nil); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(ctx, b.TempDir(), store.ChainMeta{Chain: "btc", Network: btc.NetworkName(net)}, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	blk, err := blkfile.Open(ctx, dir, wire.BitcoinNet(net.Net))
	if err != nil {
		b.Fatal(err)
	}
	defer blk.Close()
	src := &gatedSource{Source: blk}
	src.tip.Store(start)
	if _, err := ingest.NewBTC(db, src, ingest.Options{}).Run(ctx); err != nil {
		b.Fatal(err)
	}
	pools := coinbaseAddrs(b, db, net, start)

	data := b.TempDir()
	rcv := &hookTimes{first: map[string]time.Time{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	if _, err := alert.AddWebhook(ctx, data, srv.URL, "secret", true); err != nil {
		b.Fatal(err)
	}
	// A dust threshold above any amount keeps the watches on the pools'
	// addresses instead of following every coin they pay out.
	m, err := monitor.New(monitor.Options{Chain: btc.ChainID(btc.NetworkName(net)), Dust: 1 << 62,
		Watches: []monitor.Watch{{ID: "w1", Chain: btc.ChainID(btc.NetworkName(net)), Addresses: pools, Rules: []monitor.Rule{{Kind: monitor.RuleAny}}}}})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	ingErr := make(chan error, 1)
	wg.Go(func() {
		_, err := ingest.NewBTC(db, src, ingest.Options{Monitor: m, Follow: true, PollInterval: 2 * time.Millisecond}).Run(ctx)
		ingErr <- err
	})
	d := alert.NewDeliverer(db, alert.Options{Data: data, Poll: 10 * time.Millisecond})
	wg.Go(func() { _ = d.Run(ctx) })

	var lat []time.Duration
	b.StartTimer()
	for h := uint64(start + 1); h <= uint64(start+blocks); h++ {
		src.tip.Store(h)
		committed := waitCommitted(b, db, h, ingErr)
		ids := alertsAt(b, db, h)
		deadline := committed.Add(10 * time.Second)
		for _, id := range ids {
			for {
				t, ok := rcv.at(id)
				if ok {
					lat = append(lat, t.Sub(committed))
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("alert %s of block %d not delivered within 10 s", id, h)
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
	}
	b.StopTimer()
	b.Logf("%d blocks, %d alerts, %d watched pool addresses", blocks, len(lat), len(pools))
	return lat
}

// waitCommitted waits until the monitor stage's progress reaches height
// h and returns when it saw it.
func waitCommitted(b *testing.B, db *store.DB, h uint64, ingErr <-chan error) time.Time {
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, ok, err := db.Progress(context.Background(), monitor.StageName)
		if err != nil {
			b.Fatal(err)
		}
		if ok && p.Height >= h {
			return time.Now()
		}
		select {
		case err := <-ingErr:
			b.Fatalf("ingest stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("block %d not committed within 10 s", h)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// alertsAt returns the ids of the alerts block h raised.
func alertsAt(b *testing.B, db *store.DB, h uint64) []string {
	ctx := context.Background()
	var seqs []uint64
	err := db.MonitorScan(ctx, store.MonAlertHeight, binary.BigEndian.AppendUint64(nil, h), func(k, _ []byte) (bool, error) {
		seqs = append(seqs, binary.BigEndian.Uint64(k[8:]))
		return true, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, s := range seqs {
		v, ok, err := db.MonitorGet(ctx, store.MonAlert, monitor.SeqKey(s))
		if err != nil || !ok {
			b.Fatalf("alert %d of block %d: %v", s, h, err)
		}
		a, err := monitor.DecodeAlert(v)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	return ids
}

// coinbaseAddrs returns the addresses the coinbases of blocks 1 to tip
// paid: the mining pools'.
func coinbaseAddrs(b *testing.B, db *store.DB, net *chaincfg.Params, tip uint64) []string {
	ctx := context.Background()
	seen := map[string]bool{}
	var out []string
	for h := uint64(1); h <= tip; h++ {
		br, err := db.BlockByHeight(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		var rec store.TxRec
		if err := db.Tx(ctx, br.TxNumMin, &rec); err != nil {
			b.Fatal(err)
		}
		for _, o := range rec.Outs {
			for _, id := range o.AddrIDs {
				kb, err := db.AddrKey(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				k, err := btc.AddrKeyFromBytes(kb)
				if err != nil {
					b.Fatal(err)
				}
				if a := k.Encode(net); !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	return out
}
