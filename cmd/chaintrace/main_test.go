package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI in-process with args and returns its stdout.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func mainnetBlk(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil || len(out) == 0 {
		t.Skipf("btcd module not available: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "blockchain", "testdata", "blk_0_to_14131.dat")
}

// TestCLIIngestAndLookups ingests the real mainnet blocks through the CLI
// and checks the JSON contracts of the three look-ups.
func TestCLIIngestAndLookups(t *testing.T) {
	data := t.TempDir()
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "btc", "--blocks", mainnetBlk(t)); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--data", data, "btc", "address", "--json", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
	if err != nil {
		t.Fatal(err)
	}
	var addr struct {
		Address       string `json:"address"`
		Balance       *int64 `json:"balance"`
		TotalReceived *int64 `json:"total_received"`
		TotalSent     *int64 `json:"total_sent"`
		TxCount       *int   `json:"tx_count"`
		FirstSeen     *struct {
			Height int `json:"height"`
		} `json:"first_seen"`
		LastSeen *struct {
			Height int `json:"height"`
		} `json:"last_seen"`
	}
	if err := json.Unmarshal([]byte(out), &addr); err != nil {
		t.Fatalf("address JSON: %v\n%s", err, out)
	}
	if addr.Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" || addr.Balance == nil || addr.TotalReceived == nil || addr.TotalSent == nil ||
		addr.TxCount == nil || addr.FirstSeen == nil || addr.LastSeen == nil {
		t.Fatalf("address JSON lacks a required field:\n%s", out)
	}
	// Block 9's coinbase paid it 50 BTC; block 170 spent that and paid 40
	// back; every amount is an integer of satoshi.
	if addr.FirstSeen.Height != 9 || *addr.TotalReceived < 90_0000_0000 || *addr.Balance != *addr.TotalReceived-*addr.TotalSent {
		t.Fatalf("address figures: %s", out)
	}

	out, err = run(t, "--data", data, "btc", "tx", "--json", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
	if err != nil {
		t.Fatal(err)
	}
	var tx struct {
		Inputs []struct {
			TxID    string `json:"txid"`
			Vout    *int   `json:"vout"`
			Address string `json:"address"`
			Value   int64  `json:"value"`
		} `json:"inputs"`
		Outputs []struct {
			Address string  `json:"address"`
			Value   int64   `json:"value"`
			Spender *string `json:"spending_txid"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(out), &tx); err != nil {
		t.Fatal(err)
	}
	if len(tx.Inputs) != 1 || tx.Inputs[0].Vout == nil || tx.Inputs[0].Value != 50_0000_0000 || len(tx.Outputs) != 2 ||
		tx.Outputs[0].Address != "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3" || tx.Outputs[0].Value != 10_0000_0000 || tx.Outputs[0].Spender != nil ||
		tx.Outputs[1].Spender == nil {
		t.Fatalf("tx JSON: %s", out)
	}
	if !strings.Contains(out, `"spending_txid": null`) {
		t.Fatalf("an unspent output must say spending_txid null: %s", out)
	}

	out, err = run(t, "--data", data, "btc", "block", "170")
	if err != nil || !strings.Contains(out, "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee") {
		t.Fatalf("block 170: %v\n%s", err, out)
	}

	// Bad input gets a clear error naming it.
	for _, args := range [][]string{
		{"btc", "address", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm4"},
		{"btc", "address", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"},
		{"btc", "tx", "f4184fc5"},
		{"btc", "block", "99999999"},
	} {
		_, err := run(t, append([]string{"--data", data}, args...)...)
		if err == nil || !strings.Contains(err.Error(), args[2]) {
			t.Errorf("%v: error %v does not name the input", args, err)
		}
	}
}

func TestCLIHelp(t *testing.T) {
	out, err := run(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ingest", "btc", "demo", "--data"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %s:\n%s", want, out)
		}
	}
	out, err = run(t, "ingest", "btc", "--help")
	if err != nil || !strings.Contains(out, "--blocks") || !strings.Contains(out, "--rpc-cookie") {
		t.Fatalf("ingest btc --help: %v\n%s", err, out)
	}
	if _, err := run(t, "--data", t.TempDir(), "ingest", "btc"); err == nil || !strings.Contains(err.Error(), "--blocks or --rpc") {
		t.Fatalf("ingest without a source: %v", err)
	}
}

// sharedLabels returns ../shared/data/labels or skips.
func sharedLabels(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "labels"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared label data absent (%v): these tests need ../shared/data/labels", err)
	}
	return dir
}

// TestCLILabelsAndScreen imports the real OFAC lists and chaintrace's actor
// file, re-imports them (nothing changes), and screens the Ronin bridge
// exploiter, an unlabelled address and an invalid one.
func TestCLILabelsAndScreen(t *testing.T) {
	src := sharedLabels(t)
	data := t.TempDir()
	for _, p := range []string{"builtin:actors", filepath.Join(src, "ofac")} {
		if _, err := run(t, "--data", data, "--log-level", "warn", "labels", "import", p); err != nil {
			t.Fatalf("import %s: %v", p, err)
		}
	}
	out, err := run(t, "--data", data, "labels", "import", "--json", filepath.Join(src, "ofac"))
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		Total struct{ Added, Updated, Unchanged, Retired int } `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &imp); err != nil {
		t.Fatal(err)
	}
	if imp.Total.Added != 0 || imp.Total.Updated != 0 || imp.Total.Retired != 0 || imp.Total.Unchanged == 0 {
		t.Fatalf("re-import was not a no-op: %+v", imp.Total)
	}

	out, err = run(t, "--data", data, "screen", "--json", "--chain", "eth", "0x098b716b8aaf21512996dc57eb0615e2383e2f96")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Address         string `json:"address"`
		Identifications []struct {
			Abuse string `json:"abuse"`
			Actor struct {
				ID   string `json:"id"`
				Root string `json:"root"`
			} `json:"actor"`
			Dataset string `json:"dataset"`
		} `json:"identifications"`
		Risk struct {
			Level string `json:"level"`
		} `json:"risk"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	datasets := map[string]bool{}
	for _, id := range res.Identifications {
		if id.Abuse == "sanction" && id.Actor.ID == "lazarusgroup" {
			datasets[id.Dataset] = true
		}
	}
	if res.Address != "0x098B716B8Aaf21512996dC57EB0615e2383E2f96" || res.Risk.Level != "SEVERE" || len(datasets) < 3 {
		t.Fatalf("Ronin exploiter: risk %s, Lazarus sanction identifications from %v\n%s", res.Risk.Level, datasets, out)
	}

	out, err = run(t, "--data", data, "screen", "--json", "--chain", "btc", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
	if err != nil || !strings.Contains(out, `"level": "LOW"`) || !strings.Contains(out, `"identifications": []`) {
		t.Fatalf("unlabelled address: %v\n%s", err, out)
	}
	if _, err := run(t, "--data", data, "screen", "--chain", "eth", "0x098b716b8aaf21512996dc57eb0615e2383e2f9"); err == nil ||
		!strings.Contains(err.Error(), "0x098b716b8aaf21512996dc57eb0615e2383e2f9") {
		t.Fatalf("invalid address: %v", err)
	}
}
