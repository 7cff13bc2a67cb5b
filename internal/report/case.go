package report

import (
	"context"
	"fmt"
	htmltemplate "html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/prices"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// DefaultUnits displays BTC with 8 decimals and the native coin of EVM
// chains as ETH with 18; other assets (tokens) stay in base units unless
// the caller knows their decimals.
func DefaultUnits(chain, asset string) (trace.AssetInfo, bool) {
	switch asset {
	case "BTC":
		return trace.AssetInfo{Symbol: "BTC", Decimals: 8}, true
	case "ETH", "native":
		return trace.AssetInfo{Symbol: "ETH", Decimals: 18}, true
	}
	return trace.AssetInfo{}, false
}

// TxURL is the block-explorer page of a transaction: mempool.space for
// Bitcoin, etherscan.io for Ethereum mainnet, none for test, regtest and
// development chains, whose transactions no public explorer shows.
func TxURL(chain, hash string) string {
	switch chain {
	case "btc":
		return "https://mempool.space/tx/" + hash
	case "btc-testnet":
		return "https://mempool.space/testnet/tx/" + hash
	case "eth":
		return "https://etherscan.io/tx/" + hash
	}
	return ""
}

// AddressURL is the block-explorer page of an address, like TxURL.
func AddressURL(chain, addr string) string {
	switch chain {
	case "btc":
		return "https://mempool.space/address/" + addr
	case "btc-testnet":
		return "https://mempool.space/testnet/address/" + addr
	case "eth":
		return "https://etherscan.io/address/" + addr
	}
	return ""
}

// CaseReport is the case report of one incident: its facts and sources
// and, when a trace ran, the trace's parameters and results.
type CaseReport struct {
	Record  incident.Record
	Sources []incident.Source
	// Valuations value the record's native-only amounts from the price
	// history.
	Valuations []Valuation
	// Trace is the trace of the incident's funds; nil when none ran, and
	// TraceNote says why.
	Trace     *trace.Result
	TraceNote string
	// Quotes are the closes of the traced assets (by display symbol) on
	// the incident's day, which value the trace's amounts in USD.
	Quotes map[string]prices.Quote
	units  trace.Units
}

// BuildCase assembles a case report. res may be nil, with note saying
// why there is no trace; units may be nil (DefaultUnits) and p nil (no
// valuations).
func BuildCase(ctx context.Context, rec *incident.Record, res *trace.Result, note string, units trace.Units, p Pricer) (*CaseReport, error) {
	if rec == nil {
		return nil, fmt.Errorf("report: no incident record")
	}
	if units == nil {
		units = DefaultUnits
	}
	c := &CaseReport{Record: *rec, Sources: rec.AllSources(), Trace: res, TraceNote: note, units: units}
	var err error
	if c.Valuations, err = Value(ctx, p, []incident.Record{*rec}); err != nil {
		return nil, err
	}
	if p != nil && res != nil && len(rec.Date) == len("2006-01-02") {
		c.Quotes = map[string]prices.Quote{}
		for _, t := range res.Totals {
			info, ok := units(t.Chain, t.Asset)
			if !ok || !validAsset(info.Symbol) {
				continue
			}
			if _, done := c.Quotes[info.Symbol]; done {
				continue
			}
			q, ok, err := p.Lookup(ctx, info.Symbol, rec.Date)
			if err != nil {
				return nil, fmt.Errorf("report: valuing the trace: %w", err)
			}
			if ok {
				c.Quotes[info.Symbol] = q
			}
		}
	}
	return c, nil
}

// USDOf values an amount at the incident day's close of its asset, or
// returns "" when the asset's units or price are unknown.
func (c *CaseReport) USDOf(chain, asset string, a model.Amount) string {
	info, ok := c.units(chain, asset)
	if !ok {
		return ""
	}
	q, ok := c.Quotes[info.Symbol]
	if !ok {
		return ""
	}
	v, err := strconv.ParseFloat(a.Format(info.Decimals), 64)
	if err != nil {
		return ""
	}
	return USD(v * q.Close)
}

// QuoteList is the prices the trace's USD values use, in symbol order.
func (c *CaseReport) QuoteList() []prices.Quote {
	var out []prices.Quote
	for _, q := range c.Quotes {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
	return out
}

// Write writes the report in format (HTML or Markdown).
func (c *CaseReport) Write(w io.Writer, format string) error {
	var err error
	if format == Markdown {
		err = mdTemplates.ExecuteTemplate(w, "case.md.tmpl", c)
	} else {
		err = htmlTemplates.ExecuteTemplate(w, "case.html.tmpl", c)
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Amount displays an amount of an asset on a chain in its units.
func (c *CaseReport) Amount(chain, asset string, a model.Amount) string {
	return c.units.Display(chain, asset, a)
}

// Row is a label and a value, for parameter tables, with the value in
// USD where the trace's totals can be valued.
type Row struct{ Key, Value, USD string }

// Params are the trace's parameters and store heights as rows, and the
// command that reproduces the trace.
func (c *CaseReport) Params() []Row {
	if c.Trace == nil {
		return nil
	}
	p := c.Trace.Params
	rows := []Row{{Key: "chain", Value: p.Chain}}
	add := func(k, v string) {
		if v != "" {
			rows = append(rows, Row{Key: k, Value: v})
		}
	}
	add("incident", p.Incident)
	add("direction", string(p.Direction))
	add("model", string(p.Model))
	add("hops", strconv.Itoa(p.Hops))
	add("min value (base units)", p.MinValue.String())
	if !p.Since.IsZero() {
		add("since", p.Since.UTC().Format(time.RFC3339))
	}
	if !p.Until.IsZero() {
		add("until", p.Until.UTC().Format(time.RFC3339))
	}
	add("asset", p.Asset)
	add("through mixers", boolText(p.ThroughMixers))
	add("no swaps", boolText(p.NoSwaps))
	if p.ChangeSameHop {
		add("change same hop", fmt.Sprintf("yes (confidence ≥ %g)", p.ChangeConfidence))
	}
	add("stop at", strings.Join(p.StopAt, ", "))
	add("source addresses", strings.Join(p.From, ", "))
	add("source transactions", strings.Join(p.FromTxs, ", "))
	chains := make([]string, 0, len(c.Trace.Heights))
	for ch := range c.Trace.Heights {
		chains = append(chains, ch)
	}
	sort.Strings(chains)
	for _, ch := range chains {
		add("store height "+ch, strconv.FormatUint(c.Trace.Heights[ch], 10))
	}
	st := c.Trace.Stats
	add("transactions read", strconv.Itoa(st.Txs))
	add("addresses reached", strconv.Itoa(st.Addresses))
	if st.Truncated {
		add("truncated", "yes: a work limit stopped the trace; the rest counts as beyond limits")
	}
	return rows
}

func boolText(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// Command is the chaintrace command line that reruns the trace.
func (c *CaseReport) Command() string {
	if c.Trace == nil {
		return ""
	}
	p := c.Trace.Params
	args := []string{"chaintrace", "trace", "--chain", p.Chain}
	if p.Incident != "" {
		args = append(args, "--incident", p.Incident)
	} else {
		if len(p.From) > 0 {
			args = append(args, "--from", strings.Join(p.From, ","))
		}
		if len(p.FromTxs) > 0 {
			args = append(args, "--tx", strings.Join(p.FromTxs, ","))
		}
	}
	args = append(args, "--direction", string(p.Direction), "--model", string(p.Model), "--hops", strconv.Itoa(p.Hops))
	if !p.MinValue.IsZero() {
		args = append(args, "--min", p.MinValue.String())
	}
	if !p.Since.IsZero() {
		args = append(args, "--since", p.Since.UTC().Format(time.RFC3339))
	}
	if !p.Until.IsZero() {
		args = append(args, "--until", p.Until.UTC().Format(time.RFC3339))
	}
	if p.Asset != "" {
		args = append(args, "--asset", p.Asset)
	}
	for _, f := range []struct {
		flag string
		on   bool
	}{{"--through-mixers", p.ThroughMixers}, {"--no-swaps", p.NoSwaps}, {"--change-same-hop", p.ChangeSameHop}} {
		if f.on {
			args = append(args, f.flag)
		}
	}
	if len(p.StopAt) > 0 {
		args = append(args, "--stop-at", strings.Join(p.StopAt, ","))
	}
	return strings.Join(args, " ") + " --json"
}

// EndpointRow is an endpoint for display.
type EndpointRow struct {
	trace.Endpoint
	URL, Amount, Share, USD string
}

// Endpoints are the trace's endpoints with display amounts.
func (c *CaseReport) Endpoints() []EndpointRow {
	if c.Trace == nil {
		return nil
	}
	var out []EndpointRow
	for _, e := range c.Trace.Endpoints {
		out = append(out, EndpointRow{Endpoint: e, URL: AddressURL(e.Chain, e.Address), Amount: c.Amount(e.Chain, e.Asset, e.Tainted),
			Share: strconv.FormatFloat(100*e.Share, 'f', 2, 64) + "%", USD: c.USDOf(e.Chain, e.Asset, e.Tainted)})
	}
	return out
}

// HoldingRow is a holding for display.
type HoldingRow struct {
	trace.Holding
	URL, Amount, USD string
}

// Holdings are the addresses still holding tainted value: freeze and
// watch candidates.
func (c *CaseReport) Holdings() []HoldingRow {
	if c.Trace == nil {
		return nil
	}
	var out []HoldingRow
	for _, h := range c.Trace.Holdings {
		out = append(out, HoldingRow{Holding: h, URL: AddressURL(h.Chain, h.Address), Amount: c.Amount(h.Chain, h.Asset, h.Amount),
			USD: c.USDOf(h.Chain, h.Asset, h.Amount)})
	}
	return out
}

// NodeRow is a node of a given role for display.
type NodeRow struct {
	trace.Node
	URL, Labels string
}

// Mixers are the mixer nodes the tainted value reached.
func (c *CaseReport) Mixers() []NodeRow { return c.nodes(trace.RoleMixer) }

// Bridges are the bridge nodes the tainted value reached.
func (c *CaseReport) Bridges() []NodeRow { return c.nodes(trace.RoleBridge) }

func (c *CaseReport) nodes(role string) []NodeRow {
	if c.Trace == nil {
		return nil
	}
	var out []NodeRow
	for _, n := range c.Trace.Nodes {
		if n.Role != role {
			continue
		}
		var ls []string
		for _, l := range n.Labels {
			ls = append(ls, l.Label)
		}
		out = append(out, NodeRow{Node: n, URL: AddressURL(n.Chain, n.Address), Labels: strings.Join(ls, "; ")})
	}
	return out
}

// CrossingRow is a bridge crossing for display.
type CrossingRow struct {
	trace.Crossing
	URL, Amount string
}

// Crossings are the tainted transfers into bridges.
func (c *CaseReport) Crossings() []CrossingRow {
	if c.Trace == nil {
		return nil
	}
	var out []CrossingRow
	for _, x := range c.Trace.Crossings {
		out = append(out, CrossingRow{Crossing: x, URL: TxURL(x.Chain, x.Tx), Amount: c.Amount(x.Chain, x.Asset, x.Tainted)})
	}
	return out
}

// TotalsRow is one chain's and asset's totals for display.
type TotalsRow struct {
	Chain, Asset, Balanced string
	Rows                   []Row
}

// Totals are the trace's totals, every figure in display units.
func (c *CaseReport) Totals() []TotalsRow {
	if c.Trace == nil {
		return nil
	}
	var out []TotalsRow
	for i := range c.Trace.Totals {
		t := &c.Trace.Totals[i]
		d := func(a model.Amount) string { return c.Amount(t.Chain, t.Asset, a) }
		row := TotalsRow{Chain: t.Chain, Asset: t.Asset}
		for _, f := range []struct {
			k string
			v model.Amount
		}{{"source", t.Source}, {"swapped in", t.SwappedIn}, {"bridged in", t.BridgedIn}, {"endpoints", t.Endpoints}, {"mixers", t.Mixers},
			{"unspent (still at addresses)", t.Unspent}, {"dust", t.Dust}, {"beyond limits", t.BeyondLimits}, {"fees", t.Fees},
			{"burnt", t.Burnt}, {"minted", t.Minted}, {"swapped out", t.SwappedOut}, {"bridged out", t.BridgedOut}} {
			if !f.v.IsZero() || f.k == "source" {
				row.Rows = append(row.Rows, Row{Key: f.k, Value: d(f.v), USD: c.USDOf(t.Chain, t.Asset, f.v)})
			}
		}
		switch {
		case c.Trace.Params.Model == trace.Poison:
			row.Balanced = "not applicable (poison taint is not conserved)"
		case t.Balanced():
			row.Balanced = "yes: in = out = " + d(t.In())
		default:
			row.Balanced = "no: in " + d(t.In()) + ", out " + d(t.Out())
		}
		out = append(out, row)
	}
	return out
}

// Evidence is one transaction a claim of the report rests on.
type Evidence struct {
	Chain  string
	Tx     string
	URL    string
	Height uint64
	Time   string
	// What says what the report uses the transaction for.
	What string
}

// Evidence lists every transaction the report relies on: the incident's
// own transactions, every transaction of the flow graph, the bridge
// crossings and the transactions whose unspent outputs are holdings, in
// chain and height order, each with its block-explorer URL.
func (c *CaseReport) Evidence() []Evidence {
	byKey := map[string]*Evidence{}
	var order []string
	what := map[string][]string{}
	add := func(chain, tx string, height uint64, t time.Time, w string) {
		k := chain + ":" + tx
		e := byKey[k]
		if e == nil {
			e = &Evidence{Chain: chain, Tx: tx, URL: TxURL(chain, tx)}
			byKey[k] = e
			order = append(order, k)
		}
		if height != 0 && e.Height == 0 {
			e.Height = height
		}
		if !t.IsZero() && e.Time == "" {
			e.Time = t.UTC().Format("2006-01-02 15:04:05Z")
		}
		for _, x := range what[k] {
			if x == w {
				return
			}
		}
		what[k] = append(what[k], w)
	}
	for _, t := range c.Record.Transactions {
		w := "registry"
		if t.What != "" {
			w = "registry: " + t.What
		}
		add(t.Chain, t.Hash, 0, time.Time{}, w)
	}
	if c.Trace != nil {
		for _, e := range c.Trace.Edges {
			add(e.Chain, e.Tx, e.Height, e.Time, fmt.Sprintf("hop %d flow", e.Hop))
		}
		for _, x := range c.Trace.Crossings {
			add(x.Chain, x.Tx, x.Height, x.Time, "bridge deposit to "+x.Bridge)
		}
		for _, h := range c.Trace.Holdings {
			for _, o := range h.Outputs {
				tx, _, _ := strings.Cut(o, ":")
				add(h.Chain, tx, 0, time.Time{}, "unspent output "+o+" held")
			}
		}
	}
	out := make([]Evidence, 0, len(order))
	for _, k := range order {
		e := byKey[k]
		e.What = strings.Join(what[k], "; ")
		out = append(out, *e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Chain != out[j].Chain {
			return out[i].Chain < out[j].Chain
		}
		return out[i].Height < out[j].Height
	})
	return out
}

// Flow is the flow diagram of the trace as inline SVG.
func (c *CaseReport) Flow() htmltemplate.HTML {
	if c.Trace == nil || len(c.Trace.Nodes) == 0 {
		return ""
	}
	return flowDiagram(c.Trace)
}
