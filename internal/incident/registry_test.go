package incident

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sharedIncidents is the shared incident data, relative to this package.
var sharedIncidents = filepath.Join("..", "..", "..", "shared", "data", "incidents")

// sharedFile returns the path of a shared incident file, or skips the
// test when ../shared is absent.
func sharedFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sharedIncidents, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data absent (%v): this test needs ../shared/data/incidents", err)
	}
	return p
}

func builtin(t *testing.T) []Record {
	t.Helper()
	recs, err := Builtin(context.Background())
	if err != nil {
		t.Fatalf("shipped registry: %v", err)
	}
	return recs
}

// TestShippedRegistry checks that the shipped registry validates with
// no error and covers 2017 to 2025, and logs its counts.
func TestShippedRegistry(t *testing.T) {
	recs := builtin(t)
	s := Compute(recs)
	if s.FirstYear != 2017 || s.LastYear != 2025 || s.Drafts != 0 {
		t.Errorf("years %d-%d, %d drafts", s.FirstYear, s.LastYear, s.Drafts)
	}
	withAddr := 0
	for _, r := range recs {
		if len(r.Addresses) > 0 {
			withAddr++
		}
	}
	t.Logf("%d records, %d with addresses, $%.0f in total", len(recs), withAddr, s.Total.USD)
	for _, b := range s.ByYear {
		t.Logf("  %s: %d incidents, $%.0f (%d of unknown value)", b.Key, b.Count, b.USD, b.UnknownUSD)
	}
	if n := len(Labels(recs)); n == 0 {
		t.Error("no labels from the shipped registry")
	}
	ronin := Find(recs, "2022-03-ronin-bridge")
	if ronin == nil {
		t.Fatal("no Ronin record")
	}
	if a, txs := TraceSources(ronin, "eth"); len(a) != 6 || len(txs) != 2 {
		t.Errorf("Ronin trace sources: %v %v", a, txs)
	}
}

