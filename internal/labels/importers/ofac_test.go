package importers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// TestSDNXML imports the hand-made SDN.XML excerpt.
func TestSDNXML(t *testing.T) {
	p := filepath.Join("testdata", "SDN.XML")
	imp, err := Detect(p)
	if err != nil || imp.Name() != "ofac-sdn-xml" {
		t.Fatalf("Detect: %v, %v", imp, err)
	}
	d := importOne(t, imp, p)
	if d.Name != "ofac-sdn" || d.Format != "ofac-sdn-xml" {
		t.Errorf("dataset %s format %s", d.Name, d.Format)
	}
	if len(d.Labels) != 3 {
		t.Fatalf("%d labels, want 3: %+v", len(d.Labels), d.Labels)
	}
	published := time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)
	laz := d.Labels[0]
	want := labels.Label{
		Chain: "eth", Address: roninExploiter, Label: "LAZARUS GROUP", Category: "user", Abuse: "sanction",
		Actor: "lazarusgroup", Confidence: "authority_data", ConfidenceLevel: 60, Source: sdnXMLURL,
		Dataset: "ofac-sdn", LastMod: published, Context: `{"akas":["HIDDEN COBRA","GUARDIANS OF PEACE"]}`,
		Entity: "LAZARUS GROUP", EntityUID: "27307", Programs: []string{"DPRK3"},
	}
	if !reflect.DeepEqual(laz, want) {
		t.Errorf("Lazarus label\n got %+v\nwant %+v", laz, want)
	}
	if d.Labels[1].Address != "0xa0e1c89Ef1a489c9C7dE96311eD5Ce5D32c20E4B" {
		t.Errorf("lower-case ETH address not checksummed: %s", d.Labels[1].Address)
	}
	wu := d.Labels[2]
	if wu.Chain != "btc" || wu.Address != "18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa" || wu.Entity != "WU, Huihui" ||
		wu.EntityUID != "42496" || !reflect.DeepEqual(wu.Programs, []string{"DPRK3", "CYBER2"}) || wu.Actor != "" || wu.Category != "user" {
		t.Errorf("individual: %+v", wu)
	}
	// Both rejected ids belong to WU's entry, which starts at line 47.
	if len(d.Rejected) != 2 {
		t.Fatalf("rejected %+v", d.Rejected)
	}
	for i, reason := range []string{"addrs: invalid btc address", "unknown currency LUNA"} {
		r := d.Rejected[i]
		if r.Line != 47 || !strings.Contains(r.Reason, reason) || r.File != p {
			t.Errorf("rejected %d: %+v, want line 47 %q", i, r, reason)
		}
	}
}

// TestSDNXMLErrors checks the errors of malformed SDN.XML files: they
// name the file and line.
func TestSDNXMLErrors(t *testing.T) {
	_, err := sdnXMLImporter{}.Import(context.Background(), filepath.Join("testdata", "sdn_unexpected.xml"))
	wantErr(t, err, "importers:", "sdn_unexpected.xml:12:", "unexpected element <sdnEntries> in <sdnList>")

	dir := t.TempDir()
	cases := []struct {
		name, body string
		want       []string
	}{
		{"broken.xml", "<sdnList>\n<sdnEntry>\n<uid>1</uid>\n</sdnList>\n", []string{"broken.xml:4:", "invalid XML"}},
		{"nouid.xml", "<sdnList>\n  <sdnEntry>\n    <lastName>X</lastName>\n  </sdnEntry>\n</sdnList>\n", []string{"nouid.xml:2:", "without <uid>"}},
		{"text.xml", "<sdnList>\n  stray\n</sdnList>\n", []string{"text.xml:2:", "unexpected text"}},
		{"empty.xml", "", []string{"empty.xml:", "no <sdnList>"}},
	}
	for _, c := range cases {
		p := writeFile(t, dir, c.name, c.body)
		_, err := readSDNXML(context.Background(), p)
		wantErr(t, err, c.want...)
	}
	sdn, err := os.ReadFile(filepath.Join("testdata", "SDN.XML"))
	if err != nil {
		t.Fatal(err)
	}
	bom := writeFile(t, dir, "bom.xml", "\ufeff"+string(sdn))
	if d, err := (sdnXMLImporter{}).Import(context.Background(), bom); err != nil || len(d) != 1 || len(d[0].Labels) != 3 {
		t.Errorf("SDN.XML with a byte-order mark: %v", err)
	}
	p := writeFile(t, dir, "root.xml", "<?xml version=\"1.0\"?>\n<Other/>\n")
	_, err = readSDNXML(context.Background(), p)
	wantErr(t, err, "root.xml:2:", "unexpected root element <Other>")
}

