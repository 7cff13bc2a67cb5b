package trace

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
)

// TestUTXOGolden runs the specs of testdata/utxo: a "graph" case writes its
// input (parseUTXOGraph's language) into a fresh regtest store, and each
// following "trace" case traces it and prints the result with names in
// place of addresses and txids.
func TestUTXOGolden(t *testing.T) {
	var ub *utxoBuilt
	runGolden(t, "testdata/utxo/*.txt", func(t *testing.T, c *goldenCase) (string, error) {
		ctx := context.Background()
		switch c.Cmd {
		case "graph":
			g, err := parseUTXOGraph(c.Input)
			if err != nil {
				return "", err
			}
			b, err := g.build(ctx, t.TempDir())
			if err != nil {
				return "", err
			}
			t.Cleanup(func() { b.db.Close() })
			ub = b
			return "ok", nil
		case "trace":
			if ub == nil {
				return "", fmt.Errorf("trace before any graph")
			}
			p, seeds, maxTxs, err := ub.params(c)
			if err != nil {
				return "", err
			}
			res, err := ub.engine(t, maxTxs).Run(ctx, p, seeds)
			if err != nil {
				return "", err
			}
			if m := res.Params.Model; m != Poison {
				for _, tt := range res.Totals {
					if !tt.Balanced() {
						t.Errorf("%s: %s totals do not balance: in %s, out %s", c.Pos, m, tt.In(), tt.Out())
					}
				}
			}
			return ub.render(res), nil
		}
		return "", fmt.Errorf("unknown command %q", c.Cmd)
	})
}

// params turns a trace case's arguments into Params:
//
//	from=a,b txs=t1 seed=t1:0:500[:hop] direction= model= hops= min=
//	since= until= through-mixers change-same-hop conf= max-txs=
func (ub *utxoBuilt) params(c *goldenCase) (Params, []Seed, int, error) {
	var p Params
	var seeds []Seed
	maxTxs := 0
	for _, k := range c.ArgOrder {
		v := c.Args[k]
		var err error
		switch k {
		case "from":
			for _, n := range strings.Split(v, ",") {
				p.From = append(p.From, ub.addr(n))
			}
		case "txs":
			for _, n := range strings.Split(v, ",") {
				p.FromTxs = append(p.FromTxs, utxoTxID(n).String())
			}
		case "seed":
			f := strings.Split(v, ":")
			if len(f) < 3 {
				return p, nil, 0, fmt.Errorf("seed %q: want TX:VOUT:AMOUNT[:HOP]", v)
			}
			s := Seed{Tx: utxoTxID(f[0]).String()}
			vout, err1 := strconv.ParseUint(f[1], 10, 32)
			amt, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				return p, nil, 0, fmt.Errorf("seed %q: bad number", v)
			}
			s.Index, s.Tainted = uint32(vout), model.AmountFromUint64(amt)
			if len(f) > 3 {
				s.Hop, err = strconv.Atoi(f[3])
			}
			seeds = append(seeds, s)
		case "direction":
			p.Direction = Direction(v)
		case "model":
			p.Model = Model(v)
		case "hops":
			p.Hops, err = strconv.Atoi(v)
		case "min":
			p.MinValue, err = model.ParseAmount(v)
		case "since":
			p.Since, err = utxoParseTime(v)
		case "until":
			p.Until, err = utxoParseTime(v)
		case "through-mixers":
			p.ThroughMixers = true
		case "change-same-hop":
			p.ChangeSameHop = true
		case "conf":
			p.ChangeConfidence, err = strconv.ParseFloat(v, 64)
		case "max-txs":
			maxTxs, err = strconv.Atoi(v)
		default:
			err = fmt.Errorf("unknown argument")
		}
		if err != nil {
			return p, nil, 0, fmt.Errorf("argument %s=%s: %v", k, v, err)
		}
	}
	return p, seeds, maxTxs, nil
}

// render prints a result compactly: edges in chain order, endpoints,
// crossings, holdings, nodes, totals (non-zero figures) and work.
func (ub *utxoBuilt) render(res *Result) string {
	var b strings.Builder
	for _, e := range res.Edges {
		fmt.Fprintf(&b, "edge %s %s -> %s value=%s tainted=%s hop=%d\n", ub.name(e.Tx), ub.name(e.From), ub.name(e.To), e.Value, e.Tainted, e.Hop)
	}
	for _, e := range res.Endpoints {
		fmt.Fprintf(&b, "endpoint %s %s %q entity=%q tainted=%s share=%.4f hop=%d txs=%d\n", ub.name(e.Node), e.Category, e.Label, e.Entity, e.Tainted, e.Share, e.Hop, e.Txs)
	}
	for _, c := range res.Crossings {
		fmt.Fprintf(&b, "crossing %s:%d %s -> %s %q value=%s tainted=%s hop=%d\n", ub.name(c.Tx), c.Index, ub.name(c.From), ub.name(c.To), c.Bridge, c.Value, c.Tainted, c.Hop)
	}
	for _, h := range res.Holdings {
		outs := make([]string, len(h.Outputs))
		for i, o := range h.Outputs {
			outs[i] = ub.name(o)
		}
		fmt.Fprintf(&b, "holding %s %s hop=%d [%s]\n", ub.name(h.Address), h.Amount, h.Hop, strings.Join(outs, " "))
	}
	var nodes []string
	for _, n := range res.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s=%s/%d", ub.name(n.ID), n.Role, n.Hop))
	}
	sort.Strings(nodes)
	fmt.Fprintf(&b, "nodes %s\n", strings.Join(nodes, " "))
	for _, t := range res.Totals {
		fields := []struct {
			k string
			v model.Amount
		}{{"source", t.Source}, {"bridged_in", t.BridgedIn}, {"endpoints", t.Endpoints}, {"mixers", t.Mixers},
			{"unspent", t.Unspent}, {"dust", t.Dust}, {"beyond", t.BeyondLimits}, {"fees", t.Fees},
			{"burnt", t.Burnt}, {"minted", t.Minted}, {"bridged_out", t.BridgedOut}}
		fmt.Fprintf(&b, "totals %s %s", t.Chain, t.Asset)
		for _, f := range fields {
			if !f.v.IsZero() {
				fmt.Fprintf(&b, " %s=%s", f.k, f.v)
			}
		}
		fmt.Fprintf(&b, " balanced=%v\n", t.Balanced())
	}
	fmt.Fprintf(&b, "stats txs=%d addresses=%d truncated=%v tip=%d\n", res.Stats.Txs, res.Stats.Addresses, res.Stats.Truncated, res.Heights[utxoTestChain])
	return b.String()
}
