// Package importers reads label sources into labels.Datasets: GraphSense
// TagPacks and ActorPacks, chaintrace's own actor relations, the OFAC SDN
// list in its official formats (SDN.XML, SDN_ADVANCED.XML, sdn.csv) and in
// the address lists derived from it (0xB10C, ultrasound.money,
// thomasgregg), Etherscan label exports and CSV files with a column
// mapping.
//
// Every importer detects its format from the file itself (Detect), so a
// whole folder of mixed sources can be imported at once: Detect on a
// directory holding several formats returns the "tree" importer, which
// hands every file to the importer that recognises it. A malformed file is
// an error naming the file and line; rows that are merely unusable (an
// invalid address, an unknown currency, a missing field) are kept as
// labels.Rejected with their line and reason.
package importers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// format is what every importer of this package implements besides
// labels.Importer: recognising one file from its first bytes, and
// importing a list of files already known to be in the format.
type format interface {
	labels.Importer
	// sniff reports whether the file at path, which starts with head, is
	// in this format.
	sniff(path string, head []byte) bool
	// importFiles reads files, all in this format, into datasets.
	importFiles(ctx context.Context, files []string) ([]labels.Dataset, error)
}

// formats lists the importers that recognise files, in detection order:
// a file goes to the first whose sniff accepts it.
func formats() []format {
	return []format{
		tagpackImporter{},
		actorpackImporter{},
		chaintraceActorsImporter{},
		sdnXMLImporter{},
		sdnAdvancedImporter{},
		sdnCSVImporter{},
		b10cImporter{},
		ultrasoundImporter{},
		thomasgreggImporter{},
		etherscanImporter{},
	}
}

// All returns every importer: the file formats in detection order, then
// the importer of the builtin incident registry (path
// "builtin:incidents"), the generic CSV importer (which needs a column
// mapping, see NewCSV, and so detects nothing) and the "tree" importer
// for folders of mixed formats.
func All() []labels.Importer {
	var out []labels.Importer
	for _, f := range formats() {
		out = append(out, f)
	}
	return append(out, chaintraceIncidentsImporter{}, csvImporter{}, treeImporter{})
}

// ByName returns the importer for a --format name. "csv:MAPPING" returns
// a generic CSV importer with that column mapping (see NewCSV).
func ByName(name string) (labels.Importer, error) {
	if m, ok := strings.CutPrefix(name, "csv:"); ok {
		return NewCSV(m)
	}
	for _, imp := range All() {
		if imp.Name() == name {
			return imp, nil
		}
	}
	return nil, fmt.Errorf("importers: unknown format %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the format names of All, for help texts and errors.
func Names() []string {
	var names []string
	for _, imp := range All() {
		names = append(names, imp.Name())
	}
	return names
}

// Detect returns the importer for path. For a file it is the first
// importer whose Detect accepts it. For a directory it is the importer of
// the one format found in it, or the "tree" importer when it holds
// several. It is an error, listing the known formats, when nothing in
// path is recognised.
func Detect(path string) (labels.Importer, error) {
	st, err := os.Stat(path)
	if err != nil {
		// Paths such as "builtin:actors" name no file.
		for _, imp := range All() {
			if imp.Detect(path) {
				return imp, nil
			}
		}
		return nil, fmt.Errorf("importers: %w", err)
	}
	if st.IsDir() {
		groups, err := classify(path)
		if err != nil {
			return nil, err
		}
		switch len(groups) {
		case 0:
		case 1:
			return groups[0].format, nil
		default:
			return treeImporter{}, nil
		}
	} else {
		for _, imp := range All() {
			if imp.Detect(path) {
				return imp, nil
			}
		}
	}
	return nil, fmt.Errorf("importers: %s: no known label format recognised (formats: %s; a CSV file needs --format csv:MAPPING)",
		path, strings.Join(Names(), ", "))
}

// headSize is how much of a file sniff sees.
const headSize = 16 << 10

// readHead returns the first headSize bytes of the file at path.
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("importers: %w", err)
	}
	defer f.Close()
	buf := make([]byte, headSize)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("importers: read %s: %w", path, err)
	}
	return buf[:n], nil
}

// listFiles returns the regular files under root in lexical order,
// skipping hidden files and folders. A file root lists itself.
func listFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("importers: %w", err)
	}
	return files, nil
}

// group is the files of one format found under a directory.
type group struct {
	format format
	files  []string
}

// classify sniffs every file under root and groups the recognised ones by
// format, in the order of formats(). Unrecognised files (licences, schema
// files, read-mes) are left out.
func classify(root string) ([]group, error) {
	files, err := listFiles(root)
	if err != nil {
		return nil, err
	}
	known := formats()
	byFormat := make([][]string, len(known))
	for _, p := range files {
		head, err := readHead(p)
		if err != nil {
			return nil, err
		}
		for i, f := range known {
			if f.sniff(p, head) {
				byFormat[i] = append(byFormat[i], p)
				break
			}
		}
	}
	var groups []group
	for i, f := range known {
		if len(byFormat[i]) > 0 {
			groups = append(groups, group{format: f, files: byFormat[i]})
		}
	}
	return groups, nil
}

// detectFormat implements Detect for a format: a file it sniffs, or a
// directory holding at least one such file.
func detectFormat(f format, path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !st.IsDir() {
		head, err := readHead(path)
		return err == nil && f.sniff(path, head)
	}
	files, err := listFiles(path)
	if err != nil {
		return false
	}
	for _, p := range files {
		if head, err := readHead(p); err == nil && f.sniff(p, head) {
			return true
		}
	}
	return false
}

