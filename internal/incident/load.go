package incident

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chaintrace/chaintrace/data"
)

// Error is one problem with a registry file or record, at a file and
// line (0 when the record was not read from a file).
type Error struct {
	File string
	Line int
	// ID is the record's id when known.
	ID  string
	Msg string
	// Err is the underlying error, such as an *addrs.Error, or nil.
	Err error
}

// Error formats the error as "incident: FILE:LINE: ID: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("incident: ")
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	}
	if e.ID != "" {
		b.WriteString(e.ID + ": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in a registry, in file and line order.
type Errors []*Error

// Error joins the errors one per line.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort orders the errors by file and line so that reports are stable.
func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		return es[i].Line < es[j].Line
	})
}

// PublishedFormat is the format key of the published-figures file, which
// sits with the registry files and which the registry loaders skip.
const PublishedFormat = "chaintrace-published-figures/1"

// Builtin loads and validates the registry compiled into chaintrace
// (data/incidents/*.yaml).
func Builtin(ctx context.Context) ([]Record, error) {
	return LoadFS(ctx, data.Incidents, "incidents")
}

// LoadFS loads every *.yaml file of dir in fsys (not recursing) as a
// registry and validates the records together, so that ids must be unique
// across files. Files whose format is PublishedFormat are skipped. The
// records are returned, sorted by date and id, even when some are
// invalid; the error is then an Errors.
func LoadFS(ctx context.Context, fsys fs.FS, dir string) ([]Record, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	var recs []Record
	var errs Errors
	for _, e := range entries {
		if e.IsDir() || !isYAML(e.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := path.Join(dir, e.Name())
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("incident: %w", err)
		}
		if isPublished(b) {
			continue
		}
		rs, perr := Parse(name, b)
		recs = append(recs, rs...)
		errs = appendErrors(errs, perr)
	}
	return finish(ctx, recs, errs)
}

// LoadFile loads a registry from path: a file, or a directory whose
// *.yaml files are loaded as by LoadFS. File names in errors are the path
// given.
func LoadFile(ctx context.Context, p string) ([]Record, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	if st.IsDir() {
		recs, err := LoadFS(ctx, os.DirFS(p), ".")
		fixFiles(recs, err, p)
		return recs, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	recs, perr := Parse(p, b)
	return finish(ctx, recs, appendErrors(nil, perr))
}

// fixFiles prefixes the file names of records and errors read through
// os.DirFS with the directory, so that they name real paths.
func fixFiles(recs []Record, err error, dir string) {
	for i := range recs {
		if recs[i].Pos.File != "" {
			recs[i].Pos.File = filepath.Join(dir, recs[i].Pos.File)
		}
	}
	var es Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if e.File != "" {
				e.File = filepath.Join(dir, e.File)
			}
		}
	}
}

// finish validates the records against the built-in actors and sorts
// them.
func finish(ctx context.Context, recs []Record, errs Errors) ([]Record, error) {
	actors, err := BuiltinActors(ctx)
	if err != nil {
		return nil, err
	}
	var verr Errors
	if err := Validate(recs, actors); err != nil && !errors.As(err, &verr) {
		return nil, err
	}
	errs = append(errs, verr...)
	Sort(recs)
	if len(errs) > 0 {
		errs.sort()
		return recs, errs
	}
	return recs, nil
}

// Sort orders records by date, then id.
func Sort(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Date != recs[j].Date {
			return recs[i].Date < recs[j].Date
		}
		return recs[i].ID < recs[j].ID
	})
}

