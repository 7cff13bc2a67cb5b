package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/alert"
	"github.com/chaintrace/chaintrace/internal/btc/btcdtest"
	"github.com/chaintrace/chaintrace/internal/monitor"
)

// hookReceiver is a loopback webhook receiver: it checks signatures and
// counts deliveries per idempotency key, noting when each first came.
type hookReceiver struct {
	mu      sync.Mutex
	secret  string
	count   map[string]int
	first   map[string]time.Time
	alerts  []monitor.Alert
	badSigs int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !alert.Verify(h.secret, body, r.Header.Get(alert.HeaderSignature)) {
		h.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(alert.HeaderIdempotency)
	h.count[id]++
	if h.count[id] == 1 {
		h.first[id] = time.Now()
		var a monitor.Alert
		if err := json.Unmarshal(body, &a); err == nil && a.ID == id {
			h.alerts = append(h.alerts, a)
		}
	}
}

// deliveredOnce checks that every delivery was signed and came once,
// and that the store's alerts (listJSON, as alerts list --json prints
// them) are exactly those the receiver got. It returns the stored alerts.
func (h *hookReceiver) deliveredOnce(t *testing.T, listJSON string) []monitor.Alert {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.badSigs != 0 {
		t.Fatalf("%d deliveries with a bad signature", h.badSigs)
	}
	for id, c := range h.count {
		if c != 1 {
			t.Fatalf("alert %s delivered %d times", id, c)
		}
	}
	var stored []monitor.Alert
	if err := json.Unmarshal([]byte(listJSON), &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(h.alerts) {
		t.Fatalf("store has %d alerts, receiver %d", len(stored), len(h.alerts))
	}
	for _, a := range stored {
		if h.count[a.ID] != 1 {
			t.Fatalf("stored alert %s not delivered once", a.ID)
		}
	}
	return stored
}

// waitFor waits until the receiver holds want alerts and returns the new
// ones and the latest arrival's delay after since.
func (h *hookReceiver) waitFor(t *testing.T, want int, since time.Time) ([]monitor.Alert, time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.alerts)
		if n >= want {
			var lat time.Duration
			for _, a := range h.alerts {
				if d := h.first[a.ID].Sub(since); d > lat && h.first[a.ID].After(since) {
					lat = d
				}
			}
			got := append([]monitor.Alert(nil), h.alerts...)
			h.mu.Unlock()
			return got, lat
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("receiver has %d alerts, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// follower runs "chaintrace ingest btc --follow" in-process until stopped.
type follower struct {
	stop context.CancelFunc
	done chan error
}

func startFollower(t *testing.T, args ...string) *follower {
	ctx, cancel := context.WithCancel(context.Background())
	root := newRoot()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	f := &follower{stop: cancel, done: make(chan error, 1)}
	go func() { f.done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() { f.halt(t) })
	return f
}

func (f *follower) halt(t *testing.T) {
	if f.stop == nil {
		return
	}
	f.stop()
	f.stop = nil
	if err := <-f.done; err != nil {
		t.Errorf("follower: %v", err)
	}
}

// TestMonitorEndToEnd watches an address on a real btcd node with the
// follower running, moves its coins through two hops into an address
// labelled as an exchange, restarts the follower half-way, and orphans the
// last block: the loopback webhook must get every alert exactly once,
// signed, within 2 s of its block being mined, and the orphaned block's
// alerts retracted.
func TestMonitorEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btcd")
	}
	ctx := t.Context()
	n, w, newAddr, pay := regtestNode(t)
	coin := func(tx *wire.MsgTx, vout uint32) btcdtest.Coin {
		cs, err := w.Coins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.OutPoint.Hash == tx.TxHash() && c.OutPoint.Index == vout {
				return c
			}
		}
		t.Fatalf("wallet lacks %s:%d", tx.TxHash(), vout)
		return btcdtest.Coin{}
	}
	mine := func() (chainhash.Hash, time.Time) {
		hs, err := n.Generate(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return hs[0], time.Now()
	}
	thief, hop1, hop2, exch := newAddr(), newAddr(), newAddr(), newAddr()

	data := t.TempDir()
	common := []string{"--data", data, "--log-level", "warn"}
	csv := filepath.Join(t.TempDir(), "ex.csv")
	if err := os.WriteFile(csv, []byte("address,name\n"+exch.EncodeAddress()+",Test Exchange\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(t, append(append([]string(nil), common...), args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	mustRun("labels", "import", "--format", "csv", "--csv-map", "address=address,label=name,chain=btc-regtest,category=exchange", csv)
	if _, err := run(t, append(common, "watch", "add", "--chain", "btc-regtest", "--address", "nope")...); err == nil {
		t.Fatal("an invalid address was accepted")
	}
	mustRun("watch", "add", "--chain", "btc-regtest", "--address", thief.EncodeAddress(), "--rule", "any", "--rule", "category:exchange", "--name", "theft")
	rcv := &hookReceiver{secret: "hook-secret", count: map[string]int{}, first: map[string]time.Time{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	if _, err := run(t, append(common, "webhook", "add", srv.URL, "--secret", "x")...); err == nil {
		t.Fatal("a loopback webhook was accepted without --allow-private")
	}
	mustRun("webhook", "add", srv.URL, "--secret", "hook-secret", "--allow-private")

	followArgs := append(append([]string(nil), common...), "ingest", "btc", "--network", "regtest", "--rpc", "http://"+n.RPCAddr,
		"--rpc-user", n.User, "--rpc-password", n.Password, "--follow", "--poll", "100ms")
	f := startFollower(t, followArgs...)

	var worst time.Duration
	step := func(want int, since time.Time) []monitor.Alert {
		t.Helper()
		got, lat := rcv.waitFor(t, want, since)
		if lat > 2*time.Second {
			t.Fatalf("alert %d arrived %v after its block", want, lat)
		}
		worst = max(worst, lat)
		return got
	}
	// The theft: the watched address receives 2 BTC.
	fund, err := w.Send(ctx, pay(thief, 200_000_000))
	if err != nil {
		t.Fatal(err)
	}
	_, at := mine()
	step(1, at)
	// First hop.
	tx1, err := w.Spend(ctx, []btcdtest.Coin{coin(fund, 0)}, pay(hop1, 199_990_000))
	if err != nil {
		t.Fatal(err)
	}
	_, at = mine()
	step(2, at)
	// Restart the follower mid-way; the next block is mined while it is
	// down.
	f.halt(t)
	tx2, err := w.Spend(ctx, []btcdtest.Coin{coin(tx1, 0)}, pay(hop2, 199_980_000))
	if err != nil {
		t.Fatal(err)
	}
	mine()
	f = startFollower(t, followArgs...)
	step(3, time.Now())
	// Into the exchange: "any" and "category:exchange".
	if _, err := w.Spend(ctx, []btcdtest.Coin{coin(tx2, 0)}, pay(exch, 199_970_000)); err != nil {
		t.Fatal(err)
	}
	last, at := mine()
	got := step(5, at)
	var exchange []monitor.Alert
	for _, a := range got[3:] {
		exchange = append(exchange, a)
		if a.Height == 0 || a.Direction != monitor.DirOut || a.Hop != 2 {
			t.Fatalf("exchange alert %+v", a)
		}
	}
	if exchange[0].Rule != "any" || exchange[1].Rule != "category:exchange" || exchange[1].Counterparties[0].Labels[0].Category != "exchange" {
		t.Fatalf("exchange alerts %+v", exchange)
	}
	// Orphan the exchange deposit's block: both its alerts are retracted.
	if err := n.InvalidateBlock(ctx, last); err != nil {
		t.Fatal(err)
	}
	at = time.Now()
	got = step(7, at)
	for i, r := range got[5:7] {
		if r.Kind != monitor.KindRetraction || r.Retracts != exchange[i].ID || r.Reason != monitor.RetractedReason {
			t.Fatalf("retraction %+v of %+v", r, exchange[i])
		}
	}
	f.halt(t)
	rcv.deliveredOnce(t, mustRun("alerts", "list", "--json", "--chain", "btc-regtest"))
	t.Logf("worst alert latency from block mined to webhook received: %v", worst)
}
