package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/export"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
)

// TestCLIExportParquet exports a small mainnet store and checks the
// summary table, the JSON summary of a height range and the error for an
// output path that is a file.
func TestCLIExportParquet(t *testing.T) {
	data := t.TempDir()
	querytest.BTC(t, data)
	out := filepath.Join(t.TempDir(), "pq")
	got, err := run(t, "--data", data, "--log-level", "warn", "export", "parquet", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, want := range []string{"TABLE", "btc", "outputs", "total", "wrote " + out} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "btc", "outputs", "part-00000.parquet")); err != nil {
		t.Error(err)
	}

	got, err = run(t, "--data", data, "--log-level", "warn", "export", "parquet", "--out", out, "--chain", "btc",
		"--from-height", "0", "--to-height", "0", "--json", "--no-labels")
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	var sum export.Summary
	if err := json.Unmarshal([]byte(got), &sum); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, ts := range sum.Tables {
		want := map[string]int64{"blocks": 1, "transactions": 1, "inputs": 0, "outputs": 1}[ts.Name]
		if ts.Rows != want {
			t.Errorf("genesis only: %s has %d rows, want %d", ts.Name, ts.Rows, want)
		}
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", data, "export", "parquet", "--out", file); err == nil || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Errorf("--out a file: %v", err)
	}
	if _, err := run(t, "--data", data, "export", "parquet"); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no --out: %v", err)
	}
	if _, err := run(t, "--data", data, "export", "parquet", "--out", out, "--from-height", "5", "--to-height", "4"); err == nil {
		t.Error("inverted range accepted")
	}
}
