package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
)

// TestCLIWatchSelectors adds watches from an actor, a category and a
// cluster, refuses bad selectors, and checks that a label import and
// "watch refresh" bring the watches up to date.
func TestCLIWatchSelectors(t *testing.T) {
	data := t.TempDir()
	common := []string{"--data", data, "--log-level", "warn"}
	cli := func(args ...string) (string, error) {
		return run(t, append(append([]string(nil), common...), args...)...)
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	testdata := filepath.Join("..", "..", "internal", "monitor", "testdata")
	pack := filepath.Join(t.TempDir(), "selector_tagpack.yaml")
	b, err := os.ReadFile(filepath.Join(testdata, "selector_tagpack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("watch", "add", "--actor", "lazarus"); err == nil || !strings.Contains(err.Error(), "labels import") {
		t.Fatalf("an actor watch without labels: %v", err)
	}
	mustRun("labels", "import", filepath.Join(testdata, "selector_actors.yaml"))
	mustRun("labels", "import", pack)

	out := mustRun("watch", "add", "--actor", "lazarus", "--rule", "any", "--name", "DPRK")
	if !strings.Contains(out, "w1\tbtc\t3 addresses\tany\tactor:lazarusgroup") || !strings.Contains(out, "not watched: trx: 1 addresses") {
		t.Fatalf("watch add --actor:\n%s", out)
	}
	out = mustRun("watch", "add", "--category", "sanctioned", "--chain", "btc")
	if !strings.Contains(out, "w2\tbtc\t2 addresses\tany\tcategory:sanction") || strings.Contains(out, "trx") {
		t.Fatalf("watch add --category sanctioned --chain btc:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--actor", "nosuchgroup"}, `"nosuchgroup"`},
		{[]string{"--category", "ransomware"}, `"ransomware"`},
		{[]string{"--actor", "lazarus", "--category", "exchange"}, "exactly one"},
		{[]string{"--actor", "lazarus", "--address", "12ZEw5Hcv1hTb6YUQJ69y1V7uhcoDz92PH"}, "not with --address"},
		{[]string{"--actor", "lazarus", "--chain", "trx"}, "cannot watch"},
		{[]string{"--cluster", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"}, "needs the chain"},
	} {
		out, err := cli(append([]string{"watch", "add"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("watch add %v: %v, want an error with %s\n%s", c.args, err, c.want, out)
		}
	}

	// A new version of the pack: one Lazarus address delisted, one new.
	s := strings.Replace(string(b), "12eYp28My8ZbyaASbuDHKMz4uPY5bBbqBu", "131nKoVLBc2BXUeKQKhnimyrt9DD2XFAnj", 1)
	if err := os.WriteFile(pack, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustRun("labels", "import", pack)
	if !strings.Contains(out, "selector watches refreshed") || !strings.Contains(out, "w1 + 131nKoVLBc2BXUeKQKhnimyrt9DD2XFAnj") ||
		!strings.Contains(out, "w1 - 12eYp28My8ZbyaASbuDHKMz4uPY5bBbqBu") || !strings.Contains(out, "w2 - 12eYp28My8ZbyaASbuDHKMz4uPY5bBbqBu") {
		t.Fatalf("labels import with selector watches:\n%s", out)
	}
	var chs []monitor.Change
	if err := json.Unmarshal([]byte(mustRun("watch", "refresh", "--json")), &chs); err != nil {
		t.Fatal(err)
	}
	if len(chs) != 2 || len(chs[0].Added)+len(chs[0].Removed)+len(chs[1].Added)+len(chs[1].Removed) != 0 || chs[0].Total != 3 || chs[1].Total != 2 {
		t.Fatalf("refresh after the import's refresh: %+v", chs)
	}

	// A cluster watch on a generated regtest chain, refreshed after the
	// store grew.
	blocks := t.TempDir()
	if _, err := btcgen.Generate(context.Background(), blocks, btcgen.Config{Seed: 5, Net: &chaincfg.RegressionNetParams, Blocks: 160, TxPerBlock: 40, Users: 60}, nil); err != nil {
		t.Fatal(err)
	}
	mustRun("ingest", "btc", "--network", "regtest", "--blocks", blocks, "--max-height", "120")
	var stats clusterStatsJSON
	if err := json.Unmarshal([]byte(mustRun("cluster", "stats", "--json")), &stats); err != nil || len(stats.Largest) == 0 {
		t.Fatalf("cluster stats: %+v %v", stats, err)
	}
	seed := stats.Largest[0].Address
	out = mustRun("watch", "add", "--cluster", seed, "--chain", "btc-regtest")
	if want := "w3\tbtc-regtest\t" + itoa(stats.Largest[0].Size) + " addresses\tany\tcluster:" + seed; !strings.Contains(out, want) {
		t.Fatalf("watch add --cluster: want %q in\n%s", want, out)
	}
	if _, err := cli("watch", "add", "--cluster", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "--chain", "btc-regtest"); err == nil ||
		!strings.Contains(err.Error(), "no activity") || !strings.Contains(err.Error(), "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080") {
		t.Fatalf("a cluster of an unseen address: %v", err)
	}
	// A second cluster watch on the same store: a refresh opens the store
	// once for both.
	mustRun("watch", "add", "--cluster", stats.Largest[len(stats.Largest)-1].Address, "--chain", "btc-regtest")
	mustRun("ingest", "btc", "--network", "regtest", "--blocks", blocks)
	var show struct {
		Size int `json:"size"`
	}
	if err := json.Unmarshal([]byte(mustRun("cluster", "show", "--json", seed)), &show); err != nil {
		t.Fatal(err)
	}
	chs = nil
	if err := json.Unmarshal([]byte(mustRun("watch", "refresh", "--json")), &chs); err != nil {
		t.Fatal(err)
	}
	if len(chs) != 4 || chs[2].Watch != "w3" || chs[2].Err != "" || chs[3].Err != "" || chs[2].Total != show.Size || len(chs[2].Added) != show.Size-stats.Largest[0].Size {
		t.Fatalf("refresh of the cluster watch (cluster now %d addresses): %+v", show.Size, chs)
	}
	out = mustRun("watch", "refresh")
	if !strings.Contains(out, "w3") || !strings.Contains(out, "cluster:"+seed) {
		t.Fatalf("watch refresh:\n%s", out)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
