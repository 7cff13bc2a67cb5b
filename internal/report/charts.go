package report

import (
	"fmt"
	"html"
	htmltemplate "html/template"
	"math"
	"strings"
)

// palette colours chart series in order; it is printable in greyscale
// because neighbours differ in lightness.
var palette = []string{"#1f4e79", "#e07b39", "#4a9c59", "#c23b3b", "#7d5ba6", "#8c6d31", "#d17fb5", "#6b6b6b", "#2aa7b8", "#b5b83a"}

// svgText escapes s for an SVG text node or attribute.
func svgText(s string) string { return html.EscapeString(s) }

// shortUSD formats an axis value: "$1.5B", "$250M", "$40K".
func shortUSD(v float64) string {
	switch {
	case v >= 1e9:
		return "$" + trimZero(fmt.Sprintf("%.1f", v/1e9)) + "B"
	case v >= 1e6:
		return "$" + trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case v >= 1e3:
		return "$" + trimZero(fmt.Sprintf("%.1f", v/1e3)) + "K"
	}
	return "$" + trimZero(fmt.Sprintf("%.0f", v))
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// niceMax rounds a chart's maximum up to 1, 2 or 5 times a power of ten
// so that the axis has round ticks.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// stackedBars draws one vertical bar per category (years), stacked by
// series (victim types), with a legend and a USD axis. The SVG has a
// title and a text alternative for screen readers and is deterministic:
// the same data give the same bytes.
func stackedBars(title string, cats, series []string, values map[string]map[string]float64) htmltemplate.HTML {
	const w, h, left, right, top, bottom = 760, 360, 70, 180, 30, 40
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)
	max := 0.0
	for _, c := range cats {
		t := 0.0
		for _, s := range series {
			t += values[c][s]
		}
		max = math.Max(max, t)
	}
	max = niceMax(max)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, w, h, w, h, svgText(title))
	fmt.Fprintf(&b, `<title>%s</title>`, svgText(title))
	for i := 0; i <= 4; i++ {
		v := max * float64(i) / 4
		y := float64(top) + plotH - plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`, left, y, float64(left)+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" font-size="11" fill="#444">%s</text>`, left-6, y+4, svgText(shortUSD(v)))
	}
	if len(cats) > 0 {
		slot := plotW / float64(len(cats))
		bw := math.Min(48, slot*0.7)
		for i, c := range cats {
			x := float64(left) + slot*float64(i) + (slot-bw)/2
			y := float64(top) + plotH
			for j, s := range series {
				v := values[c][s]
				if v <= 0 {
					continue
				}
				hgt := plotH * v / max
				y -= hgt
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
					x, y, bw, hgt, palette[j%len(palette)], svgText(c), svgText(strings.ReplaceAll(s, "_", " ")), svgText(USD(v)))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="#222">%s</text>`, x+bw/2, h-bottom+16, svgText(c))
		}
	}
	for j, s := range series {
		y := top + 4 + 18*j
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`, w-right+16, y, palette[j%len(palette)])
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#222">%s</text>`, w-right+34, y+10, svgText(strings.ReplaceAll(s, "_", " ")))
	}
	b.WriteString(`</svg>`)
	return htmltemplate.HTML(b.String())
}

// bar is one bar of a horizontal bar chart.
type bar struct {
	Label string
	Value float64
	Count int
}

// hbars draws a horizontal bar chart with the value and count at the end
// of each bar.
func hbars(title string, bars []bar) htmltemplate.HTML {
	const w, left, right, rowH, top = 760, 190, 170, 24, 10
	h := top*2 + rowH*len(bars)
	max := 0.0
	for _, x := range bars {
		max = math.Max(max, x.Value)
	}
	if max <= 0 {
		max = 1
	}
	plotW := float64(w - left - right)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, w, h, w, h, svgText(title))
	fmt.Fprintf(&b, `<title>%s</title>`, svgText(title))
	for i, x := range bars {
		y := top + rowH*i
		bw := plotW * x.Value / max
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#222">%s</text>`, left-8, y+16, svgText(x.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="16" fill="%s"/>`, left, y+4, bw, palette[0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#444">%s (%d)</text>`, float64(left)+bw+6, y+16, svgText(USD(x.Value)), x.Count)
	}
	b.WriteString(`</svg>`)
	return htmltemplate.HTML(b.String())
}
