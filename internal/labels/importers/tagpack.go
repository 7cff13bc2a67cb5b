package importers

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// tagpackImporter reads GraphSense TagPacks: a YAML header (title,
// creator, tags and defaults for the tags) and a list of tags, each on an
// address or a transaction. A tag inherits every tag field it does not
// set from the header. A pack without network fields (the older ones)
// takes the currency as the network.
//
// Detection: a .yaml or .yml file with a top-level "tags:" key.
type tagpackImporter struct{}

// tagpackMandatory are the tag fields that must be set, on the tag or in
// the header, for a tag to become a label; "network" defaults to the
// currency and is checked through it.
var tagpackMandatory = []string{"label", "source", "currency", "confidence"}

// tagpackText are the text fields of a tag that become label fields.
var tagpackText = []string{"label", "source", "currency", "confidence", "network", "category", "abuse", "actor"}

// tagpackHeaderOnly are header fields a tag does not inherit.
var tagpackHeaderOnly = setOf("title", "creator", "description", "owner", "is_public", "tags")

// Name implements labels.Importer.
func (tagpackImporter) Name() string { return "tagpack" }

// Detect implements labels.Importer.
func (t tagpackImporter) Detect(path string) bool { return detectFormat(t, path) }

// Import implements labels.Importer: a file is one dataset
// "tagpack:<base name>", a directory gives one dataset per TagPack under
// it.
func (t tagpackImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	return importFormat(ctx, t, path)
}

func (tagpackImporter) sniff(path string, head []byte) bool {
	return isYAMLFile(path) && hasTopKey(head, "tags") && !hasTopKey(head, "actors")
}

func (tagpackImporter) importFiles(ctx context.Context, files []string) ([]labels.Dataset, error) {
	return perFile(ctx, files, readingFile(readTagPack))
}

// readTagPack parses one TagPack. A header without title, creator or a
// tags list is a file error; a tag that cannot become a label is
// rejected with its line.
func readTagPack(file string, data []byte) (labels.Dataset, error) {
	root, err := parseYAMLMapping(file, data)
	if err != nil {
		return labels.Dataset{}, err
	}
	hdr := fields(root)
	for _, k := range []string{"title", "creator", "tags"} {
		if isNull(hdr[k]) {
			return labels.Dataset{}, errorf(file, root.Line, "TagPack header lacks mandatory field %s", k)
		}
	}
	for _, k := range []string{"title", "creator"} {
		if _, _, err := text(hdr[k]); err != nil {
			return labels.Dataset{}, errorf(file, hdr[k].Line, "TagPack header field %s %v", k, err)
		}
	}
	tags := hdr["tags"]
	if tags.Kind != yaml.SequenceNode {
		return labels.Dataset{}, errorf(file, tags.Line, "TagPack field tags is not a list")
	}
	inherited := make(map[string]*yaml.Node)
	for k, v := range hdr {
		if !tagpackHeaderOnly[k] && !isNull(v) {
			inherited[k] = v
		}
	}
	b := newBuilder("tagpack:"+filepath.Base(file), "tagpack", file)
	b.ds.Labels = make([]labels.Label, 0, len(tags.Content))
	for _, item := range tags.Content {
		item = deref(item)
		if item.Kind != yaml.MappingNode {
			b.reject(file, item.Line, item.Value, "tag is not a mapping")
			continue
		}
		l, rej := buildTag(inherited, item)
		if rej != nil {
			rej.File = file
			b.ds.Rejected = append(b.ds.Rejected, *rej)
			continue
		}
		b.add(l)
	}
	return b.dataset(), nil
}

