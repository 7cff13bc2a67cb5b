package screen_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chaintrace/chaintrace/internal/screen"
	"gopkg.in/yaml.v3"
)

// TestIllicitRuleCoversTaxonomy reads GraphSense's concepts taxonomy and
// checks that the default illicit rule names every abuse concept under
// "hacking": TagPacks label thefts "service_hack", and a rule that only
// knew an id of its own would never fire on real labels.
func TestIllicitRuleCoversTaxonomy(t *testing.T) {
	path, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "labels", "tagpacks", "schema", "concepts.yaml"))
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("GraphSense concepts not found at %s (../shared is absent)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var concepts map[string]struct {
		Broader any `yaml:"broader"`
	}
	if err := yaml.Unmarshal(raw, &concepts); err != nil {
		t.Fatal(err)
	}
	var illicit []string
	for _, r := range screen.DefaultRules().Identification {
		if r.Name == "illicit" {
			illicit = r.Abuse
		}
	}
	found := 0
	for id, c := range concepts {
		broader := []string{}
		switch b := c.Broader.(type) {
		case string:
			broader = append(broader, b)
		case []any:
			for _, x := range b {
				if s, ok := x.(string); ok {
					broader = append(broader, s)
				}
			}
		}
		if id == "hacking" || slices.Contains(broader, "hacking") {
			found++
			if !slices.Contains(illicit, id) {
				t.Errorf("the illicit rule misses the abuse concept %q", id)
			}
		}
	}
	if found < 2 {
		t.Fatalf("found %d hacking concepts in %s: the taxonomy changed shape", found, path)
	}
}
