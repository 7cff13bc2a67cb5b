package importers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// b10cImporter reads the per-asset lists of OFAC-sanctioned addresses
// published by 0xB10C (github.com/0xB10C/ofac-sanctioned-digital-currency-addresses):
// sanctioned_addresses_<ASSET>.txt, one address a line, and the same
// list as a JSON array in sanctioned_addresses_<ASSET>.json. The asset
// code gives the chain (XBT is Bitcoin); a token (USDT, USDC) takes the
// chain of its address. Where both files of an asset are imported
// together the .txt is read and the .json, which holds the same list,
// is skipped.
//
// Detection: the file name sanctioned_addresses_<ASSET>.txt or .json.
type b10cImporter struct{}

// b10cNameRE matches the file names of the 0xB10C lists.
var b10cNameRE = regexp.MustCompile(`^sanctioned_addresses_([A-Za-z0-9]+)\.(txt|json)$`)

// Name implements labels.Importer.
func (b10cImporter) Name() string { return "ofac-0xb10c" }

// Detect implements labels.Importer.
func (o b10cImporter) Detect(path string) bool { return detectFormat(o, path) }

// Import implements labels.Importer: the lists imported together form
// one dataset, "ofac-0xb10c" (or "ofac-0xb10c:<ASSET>" when they are of
// one asset only).
func (o b10cImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, o, path)
}

func (b10cImporter) sniff(path string, _ []byte) bool {
	return b10cNameRE.MatchString(filepath.Base(path))
}

func (b10cImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	type list struct{ asset, file string }
	var lists []list
	txt := make(map[string]bool)
	for _, f := range files {
		m := b10cNameRE.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			return nil, errorf(f, 0, "not a 0xB10C list: its name must be sanctioned_addresses_<ASSET>.txt or .json, the asset giving the chain")
		}
		asset := strings.ToUpper(m[1])
		if m[2] == "txt" {
			txt[filepath.Join(filepath.Dir(f), asset)] = true
		}
		lists = append(lists, list{asset, f})
	}
	assets := make(map[string]bool)
	var use []list
	for _, l := range lists {
		if strings.HasSuffix(l.file, ".json") && txt[filepath.Join(filepath.Dir(l.file), l.asset)] {
			continue
		}
		use = append(use, l)
		assets[l.asset] = true
	}
	name := "ofac-0xb10c"
	if len(assets) == 1 {
		name += ":" + use[0].asset
	}
	path := files[0]
	if len(files) > 1 {
		path = filepath.Dir(files[0])
	}
	b := newBuilder(name, "ofac-0xb10c", path)
	for _, l := range use {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		entries, err := readAddressList(l.file)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			addSanctioned(b, l.file, e.line, l.asset, e.value, ofacLabel(sdnListURL, "", "", nil))
		}
	}
	return []labels.Dataset{b.dataset()}, nil
}

// listEntry is one address of a list and its line.
type listEntry struct {
	line  int
	value string
}

// readAddressList reads a list of addresses: a JSON array of strings
// (.json) or one address a line (anything else; blank lines and lines
// starting with # are skipped).
func readAddressList(file string) ([]listEntry, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("importers: %w", err)
	}
	var out []listEntry
	if lowerExt(file) != ".json" {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			n++
			s := strings.TrimSpace(sc.Text())
			if s != "" && !strings.HasPrefix(s, "#") {
				out = append(out, listEntry{n, s})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, errorf(file, n+1, "%v", err)
		}
		return out, nil
	}
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errorf(file, lines.line(dec.InputOffset()), "want a JSON array of addresses")
	}
	for dec.More() {
		var s string
		line := lines.nextLine(data, dec.InputOffset())
		if err := dec.Decode(&s); err != nil {
			return nil, errorf(file, line, "want an address string: %v", err)
		}
		out = append(out, listEntry{line, strings.TrimSpace(s)})
	}
	if _, err := dec.Token(); err != nil {
		return nil, errorf(file, lines.line(dec.InputOffset()), "invalid JSON: %v", err)
	}
	return out, nil
}

// ultrasoundImporter reads ultrasound.money's list of OFAC-sanctioned
// Ethereum addresses (github.com/ultrasoundmoney/ofac-ethereum-addresses):
// a CSV with the header "address,name", name being the SDN entity.
//
// Detection: a CSV file whose first line is "address,name".
type ultrasoundImporter struct{}

