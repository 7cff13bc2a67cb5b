package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCLIDemo runs the demo's offline part on a small world and checks
// that it simulated, ingested, labelled, clustered and traced every heist,
// and that the summary's accuracy figures are proportions. The mainnet
// part is left to TestCLIIngestAndLookups, which ingests the same blocks.
func TestCLIDemo(t *testing.T) {
	data := t.TempDir()
	out, err := run(t, "--data", data, "--log-level", "warn", "demo", "--no-serve", "--mainnet=false", "--txs", "6000", "--seed", "3")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"== 1. simulating", "btc-regtest", "eth-sim", "== 2. ingesting", "== 3. labels", "0 rejected",
		"== 4. address clusters", "== 5. tracing every heist",
		"-- bridge-drain", "-- wallet-drain", "-- hot-wallet", "-- dispersal",
		"heists that avoid mixers", "chaintrace --data " + filepath.Join(data, "demo") + " trace --chain",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	re := regexp.MustCompile(`precision ([0-9.]+), recall ([0-9.]+)`)
	ms := re.FindAllStringSubmatch(out, -1)
	if len(ms) < 5 {
		t.Fatalf("want a precision and recall per heist and overall, found %d:\n%s", len(ms), out)
	}
	for _, m := range ms {
		for _, s := range m[1:] {
			if v, err := strconv.ParseFloat(s, 64); err != nil || v < 0 || v > 1 {
				t.Errorf("figure %q in %q is not a proportion", s, m[0])
			}
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
