package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/chaintrace/chaintrace/internal/sim/world"
)

var update = flag.Bool("update", false, "rewrite testdata/baseline.json with the figures measured")

// baselineSeed and baselineTxs define the baseline world: small enough
// to generate, ingest and evaluate in seconds.
const (
	baselineSeed = 1
	baselineTxs  = 6000
)

// generateWorld writes a world of seed and about txs transactions into
// dir.
func generateWorld(ctx context.Context, dir string, seed, txs int64) error {
	_, err := world.Generate(ctx, dir, world.Config{Seed: seed, Txs: txs})
	return err
}

// Baseline is the regression guard's record: the figures at the defaults.
type Baseline struct {
	Seed     int64                         `json:"seed"`
	Txs      int64                         `json:"txs"`
	Settings Settings                      `json:"settings"`
	Overall  Figures                       `json:"overall"`
	NoMixers Figures                       `json:"overall_no_mixers"`
	Heists   map[string]Figures            `json:"heists"`
	Models   map[string]map[string]Figures `json:"models"`
	// Services are the services detected by behaviour and their verdicts
	// against the truth, for review: a new false detection shows in the
	// diff.
	Services []string `json:"services,omitempty"`
}

// Figures are the guarded figures of one score.
type Figures struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Located   float64 `json:"located"`
	// RecallNamed is recorded for the reader and not guarded: detection
	// moves value from named endpoints to credited ones.
	RecallNamed float64 `json:"recall_named"`
}

func baselineOf(r *Report) Baseline {
	b := Baseline{Seed: baselineSeed, Txs: baselineTxs, Settings: r.Settings,
		Overall:  Figures{r.Overall.Precision, r.Overall.Recall, r.Overall.Located, r.Overall.RecallNamed},
		NoMixers: Figures{r.OverallNoMixers.Precision, r.OverallNoMixers.Recall, r.OverallNoMixers.Located, r.OverallNoMixers.RecallNamed},
		Heists:   map[string]Figures{}, Models: map[string]map[string]Figures{}}
	for _, h := range r.Heists {
		b.Heists[h.Heist] = Figures{h.Precision, h.Recall, h.Located, h.RecallNamed}
	}
	for _, m := range r.Models {
		if b.Models[m.Model] == nil {
			b.Models[m.Model] = map[string]Figures{}
		}
		b.Models[m.Model][m.Rules] = Figures{m.Precision, m.Recall, m.Located, m.RecallNamed}
	}
	for _, d := range r.Services {
		b.Services = append(b.Services, fmt.Sprintf("%s %s: %d deposit addresses, %s: %s", d.Chain, d.Wallet, d.Deposits, orNone(d.Entity), d.verdict()))
	}
	return b
}

// TestBaseline generates the baseline world, ingests it and its labels
// through package workspace into a temporary data directory, evaluates
// every heist, prints the report, and fails if any precision, recall or
// located figure recorded in testdata/baseline.json dropped. The world and
// the tracer are deterministic, so the figures are compared exactly (to
// 1e-9). -update rewrites the file, for review in the commit.
func TestBaseline(t *testing.T) {
	ctx := t.Context()
	worldDir, data := t.TempDir(), t.TempDir()
	if err := generateWorld(ctx, worldDir, baselineSeed, baselineTxs); err != nil {
		t.Fatal(err)
	}
	prep, err := Prepare(ctx, worldDir, data, PrepareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Skipped || len(prep.Ingested) == 0 || prep.Labels.Total.Added == 0 {
		t.Fatalf("prepare: skipped %v, ingested %v, labels %+v", prep.Skipped, prep.Ingested, prep.Labels.Total)
	}
	again, err := Prepare(ctx, worldDir, data, PrepareOptions{})
	if err != nil || !again.Skipped {
		t.Fatalf("second prepare: skipped %v, %v: want the ingest skipped", again != nil && again.Skipped, err)
	}
	ws, err := OpenWorkspace(ctx, data, prep, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	rep, err := Run(ctx, ws.Multi(), prep.World, Options{Services: ws.Services()})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	got := baselineOf(rep)
	path := filepath.Join("testdata", "baseline.json")
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./internal/eval -run Baseline -update", err)
	}
	var want Baseline
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, d := range drops(want, got) {
		t.Error(d)
	}
}

// drops lists every recorded figure that is lower in got, or missing.
func drops(want, got Baseline) []string {
	var out []string
	cmp := func(what string, w, g Figures, ok bool) {
		if !ok {
			out = append(out, what+": no longer measured")
			return
		}
		for _, f := range []struct {
			name string
			w, g float64
		}{{"precision", w.Precision, g.Precision}, {"recall", w.Recall, g.Recall}, {"located", w.Located, g.Located}} {
			if f.g < f.w-1e-9 || math.IsNaN(f.g) {
				out = append(out, fmt.Sprintf("%s: %s dropped from %.6f to %.6f", what, f.name, f.w, f.g))
			}
		}
	}
	cmp("overall", want.Overall, got.Overall, true)
	cmp("overall without mixers", want.NoMixers, got.NoMixers, true)
	ids := make([]string, 0, len(want.Heists))
	for id := range want.Heists {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g, ok := got.Heists[id]
		cmp("heist "+id, want.Heists[id], g, ok)
	}
	for m, rs := range want.Models {
		for r, w := range rs {
			g, ok := got.Models[m][r]
			cmp(m+" "+r, w, g, ok)
		}
	}
	sort.Strings(out)
	return out
}

// TestDrops checks the comparison itself: a lower figure and a missing
// heist are drops, an equal or higher one is not.
func TestDrops(t *testing.T) {
	want := Baseline{Overall: Figures{0.9, 0.8, 0.5, 0.7}, Heists: map[string]Figures{"a": {1, 1, 1, 1}, "b": {0.5, 0.5, 0.5, 0.5}}}
	got := Baseline{Overall: Figures{0.9, 0.85, 0.5 - 1e-12, 0.1}, Heists: map[string]Figures{"a": {1, 0.99, 1, 1}}}
	d := drops(want, got)
	if len(d) != 2 || d[0] != "heist a: recall dropped from 1.000000 to 0.990000" || d[1] != "heist b: no longer measured" {
		t.Fatalf("drops %q", d)
	}
}
