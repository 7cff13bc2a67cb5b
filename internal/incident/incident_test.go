package incident

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/addrs"
)

// TestValidateBrokenFixtures checks that every broken record of
// testdata/broken/rules.yaml is rejected with the file and the line of
// the offending field.
func TestValidateBrokenFixtures(t *testing.T) {
	file := filepath.Join("testdata", "broken", "rules.yaml")
	_, err := LoadFile(context.Background(), file)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("LoadFile: want Errors, got %v", err)
	}
	want := []struct {
		line int
		text string
	}{
		{10, "2022-01-no-source: has no source"},
		{19, `source "No link" has no url`},
		{29, `unknown actor "fancybear"`},
		{42, "invalid address: addrs: invalid eth address"},
		{48, `unknown victim type "bank"`},
		{55, `date "2022-02-30" is not`},
		{62, "duplicate id, first at " + file + ":5"},
		{73, "usd -5 is negative"},
		{84, "differs from the sum of the amounts' usd 80000"},
		{93, `native amount "about 10" of ETH is not a decimal number`},
		{103, `unknown vector "magic"`},
		{105, `unknown confidence "maybe"`},
		{111, "unknown field usd_sorce"},
	}
	got := es.Error()
	for _, w := range want {
		prefix := "incident: " + file + ":" + strconv.Itoa(w.line) + ": "
		found := false
		for _, e := range es {
			if s := e.Error(); strings.HasPrefix(s, prefix) && strings.Contains(s, w.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no error %q at %s\nerrors:\n%s", w.text, prefix, got)
		}
	}
	if len(es) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(es), len(want), got)
	}
	var ae *addrs.Error
	if !errors.As(err, &ae) {
		t.Error("the invalid address error does not wrap the *addrs.Error")
	}
}

func loadSmall(t *testing.T) []Record {
	t.Helper()
	recs, err := LoadFile(context.Background(), filepath.Join("testdata", "small"))
	if err != nil {
		t.Fatalf("small registry: %v", err)
	}
	return recs
}

// TestStatsHandComputed checks Compute on the small fixture registry
// against totals worked out by hand (see the comments).
func TestStatsHandComputed(t *testing.T) {
	s := Compute(loadSmall(t))
	// Four reviewed records: 1,000,000 + 2,500,000 + unknown + 500,000;
	// the draft's 9,999,999 is left out.
	check := func(what string, got Bucket, count int, usd float64, unknown int) {
		t.Helper()
		if got.Count != count || got.USD != usd || got.UnknownUSD != unknown {
			t.Errorf("%s: got %d, %.0f, %d unknown; want %d, %.0f, %d", what, got.Count, got.USD, got.UnknownUSD, count, usd, unknown)
		}
	}
	check("total", s.Total, 4, 4_000_000, 1)
	if s.Drafts != 1 || s.FirstYear != 2021 || s.LastYear != 2022 {
		t.Errorf("drafts %d, years %d-%d", s.Drafts, s.FirstYear, s.LastYear)
	}
	find := func(bs []Bucket, key string) Bucket {
		for _, b := range bs {
			if b.Key == key {
				return b
			}
		}
		t.Errorf("no bucket %q", key)
		return Bucket{}
	}
	check("2021", find(s.ByYear, "2021"), 2, 3_500_000, 0)
	check("2022", find(s.ByYear, "2022"), 2, 500_000, 1)
	check("lazarusgroup", find(s.ByActor, "lazarusgroup"), 3, 1_500_000, 1)
	check("apt38", find(s.ByActor, "apt38"), 1, 2_500_000, 0)
	check("centralized_exchange", find(s.ByVictim, "centralized_exchange"), 2, 1_500_000, 0)
	check("bridge", find(s.ByVictim, "bridge"), 1, 2_500_000, 0)
	check("wallet_provider", find(s.ByVictim, "wallet_provider"), 1, 0, 1)
	check("private_key_compromise", find(s.ByVector, "private_key_compromise"), 2, 1_500_000, 0)
	check("smart_contract_exploit", find(s.ByVector, "smart_contract_exploit"), 1, 2_500_000, 0)
	// Chains overlap: alpha names btc and eth.
	check("eth", find(s.ByChain, "eth"), 3, 4_000_000, 0)
	check("btc", find(s.ByChain, "btc"), 1, 1_000_000, 0)
	check("unknown chain", find(s.ByChain, "unknown"), 1, 0, 1)
	if s.ByYear[0].Key != "2021" || s.ByActor[0].Key != "apt38" {
		t.Errorf("order: years %v, actors %v", s.ByYear, s.ByActor)
	}
	if got := len(Select(loadSmall(t), Filter{Year: 2022, Actor: "lazarusgroup"})); got != 2 {
		t.Errorf("Select 2022 lazarusgroup: %d records, want 2", got)
	}
	small := loadSmall(t)
	if r := Find(small, "2021-09-beta-bridge"); r == nil || r.DatePrecision != "month" {
		t.Errorf("date precision not inferred: %+v", r)
	}
}

