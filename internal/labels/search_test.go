package labels

import (
	"context"
	"errors"
	"testing"
)

// searchIndex is a small index: three actors and labels on four
// addresses, one of them with two labels that both match "lazarus".
func searchIndex() *Index {
	return NewIndex([]Label{
		{Chain: "btc", Address: "1A", Label: "Lazarus Group wallet", Dataset: "d"},
		{Chain: "btc", Address: "1A", Label: "Lazarus cash-out", Dataset: "d"},
		{Chain: "eth", Address: "0xB", Label: "Exchange hot wallet", Dataset: "d"},
		{Chain: "eth", Address: "0xC", Label: "SDN entry", Entity: "LAZARUS GROUP", Dataset: "ofac"},
		{Chain: "eth", Address: "0xD", Label: "Lazarus deposit", Dataset: "d"},
	}, []Actor{
		{ID: "lazarusgroup", Label: "Lazarus Group", Aliases: []string{"Hidden Cobra"}},
		{ID: "apt38", Label: "APT38", Aliases: []string{"BlueNoroff", "a Lazarus sub-group"}},
		{ID: "cobra", Label: "Cobra Kai"},
	})
}

func TestSearchActors(t *testing.T) {
	ix := searchIndex()
	ids := func(as []Actor) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	for _, tc := range []struct {
		q     string
		limit int
		want  []string
	}{
		{"lazarus", 0, []string{"lazarusgroup", "apt38"}}, // prefix before substring
		{"COBRA", 0, []string{"cobra", "lazarusgroup"}},   // exact id before an alias containing it
		{"hidden cobra", 0, []string{"lazarusgroup"}},     // an alias
		{"lazarus", 1, []string{"lazarusgroup"}},          // the limit
		{"  ", 0, nil},                                    // empty matches none
		{"nobody", 0, nil},
	} {
		if got := ids(ix.SearchActors(tc.q, tc.limit)); !equal(got, tc.want) {
			t.Errorf("SearchActors(%q, %d) = %v, want %v", tc.q, tc.limit, got, tc.want)
		}
	}
}

func TestSearchLabels(t *testing.T) {
	ix := searchIndex()
	ctx := context.Background()
	addrs := func(ls []Label) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Chain+":"+l.Address)
		}
		return out
	}
	got, err := ix.SearchLabels(ctx, "lazarus", 10)
	if err != nil {
		t.Fatal(err)
	}
	// One hit per address; the SDN entry matches by its entity name.
	if want := []string{"btc:1A", "eth:0xC", "eth:0xD"}; !equal(addrs(got), want) {
		t.Errorf("lazarus: %v, want %v", addrs(got), want)
	}
	if got, _ := ix.SearchLabels(ctx, "lazarus", 2); len(got) != 2 {
		t.Errorf("limit 2: %d labels", len(got))
	}
	if got, _ := ix.SearchLabels(ctx, "", 10); got != nil {
		t.Errorf("empty query: %v", got)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ix.SearchLabels(cancelled, "wallet", 10); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
