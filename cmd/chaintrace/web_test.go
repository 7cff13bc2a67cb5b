package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	shipped "github.com/chaintrace/chaintrace/data"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/web/webtest"
)

// TestWebUI builds the demo's data (a small world with its four heists
// and labels; the shipped incident registry with one of the heists added
// as an incident), serves it with "chaintrace serve" in-process, and
// drives the web interface in headless Chromium: the incident dashboard,
// the heist's incident traced into a flow diagram, the graph from its
// source address expanded twice, saved as a case and reopened, and a
// screening of every heist's source addresses.
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

	// The shipped registry and an incident of the demo world on top, in
	// the data directory's own registry: the UI traces that one.
	incDir := filepath.Join(dir, "incidents")
	if err := os.MkdirAll(incDir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(shipped.Incidents, "incidents/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("shipped registry: %v", err)
	}
	for _, f := range files {
		b, err := shipped.Incidents.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(incDir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const demoIncident = "2024-01-demo-heist"
	rec := fmt.Sprintf(`format: chaintrace-incidents/1
incidents:
  - id: %s
    date: 2024-01-02
    victim: {name: Demo heist (simulated), type: centralized_exchange}
    chains: [%s]
    usd: 1000000
    usd_source: the demo world
    vector: private_key_compromise
    sources:
      - {publisher: chaintrace demo, title: the simulated world, url: https://example.org/chaintrace-demo}
    attribution:
      actor: lazarusgroup
      confidence: attributed_by_industry
      sources:
        - {publisher: chaintrace demo, title: the simulated world, url: https://example.org/chaintrace-demo}
    addresses:
      - {chain: %s, address: %s, role: attacker, source: https://example.org/chaintrace-demo}
`, demoIncident, startChain, startChain, start)
	if err := os.WriteFile(filepath.Join(incDir, "demo.yaml"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}

	// A write key, to trace and save a case through the UI (reads are
	// anonymous).
	out, err := run(t, "--data", dir, "apikey", "create", "--role", "write", "--name", "web test")
	if err != nil {
		t.Fatalf("apikey create: %v\n%s", err, out)
	}
	key, _, _ := strings.Cut(out, "\n")

	base, _ := startServe(t, dir, 0)
	newAlert := func() string {
		a := monitor.Alert{Seq: 1, Kind: monitor.KindAlert, Watch: "w-web", Rule: "any", Chain: startChain, Tx: strings.Repeat("ab", 32),
			Direction: monitor.DirOut, Asset: "BTC", Value: "150000000", Amount: 150000000, Time: time.Now().UTC()}
		a.ID = "webtest-live-alert"
		if err := monitor.AppendJournal(context.Background(), dir, []monitor.Alert{a}); err != nil {
			t.Error(err)
		}
		return a.ID
	}
	webtest.Scenario(t, base, webtest.Config{Chain: startChain, Address: start, Screen: screen, APIKey: key, Incident: demoIncident, NewAlert: newAlert})
}
