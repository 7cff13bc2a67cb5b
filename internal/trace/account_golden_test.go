package trace

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
)

// TestAccountGolden runs the account-chain specs in testdata/account.
//
// A file starts with a graph command (max-events=N sets the work limit)
// whose input describes the chain:
//
//	token USDT                     a token (contract derived from the symbol)
//	label X exchange Binance       labels address X (category, label)
//	block 2024-01-01               a block at that date (one per line, heights from 0)
//	tx t1 [failed]                 a transaction in the last block, then its transfers:
//	  A -> B 10 ETH [kind]         A pays B (0 is the zero address; kind: native,
//	                               internal, erc20, erc721, withdrawal, ...)
//	  fee A 2 / tip A 1            burnt base fee / tip to "miner", in ETH
//
// and trace commands take from=A,B txs=t1 direction= model= hops= min=
// asset= since= until= seed=tx:index:amount:hop through-mixers no-swaps.
func TestAccountGolden(t *testing.T) {
	var g *acctBuild
	var eng *Account
	runGolden(t, "testdata/account/*.txt", func(t *testing.T, c *goldenCase) (string, error) {
		switch c.Cmd {
		case "graph":
			g = newAcctBuild()
			if err := g.parse(c.Input); err != nil {
				return "", err
			}
			var err error
			max, err := strconv.Atoi(c.Arg("max-events", "0"))
			if err != nil {
				return "", err
			}
			eng, err = NewAccount(g.open(t), AccountOptions{Chain: "eth", Labels: g, MaxEvents: max})
			if err != nil {
				return "", err
			}
			return "ok", nil
		case "trace":
			if eng == nil {
				return "", fmt.Errorf("trace before graph")
			}
			p, seeds, err := g.params(c)
			if err != nil {
				return "", err
			}
			res, err := eng.Run(context.Background(), p, seeds)
			if err != nil {
				return "", err
			}
			return g.render(res), nil
		}
		return "", fmt.Errorf("unknown command %q", c.Cmd)
	})
}

// parse reads a graph description.
func (g *acctBuild) parse(in string) error {
	kinds := map[string]eth.Kind{}
	for k := eth.Kind(0); k < eth.NumKinds; k++ {
		kinds[k.String()] = k
	}
	for n, line := range strings.Split(in, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		bad := fmt.Errorf("line %d: %q", n+1, line)
		switch {
		case f[0] == "token" && len(f) == 2:
			g.tokens = append(g.tokens, f[1])
		case f[0] == "label" && len(f) >= 4:
			g.label(f[1], f[2], strings.Join(f[3:], " "))
		case f[0] == "block" && len(f) == 2:
			d, err := time.Parse("2006-01-02", f[1])
			if err != nil {
				return fmt.Errorf("%w: %v", bad, err)
			}
			g.blocks = append(g.blocks, acctBBlock{time: d.Unix()})
		case f[0] == "tx" && len(f) >= 2:
			if len(g.blocks) == 0 {
				return fmt.Errorf("%w: tx before any block", bad)
			}
			b := &g.blocks[len(g.blocks)-1]
			b.txs = append(b.txs, acctBTx{name: f[1], failed: slices.Contains(f[2:], "failed")})
		case (f[0] == "fee" || f[0] == "tip") && len(f) == 3:
			a, err := model.ParseAmount(f[2])
			if err != nil {
				return fmt.Errorf("%w: %v", bad, err)
			}
			tr := acctBTr{kind: eth.FeeBurnt, from: f[1], to: "0", amount: a}
			if f[0] == "tip" {
				tr.kind, tr.to = eth.FeeTip, "miner"
			}
			if err := g.addTr(tr); err != nil {
				return fmt.Errorf("%w: %v", bad, err)
			}
		case len(f) >= 5 && f[1] == "->":
			a, err := model.ParseAmount(f[3])
			if err != nil {
				return fmt.Errorf("%w: %v", bad, err)
			}
			tr := acctBTr{kind: eth.Native, from: f[0], to: f[2], amount: a}
			if f[4] != "ETH" {
				tr.token, tr.kind = f[4], eth.ERC20
			}
			if len(f) == 6 {
				k, ok := kinds[f[5]]
				if !ok {
					return fmt.Errorf("%w: unknown kind", bad)
				}
				tr.kind = k
			}
			if err := g.addTr(tr); err != nil {
				return fmt.Errorf("%w: %v", bad, err)
			}
		default:
			return bad
		}
	}
	return nil
}

func (g *acctBuild) addTr(tr acctBTr) error {
	if len(g.blocks) == 0 || len(g.blocks[len(g.blocks)-1].txs) == 0 {
		return fmt.Errorf("transfer outside a tx")
	}
	b := &g.blocks[len(g.blocks)-1]
	tx := &b.txs[len(b.txs)-1]
	tx.trs = append(tx.trs, tr)
	return nil
}

