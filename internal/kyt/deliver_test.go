package kyt_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/chaintrace/chaintrace/internal/alert"
	"github.com/chaintrace/chaintrace/internal/kyt"
	"github.com/chaintrace/chaintrace/internal/kyt/kyttest"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

// TestRatingChangeReachesWebhook delivers a rating change from the
// registry's outbox with alert.Deliverer, as a server does: the receiver
// gets it once, signed, with the alert id as idempotency key, after a
// failed first attempt; the outbox and pending deliveries are empty
// afterwards.
func TestRatingChangeReachesWebhook(t *testing.T) {
	f := kyttest.Build(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []monitor.Alert
	calls := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var a monitor.Alert
		if err := json.Unmarshal(body, &a); err != nil || r.Header.Get(alert.HeaderIdempotency) != a.ID ||
			!alert.Verify("s3cret", body, r.Header.Get(alert.HeaderSignature)) {
			t.Errorf("delivery %s: %v %v", body, err, r.Header)
		}
		got = append(got, a)
	}))
	defer recv.Close()
	if _, err := alert.AddWebhook(ctx, f.Data, recv.URL, "s3cret", true); err != nil {
		t.Fatal(err)
	}
	r := f.Open(ctx)
	defer r.Close()
	tr := register(t, r, kyt.Request{Chain: "btc", Tx: f.DepositTx, OutputIndex: u32(0), UserID: "alice"})
	f.Sanction(f.Bad)
	if st, err := r.Rescreen(ctx); err != nil || st.Alerts != 1 {
		t.Fatalf("rescreen %+v %v", st, err)
	}
	d := alert.NewDeliverer(r.DB(), alert.Options{Data: f.Data, BaseDelay: 1, MaxDelay: 1, Poll: 1})
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 || len(got) != 1 || got[0].Kind != monitor.KindRatingChange || got[0].Transfer != tr.ID || got[0].NewRating != "SEVERE" {
		t.Fatalf("%d calls, received %+v", calls, got)
	}
	for _, tb := range []store.MonitorTable{store.MonOutbox, store.MonPending, store.MonDead} {
		n := 0
		if err := r.DB().MonitorScan(ctx, tb, nil, func(_, _ []byte) (bool, error) { n++; return true, nil }); err != nil || n != 0 {
			t.Fatalf("table %c holds %d entries (%v)", tb, n, err)
		}
	}
}
