package trace

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
)

func exAmt(n uint64) model.Amount { return model.AmountFromUint64(n) }

// exampleResult is a small forward trace: S paid A 60 (tainted 50) and A
// paid exchange X 40 (tainted 33), A keeping the rest.
func exampleResult() *Result {
	t0 := time.Date(2022, 3, 29, 12, 0, 0, 0, time.UTC)
	return &Result{
		Params:  Params{Chain: "btc", From: []string{"S"}, Direction: Forward, Model: Haircut, Hops: 6},
		Heights: map[string]uint64{"btc": 100},
		Nodes: []Node{
			{ID: "btc:S", Chain: "btc", Address: "S", Role: RoleSource},
			{ID: "btc:A", Chain: "btc", Address: "A", Role: RoleHolding, Hop: 1},
			{ID: "btc:X", Chain: "btc", Address: "X", Role: RoleEndpoint, Hop: 2, Labels: []Label{{Label: "Exchange \"X\"", Category: "exchange"}}},
		},
		Edges: []Edge{
			{From: "btc:S", To: "btc:A", Chain: "btc", Asset: "BTC", Tx: "t1", Height: 1, Time: t0, Hop: 1, Value: exAmt(60), Tainted: exAmt(50)},
			{From: "btc:A", To: "btc:X", Chain: "btc", Asset: "BTC", Tx: "t2", Height: 2, Time: t0.Add(time.Hour), Hop: 2, Value: exAmt(40), Tainted: exAmt(33)},
		},
		Endpoints: []Endpoint{{Node: "btc:X", Chain: "btc", Address: "X", Entity: "X", Label: "Exchange X", Category: "exchange", Asset: "BTC", Tainted: exAmt(33), Share: 0.66, Hop: 2, Txs: 1}},
		Holdings:  []Holding{{Node: "btc:A", Chain: "btc", Address: "A", Asset: "BTC", Amount: exAmt(17), Hop: 1, Outputs: []string{"t2:1"}}},
		Totals:    []Totals{{Chain: "btc", Asset: "BTC", Source: exAmt(50), Endpoints: exAmt(33), Unspent: exAmt(17)}},
	}
}

func TestWriteFormats(t *testing.T) {
	r := exampleResult()
	var j bytes.Buffer
	if err := WriteJSON(&j, r); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Holdings []struct {
			Amount json.Number `json:"amount"`
		} `json:"holdings"`
	}
	dec := json.NewDecoder(&j)
	dec.UseNumber()
	if err := dec.Decode(&back); err != nil || len(back.Holdings) != 1 || back.Holdings[0].Amount != "17" {
		t.Fatalf("JSON holdings %+v %v: want the integer 17", back, err)
	}
	var c bytes.Buffer
	if err := WriteCSV(&c, r, TableEdges); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(c.String()), "\n")
	if len(lines) != 3 || lines[2] != "2,btc,2,2022-03-29T13:00:00Z,t2,btc:A,btc:X,BTC,40,33" {
		t.Fatalf("CSV edges:\n%s", c.String())
	}
	c.Reset()
	if err := WriteCSV(&c, r, TableTotals); err != nil || !strings.Contains(c.String(), ",true\n") {
		t.Fatalf("CSV totals %v:\n%s", err, c.String())
	}
	if err := WriteCSV(&c, r, "nodes"); err == nil {
		t.Fatal("unknown table accepted")
	}
	var d bytes.Buffer
	units := Units(func(chain, asset string) (AssetInfo, bool) { return AssetInfo{Symbol: "BTC", Decimals: 1}, true })
	if err := WriteDOT(&d, r, units); err != nil {
		t.Fatal(err)
	}
	dot := d.String()
	for _, want := range []string{`"btc:A" -> "btc:X" [label="3.3 BTC"]`, `Exchange \"X\" (exchange)`, "doubleoctagon"} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}
}

func TestGroupByCluster(t *testing.T) {
	r := exampleResult()
	// S and A are one entity: the S->A payment is internal to it.
	GroupByCluster(r, func(chain, address string) (string, bool) {
		if address == "S" || address == "A" {
			return "7", true
		}
		return "", false
	})
	if len(r.Nodes) != 2 || r.Nodes[0].ID != "btc:X" || r.Nodes[1].ID != "btc:cluster:7" || r.Nodes[1].Role != RoleSource {
		t.Fatalf("nodes %+v", r.Nodes)
	}
	if len(r.Edges) != 1 || r.Edges[0].From != "btc:cluster:7" || r.Holdings[0].Node != "btc:cluster:7" {
		t.Fatalf("edges %+v holdings %+v", r.Edges, r.Holdings)
	}
}

func TestLoadBridgesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `bridges:
  - name: pegged
    deposit: {chain: btc, asset: BTC, addresses: [d]}
    release: {chain: eth, asset: "0x01", addresses: [r]}
    rate: 1/1
    window: 2h
  - name: elsewhere
    deposit: {chain: btc, addresses: [d]}
    release: {chain: tron, addresses: [r]}
`)
	rules, skipped, err := LoadBridges(good, map[string]PaymentLister{"eth": nil})
	if err != nil || len(rules) != 1 || rules[0].Name() != "pegged" || len(skipped) != 1 || skipped[0] != "elsewhere" {
		t.Fatalf("rules %v skipped %v err %v", rules, skipped, err)
	}
	for name, body := range map[string]string{
		"broken.yaml": "bridges:\n  - name: [unclosed\n",
		"rate.yaml":   "bridges:\n  - name: x\n    deposit: {chain: btc, addresses: [d]}\n    release: {chain: eth, addresses: [r]}\n    rate: one\n",
		"empty.yaml":  "bridges:\n  - name: x\n",
	} {
		_, _, err := LoadBridges(write(name, body), nil)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	_, _, err = LoadBridges(write("rate2.yaml", "bridges:\n  - name: ok\n    deposit: {chain: btc, addresses: [d]}\n    release: {chain: eth, addresses: [r]}\n  - name: x\n    deposit: {chain: btc, addresses: [d]}\n    release: {chain: eth, addresses: [r]}\n    rate: 0/1\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "rate2.yaml:5") {
		t.Errorf("error %v does not give the line of the second bridge", err)
	}
}