// TestSDNXMLStreams imports a large generated SDN.XML and checks that the
// heap stays far below the file's size: entries are decoded one at a
// time.
func TestSDNXMLStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a large file")
	}
	const entries = 40000
	p := filepath.Join(t.TempDir(), "SDN.XML")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, `<?xml version="1.0" standalone="yes"?>`)
	fmt.Fprintln(w, `<sdnList><publshInformation><Publish_Date>05/03/2024</Publish_Date></publshInformation>`)
	remark := strings.Repeat("x", 300)
	for i := range entries {
		fmt.Fprintf(w, "<sdnEntry><uid>%d</uid><lastName>ENTITY %d</lastName><sdnType>Entity</sdnType>"+
			"<programList><program>SDGT</program></programList><idList>"+
			"<id><uid>%d</uid><idType>Registration Number</idType><idNumber>%s</idNumber></id>", i, i, i, remark)
		if i%1000 == 0 {
			fmt.Fprintf(w, "<id><uid>%d</uid><idType>Digital Currency Address - ETH</idType><idNumber>0x%040x</idNumber></id>", i, i+1)
		}
		fmt.Fprintln(w, "</idList></sdnEntry>")
	}
	fmt.Fprintln(w, "</sdnList>")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(p)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	d, err := readSDNXML(context.Background(), p)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Labels) != entries/1000 {
		t.Errorf("%d labels, want %d", len(d.Labels), entries/1000)
	}
	growth := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("file %d MB, peak heap growth %d KB", st.Size()>>20, growth>>10)
	if growth > st.Size()/4 {
		t.Errorf("heap grew by %d bytes for a %d-byte file: not streaming", growth, st.Size())
	}
}

// TestSDNAdvanced imports the hand-made SDN_ADVANCED.XML excerpt.
func TestSDNAdvanced(t *testing.T) {
	p := filepath.Join("testdata", "SDN_ADVANCED.XML")
	imp, err := Detect(p)
	if err != nil || imp.Name() != "ofac-sdn-advanced-xml" {
		t.Fatalf("Detect: %v, %v", imp, err)
	}
	d := importOne(t, imp, p)
	if d.Name != "ofac-sdn-advanced" || len(d.Labels) != 3 {
		t.Fatalf("dataset %s with %d labels: %+v", d.Name, len(d.Labels), d.Labels)
	}
	issued := time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)
	laz, wu, usdt := d.Labels[0], d.Labels[1], d.Labels[2]
	if laz.Address != roninExploiter || laz.Entity != "LAZARUS GROUP" || laz.EntityUID != "27307" ||
		laz.Actor != "lazarusgroup" || !reflect.DeepEqual(laz.Programs, []string{"DPRK3"}) ||
		!laz.LastMod.Equal(issued) || laz.Context != `{"akas":["HIDDEN COBRA"]}` || laz.Source != sdnAdvancedURL {
		t.Errorf("Lazarus: %+v", laz)
	}
	if wu.Chain != "btc" || wu.Address != "18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa" || wu.Entity != "WU, Huihui" ||
		!reflect.DeepEqual(wu.Programs, []string{"DPRK3", "CYBER2"}) {
		t.Errorf("WU: %+v", wu)
	}
	if usdt.Chain != "eth" || usdt.Address != "0xb6f5ec1A0a9cd1526536D3F0426c429529471F40" || usdt.Entity != "WU, Huihui" {
		t.Errorf("USDT: %+v", usdt)
	}
	if len(d.Rejected) != 1 || d.Rejected[0].Value != "not-a-bitcoin-address" || d.Rejected[0].Line != 71 {
		t.Errorf("rejected %+v, want not-a-bitcoin-address at line 71 (its party)", d.Rejected)
	}
}

// TestSDNAdvancedErrors checks errors for unexpected structure.
func TestSDNAdvancedErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body string
		want       []string
	}{
		{"child.xml", "<Sanctions>\n<ReferenceValueSets/>\n<DistinctParties>\n<Party/>\n</DistinctParties>\n</Sanctions>\n",
			[]string{"child.xml:4:", "unexpected element <Party> in <DistinctParties>"}},
		{"order.xml", "<Sanctions>\n<DistinctParties>\n<DistinctParty FixedRef=\"1\"/>\n</DistinctParties>\n</Sanctions>\n",
			[]string{"order.xml:3:", "before <ReferenceValueSets>"}},
		{"noref.xml", "<Sanctions>\n<ReferenceValueSets/>\n<DistinctParties>\n<DistinctParty>\n</DistinctParty>\n</DistinctParties>\n</Sanctions>\n",
			[]string{"noref.xml:4:", "without FixedRef"}},
		{"root.xml", "<sdnList/>\n", []string{"root.xml:1:", "want <Sanctions>"}},
	}
	for _, c := range cases {
		p := writeFile(t, dir, c.name, c.body)
		_, err := readSDNAdvanced(context.Background(), p)
		wantErr(t, err, c.want...)
		if err != nil && strings.Count(err.Error(), "importers:") != 1 {
			t.Errorf("%s: prefix repeated in %q", c.name, err)
		}
	}
}

