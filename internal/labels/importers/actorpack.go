package importers

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// actorpackImporter reads GraphSense ActorPacks: a YAML header (title,
// creator, lastmod) and a list of actors with id, label, uri, categories
// (concept ids), jurisdictions, aliases and a context mapping whose refs
// become the actor's references.
//
// Detection: a .yaml or .yml file with a top-level "actors:" key.
type actorpackImporter struct{}

// Name implements labels.Importer.
func (actorpackImporter) Name() string { return "actorpack" }

// Detect implements labels.Importer.
func (a actorpackImporter) Detect(path string) bool { return detectFormat(a, path) }

// Import implements labels.Importer: one dataset "actorpack:<base name>"
// per file, holding actors and no labels.
func (a actorpackImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, a, path)
}

func (actorpackImporter) sniff(path string, head []byte) bool {
	return isYAMLFile(path) && hasTopKey(head, "actors") && !hasTopKey(head, "format")
}

func (actorpackImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return perFile(ctx, files, readingFile(readActorPack))
}

// readActorPack parses one ActorPack. A header without title, creator or
// an actors list is a file error; an actor lacking a mandatory field
// (id, label, uri, categories, lastmod after inheriting the header's) or
// with a category outside the concepts taxonomy is rejected.
func readActorPack(file string, data []byte) (labels.Dataset, error) {
	root, err := parseYAMLMapping(file, data)
	if err != nil {
		return labels.Dataset{}, err
	}
	hdr := fields(root)
	for _, k := range []string{"title", "creator", "actors"} {
		if isNull(hdr[k]) {
			return labels.Dataset{}, errorf(file, root.Line, "ActorPack header lacks mandatory field %s", k)
		}
	}
	list := hdr["actors"]
	if list.Kind != yaml.SequenceNode {
		return labels.Dataset{}, errorf(file, list.Line, "ActorPack field actors is not a list")
	}
	name := "actorpack:" + filepath.Base(file)
	ds := labels.Dataset{Name: name, Format: "actorpack", Path: file}
	index := make(map[string]int)
	for _, item := range list.Content {
		item = deref(item)
		a, rej := buildActor(hdr["lastmod"], item)
		if rej != nil {
			rej.File = file
			ds.Rejected = append(ds.Rejected, *rej)
			continue
		}
		a.Dataset = name
		if i, ok := index[a.ID]; ok {
			ds.Actors[i] = a
			continue
		}
		index[a.ID] = len(ds.Actors)
		ds.Actors = append(ds.Actors, a)
	}
	return ds, nil
}

// buildActor turns one ActorPack entry into an actor, or says why not.
func buildActor(headerLastmod, item *yaml.Node) (labels.Actor, *labels.Rejected) {
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
	var missing []string
	for _, k := range []string{"id", "label", "uri"} {
		s, ok, err := text(f[k])
		if err != nil {
			return reject(f[k], "", "field %s %v", k, err)
		}
		if !ok {
			missing = append(missing, k)
		}
		vals[k] = s
	}
	cats, err := textList(f["categories"])
	if err != nil {
		return reject(f["categories"], vals["id"], "field categories %v", err)
	}
	// An empty list counts as given: many actors have "categories: []".
	if isNull(f["categories"]) {
		missing = append(missing, "categories")
	}
	if isNull(f["lastmod"]) && isNull(headerLastmod) {
		missing = append(missing, "lastmod")
	}
	if len(missing) > 0 {
		return reject(item, vals["id"], "missing mandatory field %s", strings.Join(missing, ", "))
	}
	for _, c := range cats {
		if !isConcept(c) {
			return reject(f["categories"], vals["id"], "category %s is not in the concepts taxonomy", c)
		}
	}
	a := labels.Actor{ID: vals["id"], Label: vals["label"], URI: vals["uri"], Categories: cats}
	if a.Jurisdictions, err = textList(f["jurisdictions"]); err != nil {
		return reject(f["jurisdictions"], a.ID, "field jurisdictions %v", err)
	}
	if a.Aliases, err = textList(f["aliases"]); err != nil {
		return reject(f["aliases"], a.ID, "field aliases %v", err)
	}
	if ctx := f["context"]; !isNull(ctx) {
		if a.Context, err = jsonText(ctx); err != nil {
			return reject(ctx, a.ID, "context: %v", err)
		}
		if ctx.Kind == yaml.MappingNode {
			cf := fields(ctx)
			// Some actors list their aliases in the context only.
			more, _ := textList(cf["aliases"])
			for _, s := range more {
				if !slices.Contains(a.Aliases, s) {
					a.Aliases = append(a.Aliases, s)
				}
			}
			a.References, _ = textList(cf["refs"])
		}
	}
	return a, nil
}
