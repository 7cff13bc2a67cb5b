package importers

import (
	"context"
	"strings"
	"testing"
)

// TestCSVByIndex maps columns by index with constants.
func TestCSVByIndex(t *testing.T) {
	imp, err := NewCSV("address=0,label=1,chain=Ethereum,category=exchange,confidence=service_data")
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, t.TempDir(), "wallets.csv",
		"0xbe0eb53f46cd790cd13851d5eff43d12404d33e8,Binance 7\n"+
			"0x1234,broken\n"+
			"0xf977814e90da44bfa03b6295a0616a897441acec,\n")
	if !imp.Detect(p) {
		t.Error("a mapped CSV importer detects .csv files")
	}
	d := importOne(t, imp, p)
	if d.Name != "csv:wallets.csv" || d.Format != "csv" || len(d.Labels) != 1 {
		t.Fatalf("dataset %s %s labels %+v", d.Name, d.Format, d.Labels)
	}
	l := d.Labels[0]
	if l.Chain != "eth" || l.Address != "0xBE0eB53F46cd790Cd13851d5EFf43D12404d33E8" || l.Label != "Binance 7" ||
		l.Category != "exchange" || l.Confidence != "service_data" || l.ConfidenceLevel != 50 || l.Source != p {
		t.Errorf("label %+v", l)
	}
	if len(d.Rejected) != 2 || d.Rejected[0].Line != 2 || !strings.Contains(d.Rejected[0].Reason, "addrs: invalid eth address") ||
		d.Rejected[1].Line != 3 || d.Rejected[1].Reason != "empty label" {
		t.Errorf("rejected %+v", d.Rejected)
	}
}

// TestCSVByHeader maps columns by header name, with a currency column,
// a guessed chain and a semicolon separator.
func TestCSVByHeader(t *testing.T) {
	imp, err := ByName("csv:address=Wallet,label=Owner,currency=Asset,abuse=sanction,sep=;")
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, t.TempDir(), "list.csv",
		"Owner;Asset;Wallet\n"+
			"LAZARUS GROUP;ETH;"+roninExploiter+"\n"+
			"WU;XBT;18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa\n"+
			"SOMEONE;ADA;addr1\n"+
			"TRON USER;USDT;TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre\n")
	d := importOne(t, imp, p)
	var got []string
	for _, l := range d.Labels {
		got = append(got, l.Chain+" "+l.Label+" "+l.Abuse+" "+l.Confidence)
	}
	want := "eth LAZARUS GROUP sanction unknown|btc WU sanction unknown|trx TRON USER sanction unknown"
	if strings.Join(got, "|") != want {
		t.Errorf("labels %q, want %q", strings.Join(got, "|"), want)
	}
	if len(d.Rejected) != 1 || d.Rejected[0].Line != 4 || d.Rejected[0].Reason != "unknown currency ADA" {
		t.Errorf("rejected %+v", d.Rejected)
	}

	guess, err := NewCSV("address=0,label=1,header=false")
	if err != nil {
		t.Fatal(err)
	}
	p = writeFile(t, t.TempDir(), "guess.csv", roninExploiter+",x\n1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE,y\n")
	d = importOne(t, guess, p)
	if len(d.Labels) != 1 || d.Labels[0].Chain != "eth" || len(d.Rejected) != 1 || !strings.Contains(d.Rejected[0].Reason, "fits several chains") {
		t.Errorf("guessed chains: labels %+v rejected %+v", d.Labels, d.Rejected)
	}
}

// TestCSVErrors checks mapping errors and a row with the wrong column
// count, which fails the file with its line.
func TestCSVErrors(t *testing.T) {
	for mapping, want := range map[string]string{
		"label=1":                        "address (or tx_hash) is not mapped",
		"address=0":                      "label is not mapped",
		"address=0,label=1,foo=2":        `unknown field "foo"`,
		"address=0,label":                "want field=column",
		"address=0,label=1,sep=;;":       "sep must be one character",
		"address=0,label=1,header=maybe": "header must be",
	} {
		_, err := NewCSV(mapping)
		wantErr(t, err, "importers:", want)
	}
	imp, _ := NewCSV("address=0,label=1,chain=eth")
	p := writeFile(t, t.TempDir(), "short.csv", roninExploiter+",a\n"+roninExploiter+",b\n"+roninExploiter+"\n")
	_, err := imp.Import(context.Background(), p)
	wantErr(t, err, "importers:", "short.csv:3:", "row has 1 columns, want 2")

	p = writeFile(t, t.TempDir(), "narrow.csv", roninExploiter+",a\n")
	wide, _ := NewCSV("address=0,label=5")
	_, err = wide.Import(context.Background(), p)
	wantErr(t, err, "narrow.csv:1:", "the file has 2 columns")

	named, _ := NewCSV("address=Wallet,label=1")
	_, err = named.Import(context.Background(), p)
	wantErr(t, err, "narrow.csv:1:", "no such column")

	_, err = csvImporter{}.Import(context.Background(), p)
	wantErr(t, err, "needs a column mapping")
	if (csvImporter{}).Detect(p) {
		t.Error("the registry's csv importer must not detect files")
	}
}
