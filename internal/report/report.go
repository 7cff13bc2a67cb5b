// Package report renders chaintrace's reports: the incident statistics
// report (counts and USD by year, actor, victim type, vector and chain,
// with the reconciliation against published figures) and the case report
// of one incident (facts, sources, attribution and the trace of its
// funds with an evidence list of every transaction relied on).
//
// Every report is written as a self-contained HTML page (inline CSS and
// inline SVG charts, no scripts, fonts or other external resources, so
// that it opens offline and prints) and as Markdown with the same
// figures. HTML is produced with html/template, which escapes every value
// taken from the registry or a trace; the SVG charts are built here with
// every text escaped. Figures are formatted by the same functions in both
// outputs, and the statistics come from incident.Compute and
// incident.Reconcile, the computation "chaintrace incidents stats --json"
// prints.
package report

import (
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"math"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/prices"
)

// Output formats.
const (
	HTML     = "html"
	Markdown = "md"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(s) {
	case "html", "":
		return HTML, nil
	case "md", "markdown":
		return Markdown, nil
	}
	return "", fmt.Errorf("report: format %q: want html or md", s)
}

//go:embed templates
var templateFS embed.FS

// funcs are the template functions both the HTML and the Markdown
// templates use, so that a figure is formatted the same way in both.
var funcs = map[string]any{
	"usd":       USD,
	"usdp":      usdPtr,
	"signedusd": SignedUSD,
	"pct":       func(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" },
	"md":        mdEscape,
	"join":      strings.Join,
	"label":     func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"rawnum":    func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
	"rawnump": func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	},
	"inc":   func(i int) int { return i + 1 },
	"lower": strings.ToLower,
}

var (
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html.tmpl", "templates/style.css.tmpl"))
	mdTemplates   = texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.md.tmpl"))
)

// USD formats a USD value as "$1,234,567" (rounded to the dollar), the
// form "chaintrace incidents stats" prints.
func USD(v float64) string {
	if v < 0 {
		return "-$" + thousands(-v)
	}
	return "$" + thousands(v)
}

func usdPtr(v *float64) string {
	if v == nil {
		return "unknown"
	}
	return USD(*v)
}

// SignedUSD formats a difference with its sign: "+$5", "-$5", "$0".
func SignedUSD(v float64) string {
	switch {
	case math.Round(v) == 0:
		return "$0"
	case v < 0:
		return "-$" + thousands(-v)
	}
	return "+$" + thousands(v)
}

func thousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// mdEscape makes a value safe inside a Markdown table cell or line: pipes
// and Markdown's emphasis and link characters are escaped and line breaks
// become spaces.
func mdEscape(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]",
		"<", "&lt;", ">", "&gt;", "\r\n", " ", "\n", " ", "\r", " ")
	return r.Replace(s)
}

// Pricer looks up daily closes; *prices.Store implements it.
type Pricer interface {
	Lookup(ctx context.Context, asset, day string) (prices.Quote, bool, error)
}

// Valuation is a USD value computed from the price history for an amount
// the registry gives in native units only. It is shown next to the
// record's own figures and never replaces them: statistics count the
// registry's usd.
type Valuation struct {
	Incident string `json:"incident"`
	Asset    string `json:"asset"`
	Native   string `json:"native"`
	// USD is Native × Quote.Close; zero with a Note when no price was
	// found.
	USD   float64      `json:"usd"`
	Quote prices.Quote `json:"quote"`
	// RecordUSD is the record's usd (all assets together), for
	// comparison.
	RecordUSD *float64 `json:"record_usd"`
	Note      string   `json:"note,omitempty"`
}

// Source describes where the valuation's price comes from.
func (v Valuation) Source() string {
	if v.Note != "" {
		return v.Note
	}
	return v.Quote.Describe()
}

// Value computes USD values for the records' amounts that have native
// units but no usd, at the close of the incident's day. Records dated to
// a month or a year only get a note instead: a daily close would be
// arbitrary. A nil pricer gives no valuations.
func Value(ctx context.Context, p Pricer, recs []incident.Record) ([]Valuation, error) {
	if p == nil {
		return nil, nil
	}
	var out []Valuation
	for i := range recs {
		r := &recs[i]
		for _, a := range r.Amounts {
			if a.USD != nil {
				continue
			}
			v := Valuation{Incident: r.ID, Asset: a.Asset, Native: a.Native, RecordUSD: r.USD}
			native, err := strconv.ParseFloat(a.Native, 64)
			switch {
			case err != nil:
				v.Note = "native amount " + strconv.Quote(a.Native) + " is not a number"
			case !validAsset(a.Asset):
				v.Note = "asset " + strconv.Quote(a.Asset) + " has no price history name"
			case len(r.Date) != len("2006-01-02"):
				v.Note = "date " + r.Date + " is not precise to the day"
			default:
				q, ok, err := p.Lookup(ctx, a.Asset, r.Date)
				if err != nil {
					return nil, fmt.Errorf("report: valuing %s %s: %w", r.ID, a.Asset, err)
				}
				if !ok {
					v.Note = fmt.Sprintf("no %s price within %d days before %s", a.Asset, prices.MaxGapDays, r.Date)
					break
				}
				v.Quote, v.USD = q, native*q.Close
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func validAsset(a string) bool {
	_, err := prices.NormalizeAsset(a)
	return err == nil
}
