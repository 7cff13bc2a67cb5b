package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIncidentsListJSON checks the contract of "incidents list --json": a
// JSON array of records, each with id, date, victim, usd, attribution and
// sources, and the filters.
func TestIncidentsListJSON(t *testing.T) {
	out, err := run(t, "incidents", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var all []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("list JSON: %v\n%.500s", err, out)
	}
	if len(all) < 84 {
		t.Fatalf("%d records, want at least the 84 of the tayvano list", len(all))
	}
	for _, r := range all {
		for _, k := range []string{"id", "date", "victim", "usd", "attribution", "sources"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("record %s lacks %q", r["id"], k)
			}
		}
	}
	out, err = run(t, "incidents", "list", "--json", "--year", "2022", "--victim-type", "bridge")
	if err != nil {
		t.Fatal(err)
	}
	var bridges []struct {
		ID     string `json:"id"`
		Date   string `json:"date"`
		USD    *float64
		Victim struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"victim"`
		Attribution struct {
			Actor      string `json:"actor"`
			Confidence string `json:"confidence"`
		} `json:"attribution"`
		Sources []struct {
			URL string `json:"url"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &bridges); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, b := range bridges {
		ids = append(ids, b.ID)
		if b.Victim.Type != "bridge" || !strings.HasPrefix(b.Date, "2022") || len(b.Sources) == 0 || b.Sources[0].URL == "" {
			t.Errorf("record %+v", b)
		}
	}
	if strings.Join(ids, ",") != "2022-03-ronin-bridge,2022-06-harmony-horizon-bridge,2022-08-debridge-attempt" {
		t.Errorf("2022 bridges: %v", ids)
	}
	if bridges[0].USD == nil || *bridges[0].USD != 625e6 || bridges[0].Attribution.Confidence != "confirmed_by_government" {
		t.Errorf("Ronin: %+v", bridges[0])
	}
	out, err = run(t, "incidents", "list", "--json", "--actor", "tradertraitor")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"2025-02-bybit"`) || strings.Contains(out, `"2022-03-ronin-bridge"`) {
		t.Errorf("--actor tradertraitor:\n%.300s", out)
	}
}

// TestIncidentsCommands runs validate, show, stats (with the
// reconciliation) and a draft import through the CLI.
func TestIncidentsCommands(t *testing.T) {
	out, err := run(t, "incidents", "validate")
	if err != nil || !strings.Contains(out, "records valid") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if _, err := run(t, "incidents", "validate", filepath.Join("..", "..", "internal", "incident", "testdata", "broken")); err == nil {
		t.Error("validate accepted the broken fixtures")
	}
	out, err = run(t, "incidents", "show", "2022-03-ronin-bridge")
	if err != nil || !strings.Contains(out, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96") {
		t.Fatalf("show: %v\n%.300s", err, out)
	}
	out, err = run(t, "incidents", "stats", "--json", "--reconcile")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Total struct {
			Count int     `json:"count"`
			USD   float64 `json:"usd"`
		} `json:"total"`
		ByYear []struct {
			Key string  `json:"key"`
			USD float64 `json:"usd"`
		} `json:"by_year"`
		Reconciliation []struct {
			OurUSD float64 `json:"our_usd"`
		} `json:"reconciliation"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, y := range st.ByYear {
		sum += y.USD
	}
	if st.Total.Count < 84 || sum != st.Total.USD || len(st.Reconciliation) != 3 {
		t.Errorf("stats: total %+v, years sum %.0f, %d reconciliations", st.Total, sum, len(st.Reconciliation))
	}
	out, err = run(t, "incidents", "stats", "--reconcile")
	if err != nil || !strings.Contains(out, "chainalysis-2022") || !strings.Contains(out, "VERDICT") {
		t.Errorf("stats table: %v\n%s", err, out)
	}

	dhl := filepath.Join("..", "..", "..", "shared", "data", "incidents", "defihacklabs_incidents.csv")
	if _, err := os.Stat(dhl); err != nil {
		t.Skipf("shared data absent (%v): skipping the draft import", err)
	}
	dir := t.TempDir()
	out, err = run(t, "incidents", "import", "--defihacklabs", dhl, "--match", "^(Bybit|Seneca)$", "--out", dir)
	if err != nil || !strings.Contains(out, "1 drafts written") || !strings.Contains(out, "in the registry as 2025-02-bybit") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if _, err := run(t, "incidents", "import", "--defihacklabs", dhl, "--match", "^Seneca$", "--out", dir); err == nil {
		t.Error("a second import overwrote the drafts file")
	}
}
