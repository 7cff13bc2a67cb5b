package screen_test

import (
	"context"
	"math"
	"testing"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

// haircutChain is the worked example of screen.Exposure on a real store:
//
//	block 1-4  coinbases pay S, X, Y and V 50 BTC each
//	block 5    T1: S 50 + X 50      -> A1 60, C1 39.99
//	block 6    T2: A1 60 + Y 50     -> A2 100, C2 9.9
//	block 7    T3: A2 100 + V 50    -> A3 40, W 109.9
//	           T4: W 109.9          -> S 10, A4 99.8   (spends T3 in-block)
//
// S is sanctioned (actor tradertraitor, a Lazarus sub-group) and V an
// exchange.
type haircutChain struct {
	screener                              *screen.Screener
	s, x, y, v, a1, a2, a3, a4, w, c1, c2 wallet
}

const btcRegtest = "btc-regtest"

func buildHaircutChain(t *testing.T) *haircutChain {
	t.Helper()
	c := newChainBuilder(t)
	h := &haircutChain{}
	for _, p := range []struct {
		w    *wallet
		name string
	}{{&h.s, "S"}, {&h.x, "X"}, {&h.y, "Y"}, {&h.v, "V"}, {&h.a1, "A1"}, {&h.a2, "A2"}, {&h.a3, "A3"}, {&h.a4, "A4"}, {&h.w, "W"}, {&h.c1, "C1"}, {&h.c2, "C2"}} {
		*p.w = c.wallet(p.name)
	}
	miner := c.wallet("miner")
	cbS := c.mine(h.s, 50*coin)
	cbX := c.mine(h.x, 50*coin)
	cbY := c.mine(h.y, 50*coin)
	cbV := c.mine(h.v, 50*coin)
	t1 := pay([]coinRef{{cbS, 0}, {cbX, 0}}, h.a1, int64(60*coin), h.c1, int64(3999*coin/100))
	c.mine(miner, 50*coin+coin/100, t1)
	t2 := pay([]coinRef{{t1, 0}, {cbY, 0}}, h.a2, int64(100*coin), h.c2, int64(99*coin/10))
	c.mine(miner, 50*coin+coin/10, t2)
	t3 := pay([]coinRef{{t2, 0}, {cbV, 0}}, h.a3, int64(40*coin), h.w, int64(1099*coin/10))
	t4 := pay([]coinRef{{t3, 1}}, h.s, int64(10*coin), h.a4, int64(998*coin/10))
	c.mine(miner, 50*coin+2*coin/10, t3, t4)
	db := c.ingest()

	g, err := screen.NewBTCGraph(db)
	if err != nil {
		t.Fatal(err)
	}
	if g.Chain() != btcRegtest {
		t.Fatalf("graph chain %q, want %q", g.Chain(), btcRegtest)
	}
	ix := labels.NewIndex([]labels.Label{
		{Chain: btcRegtest, Address: h.s.addr, Label: "Sanctioned S", Abuse: "sanction", Actor: "tradertraitor", Dataset: "ofac-sdn", Source: "https://example.org/sdn", ConfidenceLevel: 100},
		{Chain: btcRegtest, Address: h.v.addr, Label: "Exchange V", Category: "exchange", Dataset: "test", Source: "test", ConfidenceLevel: 50},
	}, testActors)
	h.screener, err = screen.New(ix, map[string]screen.Graph{btcRegtest: g}, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// indirect returns the indirect exposure to class, zero if none.
func indirect(e *screen.Exposure, class string) screen.IndirectExposure {
	for _, ie := range e.Indirect {
		if ie.Category == class {
			return ie
		}
	}
	return screen.IndirectExposure{}
}

func TestHaircutOnIngestedChain(t *testing.T) {
	h := buildHaircutChain(t)
	ctx := context.Background()
	type hop struct {
		hop   int
		value float64 // satoshi, exact
	}
	cases := []struct {
		name     string
		w        wallet
		hops     int
		received int64
		sanction []hop // hops with sanctioned value; others must be zero
		share    float64
		exchange float64
		risk     screen.Level
		rule     string
	}{
		// A1: T1's inputs are 50/100 sanctioned; A1 received 60.
		{"A1 hop 1", h.a1, 3, 60 * coin, []hop{{1, 30 * coin}}, 0.5, 0, screen.High, "sanctions-counterparty"},
		// A2: T2's inputs are (60 x 1/2) / 110 sanctioned; A2 received 100.
		{"A2 hop 2", h.a2, 3, 100 * coin, []hop{{2, 100 * coin * 30.0 / 110}}, 30.0 / 110, 0, screen.High, "sanctions-high"},
		{"A2 beyond 1 hop", h.a2, 1, 100 * coin, nil, 0, 0, screen.Low, ""},
		// A3: T3's inputs are (100 x 30/110) / 150 sanctioned, 50/150
		// exchange; A3 received 40.
		{"A3 hop 3", h.a3, 3, 40 * coin, []hop{{3, 40 * coin * 30.0 / 165}}, 30.0 / 165, 40 * coin / 3.0, screen.High, "sanctions-high"},
		{"A3 beyond 2 hops", h.a3, 2, 40 * coin, nil, 0, 40 * coin / 3.0, screen.Low, ""},
		// A4 is four hops from S: T4 <- T3 <- T2 <- T1.
		{"A4 beyond 3 hops", h.a4, 3, 998 * coin / 10, nil, 0, 99.8 * coin / 3, screen.Low, ""},
		{"A4 hop 4", h.a4, 4, 998 * coin / 10, []hop{{4, 99.8 * coin * 30 / 165}}, 30.0 / 165, 99.8 * coin / 3, screen.High, "sanctions-high"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.screener.Screen(ctx, btcRegtest, tc.w.addr, screen.Options{Hops: tc.hops})
			if err != nil {
				t.Fatal(err)
			}
			e := res.Exposure
			if e == nil {
				t.Fatalf("no exposure; notes %v", res.Notes)
			}
			if e.Received != tc.received || e.Hops != tc.hops || e.Truncated {
				t.Fatalf("received %d hops %d truncated %v, want %d %d false", e.Received, e.Hops, e.Truncated, tc.received, tc.hops)
			}
			san := indirect(e, "sanction")
			want := make([]float64, tc.hops)
			var total float64
			for _, hp := range tc.sanction {
				want[hp.hop-1] = hp.value
				total += hp.value
			}
			if tc.sanction == nil {
				if san.Value != 0 {
					t.Fatalf("sanction exposure %+v, want none", san)
				}
			} else {
				if len(san.ByHop) != tc.hops {
					t.Fatalf("by_hop %v has %d entries, want %d", san.ByHop, len(san.ByHop), tc.hops)
				}
				for i, v := range san.ByHop {
					if math.Abs(float64(v)-want[i]) > 0.5 {
						t.Errorf("hop %d: %d sat from sanction, want %.2f", i+1, v, want[i])
					}
				}
				if math.Abs(float64(san.Value)-total) > 0.5 {
					t.Errorf("value %d, want %.2f", san.Value, total)
				}
			}
			if math.Abs(san.Share-tc.share) > 1e-12 {
				t.Errorf("share %.15f, want %.15f", san.Share, tc.share)
			}
			if ex := indirect(e, "exchange"); math.Abs(float64(ex.Value)-tc.exchange) > 0.5 {
				t.Errorf("exchange exposure %d, want %.2f", ex.Value, tc.exchange)
			}
			if res.Risk.Level != tc.risk || res.Risk.Rule != tc.rule {
				t.Errorf("risk %v by %q (%s), want %v by %q", res.Risk.Level, res.Risk.Rule, res.Risk.Reason, tc.risk, tc.rule)
			}
		})
	}
}

func TestDirectCounterparties(t *testing.T) {
	h := buildHaircutChain(t)
	ctx := context.Background()

	// A1 received 60 from T1, half of whose inputs were S's.
	res, err := h.screener.Screen(ctx, btcRegtest, h.a1.addr, screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cps := res.Exposure.Direct.Counterparties
	if len(cps) != 1 {
		t.Fatalf("counterparties %+v, want S alone", cps)
	}
	cp := cps[0]
	if cp.Address != h.s.addr || cp.Received != 30*coin || cp.Sent != 0 || cp.Txs != 1 || cp.Actor != "tradertraitor" || cp.Name != "Sanctioned S" {
		t.Fatalf("counterparty %+v", cp)
	}
	// A1 received 60 and sent 60: 30 of 120 is sanctioned.
	bc := res.Exposure.Direct.ByCategory
	if len(bc) != 1 || bc[0].Category != "sanction" || bc[0].Received != 30*coin || bc[0].Share != 0.25 {
		t.Fatalf("by category %+v", bc)
	}

	// W received 109.9 from T3, a third of whose inputs were the exchange
	// V's, and sent all of T4's inputs, 10 of it to S.
	res, err = h.screener.Screen(ctx, btcRegtest, h.w.addr, screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cps = res.Exposure.Direct.Counterparties
	if len(cps) != 2 || cps[0].Address != h.v.addr || cps[0].Received != 3663333333 || cps[0].Sent != 0 ||
		cps[1].Address != h.s.addr || cps[1].Sent != 10*coin || cps[1].Received != 0 {
		t.Fatalf("W's counterparties %+v", cps)
	}
	if res.Risk.Rule != "sanctions-counterparty" || res.Risk.Level != screen.High {
		t.Fatalf("W's risk %+v", res.Risk)
	}
	// W's 109.9 from T3 is 30/165 sanctioned, from three hops back.
	if san := indirect(res.Exposure, "sanction"); math.Abs(float64(san.ByHop[2])-109.9*coin*30/165) > 0.5 {
		t.Fatalf("W's sanction exposure %+v", san)
	}

	// S itself: identified, SEVERE; it is never its own counterparty.
	res, err = h.screener.Screen(ctx, btcRegtest, h.s.addr, screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Risk.Level != screen.Severe || res.Risk.Rule != "sanctioned" || len(res.Identifications) != 1 {
		t.Fatalf("S: %+v", res)
	}
	if a := res.Identifications[0].Actor; a.Root != "lazarusgroup" || a.RootName != "Lazarus Group" {
		t.Fatalf("S's actor %+v", a)
	}
	for _, cp := range res.Exposure.Direct.Counterparties {
		if cp.Address == h.s.addr {
			t.Fatalf("S is its own counterparty: %+v", cp)
		}
	}
}

func TestExposureEdgeCases(t *testing.T) {
	h := buildHaircutChain(t)
	ctx := context.Background()

	// A valid address the chain never saw: no error, empty exposure.
	fresh := newChainBuilder(t).wallet("never-used")
	res, err := h.screener.Screen(ctx, btcRegtest, fresh.addr, screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Risk.Level != screen.Low || res.Exposure == nil || res.Exposure.Txs != 0 || len(res.Exposure.Notes) == 0 {
		t.Fatalf("unseen address: %+v", res)
	}

	// NoExposure skips the graph.
	res, err = h.screener.Screen(ctx, btcRegtest, h.a1.addr, screen.Options{NoExposure: true})
	if err != nil || res.Exposure != nil || res.Risk.Level != screen.Low {
		t.Fatalf("direct-only A1: %+v, %v", res, err)
	}

	// A budget of two transactions covers A2's history (T2 and T3) but
	// none of the tracing.
	res, err = h.screener.Screen(ctx, btcRegtest, h.a2.addr, screen.Options{MaxTxs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Exposure.Truncated || indirect(res.Exposure, "sanction").Value != 0 {
		t.Fatalf("truncated exposure: %+v", res.Exposure)
	}

	// A cancelled context stops tracing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.screener.Screen(cctx, btcRegtest, h.a3.addr, screen.Options{}); err == nil {
		t.Fatal("screen with a cancelled context succeeded")
	}
}