// writeSDNCSV writes rows as OFAC's sdn.csv, with its closing DOS
// end-of-file character.
func writeSDNCSV(t *testing.T, rows [][]string) string {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\x1a\n")
	return writeFile(t, t.TempDir(), "sdn.csv", buf.String())
}

// sdnRow returns an sdn.csv row with "-0- " in the unused columns.
func sdnRow(num, name, typ, program, remarks string) []string {
	row := []string{num, name, typ, program}
	for range 7 {
		row = append(row, "-0- ")
	}
	return append(row, remarks)
}

// padRemarks pads head with filler so that head+tail is exactly the
// 1,000 characters at which OFAC cuts Remarks.
func padRemarks(head, tail string) string {
	filler := "Secondary sanctions risk: " + strings.Repeat("x", sdnRemarksLimit-len(head)-len(tail)-len("Secondary sanctions risk: ; ")) + "; "
	return head + filler + tail
}

// TestSDNCSV checks addresses, programmes and the 1,000-character cut.
func TestSDNCSV(t *testing.T) {
	full := "Digital Currency Address - ETH 0x098B716B8Aaf21512996dC57EB0615e2383E2f96; alt. Digital Currency Address - XBT " +
		"1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE; a.k.a. 'HIDDEN COBRA'; a.k.a. 'OFFICE 91'."
	cutAddress := padRemarks("Digital Currency Address - XBT 17UVSMegvrzfobKC82dHXpZLtLcqzW9stF; ", "alt. Digital Currency Address - XBT 39eboeqYNFe2VoLC3")
	cutEntry := padRemarks("Digital Currency Address - XBT 39fhoB2DohisGBbHvvfmkdPdShT75CNHdX; ", "alt. Digital Currency A")
	p := writeSDNCSV(t, [][]string{
		sdnRow("27307", "LAZARUS GROUP", "-0- ", "DPRK3", full),
		sdnRow("28264", "LI, Jiadong", "individual", "DPRK3] [CYBER2", cutAddress),
		sdnRow("39796", "TORNADO CASH", "-0- ", "DPRK3] [CYBER2", cutEntry),
		sdnRow("9345", "KOREA MINING DEVELOPMENT TRADING CORPORATION", "-0- ", "NPWMD] [DPRK2", "a.k.a. 'KOMID'."),
		sdnRow("x1", "BAD NUMBER", "-0- ", "DPRK3", "Digital Currency Address - XBT 1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE."),
	})
	if len([]rune(cutAddress)) != sdnRemarksLimit || len([]rune(cutEntry)) != sdnRemarksLimit {
		t.Fatal("test remarks are not 1,000 characters")
	}
	imp, err := Detect(p)
	if err != nil || imp.Name() != "ofac-sdn-csv" {
		t.Fatalf("Detect: %v %v", imp, err)
	}
	d := importOne(t, imp, p)
	var got []string
	for _, l := range d.Labels {
		got = append(got, fmt.Sprintf("%s %s %s %s %v %s", l.Chain, l.Address, l.Entity, l.Actor, l.Programs, l.Context))
	}
	want := []string{
		`eth 0x098B716B8Aaf21512996dC57EB0615e2383E2f96 LAZARUS GROUP lazarusgroup [DPRK3] {"akas":["HIDDEN COBRA","OFFICE 91"]}`,
		`btc 1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE LAZARUS GROUP lazarusgroup [DPRK3] {"akas":["HIDDEN COBRA","OFFICE 91"]}`,
		`btc 17UVSMegvrzfobKC82dHXpZLtLcqzW9stF LI, Jiadong  [DPRK3 CYBER2] `,
		`btc 39fhoB2DohisGBbHvvfmkdPdShT75CNHdX TORNADO CASH tornado [DPRK3 CYBER2] `,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels\n got %q\nwant %q", got, want)
	}
	if d.Labels[3].Category != "mixing_service" || d.Labels[0].Source != sdnCSVURL || d.Labels[0].EntityUID != "27307" {
		t.Errorf("TORNADO CASH category %q, source %q, uid %q", d.Labels[3].Category, d.Labels[0].Source, d.Labels[0].EntityUID)
	}
	wantRej := []struct {
		line   int
		reason string
	}{
		{2, "Remarks cut at 1000 characters inside this address"},
		{3, "Remarks cut at 1000 characters inside a digital currency address entry"},
		{5, "ent_num is not a number"},
	}
	if len(d.Rejected) != len(wantRej) {
		t.Fatalf("rejected %+v", d.Rejected)
	}
	for i, w := range wantRej {
		if r := d.Rejected[i]; r.Line != w.line || !strings.HasPrefix(r.Reason, w.reason) {
			t.Errorf("rejected %d: %+v, want line %d %q", i, r, w.line, w.reason)
		}
	}
}