// importFormat implements Import for a format: a file is imported as it
// is (the caller chose the format), a directory imports every file under
// it that the format recognises.
func importFormat(ctx context.Context, f format, path string) ([]labels.Dataset, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("importers: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		all, err := listFiles(path)
		if err != nil {
			return nil, err
		}
		files = files[:0]
		for _, p := range all {
			head, err := readHead(p)
			if err != nil {
				return nil, err
			}
			if f.sniff(p, head) {
				files = append(files, p)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("importers: %s: no %s file found", path, f.Name())
		}
	}
	return f.importFiles(ctx, files)
}

// treeImporter imports a folder of mixed formats: every file goes to the
// importer that recognises it, and files nothing recognises are skipped.
// The thomasgregg list is imported last, so that the case of its
// lower-cased addresses is recovered from all OFAC lists of the folder.
type treeImporter struct{}

// Name implements labels.Importer.
func (treeImporter) Name() string { return "tree" }

// Detect implements labels.Importer: a directory holding at least one
// recognised file.
func (treeImporter) Detect(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return false
	}
	groups, err := classify(path)
	return err == nil && len(groups) > 0
}

// Import implements labels.Importer. Files are imported in parallel;
// the datasets come in the order of formats() and, within a format, of
// the files.
func (treeImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	groups, err := classify(path)
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("importers: %s: no known label format recognised", path)
	}
	// A job is one importFiles call: one per file, except for the 0xB10C
	// lists, whose files form one dataset.
	var jobs []group
	var late []string
	for _, g := range groups {
		switch g.format.(type) {
		case thomasgreggImporter:
			late = g.files
		case b10cImporter:
			jobs = append(jobs, g)
		default:
			for _, f := range g.files {
				jobs = append(jobs, group{g.format, []string{f}})
			}
		}
	}
	results := make([][]labels.Dataset, len(jobs))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for i, j := range jobs {
		eg.Go(func() error {
			ds, err := j.format.importFiles(ectx, j.files)
			results[i] = ds
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	var out []labels.Dataset
	for _, ds := range results {
		out = append(out, ds...)
	}
	if len(late) > 0 {
		known := newCaseIndex()
		for i := range out {
			if strings.HasPrefix(out[i].Format, "ofac-") {
				known.addLabels(out[i].Labels)
			}
		}
		ds, err := thomasgreggImporter{}.importWith(ctx, late, known)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

// builder collects one dataset: labels (a later label with the same key
// replaces the earlier one in place) and rejected rows.
type builder struct {
	ds    labels.Dataset
	index map[string]int
}

// newBuilder starts the dataset name of format imp read from path.
func newBuilder(name, imp, path string) *builder {
	return &builder{
		ds:    labels.Dataset{Name: name, Format: imp, Path: path},
		index: make(map[string]int),
	}
}

// add adds l, stamped with the dataset name.
func (b *builder) add(l labels.Label) {
	l.Dataset = b.ds.Name
	k := l.Key()
	if i, ok := b.index[k]; ok {
		b.ds.Labels[i] = l
		return
	}
	b.index[k] = len(b.ds.Labels)
	b.ds.Labels = append(b.ds.Labels, l)
}

// reject records an unusable row.
func (b *builder) reject(file string, line int, value, reason string) {
	b.ds.Rejected = append(b.ds.Rejected, labels.Rejected{File: file, Line: line, Value: value, Reason: reason})
}

// dataset returns the collected dataset.
func (b *builder) dataset() labels.Dataset { return b.ds }

// errorf returns an error prefixed "importers: file:line:" (or
// "importers: file:" when line is 0).
func errorf(file string, line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		return fmt.Errorf("importers: %s:%d: %s", file, line, msg)
	}
	return fmt.Errorf("importers: %s: %s", file, msg)
}

// lineIndex maps byte offsets of a file's content to 1-based lines.
type lineIndex []int

// newLineIndex records where each line of data starts.
func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

// line returns the line holding byte offset off.
func (idx lineIndex) line(off int64) int {
	return sort.Search(len(idx), func(i int) bool { return int64(idx[i]) > off })
}

// nextLine returns the line of the first byte at or after off in data
// that is not white space or a JSON separator: where the next JSON value
// or key starts.
func (idx lineIndex) nextLine(data []byte, off int64) int {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return idx.line(off)
}

// lowerExt returns the file name extension of path in lower case.
func lowerExt(path string) string { return strings.ToLower(filepath.Ext(path)) }

// perFile reads each file as one dataset with read, stopping at the first
// error or when ctx ends.
func perFile(ctx context.Context, files []string, read func(ctx context.Context, file string) (labels.Dataset, error)) ([]labels.Dataset, error) {
	out := make([]labels.Dataset, 0, len(files))
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ds, err := read(ctx, file)
		if err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	return out, nil
}

// readingFile adapts a parser of a whole file's bytes to perFile.
func readingFile(parse func(file string, data []byte) (labels.Dataset, error)) func(context.Context, string) (labels.Dataset, error) {
	return func(_ context.Context, file string) (labels.Dataset, error) {
		data, err := os.ReadFile(file)
		if err != nil {
			return labels.Dataset{}, fmt.Errorf("importers: %w", err)
		}
		return parse(file, data)
	}
}
