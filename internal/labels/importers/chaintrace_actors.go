package importers

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/chaintrace/chaintrace/data"
	"github.com/chaintrace/chaintrace/internal/labels"
)

// BuiltinActors is the path that names the actor relations compiled into
// chaintrace (data/actors.yaml) for the chaintrace-actors importer.
const BuiltinActors = "builtin:actors"

// chaintraceActorsFormat is the value of the format key of the
// chaintrace-actors format.
const chaintraceActorsFormat = "chaintrace-actors/1"

// chaintraceActorsImporter reads chaintrace's own actor relations: actors
// with aliases (names of the same actor) and parents (the actor a
// sub-group belongs to), documented at the top of data/actors.yaml.
//
// Detection: the path "builtin:actors", or a YAML file with a top-level
// key "format: chaintrace-actors/1".
type chaintraceActorsImporter struct{}

// Name implements labels.Importer.
func (chaintraceActorsImporter) Name() string { return "chaintrace-actors" }

// Detect implements labels.Importer.
func (c chaintraceActorsImporter) Detect(path string) bool {
	return path == BuiltinActors || detectFormat(c, path)
}

// Import implements labels.Importer: "builtin:actors" gives the dataset
// "chaintrace-actors"; a file gives "chaintrace-actors:<base name>".
func (c chaintraceActorsImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	if path == BuiltinActors {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ds, err := readChaintraceActors(BuiltinActors, "chaintrace-actors", []byte(data.ActorsYAML))
		if err != nil {
			return nil, err
		}
		return []labels.Dataset{ds}, nil
	}
	return importFormat(ctx, c, path)
}

func (chaintraceActorsImporter) sniff(path string, head []byte) bool {
	return isYAMLFile(path) && bytes.Contains(head, []byte("format: "+chaintraceActorsFormat))
}

func (chaintraceActorsImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return perFile(ctx, files, readingFile(func(file string, data []byte) (labels.Dataset, error) {
		return readChaintraceActors(file, "chaintrace-actors:"+filepath.Base(file), data)
	}))
}

// readChaintraceActors parses one chaintrace-actors file into dataset
// name. A wrong format key or a missing title or actors list is a file
// error; an actor without id or label, with a repeated id, an unknown
// category or a parent not in the file is rejected.
func readChaintraceActors(file, name string, b []byte) (labels.Dataset, error) {
	root, err := parseYAMLMapping(file, b)
	if err != nil {
		return labels.Dataset{}, err
	}
	hdr := fields(root)
	if f, _, _ := text(hdr["format"]); f != chaintraceActorsFormat {
		return labels.Dataset{}, errorf(file, root.Line, "format is %q, want %q", f, chaintraceActorsFormat)
	}
	for _, k := range []string{"title", "actors"} {
		if isNull(hdr[k]) {
			return labels.Dataset{}, errorf(file, root.Line, "lacks mandatory field %s", k)
		}
	}
	list := hdr["actors"]
	if list.Kind != yaml.SequenceNode {
		return labels.Dataset{}, errorf(file, list.Line, "field actors is not a list")
	}
	ds := labels.Dataset{Name: name, Format: "chaintrace-actors", Path: file}
	index := make(map[string]int)
	var lines []int
	for _, item := range list.Content {
		item = deref(item)
		a, rej := buildChaintraceActor(item)
		if rej == nil {
			if _, dup := index[a.ID]; dup {
				rej = &labels.Rejected{Line: item.Line, Value: a.ID, Reason: "actor id " + a.ID + " is repeated"}
			}
		}
		if rej != nil {
			rej.File = file
			ds.Rejected = append(ds.Rejected, *rej)
			continue
		}
		a.Dataset = name
		index[a.ID] = len(ds.Actors)
		ds.Actors = append(ds.Actors, a)
		lines = append(lines, item.Line)
	}
	// Derive the sub-groups from the parents; a dangling parent rejects
	// the sub-group.
	kept := ds.Actors[:0]
	for i, a := range ds.Actors {
		if a.Parent != "" {
			if _, ok := index[a.Parent]; !ok || a.Parent == a.ID {
				ds.Rejected = append(ds.Rejected, labels.Rejected{File: file, Line: lines[i], Value: a.ID,
					Reason: "parent " + a.Parent + " is not another actor of the file"})
				continue
			}
		}
		kept = append(kept, a)
	}
	ds.Actors = kept
	pos := make(map[string]int, len(kept))
	for i, a := range kept {
		pos[a.ID] = i
	}
	for _, a := range kept {
		if p, ok := pos[a.Parent]; ok {
			kept[p].SubGroups = append(kept[p].SubGroups, a.ID)
		}
	}
	return ds, nil
}

// buildChaintraceActor turns one entry into an actor, or says why not.
func buildChaintraceActor(item *yaml.Node) (labels.Actor, *labels.Rejected) {
	reject := func(n *yaml.Node, value, format string, args ...any) (labels.Actor, *labels.Rejected) {
		if n == nil {
			n = item
		}
		return labels.Actor{}, &labels.Rejected{Line: n.Line, Value: value, Reason: fmt.Sprintf(format, args...)}
	}
	if item.Kind != yaml.MappingNode {
		return reject(item, item.Value, "actor is not a mapping")
	}
	f := fields(item)
	vals := make(map[string]string)
	for _, k := range []string{"id", "label", "parent", "uri", "context"} {
		s, _, err := text(f[k])
		if err != nil {
			return reject(f[k], "", "field %s %v", k, err)
		}
		vals[k] = s
	}
	for _, k := range []string{"id", "label"} {
		if vals[k] == "" {
			return reject(item, vals["id"], "missing mandatory field %s", k)
		}
	}
	a := labels.Actor{ID: vals["id"], Label: vals["label"], Parent: vals["parent"], URI: vals["uri"], Context: vals["context"]}
	lists := map[string]*[]string{
		"aliases": &a.Aliases, "categories": &a.Categories,
		"jurisdictions": &a.Jurisdictions, "references": &a.References,
	}
	for k, dst := range lists {
		v, err := textList(f[k])
		if err != nil {
			return reject(f[k], a.ID, "field %s %v", k, err)
		}
		*dst = v
	}
	for _, c := range a.Categories {
		if !isConcept(c) {
			return reject(f["categories"], a.ID, "category %s is not in the concepts taxonomy", c)
		}
	}
	return a, nil
}