// TestSDNCSVColumns checks that a row with the wrong column count fails
// the file with its line.
func TestSDNCSVColumns(t *testing.T) {
	p := writeSDNCSV(t, [][]string{
		sdnRow("27307", "LAZARUS GROUP", "-0- ", "DPRK3", "a.k.a. 'HIDDEN COBRA'."),
		{"27308", "BLUENOROFF", "-0- ", "DPRK3"},
	})
	_, err := sdnCSVImporter{}.Import(context.Background(), p)
	wantErr(t, err, "importers:", "sdn.csv:2:", "row has 4 columns, want 12")
}

// TestB10CLists checks the per-asset lists: chains from asset codes,
// tokens by address, one dataset for several assets, one per asset for a
// single list.
func TestB10CLists(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sanctioned_addresses_XBT.txt", "1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE\n\n17UVSMegvrzfobKC82dHXpZLtLcqzW9stF\n")
	writeFile(t, dir, "sanctioned_addresses_XBT.json", `["1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE", "17UVSMegvrzfobKC82dHXpZLtLcqzW9stF"]`)
	writeFile(t, dir, "sanctioned_addresses_USDT.json", "[\n  \"0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff\",\n  \"TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre\",\n  \"notanaddress\"\n]\n")
	writeFile(t, dir, "sanctioned_addresses_FOO.txt", "abc\n")
	writeFile(t, dir, "LICENSE", "MIT\n")
	imp, err := Detect(dir)
	if err != nil || imp.Name() != "ofac-0xb10c" {
		t.Fatalf("Detect: %v %v", imp, err)
	}
	d := importOne(t, imp, dir)
	if d.Name != "ofac-0xb10c" || d.Path != dir {
		t.Errorf("dataset %s path %s", d.Name, d.Path)
	}
	var got []string
	for _, l := range d.Labels {
		got = append(got, l.Chain+" "+l.Address+" "+l.Label)
	}
	want := []string{
		"eth 0x19Aa5Fe80D33a56D56c78e82eA5E50E5d80b4Dff OFAC SDN",
		"trx TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre OFAC SDN",
		"btc 1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE OFAC SDN",
		"btc 17UVSMegvrzfobKC82dHXpZLtLcqzW9stF OFAC SDN",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels\n got %q\nwant %q", got, want)
	}
	if len(d.Rejected) != 2 || d.Rejected[0].Reason != "unknown currency FOO" ||
		!strings.Contains(d.Rejected[1].Reason, "belongs to no supported chain") || d.Rejected[1].Line != 4 {
		t.Errorf("rejected %+v", d.Rejected)
	}
	one := importOne(t, b10cImporter{}, filepath.Join(dir, "sanctioned_addresses_XBT.json"))
	if one.Name != "ofac-0xb10c:XBT" || len(one.Labels) != 2 {
		t.Errorf("single list: %s with %d labels", one.Name, len(one.Labels))
	}
	other := writeFile(t, t.TempDir(), "eth.txt", roninExploiter+"\n")
	_, err = b10cImporter{}.Import(context.Background(), other)
	wantErr(t, err, "eth.txt:", "not a 0xB10C list")
	bad := writeFile(t, t.TempDir(), "sanctioned_addresses_ETH.json", "[\n  \"0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff\",\n  42\n]\n")
	_, err = b10cImporter{}.Import(context.Background(), bad)
	wantErr(t, err, "sanctioned_addresses_ETH.json:3:", "want an address string")
}