// Name implements labels.Importer.
func (ultrasoundImporter) Name() string { return "ofac-ultrasoundmoney" }

// Detect implements labels.Importer.
func (u ultrasoundImporter) Detect(path string) bool { return detectFormat(u, path) }

// Import implements labels.Importer: the dataset "ofac-ultrasoundmoney".
func (u ultrasoundImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, u, path)
}

func (ultrasoundImporter) sniff(_ string, head []byte) bool {
	first, _, _ := bytes.Cut(bytes.TrimPrefix(head, []byte("\ufeff")), []byte("\n"))
	return strings.EqualFold(strings.TrimSpace(string(first)), "address,name")
}

func (ultrasoundImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return perFile(ctx, files, func(_ context.Context, file string) (labels.Dataset, error) { return readUltrasound(file) })
}

// readUltrasound reads one address,name file; a row without two columns
// is an error naming file and line.
func readUltrasound(file string) (labels.Dataset, error) {
	f, err := os.Open(file)
	if err != nil {
		return labels.Dataset{}, fmt.Errorf("importers: %w", err)
	}
	defer f.Close()
	b := newBuilder("ofac-ultrasoundmoney", "ofac-ultrasoundmoney", file)
	r := csv.NewReader(skipBOM(bufio.NewReader(f)))
	r.FieldsPerRecord = -1
	for n := 0; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return b.dataset(), nil
		}
		if err != nil {
			return labels.Dataset{}, csvError(file, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != 2 {
			return labels.Dataset{}, errorf(file, line, "row has %d columns, want 2 (address,name)", len(rec))
		}
		if n > 0 { // the first row is the header
			addSanctioned(b, file, line, "ETH", rec[0], ofacLabel(sdnListURL, strings.TrimSpace(rec[1]), "", nil))
		}
	}
}

// thomasgreggImporter reads thomasgregg's sanctioned-addresses.json
// (github.com/thomasgregg/crypto-sanctions-list), built from SDN.XML:
// {"metadata": {...}, "addresses": {address: {"type", "entries": [{entity,
// program, type, uid, akas}]}}}. Its addresses are lower-cased, which is
// wrong for case-sensitive (base58) addresses: their case is recovered
// from the 0xB10C lists in ../0xB10C-lists next to the file or, when a
// whole folder is imported (tree), from every OFAC list in it. An address
// whose case cannot be recovered is rejected with the reason.
//
// Detection: a JSON file whose head holds "addresses" and "OFAC SDN".
type thomasgreggImporter struct{}

// thomasgreggMeta is the metadata object of the file.
type thomasgreggMeta struct {
	ListDate string `json:"sdnListDate"`
	URL      string `json:"url"`
}

// thomasgreggAddress is one address of the file.
type thomasgreggAddress struct {
	Type    string `json:"type"`
	Entries []struct {
		Entity  string   `json:"entity"`
		Program string   `json:"program"`
		Type    string   `json:"type"`
		UID     string   `json:"uid"`
		AKAs    []string `json:"akas"`
	} `json:"entries"`
}

// Name implements labels.Importer.
func (thomasgreggImporter) Name() string { return "ofac-thomasgregg" }

// Detect implements labels.Importer.
func (t thomasgreggImporter) Detect(path string) bool { return detectFormat(t, path) }

// Import implements labels.Importer: the dataset "ofac-thomasgregg".
func (t thomasgreggImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, t, path)
}

func (thomasgreggImporter) sniff(path string, head []byte) bool {
	return lowerExt(path) == ".json" && bytes.Contains(head, []byte(`"addresses"`)) && bytes.Contains(head, []byte("OFAC SDN"))
}

// importFiles imports each file with the 0xB10C lists found next to it.
func (t thomasgreggImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return t.importWith(ctx, files, nil)
}

// importWith imports files recovering address case from known, or, when
// known is nil, from the 0xB10C lists in ../0xB10C-lists of each file.
func (thomasgreggImporter) importWith(ctx context.Context, files []string, known *caseIndex) ([]labels.Dataset, error) {
	var out []labels.Dataset
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := known
		if idx == nil {
			var err error
			if idx, err = siblingLists(ctx, file); err != nil {
				return nil, err
			}
		}
		ds, err := readThomasgregg(file, idx)
		if err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	return out, nil
}