func appendErrors(es Errors, err error) Errors {
	if err == nil {
		return es
	}
	var more Errors
	if errors.As(err, &more) {
		return append(es, more...)
	}
	return append(es, &Error{Msg: "load", Err: err})
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func isPublished(b []byte) bool {
	return bytes.Contains(b, []byte("format: "+PublishedFormat))
}

// recordKeys, and the other key sets below, are the fields each mapping
// may have; any other key is an error, so that a misspelt field does not
// silently drop a fact.
var (
	recordKeys = keys("id", "status", "date", "date_precision", "victim", "chains", "assets", "amounts", "usd",
		"usd_source", "usd_alternatives", "vector", "sources", "attribution", "alternatives", "addresses",
		"transactions", "frozen_usd", "frozen_source", "recovered_usd", "recovered_source", "notes")
	victimKeys      = keys("name", "type", "country", "aliases")
	amountKeys      = keys("asset", "native", "usd", "source")
	usdValueKeys    = keys("usd", "source", "note")
	sourceKeys      = keys("publisher", "title", "url", "date")
	attributionKeys = keys("actor", "confidence", "sources")
	addressKeys     = keys("chain", "address", "role", "source")
	txKeys          = keys("chain", "hash", "what", "source")
)

func keys(k ...string) map[string]bool {
	m := make(map[string]bool, len(k))
	for _, s := range k {
		m[s] = true
	}
	return m
}

// Parse reads one registry file. A file that is not YAML, lacks the
// format key or the incidents list is an error; so is a record that does
// not decode or has a field the format does not define. Parse does not
// apply the rules of Validate.
func Parse(file string, b []byte) ([]Record, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, Errors{{File: file, Line: 1, Msg: "not YAML", Err: err}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, Errors{{File: file, Line: 1, Msg: "not a YAML mapping"}}
	}
	root := doc.Content[0]
	if f := child(root, "format"); f == nil || f.Value != Format {
		return nil, Errors{{File: file, Line: root.Line, Msg: fmt.Sprintf("format is not %q", Format)}}
	}
	list := child(root, "incidents")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, Errors{{File: file, Line: root.Line, Msg: "lacks the incidents list"}}
	}
	var recs []Record
	var errs Errors
	for _, item := range list.Content {
		item = deref(item)
		if item.Kind != yaml.MappingNode {
			errs = append(errs, &Error{File: file, Line: item.Line, Msg: "incident is not a mapping"})
			continue
		}
		var r Record
		if err := item.Decode(&r); err != nil {
			errs = append(errs, &Error{File: file, Line: item.Line, ID: text(child(item, "id")), Msg: "cannot decode", Err: err})
			continue
		}
		r.Pos = Pos{File: file, Line: item.Line}
		r.node = item
		for _, e := range checkRecordKeys(item) {
			e.File, e.ID = file, r.ID
			errs = append(errs, e)
		}
		recs = append(recs, r)
	}
	if len(errs) > 0 {
		return recs, errs
	}
	return recs, nil
}

// checkRecordKeys reports keys the format does not define, in the record
// and in its nested mappings.
func checkRecordKeys(n *yaml.Node) []*Error {
	var errs []*Error
	check := func(n *yaml.Node, allowed map[string]bool, where string) {
		n = deref(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !allowed[k.Value] {
				errs = append(errs, &Error{Line: k.Line, Msg: fmt.Sprintf("unknown field %s%s", where, k.Value)})
			}
		}
	}
	each := func(list *yaml.Node, allowed map[string]bool, where string) {
		list = deref(list)
		if list == nil || list.Kind != yaml.SequenceNode {
			return
		}
		for _, it := range list.Content {
			check(it, allowed, where)
		}
	}
	check(n, recordKeys, "")
	check(child(n, "victim"), victimKeys, "victim.")
	each(child(n, "amounts"), amountKeys, "amounts[].")
	each(child(n, "usd_alternatives"), usdValueKeys, "usd_alternatives[].")
	each(child(n, "sources"), sourceKeys, "sources[].")
	check(child(n, "attribution"), attributionKeys, "attribution.")
	each(child(child(n, "attribution"), "sources"), sourceKeys, "attribution.sources[].")
	each(child(n, "alternatives"), attributionKeys, "alternatives[].")
	each(child(n, "addresses"), addressKeys, "addresses[].")
	each(child(n, "transactions"), txKeys, "transactions[].")
	return errs
}

// deref follows YAML aliases (*name) to their anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// child returns the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

// text is a scalar node's value, or "".
func text(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// lineAt is the line of the node at path (keys and list indices) below
// n, or of the deepest node of the path that exists; 0 without n. An
// alias resolves to its anchor, whose line is in the anchor's place.
func lineAt(n *yaml.Node, path ...any) int {
	if n == nil {
		return 0
	}
	line := n.Line
	cur := n
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			c := deref(cur)
			if c != nil && c.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(c.Content); i += 2 {
					if c.Content[i].Value == p {
						next = c.Content[i+1]
						if next.Kind == yaml.AliasNode || next.Kind == yaml.MappingNode || next.Kind == yaml.SequenceNode {
							// The key's line is where the field is written.
							line = c.Content[i].Line
						}
						break
					}
				}
			}
		case int:
			c := deref(cur)
			if c != nil && c.Kind == yaml.SequenceNode && p < len(c.Content) {
				next = c.Content[p]
			}
		}
		if next == nil {
			return line
		}
		cur = next
		if cur.Kind != yaml.AliasNode {
			line = cur.Line
		}
	}
	return line
}