// buildTag turns one tag, with the header's inherited fields, into a
// label, or says why it cannot.
func buildTag(inherited map[string]*yaml.Node, item *yaml.Node) (labels.Label, *labels.Rejected) {
	own := fields(item)
	get := func(k string) *yaml.Node {
		if n := own[k]; !isNull(n) {
			return n
		}
		return inherited[k]
	}
	reject := func(n *yaml.Node, value, format string, args ...any) (labels.Label, *labels.Rejected) {
		line := item.Line
		if n != nil {
			line = n.Line
		}
		return labels.Label{}, &labels.Rejected{Line: line, Value: value, Reason: fmt.Sprintf(format, args...)}
	}

	address, hasAddr, err := text(own["address"])
	if err != nil {
		return reject(own["address"], "", "address %v", err)
	}
	txHash, hasTx, err := text(own["tx_hash"])
	if err != nil {
		return reject(own["tx_hash"], "", "tx_hash %v", err)
	}
	target := address
	if !hasAddr {
		target = txHash
	}
	switch {
	case hasAddr && hasTx:
		return reject(nil, target, "tag has both address and tx_hash")
	case !hasAddr && !hasTx:
		return reject(nil, "", "tag has neither address nor tx_hash")
	}

	vals := make(map[string]string)
	var missing []string
	for _, k := range tagpackText {
		s, ok, err := text(get(k))
		if err != nil {
			return reject(get(k), target, "field %s %v", k, err)
		}
		if ok {
			vals[k] = s
		} else if slices.Contains(tagpackMandatory, k) {
			missing = append(missing, k)
		}
	}
	// A missing confidence is the one schema violation taken leniently:
	// published packs omit it (GraphSense's own OFAC pack, 572 sanctioned
	// addresses), and dropping sanctioned addresses would hurt screening
	// more than an "unknown" confidence (level 5) that says so in Context.
	defaulted := false
	if i := slices.Index(missing, "confidence"); i >= 0 {
		missing = slices.Delete(missing, i, i+1)
		vals["confidence"] = "unknown"
		defaulted = true
	}
	if len(missing) > 0 {
		return reject(nil, target, "missing mandatory field %s", strings.Join(missing, ", "))
	}

	l := labels.Label{
		Label:      vals["label"],
		Source:     vals["source"],
		Category:   vals["category"],
		Abuse:      vals["abuse"],
		Actor:      vals["actor"],
		Confidence: vals["confidence"],
	}
	level, ok := confidenceLevels[l.Confidence]
	if !ok {
		return reject(get("confidence"), target, "unknown confidence %s", l.Confidence)
	}
	l.ConfidenceLevel = level
	for _, k := range []string{"category", "abuse"} {
		if v := vals[k]; v != "" && !isConcept(v) {
			return reject(get(k), target, "%s %s is not in the concepts taxonomy", k, v)
		}
	}
	cs, err := textList(get("concepts"))
	if err != nil {
		return reject(get("concepts"), target, "field concepts %v", err)
	}
	for _, c := range cs {
		if !isConcept(c) {
			return reject(get("concepts"), target, "concept %s is not in the concepts taxonomy", c)
		}
	}
	if n := get("lastmod"); !isNull(n) {
		t, err := parseTime(n.Value)
		if err != nil {
			return reject(n, target, "lastmod %v", err)
		}
		l.LastMod = t
	}
	if n := get("is_cluster_definer"); !isNull(n) {
		v, err := boolValue(n)
		if err != nil {
			return reject(n, target, "is_cluster_definer %v", err)
		}
		l.IsClusterDefiner = v
	}
	if l.Context, err = jsonText(get("context")); err != nil {
		return reject(get("context"), target, "context: %v", err)
	}
	if defaulted {
		note := "confidence missing in the source; chaintrace set it to unknown"
		if l.Context != "" {
			note = l.Context + "; " + note
		}
		l.Context = note
	}

	// The network says on which chain the address lives (an USDT tag on
	// network ETH is an Ethereum address); packs without networks use
	// the currency.
	code, field := vals["network"], "network"
	if code == "" {
		code, field = vals["currency"], "currency"
	}
	chain, err := chainFor(code, target)
	if err != nil {
		if field == "network" && errors.Is(err, errUnknownCurrency) {
			return reject(get(field), target, "unknown network %s", code)
		}
		return reject(get(field), target, "%v", err)
	}
	l.Chain = chain
	if hasTx {
		l.TxHash = normalizeTxHash(txHash)
		return l, nil
	}
	norm, err := normalize(chain, address)
	if err != nil {
		return reject(own["address"], address, "%v", err)
	}
	l.Address = norm
	return l, nil
}

// normalizeTxHash lower-cases a hexadecimal transaction hash (with or
// without 0x) and keeps any other form as given.
func normalizeTxHash(h string) string {
	h = strings.TrimSpace(h)
	digits := strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
	for _, c := range digits {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return h
		}
	}
	return strings.ToLower(h)
}
