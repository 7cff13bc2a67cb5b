package eval

import (
	"context"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// coins is n whole coins at 8 decimals; the test world prices a coin at
// $100, so one coin is $100.
func coins(n float64) model.Amount { return model.AmountFromUint64(uint64(n * 1e8)) }

func ether(n float64) model.Amount {
	a, _ := model.MulDiv(model.AmountFromUint64(uint64(n*1e6)), model.AmountFromUint64(1e12), model.AmountFromUint64(1))
	return a
}

// testWorld prices BTC (named by the chain's role, as the truth may)
// at $100 and ETH at $10.
func testWorld(heists ...truth.Heist) *truth.World {
	return &truth.World{
		Generator: "test", Seed: 7,
		Chains: map[string]truth.Chain{"btc": {ID: "btc-regtest", Network: "regtest"}, "eth": {ID: "eth-sim", Network: "sim"}},
		Assets: []truth.Asset{{Chain: "btc", Asset: "BTC", Decimals: 8, USD: 100}, {Chain: "eth", Asset: "ETH", Decimals: 18, USD: 10}},
		Entities: []truth.Entity{{Name: "ExA", Category: "exchange", Labelled: true}, {Name: "ExB", Category: "exchange", Labelled: true},
			{Name: "MixA", Category: "mixing_service", Labelled: true}, {Name: "Whirl", Category: "coinjoin"}},
		Heists: heists,
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestScoreSplitEndpoint: 6 BTC reached exchange A; the trace puts 4 at A
// and 2 at B. matched $400 of $600 traced and $600 true; B is a false
// alert; the holding is found exactly.
func TestScoreSplitEndpoint(t *testing.T) {
	h := truth.Heist{ID: "h1", Kind: "hack",
		Flows: []truth.Flow{{Chain: "btc", Asset: "BTC", Stolen: coins(10)}},
		Destinations: []truth.Destination{
			{Kind: truth.KindService, Entity: "ExA", Category: "exchange", Chain: "btc", Asset: "BTC", Address: "bcrt1qa", Amount: coins(6)},
			{Kind: truth.KindHolding, Chain: "btc", Asset: "BTC", Address: "bcrt1qh", Amount: coins(3)},
			{Kind: truth.KindFee, Chain: "btc", Asset: "BTC", Amount: coins(1)},
		}}
	w := testWorld(h)
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	res := &trace.Result{
		Endpoints: []trace.Endpoint{
			{Chain: "btc-regtest", Asset: "BTC", Entity: "ExA", Category: "exchange", Tainted: coins(4)},
			{Chain: "btc-regtest", Asset: "BTC", Entity: "ExB", Category: "exchange", Tainted: coins(2)},
		},
		Holdings: []trace.Holding{{Chain: "btc-regtest", Address: "bcrt1qh", Asset: "BTC", Amount: coins(3)}},
		Totals:   []trace.Totals{{Chain: "btc-regtest", Asset: "BTC", Source: coins(10), Endpoints: coins(6), Unspent: coins(3), Fees: coins(0.5), BeyondLimits: coins(0.5)}},
	}
	s := Score(w, &w.Heists[0], []*trace.Result{res})
	near(t, "stolen", s.StolenUSD, 1000)
	near(t, "truth", s.TruthUSD, 600)
	near(t, "traced", s.TracedUSD, 600)
	near(t, "matched", s.MatchedUSD, 400)
	near(t, "precision", s.Precision, 400.0/600)
	near(t, "recall", s.Recall, 400.0/600)
	near(t, "recall labelled", s.RecallLabelled, 400.0/600)
	near(t, "located", s.Located, 1)
	near(t, "holdings precision", s.HoldingsPrecision, 1)
	near(t, "false alerts", s.FalseAlertUSD, 200)
	near(t, "fees", s.FeesUSD, 50)
	near(t, "beyond", s.BeyondLimitsUSD, 50)
	if !reflect.DeepEqual(s.FalseAlerts, []string{"ExB"}) {
		t.Errorf("false alerts %v", s.FalseAlerts)
	}
	want := []EntityScore{{"ExA", 600, 400}, {"ExB", 0, 200}}
	if !reflect.DeepEqual(s.Entities, want) {
		t.Errorf("entities %+v, want %+v", s.Entities, want)
	}
}

// TestScoreMissingHolding: the truth holds $300 at H1 and $100 at H2; the
// trace finds H1 and puts $50 at H3. Located 300/400, holdings precision
// 300/350; with no service on either side precision and recall are 1.
func TestScoreMissingHolding(t *testing.T) {
	h := truth.Heist{ID: "h2",
		Flows: []truth.Flow{{Chain: "eth", Asset: "ETH", Stolen: ether(40)}},
		Destinations: []truth.Destination{
			{Kind: truth.KindHolding, Chain: "eth", Asset: "ETH", Address: "0xAbC0000000000000000000000000000000000001", Amount: ether(30)},
			{Kind: truth.KindHolding, Chain: "eth", Asset: "ETH", Address: "0x0000000000000000000000000000000000000002", Amount: ether(10)},
		}}
	w := testWorld(h)
	res := &trace.Result{Holdings: []trace.Holding{
		{Chain: "eth-sim", Address: "0xabc0000000000000000000000000000000000001", Asset: "native", Amount: ether(30)},
		{Chain: "eth-sim", Address: "0x0000000000000000000000000000000000000003", Asset: "ETH", Amount: ether(5)},
	}}
	s := Score(w, &w.Heists[0], []*trace.Result{res})
	near(t, "stolen", s.StolenUSD, 400)
	near(t, "located", s.Located, 300.0/400)
	near(t, "holdings precision", s.HoldingsPrecision, 300.0/350)
	near(t, "precision", s.Precision, 1)
	near(t, "recall", s.Recall, 1)
	if s.FalseAlertUSD != 0 || len(s.Entities) != 0 {
		t.Errorf("false alerts %v %v, entities %v", s.FalseAlertUSD, s.FalseAlerts, s.Entities)
	}
}

// TestScoreMixerStop: the mixer kept a $50 fee and exchange A got $900;
// a trace that stops at the mixer reports all $950 there, so it matches
// only the fee. A detected CoinJoin (named by kind) matches the truth's
// CoinJoin entity (named by coordinator).
func TestScoreMixerStop(t *testing.T) {
	h := truth.Heist{ID: "h3", Mixers: true,
		Flows: []truth.Flow{{Chain: "btc", Asset: "BTC", Stolen: coins(10)}},
		Destinations: []truth.Destination{
			{Kind: truth.KindMixer, Entity: "MixA", Category: "mixing_service", Chain: "btc", Asset: "BTC", Amount: coins(0.5)},
			{Kind: truth.KindService, Entity: "ExA", Category: "exchange", Chain: "btc", Asset: "BTC", Amount: coins(9)},
			{Kind: truth.KindMixer, Entity: "Whirl", Chain: "btc", Asset: "BTC", Amount: coins(0.5)},
		}}
	w := testWorld(h)
	res := &trace.Result{
		Endpoints: []trace.Endpoint{
			{Chain: "btc-regtest", Asset: "BTC", Entity: "MixA", Category: "mixing_service", Tainted: coins(9.5)},
			{Chain: "btc-regtest", Asset: "BTC", Entity: "whirlpool", Category: "coinjoin", Tainted: coins(0.5)},
		},
		Totals: []trace.Totals{{Chain: "btc-regtest", Asset: "BTC", Source: coins(10), Mixers: coins(10)}},
	}
	s := Score(w, &w.Heists[0], []*trace.Result{res})
	near(t, "matched", s.MatchedUSD, 100)
	near(t, "precision", s.Precision, 100.0/1000)
	near(t, "recall", s.Recall, 100.0/1000)
	near(t, "at mixers", s.MixersUSD, 1000)
	if s.FalseAlertUSD != 0 {
		t.Errorf("false alerts %v: the mixer is a true destination", s.FalseAlerts)
	}
}

// fakeTracer answers every trace with a canned result per chain and
// records the parameters.
type fakeTracer struct {
	mu     sync.Mutex
	params []trace.Params
	res    map[string]*trace.Result
}

func (f *fakeTracer) Trace(_ context.Context, p trace.Params) (*trace.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.params = append(f.params, p)
	r := *f.res[p.Chain]
	r.Params = p
	return &r, nil
}

// TestRun checks the parameters Run traces with, that every model and
// rule set is run, and the value-weighted aggregates.
func TestRun(t *testing.T) {
	w := testWorld(
		truth.Heist{ID: "plain", Sources: []truth.Source{{Chain: "btc", Addresses: []string{"bcrt1qs"}, Txs: []string{"aa"}}},
			Flows:        []truth.Flow{{Chain: "btc", Asset: "BTC", Stolen: coins(10)}},
			Destinations: []truth.Destination{{Kind: truth.KindService, Entity: "ExA", Chain: "btc", Asset: "BTC", Amount: coins(10)}}},
		truth.Heist{ID: "mixed", Mixers: true, Sources: []truth.Source{{Chain: "eth-sim", Txs: []string{"0xbb"}}},
			Flows:        []truth.Flow{{Chain: "eth", Asset: "ETH", Stolen: ether(100)}},
			Destinations: []truth.Destination{{Kind: truth.KindService, Entity: "ExB", Chain: "eth", Asset: "ETH", Amount: ether(100)}}},
	)
	f := &fakeTracer{res: map[string]*trace.Result{
		"btc-regtest": {Endpoints: []trace.Endpoint{{Chain: "btc-regtest", Asset: "BTC", Entity: "ExA", Tainted: coins(8)}}},
		"eth-sim":     {Endpoints: []trace.Endpoint{{Chain: "eth-sim", Asset: "ETH", Entity: "ExA", Tainted: ether(100)}}},
	}}
	rep, err := Run(t.Context(), f, w, Options{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.params) != 2*3*2 || len(rep.Models) != 6 || len(rep.All) != 12 || len(rep.Heists) != 2 {
		t.Fatalf("%d traces, %d model summaries, %d scores, %d default heists", len(f.params), len(rep.Models), len(rep.All), len(rep.Heists))
	}
	for _, p := range f.params {
		switch p.Chain {
		case "btc-regtest":
			if !reflect.DeepEqual(p.From, []string{"bcrt1qs"}) || p.FromTxs != nil {
				t.Errorf("btc trace from %v %v: want the address only", p.From, p.FromTxs)
			}
		case "eth-sim":
			if !reflect.DeepEqual(p.FromTxs, []string{"0xbb"}) {
				t.Errorf("eth trace from %v %v: want the transaction", p.From, p.FromTxs)
			}
		default:
			t.Errorf("trace on chain %q", p.Chain)
		}
		if p.Hops != DefaultHops || !p.ChangeSameHop || p.Direction != trace.Forward {
			t.Errorf("params %+v", p)
		}
	}
	if rep.Settings.Model != trace.Haircut || rep.Settings.Rules != RulesDefault || rep.Overall.Model != "haircut" {
		t.Errorf("defaults %+v, overall %s %s", rep.Settings, rep.Overall.Model, rep.Overall.Rules)
	}
	// plain: $800 of $1000 at the right exchange; mixed: $1000 at the
	// wrong one.
	near(t, "overall precision", rep.Overall.Precision, 800.0/1800)
	near(t, "overall recall", rep.Overall.Recall, 800.0/2000)
	near(t, "overall false alerts", rep.Overall.FalseAlertUSD, 1000)
	near(t, "no-mixers precision", rep.OverallNoMixers.Precision, 1)
	near(t, "no-mixers recall", rep.OverallNoMixers.Recall, 0.8)
	if rep.OverallNoMixers.Heists != 1 || !rep.Targets.Met {
		t.Errorf("without mixers: %d heists, targets met %v", rep.OverallNoMixers.Heists, rep.Targets.Met)
	}
	if _, err := Run(t.Context(), f, w, Options{Rules: []string{"sideways"}}); err == nil {
		t.Error("an unknown rule set was accepted")
	}
}

// TestScoreUnnamedEndpoints: an endpoint named "unidentified service"
// (detected by behaviour) at an address of the unlabelled ExB is credited
// to ExB; one at an address no entity owns is a false alert. Recall
// counts the credit, RecallNamed does not.
func TestScoreUnnamedEndpoints(t *testing.T) {
	h := truth.Heist{ID: "h1", Kind: "hack",
		Flows: []truth.Flow{{Chain: "btc", Asset: "BTC", Stolen: coins(10)}},
		Destinations: []truth.Destination{
			{Kind: truth.KindService, Entity: "ExA", Category: "exchange", Chain: "btc", Asset: "BTC", Address: "bcrt1qa", Amount: coins(4)},
			{Kind: truth.KindService, Entity: "ExB", Category: "exchange", Chain: "btc", Asset: "BTC", Address: "bcrt1qbdep", Amount: coins(6)},
		}}
	w := testWorld(h)
	w.Entities[1].Labelled = false
	w.Entities[1].Addresses = []truth.Address{{Chain: "btc", Address: "bcrt1qbdep", Role: "deposit"}}
	res := &trace.Result{Endpoints: []trace.Endpoint{
		{Chain: "btc-regtest", Asset: "BTC", Entity: "ExA", Category: "exchange", Address: "bcrt1qa", Tainted: coins(4)},
		{Chain: "btc-regtest", Asset: "BTC", Entity: "unidentified service bcrt1qb", Category: "service", Address: "bcrt1qbdep", Tainted: coins(5)},
		{Chain: "btc-regtest", Asset: "BTC", Entity: "unidentified service bcrt1qz", Category: "service", Address: "bcrt1qthief", Tainted: coins(1)},
	}}
	s := Score(w, &w.Heists[0], []*trace.Result{res})
	near(t, "matched", s.MatchedUSD, 900)
	near(t, "precision", s.Precision, 0.9)
	near(t, "recall", s.Recall, 0.9)
	near(t, "recall named", s.RecallNamed, 0.4)
	near(t, "false alerts", s.FalseAlertUSD, 100)
	if !reflect.DeepEqual(s.FalseAlerts, []string{"unidentified service bcrt1qz"}) {
		t.Errorf("false alerts %v", s.FalseAlerts)
	}
}
