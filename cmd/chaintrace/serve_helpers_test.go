package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// startServe runs the serve command's server over the data directory on
// a free loopback port (re-screening every rescreenEvery, 0: only on
// SIGHUP), waits until it answers /healthz and returns its base URL and
// a stop function. Stop, also run at the test's end, shuts the server
// down and reports an error it ended with; calling it again does nothing.
func startServe(t *testing.T, data string, rescreenEvery time.Duration) (base string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	g := &globals{dataDir: data, log: slog.New(slog.DiscardHandler), out: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveAPIEvery(ctx, g, addr, "", rescreenEvery) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, stop
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before answering: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come up on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