// TestUltrasound checks the address,name list.
func TestUltrasound(t *testing.T) {
	p := writeFile(t, t.TempDir(), "data.csv", "address,name\n"+roninExploiter+",\"LAZARUS GROUP\"\n0x1234,\"SOMEONE\"\n")
	d := importOne(t, ultrasoundImporter{}, p)
	if len(d.Labels) != 1 || d.Labels[0].Actor != "lazarusgroup" || d.Labels[0].Entity != "LAZARUS GROUP" || d.Labels[0].Abuse != "sanction" {
		t.Errorf("labels %+v", d.Labels)
	}
	if len(d.Rejected) != 1 || d.Rejected[0].Line != 3 || !strings.Contains(d.Rejected[0].Reason, "addrs: invalid eth address") {
		t.Errorf("rejected %+v", d.Rejected)
	}
	bad := writeFile(t, t.TempDir(), "data.csv", "address,name\n"+roninExploiter+"\n")
	_, err := ultrasoundImporter{}.Import(context.Background(), bad)
	wantErr(t, err, "data.csv:2:", "row has 1 columns, want 2")
}

// TestThomasgregg checks case recovery from the lists next to the file.
func TestThomasgregg(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "0xB10C-lists/sanctioned_addresses_XBT.txt", "18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa\n")
	p := writeFile(t, dir, "thomasgregg/sanctioned-addresses.json", `{
  "metadata": {"sdnListDate": "08/20/2026", "source": "OFAC SDN List", "url": "https://example.org/SDN.XML"},
  "addresses": {
    "18ywcu6agtxyqaermxiz9sghrk3viezzga": {"type": "Digital Currency Address - XBT", "entries": [
      {"entity": "Huihui WU", "program": "CYBER2, DPRK3", "type": "Digital Currency Address - XBT", "uid": "42496", "akas": ["X"]}]},
    "0x098b716b8aaf21512996dc57eb0615e2383e2f96": {"type": "Digital Currency Address - ETH", "entries": [
      {"entity": "LAZARUS GROUP", "program": "DPRK3", "type": "Digital Currency Address - ETH", "uid": "27307", "akas": ["HIDDEN COBRA"]}]},
    "1efmvkxqquzfbdocpju6rucsjvenqwbqye": {"type": "Digital Currency Address - XBT", "entries": []},
    "tbhtjqay4dhhhmt3dncejynrz4sdlofire": {"type": "Digital Currency Address - USDT", "entries": []},
    "foo": {"type": "Email Address", "entries": []}
  }
}`)
	imp, err := Detect(p)
	if err != nil || imp.Name() != "ofac-thomasgregg" {
		t.Fatalf("Detect: %v %v", imp, err)
	}
	d := importOne(t, imp, p)
	if len(d.Labels) != 2 {
		t.Fatalf("labels %+v", d.Labels)
	}
	wu, laz := d.Labels[0], d.Labels[1]
	if wu.Address != "18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa" || !reflect.DeepEqual(wu.Programs, []string{"CYBER2", "DPRK3"}) ||
		wu.Context != `{"akas":["X"]}` || wu.LastMod.Format("2006-01-02") != "2026-08-20" || wu.Source != "https://example.org/SDN.XML" {
		t.Errorf("recovered: %+v", wu)
	}
	if laz.Address != roninExploiter || laz.Actor != "lazarusgroup" || laz.EntityUID != "27307" {
		t.Errorf("ETH: %+v", laz)
	}
	want := []struct {
		line   int
		reason string
	}{
		{8, "no known address matches it ignoring case"},
		{9, "lower-cased USDT address is in no other OFAC list"},
		{10, `type "Email Address" is not a digital currency address`},
	}
	if len(d.Rejected) != len(want) {
		t.Fatalf("rejected %+v", d.Rejected)
	}
	for i, w := range want {
		if r := d.Rejected[i]; r.Line != w.line || !strings.Contains(r.Reason, w.reason) {
			t.Errorf("rejected %d: %+v, want line %d %q", i, r, w.line, w.reason)
		}
	}
	// Without lists next to it nothing base58 is recovered.
	alone := writeFile(t, t.TempDir(), "sanctioned-addresses.json", "{\"metadata\": {\"source\": \"OFAC SDN List\"}, \"addresses\": {\n"+
		"\"18ywcu6agtxyqaermxiz9sghrk3viezzga\": {\"type\": \"Digital Currency Address - XBT\", \"entries\": [{\"entity\": \"Huihui WU\"}]}}}")
	if d := importOne(t, thomasgreggImporter{}, alone); len(d.Labels) != 0 || len(d.Rejected) != 1 || d.Rejected[0].Line != 2 {
		t.Errorf("alone: %+v", d)
	}
}
