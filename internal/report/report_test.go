package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/prices"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// fakePrices is a price history of two days.
type fakePrices map[string]float64

func (f fakePrices) Lookup(_ context.Context, asset, day string) (prices.Quote, bool, error) {
	v, ok := f[asset+" "+day]
	return prices.Quote{Asset: asset, Requested: day, Day: day, Close: v, Source: "test.csv", Exact: true}, ok, nil
}

func fixture(t *testing.T) ([]incident.Record, []incident.Published) {
	t.Helper()
	ctx := context.Background()
	recs, err := incident.LoadFile(ctx, filepath.Join("testdata", "registry"))
	if err != nil {
		t.Fatalf("fixture registry: %v", err)
	}
	figs, err := incident.LoadPublishedFS(ctx, os.DirFS("testdata"), "published.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return recs, figs
}

func buildFixture(t *testing.T, opts IncidentsOptions) *IncidentsReport {
	t.Helper()
	recs, figs := fixture(t)
	rep, err := BuildIncidents(context.Background(), recs, figs, opts, fakePrices{"BTC 2021-05-01": 50000})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// statsRowRe finds a statistics row of the HTML: section from the table,
// key, count and USD from the data attributes.
var (
	tableRe = regexp.MustCompile(`(?s)<table class="stats" data-section="([^"]+)">(.*?)</table>`)
	rowRe   = regexp.MustCompile(`<tr data-key="([^"]+)"><td>[^<]*</td><td class="num" data-count="(\d+)">\d+</td><td class="num" data-usd="([^"]+)">([^<]+)</td>`)
)

// TestIncidentsReportNumbersMatchStats renders the fixture's report and
// checks every statistics row of the HTML and the Markdown against the
// JSON of incident.Compute, and the hand-computed totals.
func TestIncidentsReportNumbersMatchStats(t *testing.T) {
	rep := buildFixture(t, IncidentsOptions{})
	recs, _ := fixture(t)
	want := incident.Compute(recs)
	// The JSON the stats command prints is the same computation.
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(rep.Stats.Stats)
	if !bytes.Equal(wantJSON, gotJSON) {
		t.Fatalf("report stats differ from incident.Compute:\n%s\n%s", gotJSON, wantJSON)
	}
	if want.Total.Count != 4 || want.Total.USD != 4000000.4 || want.Total.UnknownUSD != 1 || want.Drafts != 1 {
		t.Fatalf("hand-computed totals: %+v", want.Total)
	}
	var html, md bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	sections := map[string][]incident.Bucket{"Year": want.ByYear, "Actor": want.ByActor, "Victim type": want.ByVictim, "Vector": want.ByVector, "Chain": want.ByChain}
	tables := tableRe.FindAllStringSubmatch(html.String(), -1)
	if len(tables) != len(sections) {
		t.Fatalf("%d statistics tables in the HTML, want %d", len(tables), len(sections))
	}
	for _, tb := range tables {
		buckets := sections[tb[1]]
		rows := rowRe.FindAllStringSubmatch(tb[2], -1)
		if len(rows) != len(buckets) {
			t.Fatalf("section %s: %d rows, want %d", tb[1], len(rows), len(buckets))
		}
		for i, b := range buckets {
			r := rows[i]
			usd, _ := strconv.ParseFloat(r[3], 64)
			if r[1] != b.Key || r[2] != strconv.Itoa(b.Count) || usd != b.USD || r[4] != USD(b.USD) {
				t.Errorf("section %s row %d: HTML %v, JSON %+v", tb[1], i, r[1:], b)
			}
			mdRow := "| " + mdEscape(strings.ReplaceAll(b.Key, "_", " ")) + " | " + strconv.Itoa(b.Count) + " | " + USD(b.USD) + " | " + strconv.Itoa(b.UnknownUSD) + " |"
			if !strings.Contains(md.String(), mdRow) {
				t.Errorf("Markdown lacks row %q", mdRow)
			}
		}
	}
	for _, s := range []string{`data-usd="4000000.4">$4,000,000</b>`, `data-count="4">4</b>`} {
		if !strings.Contains(html.String(), s) {
			t.Errorf("HTML summary lacks %s", s)
		}
	}
	if !strings.Contains(md.String(), "- USD stolen: **$4,000,000**") {
		t.Error("Markdown summary lacks the total")
	}
	// Reconciliation: ours 2 incidents and $500,000 in 2022, theirs 3 and
	// $900,000; the missing Epsilon hack explains both gaps.
	if len(rep.Stats.Reconciliation) != 1 {
		t.Fatalf("reconciliation %+v", rep.Stats.Reconciliation)
	}
	rc := rep.Stats.Reconciliation[0]
	if rc.OurCount != 2 || rc.OurUSD != 500000.4 || !rc.Explained() {
		t.Fatalf("reconciliation %+v", rc)
	}
	for _, s := range []string{`data-figure="test-2022"`, "Epsilon hack", "&#43;$400,000", `class="explained"`} {
		if !strings.Contains(html.String(), s) {
			t.Errorf("HTML reconciliation lacks %q", s)
		}
	}
	if !strings.Contains(md.String(), "| USD | $500,000 | $900,000 | +$400,000 | $0 | explained |") {
		t.Errorf("Markdown reconciliation row missing:\n%s", md.String())
	}
	// BTC of 2021-05-alpha-exchange valued at the fake close.
	if len(rep.Valuations) != 1 || rep.Valuations[0].USD != 525000 || !strings.Contains(html.String(), "$525,000") {
		t.Errorf("valuations %+v", rep.Valuations)
	}
}

// TestIncidentsReportFilter checks --from/--to/--actor selections.
func TestIncidentsReportFilter(t *testing.T) {
	rep := buildFixture(t, IncidentsOptions{From: 2022, To: 2022, Actor: "lazarusgroup"})
	if rep.Stats.Total.Count != 2 || rep.Stats.Total.USD != 500000.4 || len(rep.Stats.Reconciliation) != 0 || rep.ReconciliationNote == "" {
		t.Fatalf("filtered report: %+v %q", rep.Stats.Total, rep.ReconciliationNote)
	}
	rep = buildFixture(t, IncidentsOptions{From: 2021, To: 2021})
	if rep.Stats.Total.Count != 2 || len(rep.Stats.Reconciliation) != 0 {
		t.Fatalf("2021 report: %+v, %d reconciliations", rep.Stats.Total, len(rep.Stats.Reconciliation))
	}
	recs, figs := fixture(t)
	if _, err := BuildIncidents(context.Background(), recs, figs, IncidentsOptions{From: 2023, To: 2021}, nil); err == nil {
		t.Fatal("inverted years accepted")
	}
}

// TestEscapingAndSelfContained checks that registry text is escaped and
// that the HTML loads nothing from outside.
func TestEscapingAndSelfContained(t *testing.T) {
	rep := buildFixture(t, IncidentsOptions{})
	recs, _ := fixture(t)
	cr, err := BuildCase(context.Background(), incident.Find(recs, "2021-05-alpha-exchange"), sampleTrace(), "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]func(*bytes.Buffer) error{
		"incidents": func(b *bytes.Buffer) error { return rep.WriteHTML(b) },
		"case":      func(b *bytes.Buffer) error { return cr.Write(b, HTML) },
	} {
		var b bytes.Buffer
		if err := w(&b); err != nil {
			t.Fatal(err)
		}
		s := b.String()
		if strings.Contains(s, "<script") || !strings.Contains(s, "&lt;script&gt;") {
			t.Errorf("%s: victim name not escaped", name)
		}
		for _, bad := range []string{"<link", " src=", "@import", "url(", "<iframe", "<img"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s: HTML refers to an external resource (%s)", name, bad)
			}
		}
	}
	var md bytes.Buffer
	if err := cr.Write(&md, Markdown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `Alpha &lt;script&gt;alert(1)&lt;/script&gt; \| Exchange`) {
		t.Errorf("Markdown title not escaped:\n%s", md.String()[:200])
	}
}

// sampleTrace is a hand-built forward haircut trace on Ethereum: the
// source sends 100 ETH to a hop, which pays 60 to an exchange, 30 to a
// mixer and keeps 10; and a regtest edge with no explorer.
func sampleTrace() *trace.Result {
	eth := func(n uint64) model.Amount {
		a, _ := model.ParseAmount(strconv.FormatUint(n, 10) + "000000000000000000")
		return a
	}
	t0 := time.Date(2021, 5, 1, 12, 0, 0, 0, time.UTC)
	src, hop, ex, mix := "eth:0xsource", "eth:0xhop", "eth:0xexchange", "eth:0xmixer"
	const tx1 = "0x1111111111111111111111111111111111111111111111111111111111111111"
	const tx2 = "0x2222222222222222222222222222222222222222222222222222222222222222"
	return &trace.Result{
		Params:  trace.Params{Chain: "eth", Incident: "2021-05-alpha-exchange", From: []string{"0xsource"}, Direction: trace.Forward, Model: trace.Haircut, Hops: 6},
		Heights: map[string]uint64{"eth": 12_400_000},
		Nodes: []trace.Node{
			{ID: src, Chain: "eth", Address: "0xsource", Role: trace.RoleSource, Hop: 0},
			{ID: hop, Chain: "eth", Address: "0xhop", Role: trace.RoleHolding, Hop: 1},
			{ID: ex, Chain: "eth", Address: "0xexchange", Role: trace.RoleEndpoint, Hop: 2, Labels: []trace.Label{{Label: "Big <Exchange>", Category: "exchange"}}},
			{ID: mix, Chain: "eth", Address: "0xmixer", Role: trace.RoleMixer, Hop: 2, Labels: []trace.Label{{Label: "Tornado Cash", Category: "mixing_service"}}},
		},
		Edges: []trace.Edge{
			{From: src, To: hop, Chain: "eth", Asset: "ETH", Tx: tx1, Height: 12_300_000, Time: t0, Hop: 1, Value: eth(100), Tainted: eth(100)},
			{From: hop, To: ex, Chain: "eth", Asset: "ETH", Tx: tx2, Height: 12_300_010, Time: t0.Add(time.Hour), Hop: 2, Value: eth(60), Tainted: eth(60)},
			{From: hop, To: mix, Chain: "eth", Asset: "ETH", Tx: tx2, Height: 12_300_010, Time: t0.Add(time.Hour), Hop: 2, Value: eth(30), Tainted: eth(30)},
		},
		Endpoints: []trace.Endpoint{{Node: ex, Chain: "eth", Address: "0xexchange", Entity: "Big <Exchange>", Label: "Big <Exchange>", Category: "exchange", Asset: "ETH", Tainted: eth(60), Share: 0.6, Hop: 2, Txs: 1}},
		Holdings:  []trace.Holding{{Node: hop, Chain: "eth", Address: "0xhop", Asset: "ETH", Amount: eth(10), Hop: 1}},
		Totals:    []trace.Totals{{Chain: "eth", Asset: "ETH", Source: eth(100), Endpoints: eth(60), Mixers: eth(30), Unspent: eth(10)}},
		Stats:     trace.Stats{Txs: 2, Addresses: 4},
	}
}

// TestCaseReport renders the case report of a fixture incident with the
// hand-built trace and checks facts, sources, trace results, the flow
// diagram and the evidence list in HTML and Markdown.
func TestCaseReport(t *testing.T) {
	recs, _ := fixture(t)
	rec := incident.Find(recs, "2021-05-alpha-exchange")
	cr, err := BuildCase(context.Background(), rec, sampleTrace(), "", nil, fakePrices{"BTC 2021-05-01": 50000, "ETH 2021-05-01": 3000})
	if err != nil {
		t.Fatal(err)
	}
	ev := cr.Evidence()
	// The registry's theft tx and the two trace transactions.
	if len(ev) != 3 || ev[1].URL != "https://etherscan.io/tx/0x1111111111111111111111111111111111111111111111111111111111111111" || ev[2].What != "hop 2 flow" {
		t.Fatalf("evidence %+v", ev)
	}
	var html, md bytes.Buffer
	if err := cr.Write(&html, HTML); err != nil {
		t.Fatal(err)
	}
	if err := cr.Write(&md, Markdown); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"https://example.org/source", "Test Publisher", "Test &lt;source&gt; | one", "2022-01-02", // source
		"lazarusgroup", "attributed by industry", // attribution
		"$1,000,000", "$525,000", "BTC close on 2021-05-01 from test.csv", // amounts and valuation
		"60 ETH", "60.00%", "Big &lt;Exchange&gt;", "https://etherscan.io/address/0xexchange", // endpoint
		"0xhop", "10 ETH", "Tornado Cash", // holding, mixer
		"yes: in = out = 100 ETH", "store height eth", "12400000", // totals, heights
		"chaintrace trace --chain eth --incident 2021-05-alpha-exchange --direction forward --model haircut --hops 6 --json",
		`<svg class="flow"`, "hop 2", // flow diagram
		"https://etherscan.io/tx/0x2222222222222222222222222222222222222222222222222222222222222222",
		"$180,000", "$300,000", "ETH close on 2021-05-01 from test.csv", // trace amounts in USD at the incident's day
	} {
		if !strings.Contains(html.String(), s) {
			t.Errorf("case HTML lacks %q", s)
		}
	}
	for _, s := range []string{"| Endpoints |", "| 60 ETH | $180,000 | 60.00% |", "| source | 100 ETH | $300,000 |", "[`0x1111111111111111111111111111111111111111111111111111111111111111`](https://etherscan.io/tx/0x1111111111111111111111111111111111111111111111111111111111111111)", "| balanced | yes: in = out = 100 ETH |"} {
		if s == "| Endpoints |" {
			s = "### Endpoints"
		}
		if !strings.Contains(md.String(), s) {
			t.Errorf("case Markdown lacks %q", s)
		}
	}
	// Regtest and dev chains have no explorer.
	if TxURL("btc-regtest", "ab") != "" || TxURL("eth-dev", "0xab") != "" || TxURL("btc", "ab") != "https://mempool.space/tx/ab" {
		t.Error("explorer URLs")
	}
	// Without a trace the report says why and still lists the facts.
	cr, err = BuildCase(context.Background(), rec, nil, "No store holds chain eth.", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	html.Reset()
	if err := cr.Write(&html, HTML); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `id="no-trace">No store holds chain eth.`) || !strings.Contains(html.String(), "https://example.org/source") {
		t.Error("facts-only case report")
	}
}

