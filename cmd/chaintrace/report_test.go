package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/report"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// TestReportIncidentsMarkdown checks that "report incidents --format md"
// shows the figures "incidents stats --reconcile --json" prints, and
// that --data-out writes the same JSON.
func TestReportIncidentsMarkdown(t *testing.T) {
	statsOut, err := run(t, "incidents", "stats", "--reconcile", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var stats report.StatsJSON
	if err := json.Unmarshal([]byte(statsOut), &stats); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	md, err := run(t, "--data", dir, "--log-level", "warn", "report", "incidents", "--format", "md", "--data-out", filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "- Incidents: **"+strconv.Itoa(stats.Total.Count)+"**") || !strings.Contains(md, "- USD stolen: **"+report.USD(stats.Total.USD)+"**") {
		t.Fatalf("Markdown total differs from the stats JSON %+v:\n%.600s", stats.Total, md)
	}
	for _, b := range stats.ByYear {
		row := "| " + b.Key + " | " + strconv.Itoa(b.Count) + " | " + report.USD(b.USD) + " | " + strconv.Itoa(b.UnknownUSD) + " |"
		if !strings.Contains(md, row) {
			t.Errorf("Markdown lacks the year row %q", row)
		}
	}
	for _, rc := range stats.Reconciliation {
		row := "| USD | " + report.USD(rc.OurUSD) + " | " + report.USD(rc.Figure.USD) + " | " + report.SignedUSD(rc.GapUSD) + " |"
		if !strings.Contains(md, row) {
			t.Errorf("Markdown lacks the reconciliation row %q", row)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fromCLI, fromReport any
	if err := json.Unmarshal([]byte(statsOut), &fromCLI); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromReport); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromCLI, fromReport) {
		t.Error("stats.json of --data-out differs from incidents stats --reconcile --json")
	}
	// A selection still adds up: 2022 alone equals the 2022 year row.
	md, err = run(t, "--data", dir, "report", "incidents", "--from", "2022", "--to", "2022", "--format", "md")
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range stats.ByYear {
		if y.Key == "2022" && !strings.Contains(md, "- USD stolen: **"+report.USD(y.USD)+"**") {
			t.Errorf("2022 report total differs from the 2022 row %+v", y)
		}
	}
}

// TestReportCaseFactsOnly checks that a case report of an Ethereum
// incident without an eth store gives the facts and sources and says why
// there is no trace.
func TestReportCaseFactsOnly(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "ronin.html")
	if _, err := run(t, "--data", dir, "--log-level", "error", "report", "case", "2022-03-ronin-bridge", "--format", "html", "-o", out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, s := range []string{"Case report: Ronin Bridge (2022-03-23)", "No trace: no eth store under --data", "lazarusgroup", "$625,000,000",
		"https://etherscan.io/tx/", `<svg` /* none: no trace */} {
		if s == `<svg` {
			if strings.Contains(html, s) {
				t.Error("a facts-only report has a flow diagram")
			}
			continue
		}
		if !strings.Contains(html, s) {
			t.Errorf("case report lacks %q", s)
		}
	}
	if _, err := run(t, "--data", dir, "report", "case", "2099-01-nothing"); err == nil || !strings.Contains(err.Error(), "not in the registry") {
		t.Fatalf("unknown incident: %v", err)
	}
}

// TestReportCaseTraceJSON gives the case report a trace result file as
// "chaintrace trace --json" writes it.
func TestReportCaseTraceJSON(t *testing.T) {
	dir := t.TempDir()
	eth := func(n uint64) model.Amount {
		a, _ := model.ParseAmount(strconv.FormatUint(n, 10) + "000000000000000000")
		return a
	}
	const tx = "0xc28fad5e8d5e0ce6a2eaf67b6687be5d58113e16be590824d6cfa1a94467d0b7"
	src, ex := "eth:0x098b716b8aaf21512996dc57eb0615e2383e2f96", "eth:0x0000000000000000000000000000000000e0e0e0"
	res := &trace.Result{
		Params:    trace.Params{Chain: "eth", Incident: "2022-03-ronin-bridge", From: []string{"0x098b716b8aaf21512996dc57eb0615e2383e2f96"}, Direction: trace.Forward, Model: trace.Haircut, Hops: 6},
		Heights:   map[string]uint64{"eth": 14_500_000},
		Nodes:     []trace.Node{{ID: src, Chain: "eth", Address: "0x098b716b8aaf21512996dc57eb0615e2383e2f96", Role: trace.RoleSource}, {ID: ex, Chain: "eth", Address: "0x0000000000000000000000000000000000e0e0e0", Role: trace.RoleEndpoint, Hop: 1}},
		Edges:     []trace.Edge{{From: src, To: ex, Chain: "eth", Asset: "ETH", Tx: "0x" + strings.Repeat("ab", 32), Height: 14_400_000, Time: time.Date(2022, 3, 24, 0, 0, 0, 0, time.UTC), Hop: 1, Value: eth(5), Tainted: eth(5)}},
		Endpoints: []trace.Endpoint{{Node: ex, Chain: "eth", Address: "0x0000000000000000000000000000000000e0e0e0", Entity: "Example Exchange", Label: "Example Exchange", Category: "exchange", Asset: "ETH", Tainted: eth(5), Share: 1, Hop: 1, Txs: 1}},
		Totals:    []trace.Totals{{Chain: "eth", Asset: "ETH", Source: eth(5), Endpoints: eth(5)}},
	}
	f, err := os.Create(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.WriteJSON(f, res); err != nil {
		t.Fatal(err)
	}
	f.Close()
	md, err := run(t, "--data", dir, "report", "case", "2022-03-ronin-bridge", "--format", "md", "--trace-json", f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| Example Exchange | exchange |", "| 5 ETH | 100.00% |", "(https://etherscan.io/tx/0x" + strings.Repeat("ab", 32) + ")",
		"(https://etherscan.io/tx/" + tx + ")", "| store height eth | 14500000 |", "| balanced | yes: in = out = 5 ETH |"} {
		if !strings.Contains(md, s) {
			t.Errorf("case Markdown lacks %q", s)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"nodes":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", dir, "report", "case", "2022-03-ronin-bridge", "--trace-json", filepath.Join(dir, "bad.json")); err == nil {
		t.Fatal("a file without params was taken for a trace")
	}
}

// TestLabelsImportBuiltinIncidents imports the registry's addresses as
// labels through the CLI and finds the Ronin exploiter among them.
func TestLabelsImportBuiltinIncidents(t *testing.T) {
	dir := t.TempDir()
	if _, err := run(t, "--data", dir, "labels", "import", "builtin:incidents"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--data", dir, "labels", "show", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "service_hack") || !strings.Contains(out, "lazarusgroup") || !strings.Contains(out, "chaintrace-incidents") {
		t.Fatalf("labels show:\n%s", out)
	}
}

// TestReportCaseRealTrace traces the real 2009 blocks with "chaintrace
// trace --json", gives the result to "report case --trace-json" and
// checks that every transaction of the trace is in the evidence with its
// mempool.space link, and that an incident whose addresses the store
// does not hold gets a facts-only report instead of an error.
func TestReportCaseRealTrace(t *testing.T) {
	data := t.TempDir()
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "btc", "--blocks", mainnetBlk(t)); err != nil {
		t.Fatal(err)
	}
	tr, err := run(t, "--data", data, "--log-level", "error", "trace", "--chain", "btc", "--from", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--hops", "4", "--json")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(data, "trace.json")
	if err := os.WriteFile(file, []byte(tr), 0o644); err != nil {
		t.Fatal(err)
	}
	var res trace.Result
	if err := json.Unmarshal([]byte(tr), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Edges) == 0 || len(res.Holdings) == 0 {
		t.Fatalf("trace found nothing: %d edges, %d holdings", len(res.Edges), len(res.Holdings))
	}
	md, err := run(t, "--data", data, "report", "case", "2017-12-nicehash", "--format", "md", "--trace-json", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Edges {
		if link := "(https://mempool.space/tx/" + e.Tx + ")"; !strings.Contains(md, link) {
			t.Errorf("evidence lacks %s", link)
		}
	}
	for _, s := range []string{"| store height btc | 14131 |", "not started from this incident", "| `" + res.Holdings[0].Address + "` | "} {
		if !strings.Contains(md, s) {
			t.Errorf("case Markdown lacks %q", s)
		}
	}
	// Tracing here: the btc store exists but does not reach 2017.
	md, err = run(t, "--data", data, "--log-level", "error", "report", "case", "2017-12-nicehash", "--format", "md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "No trace: the btc store at height 14131 does not hold the incident") {
		t.Errorf("facts-only note missing:\n%s", md)
	}
}
