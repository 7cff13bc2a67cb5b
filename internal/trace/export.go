package trace

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/model"
)

// AssetInfo says how to display an asset's amounts.
type AssetInfo struct {
	Symbol   string `json:"symbol"`
	Decimals uint8  `json:"decimals"`
}

// Units resolves an asset of a chain ("BTC", "ETH", a token contract) to
// its display form; nil shows base units.
type Units func(chain, asset string) (AssetInfo, bool)

// Display formats an amount of an asset with its symbol, or in base units
// followed by the asset when units are unknown.
func (u Units) Display(chain, asset string, a model.Amount) string {
	if u != nil {
		if info, ok := u(chain, asset); ok {
			return a.Format(info.Decimals) + " " + info.Symbol
		}
	}
	return a.String() + " " + asset
}

// WriteJSON writes the result as indented JSON. Amounts are JSON integers
// in base units (satoshi, wei), exact at any size.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("trace: writing JSON: %w", err)
	}
	return nil
}

// CSV tables WriteCSV can write.
const (
	TableEdges     = "edges"
	TableEndpoints = "endpoints"
	TableHoldings  = "holdings"
	TableTotals    = "totals"
)

// WriteCSV writes one table of the result as CSV with a header row.
// Amounts are integers in base units.
func WriteCSV(w io.Writer, r *Result, table string) error {
	cw := csv.NewWriter(w)
	var rows [][]string
	switch table {
	case TableEdges:
		rows = append(rows, []string{"hop", "chain", "height", "time", "tx", "from", "to", "asset", "value", "tainted"})
		for _, e := range r.Edges {
			rows = append(rows, []string{strconv.Itoa(e.Hop), e.Chain, strconv.FormatUint(e.Height, 10),
				e.Time.UTC().Format(time.RFC3339), e.Tx, e.From, e.To, e.Asset, e.Value.String(), e.Tainted.String()})
		}
	case TableEndpoints:
		rows = append(rows, []string{"chain", "address", "entity", "label", "category", "asset", "tainted", "share", "hop", "txs"})
		for _, e := range r.Endpoints {
			rows = append(rows, []string{e.Chain, e.Address, e.Entity, e.Label, e.Category, e.Asset, e.Tainted.String(),
				strconv.FormatFloat(e.Share, 'f', 6, 64), strconv.Itoa(e.Hop), strconv.Itoa(e.Txs)})
		}
	case TableHoldings:
		rows = append(rows, []string{"chain", "address", "asset", "amount", "hop", "outputs"})
		for _, h := range r.Holdings {
			rows = append(rows, []string{h.Chain, h.Address, h.Asset, h.Amount.String(), strconv.Itoa(h.Hop), strings.Join(h.Outputs, " ")})
		}
	case TableTotals:
		rows = append(rows, []string{"chain", "asset", "source", "swapped_in", "bridged_in", "endpoints", "mixers", "unspent",
			"dust", "beyond_limits", "fees", "burnt", "minted", "swapped_out", "bridged_out", "balanced"})
		for _, t := range r.Totals {
			rows = append(rows, []string{t.Chain, t.Asset, t.Source.String(), t.SwappedIn.String(), t.BridgedIn.String(),
				t.Endpoints.String(), t.Mixers.String(), t.Unspent.String(), t.Dust.String(), t.BeyondLimits.String(),
				t.Fees.String(), t.Burnt.String(), t.Minted.String(), t.SwappedOut.String(), t.BridgedOut.String(),
				strconv.FormatBool(t.Balanced())})
		}
	default:
		return fmt.Errorf("trace: unknown CSV table %q: want %s, %s, %s or %s", table, TableEdges, TableEndpoints, TableHoldings, TableTotals)
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("trace: writing CSV: %w", err)
	}
	return nil
}

// roleStyle gives each node role its Graphviz look.
var roleStyle = map[string]string{
	RoleSource:   `shape=doubleoctagon, style=filled, fillcolor="#f4a6a6"`,
	RoleHop:      `shape=ellipse`,
	RoleEndpoint: `shape=box, style=filled, fillcolor="#a6d8f4"`,
	RoleMixer:    `shape=box, style=filled, fillcolor="#d9b3f0"`,
	RoleBridge:   `shape=hexagon, style=filled, fillcolor="#f4e3a6"`,
	RoleDEX:      `shape=hexagon, style=filled, fillcolor="#c9f0c0"`,
	RoleHolding:  `shape=ellipse, style=filled, fillcolor="#ffd6a0"`,
	RoleLimit:    `shape=ellipse, style=dashed`,
}

// WriteDOT writes the flow graph in Graphviz DOT: nodes styled by role and
// labelled with their labels, edges aggregated per (from, to, asset) with
// the tainted amount and the number of transactions.
func WriteDOT(w io.Writer, r *Result, units Units) error {
	var b strings.Builder
	b.WriteString("digraph trace {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, n := range r.Nodes {
		label := shortAddr(n.Address)
		if len(n.Labels) > 0 {
			label += "\\n" + n.Labels[0].Label
			if n.Labels[0].Category != "" {
				label += " (" + n.Labels[0].Category + ")"
			}
		}
		label += fmt.Sprintf("\\nhop %d", n.Hop)
		style := roleStyle[n.Role]
		if style == "" {
			style = "shape=ellipse"
		}
		fmt.Fprintf(&b, "  %s [label=%s, tooltip=%s, %s];\n", dotID(n.ID), dotString(label), dotString(n.Address), style)
	}
	type key struct{ from, to, chain, asset string }
	agg := map[key]*struct {
		tainted model.Amount
		txs     int
	}{}
	var order []key
	for _, e := range r.Edges {
		k := key{e.From, e.To, e.Chain, e.Asset}
		a := agg[k]
		if a == nil {
			a = &struct {
				tainted model.Amount
				txs     int
			}{}
			agg[k] = a
			order = append(order, k)
		}
		a.tainted, _ = a.tainted.Add(e.Tainted)
		a.txs++
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].from != order[j].from {
			return order[i].from < order[j].from
		}
		return order[i].to < order[j].to
	})
	for _, k := range order {
		a := agg[k]
		label := units.Display(k.chain, k.asset, a.tainted)
		if a.txs > 1 {
			label += fmt.Sprintf("\\n%d txs", a.txs)
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotID(k.from), dotID(k.to), dotString(label))
	}
	b.WriteString("}\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("trace: writing DOT: %w", err)
	}
	return nil
}

func shortAddr(a string) string {
	if len(a) <= 16 {
		return a
	}
	return a[:8] + "…" + a[len(a)-6:]
}

func dotID(s string) string { return dotString(s) }

// dotString quotes s as a DOT string; backslash sequences the caller wrote
// (\n line breaks) are kept, quotes are escaped.
func dotString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