// params turns a trace command's arguments into Params and seeds.
func (g *acctBuild) params(c *goldenCase) (Params, []Seed, error) {
	p := Params{Chain: "eth"}
	var seeds []Seed
	for _, k := range c.ArgOrder {
		v := c.Args[k]
		var err error
		switch k {
		case "from":
			for _, n := range strings.Split(v, ",") {
				p.From = append(p.From, g.addr(n))
			}
		case "txs":
			for _, n := range strings.Split(v, ",") {
				h := acctTestHash(n)
				p.FromTxs = append(p.FromTxs, fmt.Sprintf("0x%x", h))
			}
		case "direction":
			p.Direction = Direction(v)
		case "model":
			p.Model = Model(v)
		case "hops":
			p.Hops, err = strconv.Atoi(v)
		case "min":
			p.MinValue, err = model.ParseAmount(v)
		case "asset":
			p.Asset = v
			if v != "native" && v != "ETH" {
				p.Asset = strings.ToLower(acctTestAddr("token:" + v).Hex())
			}
		case "since", "until":
			var d time.Time
			d, err = time.Parse("2006-01-02", v)
			if k == "since" {
				p.Since = d
			} else {
				p.Until = d
			}
		case "seed":
			f := strings.Split(v, ":")
			if len(f) != 4 {
				return p, nil, fmt.Errorf("seed %q: want tx:index:amount:hop", v)
			}
			h := acctTestHash(f[0])
			s := Seed{Tx: fmt.Sprintf("0x%x", h)}
			idx, err1 := strconv.Atoi(f[1])
			amt, err2 := model.ParseAmount(f[2])
			hop, err3 := strconv.Atoi(f[3])
			if err1 != nil || err2 != nil || err3 != nil {
				return p, nil, fmt.Errorf("seed %q: bad number", v)
			}
			s.Index, s.Tainted, s.Hop = uint32(idx), amt, hop
			seeds = append(seeds, s)
		case "through-mixers":
			p.ThroughMixers = true
		case "no-swaps":
			p.NoSwaps = true
		default:
			return p, nil, fmt.Errorf("unknown argument %q", k)
		}
		if err != nil {
			return p, nil, fmt.Errorf("%s=%s: %v", k, v, err)
		}
	}
	return p, seeds, nil
}

// render writes a result compactly with test names for addresses, assets
// and transactions.
func (g *acctBuild) render(res *Result) string {
	var b strings.Builder
	txName := map[string]string{}
	for _, blk := range g.blocks {
		for _, tx := range blk.txs {
			txName[fmt.Sprintf("0x%x", acctTestHash(tx.name))] = tx.name
		}
	}
	for _, e := range res.Edges {
		fmt.Fprintf(&b, "edge %s %s -> %s %s %s tainted %s hop %d\n", txName[e.Tx], g.name(e.From), g.name(e.To),
			e.Value, g.name(e.Asset), e.Tainted, e.Hop)
	}
	for _, n := range res.Nodes {
		fmt.Fprintf(&b, "node %s %s hop %d\n", g.name(n.Address), n.Role, n.Hop)
	}
	for _, ep := range res.Endpoints {
		fmt.Fprintf(&b, "endpoint %s %s %s share %.4f hop %d txs %d (%s %s)\n", g.name(ep.Address), ep.Tainted, g.name(ep.Asset),
			ep.Share, ep.Hop, ep.Txs, ep.Category, ep.Label)
	}
	for _, h := range res.Holdings {
		fmt.Fprintf(&b, "holding %s %s %s hop %d\n", g.name(h.Address), h.Amount, g.name(h.Asset), h.Hop)
	}
	for _, c := range res.Crossings {
		fmt.Fprintf(&b, "crossing %s#%d %s -> %s %s/%s %s via %s hop %d\n", txName[c.Tx], c.Index, g.name(c.From), g.name(c.To),
			c.Tainted, c.Value, g.name(c.Asset), c.Bridge, c.Hop)
	}
	for _, t := range res.Totals {
		fmt.Fprintf(&b, "totals %s:", g.name(t.Asset))
		for _, f := range []struct {
			n string
			v model.Amount
		}{{"source", t.Source}, {"swapped-in", t.SwappedIn}, {"bridged-in", t.BridgedIn}, {"endpoints", t.Endpoints},
			{"mixers", t.Mixers}, {"unspent", t.Unspent}, {"dust", t.Dust}, {"beyond", t.BeyondLimits}, {"fees", t.Fees},
			{"burnt", t.Burnt}, {"minted", t.Minted}, {"swapped-out", t.SwappedOut}, {"bridged-out", t.BridgedOut}} {
			if !f.v.IsZero() {
				fmt.Fprintf(&b, " %s=%s", f.n, f.v)
			}
		}
		if t.Balanced() {
			b.WriteString(" (balanced)")
		}
		b.WriteString("\n")
	}
	if res.Stats.Truncated {
		b.WriteString("truncated\n")
	}
	return b.String()
}
