package importers

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/data"
	"github.com/chaintrace/chaintrace/internal/labels"
)

// TestBuiltinActors checks chaintrace's own DPRK actors: Lazarus Group
// with aliases and three sub-groups, each with its parent and references.
func TestBuiltinActors(t *testing.T) {
	imp, err := Detect(BuiltinActors)
	if err != nil || imp.Name() != "chaintrace-actors" {
		t.Fatalf("Detect(builtin:actors): %v %v", imp, err)
	}
	d := importOne(t, imp, BuiltinActors)
	if d.Name != "chaintrace-actors" || len(d.Rejected) != 0 || len(d.Labels) != 0 {
		t.Fatalf("dataset %s rejected %+v", d.Name, d.Rejected)
	}
	byID := make(map[string]labels.Actor)
	for _, a := range d.Actors {
		byID[a.ID] = a
		if a.Dataset != d.Name || a.Label == "" || a.URI == "" || len(a.References) == 0 || a.Context == "" ||
			!reflect.DeepEqual(a.Jurisdictions, []string{"KP"}) {
			t.Errorf("actor %s incomplete: %+v", a.ID, a)
		}
	}
	laz := byID["lazarusgroup"]
	if !reflect.DeepEqual(laz.SubGroups, []string{"apt38", "tradertraitor", "andariel"}) || laz.Parent != "" {
		t.Errorf("lazarusgroup sub-groups %v parent %q", laz.SubGroups, laz.Parent)
	}
	for id, aliases := range map[string][]string{
		"lazarusgroup":  {"Hidden Cobra", "Guardians of Peace", "ZINC", "Diamond Sleet", "Labyrinth Chollima"},
		"apt38":         {"BlueNoroff", "Stardust Chollima", "Sapphire Sleet", "TA444"},
		"tradertraitor": {"Jade Sleet", "UNC4899", "Slow Pisces"},
		"andariel":      {"Onyx Sleet", "Silent Chollima"},
	} {
		a := byID[id]
		for _, alias := range aliases {
			if !slices.Contains(a.Aliases, alias) {
				t.Errorf("%s lacks alias %s", id, alias)
			}
		}
		if id != "lazarusgroup" && a.Parent != "lazarusgroup" {
			t.Errorf("%s parent %q", id, a.Parent)
		}
	}
	for _, ref := range []string{"https://home.treasury.gov/news/press-releases/sm774", "https://www.cisa.gov/news-events/cybersecurity-advisories/aa22-108a"} {
		if !strings.Contains(data.ActorsYAML, ref) {
			t.Errorf("actors.yaml does not cite %s", ref)
		}
	}
}

// TestChaintraceActorsFile checks the file form and its rejections.
func TestChaintraceActorsFile(t *testing.T) {
	p := writeFile(t, t.TempDir(), "mine.yaml", `format: chaintrace-actors/1
title: mine
actors:
  - id: a
    label: A
  - id: b
    label: B
    parent: a
  - id: c
    label: C
    parent: nobody
  - id: a
    label: again
  - id: d
    label: D
    categories: [bank]
  - label: no id
`)
	imp, err := Detect(p)
	if err != nil || imp.Name() != "chaintrace-actors" {
		t.Fatalf("Detect: %v %v", imp, err)
	}
	d := importOne(t, imp, p)
	if d.Name != "chaintrace-actors:mine.yaml" || len(d.Actors) != 2 || !reflect.DeepEqual(d.Actors[0].SubGroups, []string{"b"}) {
		t.Fatalf("dataset %s actors %+v", d.Name, d.Actors)
	}
	want := map[int]string{12: "actor id a is repeated", 16: "category bank", 17: "missing mandatory field id", 9: "parent nobody"}
	if len(d.Rejected) != len(want) {
		t.Fatalf("rejected %+v", d.Rejected)
	}
	for _, r := range d.Rejected {
		if !strings.Contains(r.Reason, want[r.Line]) || want[r.Line] == "" {
			t.Errorf("rejected %+v", r)
		}
	}
	bad := writeFile(t, t.TempDir(), "bad.yaml", "format: chaintrace-actors/2\ntitle: x\nactors: []\n")
	_, err = chaintraceActorsImporter{}.Import(context.Background(), bad)
	wantErr(t, err, "bad.yaml:1:", `format is "chaintrace-actors/2"`)
}

// TestActorPack checks an ActorPack's mandatory fields, taxonomy and
// context references.
func TestActorPack(t *testing.T) {
	p := writeFile(t, t.TempDir(), "x.actorpack.yaml", `title: Test actors
creator: tests
lastmod: 2023-02-17
actors:
- id: lazarusgroup
  label: Lazarus Group
  uri: https://home.treasury.gov/news/press-releases/sm774
  categories: [sanction, service_hack]
  jurisdictions: [KP]
  aliases: [hiddencobra]
  context:
    refs: [https://example.org/a]
    aliases: [zinc]
    notes:
    - 'Monikers: Hidden Cobra'
- id: empty
  label: Empty categories are allowed
  uri: example.org
  categories: []
- id: nouri
  label: No URI
  categories: [exchange]
- id: badcat
  label: Bad category
  uri: example.org
  categories: [bank]
`)
	imp, err := Detect(p)
	if err != nil || imp.Name() != "actorpack" {
		t.Fatalf("Detect: %v %v", imp, err)
	}
	d := importOne(t, imp, p)
	if d.Name != "actorpack:x.actorpack.yaml" || len(d.Actors) != 2 {
		t.Fatalf("dataset %s actors %+v", d.Name, d.Actors)
	}
	a := d.Actors[0]
	if a.ID != "lazarusgroup" || !reflect.DeepEqual(a.Aliases, []string{"hiddencobra", "zinc"}) ||
		!reflect.DeepEqual(a.References, []string{"https://example.org/a"}) || !reflect.DeepEqual(a.Jurisdictions, []string{"KP"}) ||
		a.Context != `{"aliases":["zinc"],"notes":["Monikers: Hidden Cobra"],"refs":["https://example.org/a"]}` {
		t.Errorf("actor %+v", a)
	}
	if len(d.Rejected) != 2 || d.Rejected[0].Line != 20 || d.Rejected[0].Reason != "missing mandatory field uri" ||
		d.Rejected[1].Line != 26 || !strings.Contains(d.Rejected[1].Reason, "category bank") {
		t.Errorf("rejected %+v", d.Rejected)
	}
	bad := writeFile(t, t.TempDir(), "bad.yaml", "title: x\nactors: []\n")
	_, err = actorpackImporter{}.Import(context.Background(), bad)
	wantErr(t, err, "bad.yaml:1:", "ActorPack header lacks mandatory field creator")
}
