package labels

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLiveMatchesStore checks that a Live answers every address as the
// store does, retired labels included, and that it holds no lock: an
// import runs while it exists, and shows only after its next Index.
func TestLiveMatchesStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	apply(t, s, Dataset{Name: "ofac", Labels: []Label{
		lbl("ofac", "eth", addrA, "Lazarus Group", 100),
		lbl("ofac", "eth", addrB, "Lazarus Group", 100),
	}})
	apply(t, s, Dataset{Name: "tags", Labels: []Label{lbl("tags", "eth", addrA, "hacker", 50), lbl("tags", "btc", addrC, "exchange", 60)}})
	// ofac's next version drops B: its label is retired.
	apply(t, s, Dataset{Name: "ofac", Labels: []Label{lbl("ofac", "eth", addrA, "Lazarus Group", 100)}})
	want := map[[2]string][]Label{}
	for _, k := range [][2]string{{"eth", addrA}, {"eth", addrB}, {"btc", addrC}, {"eth", "0x0000000000000000000000000000000000000001"}} {
		want[k] = labelsOf(t, s, k[0], k[1])
	}
	if len(want[[2]string{"eth", addrB}]) != 1 || want[[2]string{"eth", addrB}][0].Retired == nil {
		t.Fatalf("fixture: B's label should be retired: %+v", want[[2]string{"eth", addrB}])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	l, err := OpenLive(ctx, dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		got, err := l.Labels(ctx, k[0], k[1])
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Fatalf("%v: Live has %+v (%v), the store %+v", k, got, err, w)
		}
	}

	// An import while the Live exists.
	s2, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("the store is locked while a Live exists: %v", err)
	}
	if _, err := s2.Apply(ctx, Dataset{Name: "new", Labels: []Label{lbl("new", "eth", addrB, "mixer", 70)}}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Labels(ctx, "eth", addrB); len(got) != 1 {
		t.Fatalf("before Refresh: %d labels on B, want the old snapshot's 1", len(got))
	}
	old := l.Current()
	if changed, err := l.Refresh(ctx); err != nil || !changed {
		t.Fatalf("Refresh after an import: %v, %v", changed, err)
	}
	ix := l.Current()
	if got, _ := l.Labels(ctx, "eth", addrB); len(got) != 2 || len(ix.Lookup("eth", addrB)) != 1 || ix == old {
		t.Fatalf("after Refresh: %+v", got)
	}
	// Nothing changed since: no new snapshot, even though opening the
	// store rewrote some of its files.
	if changed, err := l.Refresh(ctx); err != nil || changed || l.Current() != ix {
		t.Fatalf("Refresh without a change: %v, %v", changed, err)
	}
	// Index always takes a fresh one.
	if ix2, err := l.Index(ctx); err != nil || ix2 == ix || l.Current() != ix2 {
		t.Fatalf("Index: %v", err)
	}
}

// TestLiveWaitsForImport checks that a snapshot waits while another
// holder has the store, gives up after its wait with an error that says
// why, and keeps the previous snapshot then.
func TestLiveWaitsForImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	apply(t, s, Dataset{Name: "ofac", Labels: []Label{lbl("ofac", "eth", addrA, "Lazarus Group", 100)}})
	if _, err := OpenLive(ctx, dir, 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "held by another process") {
		t.Fatalf("OpenLive on a held store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLive(ctx, dir, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	held, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(200 * time.Millisecond)
		held.Close()
		close(released)
	}()
	if _, err := l.Index(ctx); err != nil {
		t.Fatalf("Index while an import finishes: %v", err)
	}
	<-released

	short, err := OpenLive(ctx, dir, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	held, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	before := short.Current()
	if _, err := short.Index(ctx); err == nil {
		t.Fatal("Index succeeded while the store was held past the wait")
	}
	if short.Current() != before {
		t.Fatal("a failed Index replaced the snapshot")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Labels(cctx, "eth", addrA); err == nil {
		t.Fatal("Labels with a cancelled context")
	}
}
