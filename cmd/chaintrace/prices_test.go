package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPricesCLI imports the shared Yahoo BTC file and checks "prices
// show" against the file read independently, the fallback to an earlier
// day and a bad file's error.
func TestPricesCLI(t *testing.T) {
	file := filepath.Join("..", "..", "..", "shared", "data", "prices", "BTC-USD_yahoo_garve_2014-09-17_to_2021-11-24.csv")
	if _, err := os.Stat(file); err != nil {
		t.Skipf("shared data absent (%v): this test needs ../shared/data/prices", err)
	}
	dir := t.TempDir()
	if _, err := run(t, "--data", dir, "prices", "import", file); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--data", dir, "prices", "show", "BTC", "2017-12-17", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Close  float64 `json:"close"`
		Day    string  `json:"day"`
		Exact  bool    `json:"exact"`
		Source string  `json:"source"`
	}
	if err := json.Unmarshal([]byte(out), &q); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, r := range rows {
		if r[0] == "2017-12-17" {
			want, _ = strconv.ParseFloat(r[4], 64)
		}
	}
	if q.Close != want || want == 0 || !q.Exact || q.Source != filepath.Base(file) {
		t.Fatalf("prices show: %+v, want close %v", q, want)
	}
	out, err = run(t, "--data", dir, "prices", "show", "BTC", "2020-04-17")
	if err != nil || !strings.Contains(out, "nearest earlier day") || !strings.Contains(out, "2020-04-16") {
		t.Fatalf("fallback: %q %v", out, err)
	}
	if _, err := run(t, "--data", dir, "prices", "show", "BTC", "2030-01-01"); err == nil {
		t.Fatal("a price after the history")
	}
	bad := filepath.Join(dir, "ETH-USD.csv")
	if err := os.WriteFile(bad, []byte("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-01,1,1,1,x,1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", dir, "prices", "import", bad); err == nil || !strings.Contains(err.Error(), bad+":2:") {
		t.Fatalf("bad row: %v", err)
	}
}
