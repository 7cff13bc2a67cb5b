package labels

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// openTest opens a store in a temporary directory whose clock advances one
// hour per Apply.
func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tick := 0
	s.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick++
		return t0.Add(time.Duration(tick) * time.Hour)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// digest hashes every key and value of the store.
func digest(t testing.TB, s *Store) [32]byte {
	t.Helper()
	r := s.reader()
	defer r.close()
	h := sha256.New()
	err := r.scan(context.Background(), nil, func(k, v []byte) (bool, error) {
		var n [8]byte
		binary.BigEndian.PutUint32(n[:4], uint32(len(k)))
		binary.BigEndian.PutUint32(n[4:], uint32(len(v)))
		h.Write(n[:])
		h.Write(k)
		h.Write(v)
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func lbl(dataset, chain, addr, text string, conf int) Label {
	return Label{
		Chain: chain, Address: addr, Label: text, Dataset: dataset,
		Confidence: "forensic", ConfidenceLevel: conf, Source: "https://example.org/" + dataset,
	}
}

func apply(t testing.TB, s *Store, d Dataset) Counts {
	t.Helper()
	c, err := s.Apply(context.Background(), d)
	if err != nil {
		t.Fatalf("apply %s: %v", d.Name, err)
	}
	return c
}

func labelsOf(t testing.TB, s *Store, chain, addr string) []Label {
	t.Helper()
	ls, err := s.Labels(context.Background(), chain, addr)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func index(t testing.TB, s *Store) *Index {
	t.Helper()
	ix, err := s.Index(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

const (
	addrA = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
	addrB = "0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b"
	addrC = "bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6"
	txH   = "64d1d8a4c2c2f9b2a0e1f8e8f0f2b5a6c7d8e9f00112233445566778899aabbc"
)

func TestApplyLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	base := []Label{
		lbl("ofac", "eth", addrA, "Lazarus Group", 100),
		lbl("ofac", "eth", addrB, "Lazarus Group", 100),
		lbl("ofac", "btc", addrC, "Lazarus Group", 100),
		{Chain: "eth", TxHash: txH, Label: "Ronin hack", Dataset: "ofac", ConfidenceLevel: 50},
	}
	base[0].Programs = []string{"DPRK3", "CYBER2"}
	base[0].LastMod = time.Date(2022, 4, 14, 0, 0, 0, 0, time.FixedZone("x", 3600))
	d := Dataset{Name: "ofac", Format: "ofac-sdn-xml", Path: "/tmp/sdn.xml", Labels: base}

	if c := apply(t, s, d); c != (Counts{Added: 4}) {
		t.Fatalf("first apply: %+v", c)
	}
	first := labelsOf(t, s, "eth", addrA)
	if len(first) != 1 || !first[0].FirstImported.Equal(t0.Add(time.Hour)) || !first[0].LastImported.Equal(first[0].FirstImported) {
		t.Fatalf("labels after add: %+v", first)
	}
	if !first[0].LastMod.Equal(base[0].LastMod) || !reflect.DeepEqual(first[0].Programs, base[0].Programs) {
		t.Fatalf("fields lost: %+v", first[0])
	}

	// An identical re-import changes nothing, not even the import record.
	before := digest(t, s)
	if c := apply(t, s, d); c != (Counts{Unchanged: 4}) {
		t.Fatalf("re-apply: %+v", c)
	}
	if digest(t, s) != before {
		t.Fatal("identical re-import changed the store")
	}

	// A changed field is an update that keeps FirstImported.
	changed := append([]Label(nil), base...)
	changed[1].Category = "sanction"
	d.Labels = changed
	if c := apply(t, s, d); c != (Counts{Updated: 1, Unchanged: 3}) {
		t.Fatalf("update: %+v", c)
	}
	got := labelsOf(t, s, "eth", addrB)
	if len(got) != 1 || got[0].Category != "sanction" || !got[0].FirstImported.Equal(t0.Add(time.Hour)) ||
		!got[0].LastImported.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("updated label: %+v", got)
	}

	// A dropped label is retired, kept in the store and out of the index.
	d.Labels = changed[1:]
	if c := apply(t, s, d); c != (Counts{Retired: 1, Unchanged: 3}) {
		t.Fatalf("retire: %+v", c)
	}
	got = labelsOf(t, s, "eth", addrA)
	if len(got) != 1 || got[0].Retired == nil || !got[0].Retired.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("retired label: %+v", got)
	}
	ix := index(t, s)
	if l := ix.Lookup("eth", addrA); l != nil {
		t.Fatalf("index returns a retired label: %+v", l)
	}
	if ix.Len() != 2 || ix.Labels() != 2 {
		t.Fatalf("index has %d addresses, %d labels", ix.Len(), ix.Labels())
	}
	// Applying the same shorter dataset again leaves it retired, unchanged.
	before = digest(t, s)
	if c := apply(t, s, d); c != (Counts{Unchanged: 3}) {
		t.Fatalf("re-apply after retire: %+v", c)
	}
	if digest(t, s) != before {
		t.Fatal("re-import after retire changed the store")
	}

	// A retired label that reappears is un-retired as an update.
	d.Labels = changed
	if c := apply(t, s, d); c != (Counts{Updated: 1, Unchanged: 3}) {
		t.Fatalf("un-retire: %+v", c)
	}
	got = labelsOf(t, s, "eth", addrA)
	if len(got) != 1 || got[0].Retired != nil || !got[0].FirstImported.Equal(t0.Add(time.Hour)) {
		t.Fatalf("un-retired label: %+v", got)
	}
	if l := index(t, s).Lookup("eth", addrA); len(l) != 1 {
		t.Fatalf("index after un-retire: %+v", l)
	}

	infos, err := s.Datasets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := DatasetInfo{
		Name: "ofac", Format: "ofac-sdn-xml", Path: "/tmp/sdn.xml", Imported: t0.Add(6 * time.Hour),
		Counts: Counts{Updated: 1, Unchanged: 3}, Active: 4,
	}
	if len(infos) != 1 || !reflect.DeepEqual(infos[0], want) {
		t.Fatalf("datasets: %+v, want %+v", infos, want)
	}
}

func TestTwoDatasetsOneAddress(t *testing.T) {
	s := openTest(t, "")
	apply(t, s, Dataset{Name: "a", Labels: []Label{lbl("a", "eth", addrA, "Binance 14", 60)}})
	apply(t, s, Dataset{Name: "b", Labels: []Label{
		lbl("b", "eth", addrA, "Binance", 90),
		lbl("b", "eth", addrB, "Binance", 90),
	}})
	got := labelsOf(t, s, "eth", addrA)
	if len(got) != 2 || got[0].Dataset != "b" || got[1].Dataset != "a" {
		t.Fatalf("labels: %+v", got)
	}
	// Retiring b's label on the address leaves a's.
	if c := apply(t, s, Dataset{Name: "b", Labels: []Label{lbl("b", "eth", addrB, "Binance", 90)}}); c.Retired != 1 {
		t.Fatalf("counts: %+v", c)
	}
	got = labelsOf(t, s, "eth", addrA)
	if len(got) != 2 || got[0].Retired == nil || got[1].Retired != nil {
		t.Fatalf("labels after retire: %+v", got)
	}
	l := index(t, s).Lookup("eth", addrA)
	if len(l) != 1 || l[0].Dataset != "a" {
		t.Fatalf("lookup: %+v", l)
	}
}

func TestApplyRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	apply(t, s, Dataset{Name: "keep", Labels: []Label{lbl("keep", "eth", addrA, "x", 1)}})
	before := digest(t, s)

	big := make([]Label, 1000)
	for i := range big {
		big[i] = lbl("big", "eth", fmt.Sprintf("0x%040x", i), "Scam", 10)
	}
	cases := map[string]func(*Label){
		"no chain":    func(l *Label) { l.Chain = "" },
		"no label":    func(l *Label) { l.Label = "" },
		"no dataset":  func(l *Label) { l.Dataset = "" },
		"wrong set":   func(l *Label) { l.Dataset = "other" },
		"no target":   func(l *Label) { l.Address = "" },
		"two targets": func(l *Label) { l.TxHash = txH },
	}
	for name, spoil := range cases {
		ls := append([]Label(nil), big...)
		spoil(&ls[999])
		_, err := s.Apply(ctx, Dataset{Name: "big", Labels: ls, Actors: []Actor{{ID: "x"}}})
		if err == nil || !strings.Contains(err.Error(), "label #1000") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := s.Apply(ctx, Dataset{Labels: big}); err == nil {
		t.Error("dataset without a name accepted")
	}
	if _, err := s.Apply(ctx, Dataset{Name: "big", Labels: big, Actors: []Actor{{Label: "nameless"}}}); err == nil {
		t.Error("actor without an id accepted")
	}
	if digest(t, s) != before {
		t.Fatal("a rejected dataset changed the store")
	}
	if l := labelsOf(t, s, "eth", fmt.Sprintf("0x%040x", 0)); l != nil {
		t.Fatalf("labels of a rejected dataset: %+v", l)
	}
}

func TestApplyEmpty(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	// An empty dataset that never had labels is fine, also twice.
	for range 2 {
		if _, err := s.Apply(ctx, Dataset{Name: "empty", Rejected: []Rejected{{File: "f", Line: 3, Reason: "bad address"}}}); err != nil {
			t.Fatal(err)
		}
	}
	apply(t, s, Dataset{Name: "full", Labels: []Label{lbl("full", "eth", addrA, "x", 1)}})
	before := digest(t, s)
	if _, err := s.Apply(ctx, Dataset{Name: "full"}); err == nil {
		t.Fatal("empty re-import of a dataset with labels accepted")
	}
	if digest(t, s) != before {
		t.Fatal("refused empty dataset changed the store")
	}
	infos, err := s.Datasets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Name != "empty" || infos[0].Counts.Rejected != 1 || len(infos[0].Rejected) != 1 ||
		infos[1].Name != "full" || infos[1].Active != 1 {
		t.Fatalf("datasets: %+v", infos)
	}
}

func TestApplyDuplicateRows(t *testing.T) {
	s := openTest(t, "")
	a := lbl("d", "eth", addrA, "x", 10)
	b := a
	b.Category = "exchange"
	if c := apply(t, s, Dataset{Name: "d", Labels: []Label{a, b}}); c != (Counts{Added: 1}) {
		t.Fatalf("counts: %+v", c)
	}
	if got := labelsOf(t, s, "eth", addrA); len(got) != 1 || got[0].Category != "exchange" {
		t.Fatalf("later row did not win: %+v", got)
	}
}

func TestKeyEscaping(t *testing.T) {
	s := openTest(t, "")
	ls := []Label{
		lbl("d", "eth", "abc", "one", 1),
		lbl("d", "eth", "abcd", "two", 1),
		lbl("d", "eth", "ab\x00c", "three\x00\xff", 1),
		lbl("d", "eth", "ab", "four", 1),
		lbl("d", "et", "habc", "five", 1),
		{Chain: "eth", TxHash: "abc", Label: "six", Dataset: "d"},
	}
	apply(t, s, Dataset{Name: "d", Labels: ls})
	for _, l := range ls[:5] {
		got := labelsOf(t, s, l.Chain, l.Address)
		if len(got) != 1 || got[0].Label != l.Label {
			t.Errorf("%q %q: %+v", l.Chain, l.Address, got)
		}
	}
	// The data set "d" and a data set "d\x00" must not overlap either.
	apply(t, s, Dataset{Name: "d\x00", Labels: []Label{lbl("d\x00", "eth", "abc", "seven", 1)}})
	if c := apply(t, s, Dataset{Name: "d", Labels: ls}); c != (Counts{Unchanged: 6}) {
		t.Fatalf("counts: %+v", c)
	}
	if got := labelsOf(t, s, "eth", "abc"); len(got) != 2 {
		t.Fatalf("labels: %+v", got)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	apply(t, s, Dataset{Name: "d", Labels: []Label{lbl("d", "eth", addrA, "x", 1), lbl("d", "eth", addrB, "y", 1)},
		Actors: []Actor{{ID: "lazarusgroup", Label: "Lazarus Group"}}})
	apply(t, s, Dataset{Name: "d", Labels: []Label{lbl("d", "eth", addrA, "x", 1)}})
	want := labelsOf(t, s, "eth", addrB)
	sum := digest(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	s = openTest(t, dir)
	if digest(t, s) != sum {
		t.Fatal("content changed across reopen")
	}
	if got := labelsOf(t, s, "eth", addrB); !reflect.DeepEqual(got, want) || got[0].Retired == nil {
		t.Fatalf("after reopen: %+v, want %+v", got, want)
	}
	if a, ok, err := s.Actor(ctx, "lazarusgroup"); err != nil || !ok || a.Label != "Lazarus Group" || a.Dataset != "d" {
		t.Fatalf("actor after reopen: %+v %v %v", a, ok, err)
	}
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	ls := []Label{
		lbl("d", "eth", addrA, "Tornado Cash: Router", 1),
		lbl("d", "eth", addrB, "Binance 7", 1),
		lbl("d", "btc", addrC, "SDN", 1),
	}
	ls[2].Entity = "CHATEX"
	apply(t, s, Dataset{Name: "d", Labels: ls})
	for q, want := range map[string]int{"tornado": 1, "CASH": 1, "chatex": 1, "n": 3, "nothing": 0, "": 3} {
		got, err := s.Search(ctx, q, 0)
		if err != nil || len(got) != want {
			t.Errorf("search %q: %d results, want %d (%v)", q, len(got), want, err)
		}
	}
	if got, _ := s.Search(ctx, "n", 2); len(got) != 2 {
		t.Errorf("limit ignored: %d", len(got))
	}
	if !containsFold("Straße Ärger", "ärger") || containsFold("abc", "abcd") {
		t.Error("containsFold")
	}
}

// TestConcurrentReads runs readers against a store being written; run
// with -race.
func TestConcurrentReads(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ls, err := s.Labels(ctx, "eth", addrA)
				if err != nil {
					t.Error(err)
					return
				}
				for _, l := range ls {
					if l.Address != addrA {
						t.Errorf("wrong label %+v", l)
					}
				}
				if _, err := s.Index(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 20 {
		var ls []Label
		for j := range 50 {
			ls = append(ls, lbl("d", "eth", fmt.Sprintf("0x%040x", (i+j)%60), "x", 1))
		}
		ls = append(ls, lbl("d", "eth", addrA, fmt.Sprint("label ", i%3), i))
		apply(t, s, Dataset{Name: "d", Labels: ls})
	}
	close(stop)
	wg.Wait()
}
