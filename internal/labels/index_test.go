package labels

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// lazarus is a small actor tree: lazarusgroup has sub-groups apt38 and
// bluenoroff (by SubGroups), tradertraitor names bluenoroff as Parent.
var lazarus = []Actor{
	{ID: "lazarusgroup", Label: "Lazarus Group", Aliases: []string{"Hidden Cobra", "Guardians of Peace"}, SubGroups: []string{"apt38", "bluenoroff"}},
	{ID: "apt38", Label: "APT38"},
	{ID: "bluenoroff", Label: "BlueNoroff", Aliases: []string{"Stardust Chollima"}},
	{ID: "tradertraitor", Label: "TraderTraitor", Parent: "bluenoroff", Aliases: []string{"Jade Sleet"}},
	{ID: "fin7", Label: "FIN7", Aliases: []string{"Carbanak"}},
}

func actorLabel(addr, actor string) Label {
	l := lbl("actors", "eth", addr, "Hack", 80)
	l.Actor = actor
	return l
}

func TestActors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	ls := []Label{
		actorLabel("0x01", "lazarusgroup"),
		actorLabel("0x02", "apt38"),
		actorLabel("0x03", "bluenoroff"),
		actorLabel("0x04", "tradertraitor"),
		actorLabel("0x05", "fin7"),
		actorLabel("0x06", "unknown"),
	}
	if c := apply(t, s, Dataset{Name: "actors", Labels: ls, Actors: lazarus}); c.Actors != len(lazarus) {
		t.Fatalf("counts: %+v", c)
	}
	byActor := func(id string) []string {
		var addrs []string
		err := s.LabelsByActor(ctx, id, func(l Label) bool {
			addrs = append(addrs, l.Address)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(addrs)
		return addrs
	}
	for id, want := range map[string][]string{
		"lazarusgroup":  {"0x01", "0x02", "0x03", "0x04"},
		"bluenoroff":    {"0x03", "0x04"},
		"tradertraitor": {"0x04"},
		"fin7":          {"0x05"},
		"unknown":       {"0x06"},
		"nobody":        nil,
	} {
		if got := byActor(id); !slices.Equal(got, want) {
			t.Errorf("LabelsByActor(%s) = %v, want %v", id, got, want)
		}
	}
	n := 0
	_ = s.LabelsByActor(ctx, "lazarusgroup", func(Label) bool { n++; return false })
	if n != 1 {
		t.Errorf("LabelsByActor went on after false: %d calls", n)
	}

	// Moving a label to another actor moves it in the actor index.
	ls[3].Actor = "fin7"
	apply(t, s, Dataset{Name: "actors", Labels: ls, Actors: lazarus})
	if got := byActor("bluenoroff"); !slices.Equal(got, []string{"0x03"}) {
		t.Errorf("after move: bluenoroff %v", got)
	}
	if got := byActor("fin7"); !slices.Equal(got, []string{"0x04", "0x05"}) {
		t.Errorf("after move: fin7 %v", got)
	}

	for q, want := range map[string][]string{
		"hidden cobra": {"lazarusgroup"},
		"JADE":         {"tradertraitor"},
		"apt38":        {"apt38"},
		"lazarus":      {"lazarusgroup"},
		"n":            {"bluenoroff", "fin7", "lazarusgroup"},
		"fin7":         {"fin7"},
		"nothing":      nil,
	} {
		as, err := s.SearchActors(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range as {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("SearchActors(%q) = %v, want %v", q, ids, want)
		}
	}
	var ids []string
	if err := s.Actors(ctx, func(a Actor) bool { ids = append(ids, a.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(ids) || len(ids) != len(lazarus) {
		t.Errorf("Actors: %v", ids)
	}

	ix := index(t, s)
	for id, want := range map[string]string{
		"tradertraitor": "lazarusgroup", "bluenoroff": "lazarusgroup", "apt38": "lazarusgroup",
		"lazarusgroup": "lazarusgroup", "fin7": "fin7", "unknown": "unknown",
	} {
		if got := ix.ActorRoot(id); got != want {
			t.Errorf("ActorRoot(%s) = %s, want %s", id, got, want)
		}
	}
	if a, ok := ix.Actor("bluenoroff"); !ok || a.Label != "BlueNoroff" {
		t.Errorf("Actor: %+v %v", a, ok)
	}
	if _, ok := ix.Actor("nobody"); ok {
		t.Error("Actor(nobody) found")
	}
}

func TestActorRootCycle(t *testing.T) {
	ix := NewIndex(nil, []Actor{{ID: "b", Parent: "a"}, {ID: "a", Parent: "c"}, {ID: "c", Parent: "b"}, {ID: "d", Parent: "c"}, {ID: "e", Parent: "e"}})
	for _, id := range []string{"a", "b", "c", "d"} {
		if got := ix.ActorRoot(id); got != "a" {
			t.Errorf("ActorRoot(%s) = %s", id, got)
		}
	}
	if got := ix.ActorRoot("e"); got != "e" {
		t.Errorf("ActorRoot(e) = %s", got)
	}
}

// randomAddr returns an eth-style or btc-style address.
func randomAddr(r *rand.Rand, chain string) string {
	const b32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	b := make([]byte, 0, 42)
	if chain == "eth" {
		b = append(b, "0x"...)
		for range 20 {
			b = fmt.Appendf(b, "%02x", r.IntN(256))
		}
		return string(b)
	}
	b = append(b, "bc1q"...)
	for range 38 {
		b = append(b, b32[r.IntN(len(b32))])
	}
	return string(b)
}

func TestIndexMatchesStore(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	r := rand.New(rand.NewPCG(1, 2))
	type addr struct{ chain, addr string }
	var pool []addr
	for i := range 400 {
		c := []string{"eth", "btc"}[i%2]
		pool = append(pool, addr{c, randomAddr(r, c)})
	}
	sets := map[string][]Label{}
	for _, ds := range []string{"tagpack:a.yaml", "ofac", "csv:x"} {
		for range 300 {
			a := pool[r.IntN(len(pool))]
			l := lbl(ds, a.chain, a.addr, []string{"Exchange", "Scam", "Mixer"}[r.IntN(3)], r.IntN(101))
			if r.IntN(10) == 0 {
				l.Address, l.TxHash = "", a.addr
			}
			sets[ds] = append(sets[ds], l)
		}
		apply(t, s, Dataset{Name: ds, Labels: sets[ds]})
	}
	// Re-import shortened or altered versions to retire and update.
	for ds, ls := range sets {
		ls = ls[:200]
		for i := range ls {
			if r.IntN(5) == 0 {
				ls[i].ConfidenceLevel = r.IntN(101)
			}
		}
		apply(t, s, Dataset{Name: ds, Labels: ls})
	}
	ix := index(t, s)
	var all []Label
	if err := s.All(ctx, func(l Label) bool { all = append(all, l); return true }); err != nil {
		t.Fatal(err)
	}
	ix2 := NewIndex(all, nil)
	active, retired := 0, 0
	for _, l := range all {
		switch {
		case l.Retired != nil:
			retired++
		case l.Address != "":
			active++
		}
	}
	if retired == 0 || ix.Labels() != active || ix2.Labels() != active {
		t.Fatalf("index has %d labels, want %d (%d retired)", ix.Labels(), active, retired)
	}
	addrs := 0
	for _, a := range pool {
		var want []Label
		for _, l := range labelsOf(t, s, a.chain, a.addr) {
			if l.Retired == nil {
				want = append(want, l)
			}
		}
		if want != nil {
			addrs++
		}
		if got := ix.Lookup(a.chain, a.addr); !reflect.DeepEqual(got, want) {
			t.Fatalf("Lookup(%s %s) = %+v, want %+v", a.chain, a.addr, got, want)
		}
		if got := ix2.Lookup(a.chain, a.addr); !reflect.DeepEqual(got, want) {
			t.Fatalf("NewIndex Lookup(%s %s) = %+v, want %+v", a.chain, a.addr, got, want)
		}
		if got := ix.Lookup("ltc", a.addr); got != nil {
			t.Fatalf("Lookup on another chain: %+v", got)
		}
	}
	if ix.Len() != addrs {
		t.Fatalf("Len = %d, want %d", ix.Len(), addrs)
	}
	if got := ix.Lookup("eth", "0xnothing"); got != nil {
		t.Fatalf("miss: %+v", got)
	}
}

func TestIndexLookupIsolated(t *testing.T) {
	ls := []Label{lbl("d", "eth", addrA, "x", 1), lbl("d", "eth", addrA, "y", 2), lbl("d", "eth", addrB, "z", 3)}
	ix := NewIndex(ls, nil)
	got := ix.Lookup("eth", addrA)
	if len(got) != 2 || got[0].Label != "y" {
		t.Fatalf("lookup: %+v", got)
	}
	_ = append(got, Label{Label: "appended"})
	if l := ix.Lookup("eth", addrB); len(l) != 1 || l[0].Label != "z" {
		t.Fatalf("append to a result changed another: %+v", l)
	}
	ls[0].Label = "changed"
	if l := ix.Lookup("eth", addrA); l[1].Label != "x" {
		t.Fatal("index shares the caller's labels")
	}
	if NewIndex(nil, nil).Lookup("eth", addrA) != nil {
		t.Fatal("empty index found a label")
	}
}

func TestCodecRoundTrip(t *testing.T) {
	retired := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	l := Label{
		Chain: "eth", Address: addrA, Label: "L", Category: "exchange", Abuse: "hack", Actor: "lazarusgroup",
		Confidence: "authority_data", ConfidenceLevel: -5, Source: "s", Dataset: "d",
		LastMod: time.Unix(-1e10, 999).UTC(), IsClusterDefiner: true, Context: `{"a":1}`,
		Entity: "E", EntityUID: "123", Programs: []string{"DPRK3", ""}, Retired: &retired,
		FirstImported: t0, LastImported: t0.Add(time.Second),
	}
	v := appendLabel(nil, &l)
	var got Label
	if err := decodeLabel(v, &got, make(interner)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("round trip:\n%+v\n%+v", got, l)
	}
	for i := range v {
		if err := decodeLabel(v[:i], &got, nil); err == nil {
			t.Fatalf("truncated value of %d bytes decoded", i)
		}
	}
}
