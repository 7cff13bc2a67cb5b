package importers

import (
	"context"
	"strings"
	"testing"
)

// TestEtherscanJSON checks the combined labels: name, slug mapping,
// empty names and invalid addresses.
func TestEtherscanJSON(t *testing.T) {
	p := writeFile(t, t.TempDir(), "combinedAccountLabels.json", `{"0x098b716b8aaf21512996dc57eb0615e2383e2f96": {"name": "Ronin Bridge Exploiter", "labels": ["ofac-sanctions-lists"]},
"0x12d66f87a04a9e220743712ce6d9bb1b5616b8fc": {"name": "Tornado.Cash: 0.1 ETH", "labels": ["tornado-cash", "ofac-sanctions-lists"]},
"0x6566fd32e6440b4268d616479707321851f354df": {"name": "", "labels": ["blocked"]},
"0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be": {"name": "Binance", "labels": ["take-action", "binance"]},
"0xnot": {"name": "Bad", "labels": []}}`)
	imp, err := Detect(p)
	if err != nil || imp.Name() != "etherscan" {
		t.Fatalf("Detect: %v %v", imp, err)
	}
	d := importOne(t, imp, p)
	if d.Name != "etherscan:combinedAccountLabels.json" || len(d.Labels) != 4 {
		t.Fatalf("dataset %s labels %+v", d.Name, d.Labels)
	}
	var got []string
	for _, l := range d.Labels {
		got = append(got, strings.Join([]string{l.Address, l.Label, l.Category, l.Abuse, l.Actor, l.Context}, "|"))
	}
	want := []string{
		roninExploiter + `|Ronin Bridge Exploiter||sanction||{"etherscan_labels":["ofac-sanctions-lists"]}`,
		`0x12D66f87A04A9E220743712cE6d9bB1B5616B8Fc|Tornado.Cash: 0.1 ETH|mixing_service|sanction|tornado|{"etherscan_labels":["tornado-cash","ofac-sanctions-lists"]}`,
		`0x6566FD32E6440B4268d616479707321851F354dF|etherscan:blocked|black_list|||{"etherscan_labels":["blocked"]}`,
		`0x3f5CE5FBFe3E9af3971dD833D26bA9b5C936f0bE|Binance|exchange||binance|{"etherscan_labels":["take-action","binance"]}`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("label %d\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	l := d.Labels[0]
	if l.Chain != "eth" || l.Confidence != "web_crawl" || l.ConfidenceLevel != 20 || l.Source != "https://etherscan.io/address/"+roninExploiter {
		t.Errorf("label %+v", l)
	}
	if len(d.Rejected) != 1 || d.Rejected[0].Line != 5 || d.Rejected[0].Value != "0xnot" {
		t.Errorf("rejected %+v", d.Rejected)
	}
}

// TestEtherscanCSV checks a per-label file: its name is the slug, and a
// row with the wrong column count fails the file with its line.
func TestEtherscanCSV(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "accounts-selected/cold-wallet.csv", ",Address,Name Tag,Balance,Txn Count\n"+
		"0,0xbe0eb53f46cd790cd13851d5eff43d12404d33e8,Binance 7,\"1,996,008.35576895 ETH\",1165\n"+
		"1,0x2b49ce21ad2004cfb3d0b51b2e8ec0406d632513,,0.03208352 ETH,1385\n")
	d := importOne(t, etherscanImporter{}, p)
	if d.Name != "etherscan:cold-wallet.csv" || len(d.Labels) != 2 || len(d.Rejected) != 0 {
		t.Fatalf("dataset %s labels %+v rejected %+v", d.Name, d.Labels, d.Rejected)
	}
	if l := d.Labels[0]; l.Label != "Binance 7" || l.Category != "exchange" || l.Context != `{"etherscan_labels":["cold-wallet"]}` {
		t.Errorf("label %+v", l)
	}
	if l := d.Labels[1]; l.Label != "etherscan:cold-wallet" {
		t.Errorf("empty name tag: %+v", l)
	}
	bad := writeFile(t, dir, "bridge.csv", ",Address,Name Tag,Balance,Txn Count\n0,0xbe0eb53f46cd790cd13851d5eff43d12404d33e8,x\n")
	_, err := etherscanImporter{}.Import(context.Background(), bad)
	wantErr(t, err, "importers:", "bridge.csv:2:", "row has 3 columns, want 5")
	// The folder gives one dataset per file.
	ds, err := etherscanImporter{}.Import(context.Background(), dir+"/accounts-selected")
	if err != nil || len(ds) != 1 {
		t.Errorf("folder: %d datasets, %v", len(ds), err)
	}
}

// TestEtherscanConcepts checks that the slug table uses taxonomy ids.
func TestEtherscanConcepts(t *testing.T) {
	for slug, c := range etherscanConcepts {
		if (c.category != "" && !isConcept(c.category)) || (c.abuse != "" && !isConcept(c.abuse)) {
			t.Errorf("slug %s maps to %+v, outside the taxonomy", slug, c)
		}
	}
	for name, k := range sdnEntities {
		if !isConcept(k.category) {
			t.Errorf("SDN entity %s has category %q outside the taxonomy", name, k.category)
		}
	}
}
