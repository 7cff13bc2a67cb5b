package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/web/webtest"
)

// TestWebUI builds the demo's data (a small world with its four heists,
// labels and incidents), serves it with "chaintrace serve" in-process,
// and drives the web interface in headless Chromium: the incident
// dashboard, an incident, the graph from a heist's source address
// expanded twice, saved as a case and reopened, and a screening of every
// heist's source addresses.
// Screenshots go to $CHAINTRACE_ARTIFACTS/web (or the test's temporary
// directory); a console error or uncaught exception fails it.
func TestWebUI(t *testing.T) {
	webtest.NeedBrowser(t)
	data := t.TempDir()
	if out, err := run(t, "--data", data, "--log-level", "warn", "demo", "--no-serve", "--mainnet=false", "--txs", "6000", "--seed", "3"); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	dir := filepath.Join(data, "demo")
	w, err := truth.Read(filepath.Join(dir, "world", "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var start, startChain string
	var screen []string
	for _, h := range w.Heists {
		for _, s := range h.Sources {
			chain := chainOfRole(w, s.Chain)
			for _, a := range s.Addresses {
				screen = append(screen, chain+","+a)
				if start == "" && chain == "btc-regtest" {
					start, startChain = a, chain
				}
			}
		}
	}
	if start == "" {
		t.Fatal("the world has no Bitcoin heist source to start the graph from")
	}

	// A write key, to save a case through the UI (reads are anonymous).
	out, err := run(t, "--data", dir, "apikey", "create", "--role", "write", "--name", "web test")
	if err != nil {
		t.Fatalf("apikey create: %v\n%s", err, out)
	}
	key, _, _ := strings.Cut(out, "\n")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	g := &globals{dataDir: dir, log: slog.New(slog.NewTextHandler(io.Discard, nil)), out: io.Discard}
	done := make(chan error, 1)
	go func() { done <- serveAPIEvery(ctx, g, addr, "", 0) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come up on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	webtest.Scenario(t, base, webtest.Config{Chain: startChain, Address: start, Screen: screen, APIKey: key})
}
