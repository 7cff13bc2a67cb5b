package report

import (
	"fmt"
	htmltemplate "html/template"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/trace"
)

// roleColors fill the flow diagram's nodes by role.
var roleColors = map[string]string{
	trace.RoleSource:   "#c23b3b",
	trace.RoleHop:      "#d9d9d9",
	trace.RoleEndpoint: "#4a9c59",
	trace.RoleMixer:    "#7d5ba6",
	trace.RoleBridge:   "#e07b39",
	trace.RoleDEX:      "#2aa7b8",
	trace.RoleHolding:  "#f2c94c",
	trace.RoleLimit:    "#a0a0a0",
}

// roleOrder is the legend's order and the order of nodes within a hop.
var roleOrder = []string{trace.RoleSource, trace.RoleEndpoint, trace.RoleMixer, trace.RoleBridge, trace.RoleDEX, trace.RoleHolding, trace.RoleHop, trace.RoleLimit}

// maxPerHop is how many nodes a hop's column shows; the rest are
// summarised in one "+N more" box so that large traces stay legible.
const maxPerHop = 14

// maxHopColumns is how many hop columns the diagram draws; deeper hops
// are counted in a note under the diagram (the tables list them all).
const maxHopColumns = 16

// flowDiagram draws the trace's flow graph left to right, one column per
// hop, nodes coloured by role and ordered by role then by tainted value
// received (largest first) then id, edges as curves whose width grows
// with the tainted value they carried (relative to the largest edge of
// the same chain and asset). The drawing depends only on the result, so
// the same trace gives the same SVG.
func flowDiagram(r *trace.Result) htmltemplate.HTML {
	const colW, boxW, boxH, rowH, left, top = 210, 170, 30, 44, 20, 50
	type agg struct {
		from, to, unit string
		tainted        float64
	}
	inflow := map[string]float64{}
	edges := map[[3]string]*agg{}
	var keys [][3]string
	for _, e := range r.Edges {
		v := amountFloat(e.Tainted.String())
		k := [3]string{e.From, e.To, e.Chain + "/" + e.Asset}
		a := edges[k]
		if a == nil {
			a = &agg{from: e.From, to: e.To, unit: k[2]}
			edges[k] = a
			keys = append(keys, k)
		}
		a.tainted += v
		inflow[e.To] += v
	}
	rank := map[string]int{}
	for i, role := range roleOrder {
		rank[role] = i
	}
	cols := map[int][]trace.Node{}
	maxHop, deeper := 0, 0
	for _, n := range r.Nodes {
		h := max(n.Hop, 0)
		if h >= maxHopColumns {
			deeper++
			continue
		}
		cols[h] = append(cols[h], n)
		maxHop = max(maxHop, h)
	}
	type pos struct{ x, y float64 }
	at := map[string]pos{}
	rows := 0
	var body strings.Builder
	for h := 0; h <= maxHop; h++ {
		col := cols[h]
		sort.Slice(col, func(i, j int) bool {
			a, b := col[i], col[j]
			if rank[a.Role] != rank[b.Role] {
				return rank[a.Role] < rank[b.Role]
			}
			if inflow[a.ID] != inflow[b.ID] {
				return inflow[a.ID] > inflow[b.ID]
			}
			return a.ID < b.ID
		})
		shown := col
		if len(col) > maxPerHop {
			shown = col[:maxPerHop-1]
		}
		x := float64(left + h*colW)
		fmt.Fprintf(&body, `<text x="%.0f" y="%d" font-size="12" font-weight="bold" fill="#333">hop %d</text>`, x, top-12, h)
		for i, n := range shown {
			y := float64(top + i*rowH)
			at[n.ID] = pos{x, y}
			fill := roleColors[n.Role]
			if fill == "" {
				fill = "#ffffff"
			}
			name := shortAddr(n.Address)
			if len(n.Labels) > 0 {
				name = n.Labels[0].Label
			}
			fmt.Fprintf(&body, `<g><title>%s (%s, hop %d)</title><rect x="%.0f" y="%.0f" width="%d" height="%d" rx="4" fill="%s" stroke="#555"/>`,
				svgText(n.ID), svgText(n.Role), n.Hop, x, y, boxW, boxH, fill)
			fmt.Fprintf(&body, `<text x="%.0f" y="%.0f" font-size="11" fill="#111">%s</text></g>`, x+6, y+19, svgText(clip(name, 24)))
		}
		rows = max(rows, len(shown))
		if len(col) > len(shown) {
			y := float64(top + len(shown)*rowH)
			fmt.Fprintf(&body, `<rect x="%.0f" y="%.0f" width="%d" height="%d" rx="4" fill="#fff" stroke="#999" stroke-dasharray="4 3"/>`, x, y, boxW, boxH)
			fmt.Fprintf(&body, `<text x="%.0f" y="%.0f" font-size="11" fill="#555">+%d more addresses</text>`, x+6, y+19, len(col)-len(shown))
			rows = max(rows, len(shown)+1)
		}
	}
	unitMax := map[string]float64{}
	for _, a := range edges {
		unitMax[a.unit] = math.Max(unitMax[a.unit], a.tainted)
	}
	var lines strings.Builder
	for _, k := range keys {
		a := edges[k]
		p, ok1 := at[a.from]
		q, ok2 := at[a.to]
		if !ok1 || !ok2 {
			continue
		}
		wid := 1.0
		if m := unitMax[a.unit]; m > 0 {
			wid = 1 + 9*a.tainted/m
		}
		x1, y1 := p.x+boxW, p.y+boxH/2
		x2, y2 := q.x, q.y+boxH/2
		if q.x <= p.x {
			// A payment within a hop column or backwards: loop around
			// the right side.
			x2 = q.x + boxW
		}
		mid := (x1 + x2) / 2
		if q.x <= p.x {
			mid = math.Max(x1, x2) + 40
		}
		fmt.Fprintf(&lines, `<path d="M%.0f %.0f C%.0f %.0f %.0f %.0f %.0f %.0f" fill="none" stroke="#1f4e79" stroke-opacity="0.45" stroke-width="%.1f"><title>%s → %s: %s base units of %s</title></path>`,
			x1, y1, mid, y1, mid, y2, x2, y2, wid, svgText(a.from), svgText(a.to), svgText(strconv.FormatFloat(a.tainted, 'g', 6, 64)), svgText(a.unit))
	}
	w := max(left*2+(maxHop+1)*colW, left*2+len(roleOrder)*90)
	hgt := top + rows*rowH + 50
	if deeper > 0 {
		hgt += 20
		fmt.Fprintf(&body, `<text x="%d" y="%d" font-size="11" fill="#555">%d addresses beyond hop %d are not drawn; the tables list them.</text>`,
			left, hgt-46, deeper, maxHopColumns-1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="flow" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="Flow of the traced funds by hop">`, w, hgt, w, hgt)
	b.WriteString(`<title>Flow of the traced funds by hop</title>`)
	b.WriteString(lines.String())
	b.WriteString(body.String())
	lx := left
	for _, role := range roleOrder {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s" stroke="#555"/><text x="%d" y="%d" font-size="11" fill="#222">%s</text>`,
			lx, hgt-26, roleColors[role], lx+16, hgt-16, svgText(role))
		lx += 90
	}
	b.WriteString(`</svg>`)
	return htmltemplate.HTML(b.String())
}

// amountFloat converts a decimal integer string to a float for drawing
// (precision does not matter for line widths).
func amountFloat(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return v
}

// shortAddr abbreviates a long address as its start and end.
func shortAddr(a string) string {
	if len(a) <= 20 {
		return a
	}
	return a[:10] + "…" + a[len(a)-6:]
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
