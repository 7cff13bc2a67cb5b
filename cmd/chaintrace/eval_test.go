package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLISimEval generates a tiny world, evaluates it with --json, and
// (haircut only, to keep the test short) checks the report's shape: an overall object with value-weighted
// precision and recall between 0 and 1, per-heist and per-model figures.
// A second run finds the world already ingested.
func TestCLISimEval(t *testing.T) {
	dir := t.TempDir()
	worldDir, data := filepath.Join(dir, "world"), filepath.Join(dir, "data")
	out, err := run(t, "--log-level", "warn", "sim", "--out", worldDir, "--seed", "2", "--txs", "3000")
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, out)
	}
	if !strings.Contains(out, "heist") || !strings.Contains(out, "btc-regtest") {
		t.Fatalf("sim summary:\n%s", out)
	}
	for i := range 2 {
		out, err = run(t, "--data", data, "--log-level", "warn", "eval", "--world", worldDir, "--model", "haircut", "--json")
		if err != nil {
			t.Fatalf("eval (run %d): %v\n%s", i+1, err, out)
		}
	}
	var rep struct {
		Overall *struct {
			Precision *float64 `json:"precision"`
			Recall    *float64 `json:"recall"`
			Located   *float64 `json:"located"`
		} `json:"overall"`
		Heists []struct {
			Heist     string  `json:"heist"`
			Precision float64 `json:"precision"`
			Recall    float64 `json:"recall"`
		} `json:"heists"`
		Models []struct {
			Model     string  `json:"model"`
			Rules     string  `json:"rules"`
			Precision float64 `json:"precision"`
			Recall    float64 `json:"recall"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Overall == nil || rep.Overall.Precision == nil || rep.Overall.Recall == nil || rep.Overall.Located == nil {
		t.Fatalf("no overall precision, recall and located:\n%s", out)
	}
	in01 := func(what string, v float64) {
		if !(v >= 0 && v <= 1) {
			t.Errorf("%s = %v: want 0 to 1", what, v)
		}
	}
	in01("overall precision", *rep.Overall.Precision)
	in01("overall recall", *rep.Overall.Recall)
	in01("overall located", *rep.Overall.Located)
	if len(rep.Heists) == 0 || len(rep.Models) != 2 {
		t.Fatalf("%d heists, %d model figures: want some heists and haircut x 2 rule sets", len(rep.Heists), len(rep.Models))
	}
	for _, h := range rep.Heists {
		in01(h.Heist+" precision", h.Precision)
		in01(h.Heist+" recall", h.Recall)
	}
	for _, m := range rep.Models {
		in01(m.Model+" "+m.Rules+" precision", m.Precision)
		in01(m.Model+" "+m.Rules+" recall", m.Recall)
	}
	if out, err := run(t, "eval", "--help"); err != nil || !strings.Contains(out, "precision") || !strings.Contains(out, "recall") {
		t.Fatalf("eval --help: %v\n%s", err, out)
	}
}
