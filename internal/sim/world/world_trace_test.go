package world

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// TestTraceSmoke imports the world's TagPack, opens the data directory
// as the CLI does (with the world's bridge rules) and runs a forward
// haircut trace from the hot-wallet heist's theft: it must reach at
// least two labelled exchanges the truth says the heist paid, and its
// totals must balance. Accuracy is package eval's business.
func TestTraceSmoke(t *testing.T) {
	iw := ingested(t)
	ctx := context.Background()
	if _, err := workspace.ImportLabels(ctx, iw.data, filepath.Join(iw.dir, "labels"), workspace.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(ctx, iw.data, workspace.Options{Bridges: filepath.Join(iw.dir, "bridges.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var h *truth.Heist
	for i := range iw.tw.Heists {
		if iw.tw.Heists[i].Kind == "hot-wallet" {
			h = &iw.tw.Heists[i]
		}
	}
	if h == nil || len(h.Sources) == 0 {
		t.Fatal("no hot-wallet heist with sources")
	}
	paid := map[string]bool{} // labelled exchanges the truth says were paid
	for _, d := range h.Destinations {
		if e, ok := iw.tw.Entity(d.Entity); ok && d.Kind == truth.KindService && e.Category == "exchange" && e.Labelled {
			paid[d.Entity] = true
		}
	}
	res, err := ws.Multi().Trace(ctx, trace.Params{Chain: BTCChain, FromTxs: h.Sources[0].Txs, Direction: trace.Forward,
		Model: trace.Haircut, Hops: 80, ChangeSameHop: true})
	if err != nil {
		t.Fatal(err)
	}
	reached := map[string]bool{}
	for _, e := range res.Endpoints {
		if paid[e.Entity] && !e.Tainted.IsZero() {
			reached[e.Entity] = true
		}
	}
	if len(reached) < 2 {
		var eps []string
		for _, e := range res.Endpoints {
			eps = append(eps, e.Entity+"/"+e.Category)
		}
		t.Errorf("trace reached %v of the exchanges paid %v; endpoints %v", reached, paid, eps)
	}
	if len(res.Totals) == 0 {
		t.Error("no totals")
	}
	for _, tot := range res.Totals {
		if !tot.Balanced() {
			t.Errorf("%s %s: in %s, out %s: %+v", tot.Chain, tot.Asset, tot.In(), tot.Out(), tot)
		}
	}
	t.Logf("%d endpoints, %d holdings, %d edges; exchanges reached %v of %v", len(res.Endpoints), len(res.Holdings), len(res.Edges), reached, paid)
}
