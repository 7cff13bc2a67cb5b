package api_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
)

// TestServeGracefulShutdown cancels the server's context while a request
// is in flight: the request completes, new connections are refused and
// Serve returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	w := newWorld(t)
	w.graph.block, w.graph.entered = make(chan struct{}), make(chan struct{}, 1)
	srv, logs := testServer(t, w, true, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	type reply struct {
		status int
		body   string
		err    error
	}
	replies := make(chan reply, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/api/v1/screen/btc/" + w.payee)
		if err != nil {
			replies <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		replies <- reply{resp.StatusCode, string(b), err}
	}()
	select {
	case <-w.graph.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the graph")
	}
	cancel()
	// Shutdown closes the listener first; wait for that, then let the
	// request finish.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener stayed open after cancellation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(w.graph.block)
	r := <-replies
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"level":"HIGH"`) {
		t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !strings.Contains(logs.String(), "api stopped") {
		t.Fatalf("no shutdown log: %s", logs)
	}
}

// TestServeShutdownTimeout gives up on a request that outlives
// ShutdownTimeout and reports it.
func TestServeShutdownTimeout(t *testing.T) {
	w := newWorld(t)
	w.graph.block, w.graph.entered = make(chan struct{}), make(chan struct{}, 1)
	defer close(w.graph.block)
	srv, _ := testServer(t, w, true, func(c *api.Config) { c.ShutdownTimeout = 50 * time.Millisecond })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/screen/btc/" + w.payee)
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-w.graph.entered
	cancel()
	if err := <-served; err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "api: shutdown") {
		t.Fatalf("Serve: %v", err)
	}
}

func TestRunListenError(t *testing.T) {
	srv := api.NewServer(api.Config{})
	err := srv.Run(context.Background(), "127.0.0.1:-1")
	if err == nil || !strings.HasPrefix(err.Error(), "api: ") {
		t.Fatalf("Run on a bad address: %v", err)
	}
}

// TestRunServes starts Run on a free port and stops it.
func TestRunServes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := api.NewServer(api.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, addr) }()
	var resp *http.Response
	for i := 0; i < 200; i++ {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("healthz over TCP: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
