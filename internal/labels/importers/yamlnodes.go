package importers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// yamlLineRE finds the line number in a yaml.v3 error message.
var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// parseYAMLMapping parses the first document of data and returns its root,
// which must be a mapping. Errors name file and line.
func parseYAMLMapping(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errorf(file, 0, "empty YAML document")
		}
		line := 0
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRE.FindStringIndex(msg); m != nil && m[0] == 0 {
			msg = strings.TrimLeft(msg[m[1]:], ": ")
		}
		return nil, errorf(file, line, "invalid YAML: %s", msg)
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = deref(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil, errorf(file, root.Line, "YAML document is not a mapping")
	}
	return root, nil
}

// deref follows YAML aliases to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// fields returns the values of a mapping node by key; a repeated key keeps
// its last value.
func fields(n *yaml.Node) map[string]*yaml.Node {
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[deref(n.Content[i]).Value] = deref(n.Content[i+1])
	}
	return m
}

// isNull reports whether n is absent or an explicit YAML null.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// text returns the text of a scalar node; ok is false for an absent or
// null node, err is set for a node that is not a scalar.
func text(n *yaml.Node) (s string, ok bool, err error) {
	if isNull(n) {
		return "", false, nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", false, fmt.Errorf("is not text")
	}
	s = strings.TrimSpace(n.Value)
	return s, s != "", nil
}

// textList returns the items of a sequence of scalars; a single scalar is
// taken as a one-item list.
func textList(n *yaml.Node) ([]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode {
		if s := strings.TrimSpace(n.Value); s != "" {
			return []string{s}, nil
		}
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("is not a list")
	}
	var out []string
	for _, c := range n.Content {
		s, ok, err := text(deref(c))
		if err != nil {
			return nil, fmt.Errorf("has an item that is not text")
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// jsonText renders a context value: a scalar as its text, a mapping or
// list as compact JSON.
func jsonText(n *yaml.Node) (string, error) {
	if isNull(n) {
		return "", nil
	}
	if n.Kind == yaml.ScalarNode {
		return strings.TrimSpace(n.Value), nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// jsonable converts what yaml.v3 decodes into values encoding/json takes
// (it already uses map[string]any for string keys; other keys are
// rendered as text, times as RFC 3339).
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return v
}

// boolValue parses a YAML boolean scalar.
func boolValue(n *yaml.Node) (bool, error) {
	var b bool
	if n.Kind != yaml.ScalarNode {
		return false, fmt.Errorf("is not a boolean")
	}
	if err := n.Decode(&b); err != nil {
		return false, fmt.Errorf("is not a boolean: %q", n.Value)
	}
	return b, nil
}

// timeLayouts are the date and date-time forms a lastmod may take.
var timeLayouts = []string{
	"2006-01-02",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
}

// parseTime parses a date or date-time; a time without zone is UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("is not a date or date-time: %q", s)
}

// hasTopKey reports whether YAML text head has key at the top level (a
// line starting with "key:").
func hasTopKey(head []byte, key string) bool {
	for _, line := range bytes.Split(head, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			rest = bytes.TrimRight(rest, " \t\r")
			if bytes.HasPrefix(rest, []byte(":")) {
				return true
			}
		}
	}
	return false
}

// isYAMLFile reports whether path has a YAML file name extension.
func isYAMLFile(path string) bool {
	ext := lowerExt(path)
	return ext == ".yaml" || ext == ".yml"
}