// siblingLists indexes the addresses of the 0xB10C lists in
// ../0xB10C-lists relative to file's folder (an empty index when there
// are none).
func siblingLists(ctx context.Context, file string) (*caseIndex, error) {
	idx := newCaseIndex()
	dir := filepath.Join(filepath.Dir(file), "..", "0xB10C-lists")
	matches, _ := filepath.Glob(filepath.Join(dir, "sanctioned_addresses_*"))
	sort.Strings(matches)
	var lists []string
	for _, m := range matches {
		if b10cNameRE.MatchString(filepath.Base(m)) {
			lists = append(lists, m)
		}
	}
	if len(lists) == 0 {
		return idx, nil
	}
	ds, err := b10cImporter{}.importFiles(ctx, lists)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		idx.addLabels(ds[i].Labels)
	}
	return idx, nil
}

// readThomasgregg reads one sanctioned-addresses.json.
func readThomasgregg(file string, known *caseIndex) (labels.Dataset, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return labels.Dataset{}, fmt.Errorf("importers: %w", err)
	}
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(format string, args ...any) (labels.Dataset, error) {
		return labels.Dataset{}, errorf(file, lines.line(dec.InputOffset()), format, args...)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fail("want a JSON object")
	}
	var meta thomasgreggMeta
	type pending struct {
		line    int
		address string
		value   thomasgreggAddress
	}
	var rows []pending
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("invalid JSON: %v", err)
		}
		switch tok {
		case "metadata":
			if err := dec.Decode(&meta); err != nil {
				return fail("invalid metadata: %v", err)
			}
		case "addresses":
			if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
				return fail("addresses is not an object")
			}
			for dec.More() {
				line := lines.nextLine(data, dec.InputOffset())
				key, err := dec.Token()
				if err != nil {
					return fail("invalid JSON: %v", err)
				}
				var v thomasgreggAddress
				if err := dec.Decode(&v); err != nil {
					return fail("address %v: %v", key, err)
				}
				rows = append(rows, pending{line, fmt.Sprint(key), v})
			}
			if _, err := dec.Token(); err != nil {
				return fail("invalid JSON: %v", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail("invalid JSON: %v", err)
			}
		}
	}
	listed, _ := parseUSDate(meta.ListDate)
	source := meta.URL
	if source == "" {
		source = sdnXMLURL
	}
	b := newBuilder("ofac-thomasgregg", "ofac-thomasgregg", file)
	for _, r := range rows {
		code, ok := strings.CutPrefix(r.value.Type, digitalCurrencyPrefix)
		if !ok {
			b.reject(file, r.line, r.address, fmt.Sprintf("type %q is not a digital currency address", r.value.Type))
			continue
		}
		chain, norm, err := recoverAddress(strings.TrimSpace(code), r.address, known)
		if err != nil {
			b.reject(file, r.line, r.address, err.Error())
			continue
		}
		for _, e := range r.value.Entries {
			l := ofacLabel(source, strings.TrimSpace(e.Entity), strings.TrimSpace(e.UID), splitList(e.Program))
			l.Chain, l.Address, l.LastMod = chain, norm, listed
			l.Context = akaContext(e.AKAs)
			b.add(l)
		}
	}
	return b.dataset(), nil
}

// recoverAddress finds the chain and the normalised, correctly cased
// form of a lower-cased address listed under currency code.
func recoverAddress(code, lowered string, known *caseIndex) (chain, norm string, err error) {
	lowered = strings.TrimSpace(lowered)
	spellings := known.lookup(strings.ToLower(lowered))
	guessFrom := lowered
	if len(spellings) > 0 {
		guessFrom = spellings[0]
	}
	if chain, err = chainFor(code, guessFrom); err != nil {
		if len(spellings) == 0 && tokens[strings.ToUpper(code)] {
			err = fmt.Errorf("lower-cased %s address is in no other OFAC list, so its chain and letter case cannot be recovered", code)
		}
		return "", "", err
	}
	norm, err = recoverCase(chain, lowered, known)
	if err != nil {
		return "", "", err
	}
	return chain, norm, nil
}
