package importers

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
)

// csvImporter reads CSV files with a column mapping (see NewCSV). The
// registry's instance has no mapping: it detects nothing and its Import
// asks for one.
type csvImporter struct {
	m *csvMapping
}

// csvFields are the label fields a mapping may set.
var csvFields = setOf("address", "tx_hash", "label", "chain", "currency", "category", "abuse",
	"actor", "confidence", "source", "context", "lastmod", "entity", "is_cluster_definer")

// csvSource is where a field's value comes from: a column by index or by
// header name, or a constant.
type csvSource struct {
	index int    // column index, or -1
	name  string // header name or constant, when index is -1
}

// csvMapping is a parsed mapping.
type csvMapping struct {
	fields map[string]csvSource
	header string // "auto", "true" or "false"
	comma  rune
	text   string
}

// NewCSV returns a CSV importer for mapping, a comma-separated list of
// field=source pairs: a source of digits is a column index (from 0), a
// name is the column with that header, anything else a constant; e.g.
// "address=0,label=1,chain=eth,category=exchange" or
// "address=Address,label=Name,currency=Asset". Fields: address or
// tx_hash, label (both mandatory), chain or currency (without either the
// chain is guessed from the address), category, abuse (concept ids),
// actor, confidence (default "unknown"), source (default the file path),
// context, lastmod, entity, is_cluster_definer. Options: header=true,
// false or auto (the default: the first row is a header when a source
// names one of its cells), sep=<char> or sep=tab. Constants cannot hold
// commas. The dataset of a file is "csv:<base name>".
func NewCSV(mapping string) (labels.Importer, error) {
	m := &csvMapping{fields: make(map[string]csvSource), header: "auto", comma: ',', text: mapping}
	for _, pair := range strings.Split(mapping, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, fmt.Errorf("importers: csv mapping %q: want field=column or field=constant", pair)
		}
		switch {
		case k == "header":
			if v != "auto" && v != "true" && v != "false" {
				return nil, fmt.Errorf("importers: csv mapping: header must be true, false or auto, not %q", v)
			}
			m.header = v
		case k == "sep":
			if v == "tab" {
				v = "\t"
			}
			r, size := utf8.DecodeRuneInString(v)
			if size != len(v) || r == '"' || r == '\n' || r == '\r' {
				return nil, fmt.Errorf("importers: csv mapping: sep must be one character, not %q", v)
			}
			m.comma = r
		case csvFields[k]:
			src := csvSource{index: -1, name: v}
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				src = csvSource{index: n}
			}
			m.fields[k] = src
		default:
			return nil, fmt.Errorf("importers: csv mapping: unknown field %q", k)
		}
	}
	_, hasAddr := m.fields["address"]
	_, hasTx := m.fields["tx_hash"]
	if !hasAddr && !hasTx {
		return nil, fmt.Errorf("importers: csv mapping %q: address (or tx_hash) is not mapped", mapping)
	}
	if _, ok := m.fields["label"]; !ok {
		return nil, fmt.Errorf("importers: csv mapping %q: label is not mapped", mapping)
	}
	return csvImporter{m: m}, nil
}

// Name implements labels.Importer.
func (csvImporter) Name() string { return "csv" }

// Detect implements labels.Importer: a file with a .csv, .tsv or .txt
// extension when the importer has a mapping.
func (c csvImporter) Detect(path string) bool {
	if c.m == nil {
		return false
	}
	st, err := os.Stat(path)
	if err != nil || st.IsDir() {
		return false
	}
	ext := lowerExt(path)
	return ext == ".csv" || ext == ".tsv" || ext == ".txt"
}