// TestFlowDiagramDeterministic checks that the diagram does not depend
// on the order of nodes and edges and collapses wide hops.
func TestFlowDiagramDeterministic(t *testing.T) {
	a := sampleTrace()
	b := sampleTrace()
	b.Nodes[2], b.Nodes[3] = b.Nodes[3], b.Nodes[2]
	if flowDiagram(a) != flowDiagram(b) {
		t.Fatal("node order changes the diagram")
	}
	for i := 0; i < 30; i++ {
		a.Nodes = append(a.Nodes, trace.Node{ID: "eth:0xw" + strconv.Itoa(i), Chain: "eth", Address: "0xw" + strconv.Itoa(i), Role: trace.RoleHop, Hop: 3})
	}
	if s := string(flowDiagram(a)); !strings.Contains(s, "+17 more addresses") {
		t.Fatal("a wide hop is not collapsed")
	}
	a.Nodes = append(a.Nodes, trace.Node{ID: "eth:0xdeep", Chain: "eth", Address: "0xdeep", Role: trace.RoleHop, Hop: 40})
	if s := string(flowDiagram(a)); !strings.Contains(s, "1 addresses beyond hop 15 are not drawn") || strings.Contains(s, "hop 40") {
		t.Fatal("deep hops are drawn")
	}
}

// TestWriteData checks the CSV and JSON data files.
func TestWriteData(t *testing.T) {
	rep := buildFixture(t, IncidentsOptions{})
	dir := t.TempDir()
	files, err := rep.WriteData(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 11 {
		t.Fatalf("files %v", files)
	}
	b, err := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got StatsJSON
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Total != rep.Stats.Total || len(got.ByYear) != 2 || len(got.Reconciliation) != 1 {
		t.Fatalf("stats.json %+v", got.Total)
	}
	y, err := os.ReadFile(filepath.Join(dir, "by_year.csv"))
	if err != nil || string(y) != "year,count,usd,unknown_usd\n2021,2,3500000,0\n2022,2,500000.4,1\n" {
		t.Fatalf("by_year.csv %q %v", y, err)
	}
}
