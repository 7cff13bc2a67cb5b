package incident

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/chaintrace/chaintrace/internal/addrs"
)

// DeFiHackLabsSource is the upstream of the DeFiHackLabs incident table,
// cited by draft records made from it.
var DeFiHackLabsSource = Source{Publisher: "DeFiHackLabs (SunWeb3Sec)", Title: "DeFiHackLabs incident list",
	URL: "https://github.com/SunWeb3Sec/DeFiHackLabs"}

// Skipped is an input row the importer made no draft of, and why.
type Skipped struct {
	Line   int    `json:"line"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// DraftOptions select and complete the rows an importer turns into
// drafts.
type DraftOptions struct {
	// Match keeps only rows whose victim name it matches; nil keeps all.
	Match *regexp.Regexp
	// Actor is the attribution actor written into drafts; empty leaves it
	// for the curator (and Validate reports it).
	Actor string
	// Source is cited by every draft, in addition to any URL of the row.
	Source Source
}

// MatchTolerance is how far apart two dates of the same victim may be
// for a draft to count as an incident the registry already has: sources
// often date a theft by its disclosure or attribution, days or weeks
// later.
const MatchTolerance = 31 * 24 * time.Hour

// Existing returns the registry record that a row of victim name on date
// describes, or nil. Names match when, lower-cased and stripped of
// everything but letters and digits, one contains the other (the victim's
// aliases count); dates match when within MatchTolerance, or when either
// is only a year or a month and the years are equal.
func Existing(records []Record, name, date string) *Record {
	key := nameKey(name)
	if key == "" {
		return nil
	}
	for i := range records {
		r := &records[i]
		if !datesMatch(r.Date, date) {
			continue
		}
		for _, n := range append([]string{r.Victim.Name}, r.Victim.Aliases...) {
			k := nameKey(n)
			if k != "" && (strings.Contains(k, key) || strings.Contains(key, k)) {
				return r
			}
		}
	}
	return nil
}

func nameKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func datesMatch(a, b string) bool {
	if len(a) < 4 || len(b) < 4 {
		return false
	}
	if len(a) < 10 || len(b) < 10 {
		return a[:4] == b[:4]
	}
	ta, err1 := time.Parse("2006-01-02", a)
	tb, err2 := time.Parse("2006-01-02", b)
	if err1 != nil || err2 != nil {
		return false
	}
	d := ta.Sub(tb)
	return d <= MatchTolerance && d >= -MatchTolerance
}

// dhlChains maps DeFiHackLabs chain names to chaintrace chain ids.
var dhlChains = map[string]string{"ethereum": "eth", "bsc": "bsc", "arbitrum": "arb", "polygon": "polygon",
	"base": "base", "fantom": "ftm", "avalanche": "avax", "optimism": "optimism", "gnosis": "gnosis",
	"linea": "linea", "blast": "blast", "mantle": "mantle", "scroll": "scroll", "celo": "celo"}

// ImportDeFiHackLabs makes draft records of the rows of a DeFiHackLabs
// incident table (header date,name,cause,lost,...,chain,...,attacker,
// attack_contract,vuln_contract,attack_tx,...,links) that opts selects
// and that existing does not already hold (see Existing).
func ImportDeFiHackLabs(ctx context.Context, r io.Reader, existing []Record, opts DraftOptions) ([]Record, []Skipped, error) {
	if opts.Source.URL == "" {
		opts.Source = DeFiHackLabsSource
	}
	m := map[string]string{"date": "date", "victim": "name", "usd": "lost", "chain": "chain", "vector": "cause",
		"attacker": "attacker", "exploit_contract": "attack_contract", "tx": "attack_tx", "links": "links"}
	return importCSV(ctx, r, m, existing, opts)
}

// MapKeys are the keys of a generic CSV mapping: each names a column by
// header or 0-based index; victim_type, vector and chain may instead be a
// constant (a value that is not a header name).
var MapKeys = []string{"date", "victim", "usd", "victim_type", "chain", "vector", "attacker", "exploit_contract", "tx", "links", "notes"}

// ParseMap parses a mapping such as "date=date,victim=incident,usd=2".
func ParseMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" || !contains(MapKeys, k) {
			return nil, fmt.Errorf("incident: mapping %q: want KEY=COLUMN with KEY one of %s", kv, strings.Join(MapKeys, ", "))
		}
		m[k] = v
	}
	if m["date"] == "" || m["victim"] == "" {
		return nil, errors.New("incident: mapping needs date= and victim=")
	}
	return m, nil
}

// ImportCSV makes draft records of a CSV file with a header row through
// the mapping m (see MapKeys and ParseMap).
func ImportCSV(ctx context.Context, r io.Reader, m map[string]string, existing []Record, opts DraftOptions) ([]Record, []Skipped, error) {
	return importCSV(ctx, r, m, existing, opts)
}

func importCSV(ctx context.Context, r io.Reader, m map[string]string, existing []Record, opts DraftOptions) ([]Record, []Skipped, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("incident: csv header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	// get returns the field of key: a column by name or index, else the
	// mapping's value as a constant.
	get := func(row []string, key string) string {
		v, ok := m[key]
		if !ok {
			return ""
		}
		i, isCol := col[v]
		if !isCol {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < len(head) {
				i, isCol = n, true
			}
		}
		if !isCol {
			return v
		}
		if i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var drafts []Record
	var skipped []Skipped
	ids := map[string]bool{}
	for _, e := range existing {
		ids[e.ID] = true
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("incident: csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		name := get(row, "victim")
		if opts.Match != nil && !opts.Match.MatchString(name) {
			continue
		}
		date, ok := parseLooseDate(get(row, "date"))
		if !ok || name == "" {
			skipped = append(skipped, Skipped{Line: line, Name: name, Reason: "no usable date or victim"})
			continue
		}
		if ex := Existing(existing, name, date); ex != nil {
			skipped = append(skipped, Skipped{Line: line, Name: name, Reason: "in the registry as " + ex.ID})
			continue
		}
		d := draftOf(row, get, name, date, opts)
		d.ID = uniqueID(ids, d.ID)
		d.Pos = Pos{Line: line}
		drafts = append(drafts, d)
	}
	return drafts, skipped, nil
}

func draftOf(row []string, get func([]string, string) string, name, date string, opts DraftOptions) Record {
	d := Record{Status: "draft", Date: date, Victim: Victim{Name: name, Type: get(row, "victim_type")}}
	if d.Victim.Type == "" {
		d.Victim.Type = "defi_protocol"
	}
	d.ID = date[:4] + "-" + idSlug(date, name)
	d.USD = parseUSD(get(row, "usd"))
	if raw := get(row, "usd"); raw != "" {
		d.USDSource = "as published: " + raw
	}
	chain := get(row, "chain")
	if c, ok := dhlChains[strings.ToLower(chain)]; ok {
		chain = c
	}
	if chain != "" {
		d.Chains = []string{chain}
	}
	d.Vector = vectorOf(get(row, "vector"))
	d.Sources = []Source{opts.Source}
	for _, u := range strings.Fields(get(row, "links")) {
		if strings.HasPrefix(u, "https://") {
			d.Sources = append(d.Sources, Source{Title: "cited by " + opts.Source.Publisher, URL: strings.TrimRight(u, ")")})
			break
		}
	}
	d.Attribution = Attribution{Actor: opts.Actor, Confidence: "suspected", Sources: []Source{opts.Source}}
	for _, role := range []string{"attacker", "exploit_contract"} {
		if a := get(row, role); a != "" && chain != "" {
			if n, err := addrs.Normalize(chain, a); err == nil {
				d.Addresses = append(d.Addresses, Address{Chain: chain, Address: n, Role: role, Source: opts.Source.URL})
			}
		}
	}
	if h := get(row, "tx"); h != "" && chain != "" {
		d.Transactions = append(d.Transactions, Transaction{Chain: chain, Hash: h, What: "attack transaction", Source: opts.Source.URL})
	}
	d.Notes = get(row, "notes")
	return d
}

// idSlug is the month and a slug of the name, e.g. "03-ronin-network".
func idSlug(date, name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	if slug == "" {
		slug = "unnamed"
	}
	if len(date) >= 7 {
		return date[5:7] + "-" + slug
	}
	return slug
}

func uniqueID(ids map[string]bool, id string) string {
	out := id
	for n := 2; ids[out]; n++ {
		out = id + "-" + strconv.Itoa(n)
	}
	ids[out] = true
	return out
}

// vectorOf guesses a vector from a free-text cause; the curator checks it.
func vectorOf(cause string) string {
	c := strings.ToLower(cause)
	switch {
	case c == "":
		return "unknown"
	case contains(Vectors, c):
		return c
	case strings.Contains(c, "private key") || strings.Contains(c, "key compromise"):
		return "private_key_compromise"
	case strings.Contains(c, "phishing") || strings.Contains(c, "social"):
		return "social_engineering"
	case strings.Contains(c, "supply chain"):
		return "supply_chain"
	}
	return "smart_contract_exploit"
}

var looseLayouts = []string{"2006-01-02", "20060102", "2006-Jan-02", "2006-01", "2006"}

// parseLooseDate reads the date forms of the datasets (2022-03-29,
// 20220329, 2017-May-12, 2017-05, 2017) into the registry's form.
func parseLooseDate(s string) (string, bool) {
	for _, l := range looseLayouts {
		if t, err := time.Parse(l, s); err == nil {
			switch l {
			case "2006-01":
				return t.Format("2006-01"), true
			case "2006":
				return t.Format("2006"), true
			}
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// bareUSD matches a loss text that is a bare number with an optional
// suffix ("~81M", "1.5B"), which DeFiHackLabs uses for USD.
var bareUSD = regexp.MustCompile(`^~?[0-9.,]+\s*[MBK]?$`)

var usdPattern = regexp.MustCompile(`(?i)([0-9][0-9,]*(?:\.[0-9]+)?)\s*(billion|million|thousand|b|m|k)?\b`)

// parseUSD reads a loss text ("$624 million", "~81M", "1.5B",
// "$5,300,000") as USD; nil when it finds no number or the text is in
// another unit (a token amount).
func parseUSD(s string) *float64 {
	t := strings.TrimSpace(s)
	if t == "" || !(strings.Contains(t, "$") || strings.Contains(strings.ToUpper(t), "USD") || bareUSD.MatchString(t)) {
		return nil
	}
	g := usdPattern.FindStringSubmatch(t)
	if g == nil {
		return nil
	}
	num := strings.ReplaceAll(g[1], ",", "")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil
	}
	switch strings.ToLower(g[2]) {
	case "billion", "b":
		v *= 1e9
	case "million", "m":
		v *= 1e6
	case "thousand", "k":
		v *= 1e3
	}
	return &v
}

// WriteDrafts writes drafts as one registry file at path, which must not
// exist: drafts never overwrite curated (or earlier draft) files.
func WriteDrafts(path string, drafts []Record) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Format    string   `yaml:"format"`
		Incidents []Record `yaml:"incidents"`
	}{Format, drafts}); err != nil {
		return fmt.Errorf("incident: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("incident: %w", err)
	}
	b := buf.Bytes()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("incident: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("incident: drafts are never written over an existing file: %w", err)
	}
	header := "# Draft incident records for review (status: draft). Check every fact\n# against its source, complete the attribution, then move the record\n# to the registry and remove its status.\n"
	if _, err := f.WriteString(header); err != nil {
		f.Close()
		return fmt.Errorf("incident: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("incident: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("incident: %w", err)
	}
	return nil
}
