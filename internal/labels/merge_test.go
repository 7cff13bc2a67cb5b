package labels

import (
	"context"
	"reflect"
	"testing"
)

// TestActorsMergeAcrossDatasets checks that two sources describing one
// actor add up, in either import order, and that re-imports change nothing.
func TestActorsMergeAcrossDatasets(t *testing.T) {
	ctx := context.Background()
	pack := Dataset{Name: "actorpack", Actors: []Actor{{ID: "lazarusgroup", Label: "Lazarus Group", Categories: []string{"sanction"}, URI: "https://example.org/lazarus"}}}
	own := Dataset{Name: "chaintrace-actors", Actors: []Actor{{ID: "lazarusgroup", Label: "Lazarus Group", Aliases: []string{"Hidden Cobra", "ZINC"}, SubGroups: []string{"apt38"}, References: []string{"https://home.treasury.gov/news/press-releases/sm774"}}}}
	var results []Actor
	for _, order := range [][]Dataset{{pack, own}, {own, pack}} {
		st := openTest(t, t.TempDir())
		for _, d := range append(order, order...) { // the second round must be a no-op
			if _, err := st.Apply(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		a, ok, err := st.Actor(ctx, "lazarusgroup")
		if err != nil || !ok {
			t.Fatalf("actor: %v %v", ok, err)
		}
		results = append(results, a)
	}
	want := Actor{ID: "lazarusgroup", Label: "Lazarus Group", Aliases: []string{"Hidden Cobra", "ZINC"}, SubGroups: []string{"apt38"},
		Categories: []string{"sanction"}, URI: "https://example.org/lazarus", References: []string{"https://home.treasury.gov/news/press-releases/sm774"},
		Dataset: "actorpack,chaintrace-actors"}
	for i, got := range results {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("import order %d: actor =\n%+v\nwant\n%+v", i, got, want)
		}
	}
}