// Import implements labels.Importer for one file.
func (c csvImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	if c.m == nil {
		return nil, fmt.Errorf("importers: the csv format needs a column mapping, e.g. csv:address=0,label=1,chain=eth")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ds, err := c.m.read(ctx, path)
	if err != nil {
		return nil, err
	}
	return []labels.Dataset{ds}, nil
}

// read imports one file.
func (m *csvMapping) read(ctx context.Context, file string) (labels.Dataset, error) {
	f, err := os.Open(file)
	if err != nil {
		return labels.Dataset{}, fmt.Errorf("importers: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(skipBOM(bufio.NewReaderSize(f, 64<<10)))
	r.Comma = m.comma
	r.FieldsPerRecord = -1
	b := newBuilder("csv:"+filepath.Base(file), "csv", file)
	var cols map[string]csvSource
	width := 0
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return labels.Dataset{}, err
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return labels.Dataset{}, csvError(file, err)
		}
		line, _ := r.FieldPos(0)
		if n == 0 {
			var isHeader bool
			cols, isHeader, err = m.resolve(rec)
			if err != nil {
				return labels.Dataset{}, errorf(file, line, "%v", err)
			}
			width = len(rec)
			if isHeader {
				continue
			}
		}
		if len(rec) != width {
			return labels.Dataset{}, errorf(file, line, "row has %d columns, want %d", len(rec), width)
		}
		m.addRow(b, file, line, cols, rec)
	}
	return b.dataset(), nil
}

// resolve decides, from the first row, which sources are columns and
// whether that row is a header.
func (m *csvMapping) resolve(first []string) (map[string]csvSource, bool, error) {
	byName := make(map[string]int, len(first))
	for i, h := range first {
		byName[strings.ToLower(strings.TrimSpace(h))] = i
	}
	isHeader := m.header == "true"
	if m.header == "auto" {
		for _, src := range m.fields {
			if _, ok := byName[strings.ToLower(src.name)]; src.index < 0 && ok {
				isHeader = true
			}
		}
	}
	cols := make(map[string]csvSource, len(m.fields))
	for k, src := range m.fields {
		if src.index >= len(first) {
			return nil, false, fmt.Errorf("mapping %s=%d: the file has %d columns", k, src.index, len(first))
		}
		if src.index < 0 && isHeader {
			if i, ok := byName[strings.ToLower(src.name)]; ok {
				src = csvSource{index: i}
			}
		}
		if src.index < 0 && (k == "address" || k == "tx_hash" || k == "label") {
			return nil, false, fmt.Errorf("mapping %s=%s: no such column", k, src.name)
		}
		cols[k] = src
	}
	return cols, isHeader, nil
}

// addRow turns one row into a label, or rejects it.
func (m *csvMapping) addRow(b *builder, file string, line int, cols map[string]csvSource, rec []string) {
	get := func(k string) string {
		src, ok := cols[k]
		switch {
		case !ok:
			return ""
		case src.index >= 0:
			return strings.TrimSpace(rec[src.index])
		}
		return src.name
	}
	address, txHash := get("address"), get("tx_hash")
	target := address
	if target == "" {
		target = txHash
	}
	if target == "" {
		b.reject(file, line, "", "row has neither address nor tx_hash")
		return
	}
	l := labels.Label{
		Label: get("label"), Category: get("category"), Abuse: get("abuse"), Actor: get("actor"),
		Confidence: get("confidence"), Source: get("source"), Context: get("context"), Entity: get("entity"),
	}
	if l.Label == "" {
		b.reject(file, line, target, "empty label")
		return
	}
	for _, c := range []string{l.Category, l.Abuse} {
		if c != "" && !isConcept(c) {
			b.reject(file, line, target, fmt.Sprintf("%s is not in the concepts taxonomy", c))
			return
		}
	}
	if l.Confidence == "" {
		l.Confidence = confUnknown
	}
	level, ok := confidenceLevels[l.Confidence]
	if !ok {
		b.reject(file, line, target, "unknown confidence "+l.Confidence)
		return
	}
	l.ConfidenceLevel = level
	if l.Source == "" {
		l.Source = file
	}
	if s := get("lastmod"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			b.reject(file, line, target, "lastmod "+err.Error())
			return
		}
		l.LastMod = t
	}
	if s := get("is_cluster_definer"); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			b.reject(file, line, target, fmt.Sprintf("is_cluster_definer is not a boolean: %q", s))
			return
		}
		l.IsClusterDefiner = v
	}
	var err error
	switch chain, currency := get("chain"), get("currency"); {
	case chain != "":
		// Chain ids and their common names ("ethereum") are both taken.
		if id, ok := addrs.ChainOf(chain); ok {
			chain = id
		}
		l.Chain = strings.ToLower(chain)
	case currency != "":
		l.Chain, err = chainFor(currency, target)
	default:
		l.Chain, err = guessChain(target)
	}
	if err != nil {
		b.reject(file, line, target, err.Error())
		return
	}
	if address == "" {
		l.TxHash = normalizeTxHash(txHash)
	} else if l.Address, err = normalize(l.Chain, address); err != nil {
		b.reject(file, line, address, err.Error())
		return
	}
	b.add(l)
}