// TestShippedRegistryCoversTayvano imports the independent researcher's
// list of 84 DPRK-attributed incidents as drafts against the shipped
// registry: every row must match a record, so no draft is made.
func TestShippedRegistryCoversTayvano(t *testing.T) {
	f, err := os.Open(sharedFile(t, "dprk_incidents_tayvano.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ParseMap("date=date,victim=incident,usd=value_stolen_usd_text")
	if err != nil {
		t.Fatal(err)
	}
	recs := builtin(t)
	drafts, skipped, err := ImportCSV(context.Background(), f, m, recs, DraftOptions{Source: Source{URL: "https://github.com/tayvano/lazarus-bluenoroff-research"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drafts {
		t.Errorf("row %d %q (%s) has no record", d.Pos.Line, d.Victim.Name, d.Date)
	}
	if len(skipped) != 84 {
		t.Errorf("%d rows matched, want 84", len(skipped))
	}
	matched := map[string]bool{}
	for _, s := range skipped {
		id := strings.TrimPrefix(s.Reason, "in the registry as ")
		if matched[id] {
			t.Errorf("record %s matches two rows (line %d)", id, s.Line)
		}
		matched[id] = true
	}
}

// TestImportDeFiHackLabs makes drafts from the DeFiHackLabs table: the
// DPRK incidents the registry holds are recognised and skipped; others
// become drafts that carry the row's addresses and transaction.
func TestImportDeFiHackLabs(t *testing.T) {
	f, err := os.Open(sharedFile(t, "defihacklabs_incidents.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := builtin(t)
	re := regexp.MustCompile(`^(Bybit|OrbitChain|Ronin Network|Harmony's Horizon Bridge|Paid Network|Seneca)$`)
	drafts, skipped, err := ImportDeFiHackLabs(context.Background(), f, recs, DraftOptions{Match: re})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 5 {
		t.Errorf("skipped %+v, want the 5 registry incidents", skipped)
	}
	if len(drafts) != 1 || drafts[0].Victim.Name != "Seneca" {
		t.Fatalf("drafts %+v, want Seneca only", drafts)
	}
	d := drafts[0]
	if d.Status != "draft" || d.Date != "2024-02-28" || d.ID != "2024-02-seneca" || d.USD == nil || *d.USD != 6e6 ||
		len(d.Addresses) != 1 || len(d.Transactions) != 1 || d.Chains[0] != "eth" {
		t.Errorf("draft %+v", d)
	}
	out := filepath.Join(t.TempDir(), "drafts.yaml")
	if err := WriteDrafts(out, drafts); err != nil {
		t.Fatal(err)
	}
	back, err := LoadFile(context.Background(), out)
	if len(back) != 1 || err == nil || !strings.Contains(err.Error(), "lacks attribution actor") {
		t.Errorf("draft read back: %d records, %v", len(back), err)
	}
}

// TestReconciliation prints the reconciliation of the shipped registry
// with the published figures and checks it. "Explained" is defined in
// Reconcile: the named differences (our incidents outside the
// publisher's scope, valuations, incidents they count that we lack)
// bring our USD within Tolerance (10%) of theirs, and our count within
// max(2, 10%) incidents. The test asserts that our totals are the sums of
// our records, that every difference names a record of the period, that
// the residuals are the gaps less the differences, and that each verdict
// is the curated one of published.yaml, so that a registry change that
// moves a verdict fails here until someone reviews the reconciliation.
func TestReconciliation(t *testing.T) {
	recs := builtin(t)
	figs, err := LoadPublished(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rcs, err := Reconcile(recs, figs)
	if err != nil {
		t.Fatal(err)
	}
	years := map[string]bool{}
	for _, rc := range rcs {
		f := rc.Figure
		for y := f.From; y <= f.To; y++ {
			years[strconv.Itoa(y)] = true
		}
		var count int
		var usd float64
		for _, r := range recs {
			if y := r.Year(); y >= f.From && y <= f.To {
				count++
				usd += r.USDOr0()
			}
		}
		if count != rc.OurCount || math.Abs(usd-rc.OurUSD) > 0.5 {
			t.Errorf("%s: ours %d/%.0f, sum of records %d/%.0f", f.ID, rc.OurCount, rc.OurUSD, count, usd)
		}
		var effUSD float64
		var effCount int
		for _, d := range rc.Differences {
			effUSD += d.EffectUSD
			effCount += d.EffectCount
			if d.Incident != "" {
				r := Find(recs, d.Incident)
				if r == nil {
					t.Errorf("%s: difference names unknown incident %s", f.ID, d.Incident)
				} else if y := r.Year(); y < f.From || y > f.To {
					t.Errorf("%s: difference %s is outside the period", f.ID, d.Incident)
				}
			}
		}
		if math.Abs(rc.GapUSD-effUSD-rc.ResidualUSD) > 0.5 || rc.GapCount-effCount != rc.ResidualCount {
			t.Errorf("%s: residual does not add up", f.ID)
		}
		if (math.Abs(rc.ResidualUSD) <= Tolerance*f.USD) != (rc.USDVerdict == "explained") {
			t.Errorf("%s: USD verdict %s with residual %.0f", f.ID, rc.USDVerdict, rc.ResidualUSD)
		}
		if rc.USDVerdict != f.ExpectUSD || rc.CountVerdict != f.ExpectCount {
			t.Errorf("%s: verdicts USD %s, count %s; published.yaml expects %s, %s: review the reconciliation",
				f.ID, rc.USDVerdict, rc.CountVerdict, f.ExpectUSD, f.ExpectCount)
		}
		t.Logf("%s (%s)\n  ours %d incidents $%.0f; theirs %d $%.0f; gap %+d $%+.0f\n  after %d named differences: residual %+d $%+.0f; USD %s, count %s",
			f.ID, f.URL, rc.OurCount, rc.OurUSD, f.Incidents, f.USD, rc.GapCount, rc.GapUSD,
			len(rc.Differences), rc.ResidualCount, rc.ResidualUSD, rc.USDVerdict, rc.CountVerdict)
		for _, d := range rc.Differences {
			t.Logf("    %s %s%s %+d $%+.0f: %s", d.Kind, d.Incident, d.Name, d.EffectCount, d.EffectUSD, d.Reason)
		}
	}
	if !years["2022"] || !years["2023"] {
		t.Error("no published figure for 2022 or 2023")
	}
}
