package api_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/monitor"
)

// testAlert is alert n of a chain and watch, with an id of its own.
func testAlert(n int, chain, watch string) monitor.Alert {
	return monitor.Alert{
		ID: fmt.Sprintf("a%02d-%s", n, chain), Seq: uint64(n), Kind: monitor.KindAlert, Watch: watch, Rule: "any",
		Chain: chain, Tx: fmt.Sprintf("%064x", n), Height: uint64(100 + n), Block: fmt.Sprintf("%064x", 1000+n),
		Time: time.Date(2025, 1, 2, 3, 4, n, 0, time.UTC), Direction: monitor.DirOut, Amount: int64(n) * 1000, TxValue: int64(n) * 2000,
	}
}

// alertServer is a test server over a journal under a fresh data
// directory holding the given alerts, written by the monitor's appender.
func alertServer(t *testing.T, as ...monitor.Alert) (*api.Server, string) {
	t.Helper()
	data := t.TempDir()
	if err := monitor.AppendJournal(t.Context(), data, as); err != nil {
		t.Fatal(err)
	}
	srv, _ := testServer(t, newWorld(t), false, func(c *api.Config) {
		c.AlertData = data
		c.AlertPoll = 10 * time.Millisecond
		c.Heartbeat = 50 * time.Millisecond
	})
	return srv, data
}

func ids(as []monitor.Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, a.ID)
	}
	return strings.Join(s, ",")
}

func TestAlertsListPagingAndFilters(t *testing.T) {
	srv, _ := alertServer(t,
		testAlert(1, "btc", "w1"), testAlert(2, "btc", "w2"), testAlert(1, "btc-testnet", "w1"),
		testAlert(3, "btc", "w1"), testAlert(4, "btc", "w1"))
	h := srv.Handler()
	get := func(target string) api.AlertPage {
		t.Helper()
		rec := do(h, "GET", target, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		var p api.AlertPage
		decode(t, rec, &p)
		return p
	}
	if p := get("/api/v1/alerts"); ids(p.Alerts) != "a01-btc,a02-btc,a01-btc-testnet,a03-btc,a04-btc" || p.Next != "" {
		t.Errorf("all: %s next %q", ids(p.Alerts), p.Next)
	}
	p := get("/api/v1/alerts?chain=btc&watch=w1&limit=2")
	if ids(p.Alerts) != "a01-btc,a03-btc" || p.Next != "a03-btc" {
		t.Fatalf("page 1: %s next %q", ids(p.Alerts), p.Next)
	}
	p = get("/api/v1/alerts?chain=btc&watch=w1&limit=2&since=" + p.Next)
	if ids(p.Alerts) != "a04-btc" || p.Next != "" {
		t.Fatalf("page 2: %s next %q", ids(p.Alerts), p.Next)
	}
	if p := get("/api/v1/alerts?chain=btc-testnet"); ids(p.Alerts) != "a01-btc-testnet" {
		t.Errorf("testnet: %s", ids(p.Alerts))
	}
	if p := get("/api/v1/alerts?since=a04-btc"); len(p.Alerts) != 0 || p.Alerts == nil {
		t.Errorf("after the last: %#v", p.Alerts)
	}
	for target, want := range map[string]string{
		"/api/v1/alerts?limit=0":        "invalid-parameter",
		"/api/v1/alerts?limit=1001":     "invalid-parameter",
		"/api/v1/alerts?colour=red":     "invalid-parameter",
		"/api/v1/alerts?since=nope":     "unknown-cursor",
		"/api/v1/alerts/stream?since=x": "unknown-cursor",
	} {
		rec := do(h, "GET", target, "")
		var pr api.Problem
		decode(t, rec, &pr)
		if rec.Code != http.StatusBadRequest || pr.Type != "urn:chaintrace:problem:"+want || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %+v", target, rec.Code, pr)
		}
	}
}

func TestAlertsUnavailable(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), false, nil)
	rec := do(srv.Handler(), "GET", "/api/v1/alerts", "")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "alerts-unavailable") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// sseEvent is one server-sent event.
type sseEvent struct{ id, event, data string }

// readEvents sends the events of an SSE body to a channel, skipping
// comments and the retry field.
func readEvents(body *bufio.Reader) <-chan sseEvent {
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		var ev sseEvent
		for {
			line, err := body.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.id != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch
}

func stream(t *testing.T, url string, hdr ...string) (*http.Response, <-chan sseEvent, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return resp, readEvents(bufio.NewReader(resp.Body)), cancel
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

func TestAlertStream(t *testing.T) {
	srv, data := alertServer(t, testAlert(1, "btc", "w1"))
	ts := httptest.NewServer(srv.Handler())
	// Registered before the streams' cleanups, so it runs after them:
	// Close waits for the handlers, which wait for their clients.
	t.Cleanup(ts.Close)
	resp, ch, cancel := stream(t, ts.URL+"/api/v1/alerts/stream?chain=btc")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	// The stream starts at the request: alert 1 was there before it,
	// alert 2 of another chain is filtered out, alert 3 is sent.
	time.Sleep(30 * time.Millisecond)
	if err := monitor.AppendJournal(t.Context(), data, []monitor.Alert{testAlert(2, "btc-testnet", "w1"), testAlert(3, "btc", "w1")}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, ch)
	if ev.id != "a03-btc" || ev.event != monitor.KindAlert || !strings.Contains(ev.data, `"id":"a03-btc"`) {
		t.Fatalf("event %+v", ev)
	}
	cancel()
	// A reconnection with Last-Event-ID gets what it missed, then new
	// alerts as they come.
	r := testAlert(4, "btc", "w1")
	r.Kind, r.Retracts, r.Reason = monitor.KindRetraction, "a03-btc", monitor.RetractedReason
	if err := monitor.AppendJournal(t.Context(), data, []monitor.Alert{r}); err != nil {
		t.Fatal(err)
	}
	_, ch, _ = stream(t, ts.URL+"/api/v1/alerts/stream", "Last-Event-ID", "a01-btc")
	for _, want := range []string{"a02-btc-testnet", "a03-btc", "a04-btc"} {
		if ev := next(t, ch); ev.id != want {
			t.Fatalf("resumed: got %s, want %s", ev.id, want)
		}
	}
	if err := monitor.AppendJournal(t.Context(), data, []monitor.Alert{testAlert(5, "btc", "w2")}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch); ev.id != "a05-btc" {
		t.Fatalf("after resuming: %+v", ev)
	}
}

// TestAlertStreamEndsOnDisconnectAndHeartbeats checks the heartbeat
// comment and that the handler returns when the client goes away.
func TestAlertStreamEndsOnDisconnectAndHeartbeats(t *testing.T) {
	srv, _ := alertServer(t)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/alerts/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	deadline := time.Now().Add(5 * time.Second)
	for {
		line, err := br.ReadString('\n')
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("no heartbeat: %v", err)
		}
		if line == ": heartbeat\n" {
			break
		}
	}
	cancel()
	resp.Body.Close()
	// httptest's Close waits for handlers; a handler that ignored the
	// disconnect would hang it.
	done := make(chan struct{})
	go func() { ts.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream handler did not end after the client left")
	}
}
