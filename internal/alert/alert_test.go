package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

func openStore(t *testing.T) *store.DB {
	db, err := store.Open(t.Context(), t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// putAlerts writes n alerts and their outbox entries, as the monitor
// stage does.
func putAlerts(t *testing.T, db *store.DB, n int) {
	w := db.NewBatch()
	defer w.Close()
	for i := 1; i <= n; i++ {
		a := monitor.Alert{ID: "a" + string(rune('0'+i)), Seq: uint64(i), Kind: monitor.KindAlert, Watch: "w1", Rule: "any", Chain: "btc-regtest"}
		v, _ := json.Marshal(a)
		w.PutMonitor(store.MonAlert, monitor.SeqKey(a.Seq), v)
		w.PutMonitor(store.MonOutbox, monitor.SeqKey(a.Seq), nil)
	}
	if err := w.Commit(t.Context(), true); err != nil {
		t.Fatal(err)
	}
}

// receiver records deliveries by idempotency key and checks signatures.
type receiver struct {
	mu      sync.Mutex
	secret  string
	seen    map[string]int
	badSigs int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !Verify(r.secret, body, req.Header.Get(HeaderSignature)) {
		r.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.seen[req.Header.Get(HeaderIdempotency)]++
}

func TestDeliverExactlyOnceAcrossRestart(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	rcv := &receiver{secret: "s3cret", seen: map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	if _, err := AddWebhook(ctx, data, srv.URL, "s3cret", true); err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	putAlerts(t, db, 3)
	n, err := NewDeliverer(db, Options{Data: data}).Step(ctx)
	if err != nil || n != 3 {
		t.Fatalf("first round delivered %d: %v", n, err)
	}
	// A new deliverer (a restart) finds nothing left to send.
	if n, err := NewDeliverer(db, Options{Data: data}).Step(ctx); err != nil || n != 0 {
		t.Fatalf("after restart delivered %d more: %v", n, err)
	}
	if len(rcv.seen) != 3 || rcv.badSigs != 0 {
		t.Fatalf("receiver saw %v, %d bad signatures", rcv.seen, rcv.badSigs)
	}
	for id, c := range rcv.seen {
		if c != 1 {
			t.Fatalf("alert %s delivered %d times", id, c)
		}
	}
}

// TestDeadLetterAfterRetries sends to a receiver that always answers
// 500 and to one that hangs: each delivery is tried MaxAttempts times with
// backoff, a hang costs no more than the timeout, and both end in the
// dead-letter list.
func TestDeadLetterAfterRetries(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	var fails atomic.Int32
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fails.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer bad.Close()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	for _, u := range []string{bad.URL, hang.URL} {
		if _, err := AddWebhook(ctx, data, u, "k", true); err != nil {
			t.Fatal(err)
		}
	}
	db := openStore(t)
	putAlerts(t, db, 1)
	d := NewDeliverer(db, Options{Data: data, MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, Timeout: 150 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Second)
	for {
		start := time.Now()
		if _, err := d.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("a round took %v with a 150ms timeout", el)
		}
		dead, err := DeadLetters(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) == 2 {
			for _, x := range dead {
				if x.Attempts != 3 || x.AlertID != "a1" || x.Error == "" {
					t.Fatalf("dead letter %+v", x)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters %+v", dead)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if fails.Load() != 3 {
		t.Fatalf("500 receiver called %d times, want 3", fails.Load())
	}
	var pending int
	_ = db.MonitorScan(ctx, store.MonPending, nil, func(_, _ []byte) (bool, error) { pending++; return true, nil })
	if pending != 0 {
		t.Fatalf("%d deliveries still pending", pending)
	}
}

func TestBackoff(t *testing.T) {
	one := func() float64 { return 0.999999 }
	zero := func() float64 { return 0 }
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 20: time.Minute} {
		hi := Backoff(attempt, time.Second, time.Minute, one)
		lo := Backoff(attempt, time.Second, time.Minute, zero)
		if lo != want/2 || hi > want || hi < want*99/100 {
			t.Errorf("attempt %d: backoff in [%v, %v], want [%v, %v]", attempt, lo, hi, want/2, want)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	sig := Sign("k", body)
	// HMAC-SHA256("k", body), computed independently with Python's hmac.
	if sig != "sha256=696b5110678d1f332918da752fc2089d305cf4caf658eb24939d7e1f0b0a7934" {
		t.Fatalf("signature %q", sig)
	}
	if !Verify("k", body, sig) || Verify("other", body, sig) || Verify("k", []byte(`{"id":"y"}`), sig) {
		t.Fatal("signature does not verify as it should")
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestCheckTarget(t *testing.T) {
	r := fakeResolver{
		"hooks.example.com": {netip.MustParseAddr("93.184.216.34")},
		"internal.corp":     {netip.MustParseAddr("10.1.2.3")},
		"rebind.example":    {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
	}
	ok := []string{"https://hooks.example.com/x", "http://93.184.216.34:8080/"}
	refused := []string{
		"ftp://hooks.example.com/", "https:///nohost", "https://127.0.0.1/", "http://localhost.invalid/",
		"http://[::1]:80/", "http://169.254.169.254/latest", "http://192.168.1.1/", "https://internal.corp/",
		"https://rebind.example/", "http://100.64.0.1/", "http://0.0.0.0/", "http://hooks.example.com:99999/",
	}
	for _, u := range ok {
		if err := CheckTarget(t.Context(), u, false, r); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range refused {
		if err := CheckTarget(t.Context(), u, false, r); !errors.Is(err, ErrTarget) {
			t.Errorf("%s: %v, want refused", u, err)
		}
	}
	if err := CheckTarget(t.Context(), "http://127.0.0.1:9/", true, r); err != nil {
		t.Errorf("loopback with allow-private: %v", err)
	}
	if _, err := AddWebhook(t.Context(), t.TempDir(), "http://127.0.0.1:9/", "k", false); !errors.Is(err, ErrTarget) {
		t.Errorf("loopback webhook added: %v", err)
	}
}

// TestDialRefusesPrivate checks the second line of defence: a target that
// passed validation but resolves to loopback at delivery time is not
// dialled unless allowed.
func TestDialRefusesPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	d := NewDeliverer(openStore(t), Options{})
	err := d.post(t.Context(), Webhook{ID: "h1", URL: srv.URL, Secret: "k"}, "x", []byte("{}"))
	if !errors.Is(err, ErrTarget) {
		t.Fatalf("post to loopback: %v", err)
	}
	if err := d.post(t.Context(), Webhook{ID: "h1", URL: srv.URL, Secret: "k", AllowPrivate: true}, "x", []byte("{}")); err != nil {
		t.Fatal(err)
	}
}
