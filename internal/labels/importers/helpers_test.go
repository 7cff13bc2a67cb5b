package importers

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// sharedDir is the shared label data, relative to this package.
var sharedDir = filepath.Join("..", "..", "..", "..", "shared", "data", "labels")

// sharedLabels returns the path of the shared label data, or skips the
// test when ../shared is absent.
func sharedLabels(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skipf("shared label data absent (%v): the real-data tests need ../shared/data/labels next to the repository", err)
	}
	return sharedDir
}

// sharedPath returns a path under the shared label data, skipping the test
// when it is absent.
func sharedPath(t testing.TB, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{sharedLabels(t)}, parts...)...)
}

var (
	treeOnce sync.Once
	treeData map[string]labels.Dataset
	treeErr  error
)

// realTree imports the whole shared label folder once for all tests and
// returns its datasets by name.
func realTree(t *testing.T) map[string]labels.Dataset {
	t.Helper()
	root := sharedLabels(t)
	treeOnce.Do(func() {
		var ds []labels.Dataset
		ds, treeErr = treeImporter{}.Import(context.Background(), root)
		treeData = make(map[string]labels.Dataset, len(ds))
		for _, d := range ds {
			if _, dup := treeData[d.Name]; dup {
				treeErr = &dupError{d.Name}
			}
			treeData[d.Name] = d
		}
	})
	if treeErr != nil {
		t.Fatal(treeErr)
	}
	return treeData
}

// dupError reports two datasets of one name.
type dupError struct{ name string }

func (e *dupError) Error() string { return "two datasets named " + e.name }

var (
	reasonQuotedRE = regexp.MustCompile(`"[^"]*"`)
	reasonChainRE  = regexp.MustCompile(`invalid (\S+) address`)
)

// reasonClass groups rejection reasons for counting: addrs errors by
// chain, unknown currencies together, quoted values elided.
func reasonClass(reason string) string {
	chain := ""
	if m := reasonChainRE.FindStringSubmatch(reason); m != nil {
		chain = m[1]
	}
	switch {
	case strings.Contains(reason, "no known address matches it ignoring case"):
		return "case not recoverable: " + chain
	case strings.HasPrefix(reason, "addrs: invalid"):
		return "invalid address: " + chain
	case strings.HasPrefix(reason, "unknown currency "):
		return "unknown currency"
	}
	return reasonQuotedRE.ReplaceAllString(reason, "…")
}

// reasonCounts counts the rejected rows of d by reasonClass.
func reasonCounts(d labels.Dataset) map[string]int {
	m := make(map[string]int)
	for _, r := range d.Rejected {
		m[reasonClass(r.Reason)]++
	}
	return m
}

// importOne imports path with imp and expects one dataset.
func importOne(t *testing.T, imp labels.Importer, path string) labels.Dataset {
	t.Helper()
	ds, err := imp.Import(context.Background(), path)
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	if len(ds) != 1 {
		t.Fatalf("import %s: %d datasets, want 1", path, len(ds))
	}
	return ds[0]
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// findLabels returns the labels of d on address (compared ignoring case).
func findLabels(d labels.Dataset, address string) []labels.Label {
	var out []labels.Label
	for _, l := range d.Labels {
		if strings.EqualFold(l.Address, address) {
			out = append(out, l)
		}
	}
	return out
}

// wantErr checks that err is set and its text holds every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