// TestTraceSourcesAndLabels checks the trace starting points and the
// labels of the small registry's first record.
func TestTraceSourcesAndLabels(t *testing.T) {
	recs := loadSmall(t)
	alpha := Find(recs, "2021-05-alpha-exchange")
	a, txs := TraceSources(alpha, "eth")
	if len(a) != 1 || a[0] != "0x098B716B8Aaf21512996dC57EB0615e2383E2f96" {
		t.Errorf("eth addresses %v: want the laundering address only (victims are not sources)", a)
	}
	if len(txs) != 1 || txs[0] != "0xc28fad5e8d5e0ce6a2eaf67b6687be5d58113e16be590824d6cfa1a94467d0b7" {
		t.Errorf("eth txs %v", txs)
	}
	if a, txs := TraceSources(alpha, "btc"); len(a) != 1 || len(txs) != 0 {
		t.Errorf("btc: %v %v", a, txs)
	}
	ls := Labels(recs)
	if len(ls) != 2 {
		t.Fatalf("%d labels, want 2: %+v", len(ls), ls)
	}
	for _, l := range ls {
		if l.Abuse != "service_hack" || l.Actor != "lazarusgroup" || l.Dataset != LabelsDataset || l.Confidence != "forensic_investigation" {
			t.Errorf("label %+v", l)
		}
	}
	if ls[0].Source != "https://example.org/addr" || ls[1].Source != "https://example.org/source" {
		t.Errorf("label sources %q, %q", ls[0].Source, ls[1].Source)
	}
}

// TestParseUSD checks the loss texts of the datasets.
func TestParseUSD(t *testing.T) {
	for in, want := range map[string]float64{
		"$624 million": 624e6, "~81M": 81e6, "1.5B": 1.5e9, "$5,300,000": 5.3e6, "~$45K USD (62.5 BNB)": 45e3,
	} {
		got := parseUSD(in)
		if got == nil || *got != want {
			t.Errorf("parseUSD(%q) = %v, want %v", in, got, want)
		}
	}
	for _, in := range []string{"$Unknown", "", "~0.5453 WETH drained", "2800000 BRAINS"} {
		if got := parseUSD(in); got != nil {
			t.Errorf("parseUSD(%q) = %v, want nil", in, *got)
		}
	}
}

// TestWriteDraftsNeverOverwrites checks that drafts go to a new file
// only, and that they load back as drafts.
func TestWriteDraftsNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.yaml")
	if err := os.WriteFile(p, []byte("curated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := Record{ID: "2024-01-x", Status: "draft", Date: "2024-01-02", Victim: Victim{Name: "X", Type: "other"}, Vector: "unknown"}
	if err := WriteDrafts(p, []Record{d}); err == nil {
		t.Fatal("WriteDrafts overwrote an existing file")
	}
	if b, _ := os.ReadFile(p); string(b) != "curated\n" {
		t.Fatal("existing file changed")
	}
	p2 := filepath.Join(dir, "new", "d.yaml")
	if err := WriteDrafts(p2, []Record{d}); err != nil {
		t.Fatal(err)
	}
	recs, err := LoadFile(context.Background(), p2)
	if len(recs) != 1 || recs[0].Status != "draft" {
		t.Fatalf("drafts read back: %+v", recs)
	}
	// The draft lacks sources and attribution: the validator says so.
	if err == nil || !strings.Contains(err.Error(), "has no source") || !strings.Contains(err.Error(), "lacks attribution actor") {
		t.Errorf("draft validation: %v", err)
	}
}
