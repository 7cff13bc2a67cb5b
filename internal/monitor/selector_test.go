package monitor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/labels/importers"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
)

// The addresses of testdata/selector_tagpack.yaml.
const (
	lazarus1 = "12ZEw5Hcv1hTb6YUQJ69y1V7uhcoDz92PH"
	lazarus2 = "12eYp28My8ZbyaASbuDHKMz4uPY5bBbqBu"
	apt38    = "12jrgxy72FRkN3nQoWLQfiV1u5TMxetsjq"
	exch1    = "12qAZuor5NHtkXQP17TY24yxtmNeHHipyC"
	exch2    = "36B7xsfpBhgU5W5uvmgocwpPtFJYR6yG9T"
	newAddr  = "131nKoVLBc2BXUeKQKhnimyrt9DD2XFAnj"
)

// importFile imports a label file into st with the detected importer.
func importFile(t *testing.T, st *labels.Store, path string) {
	t.Helper()
	imp, err := importers.Detect(path)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := imp.Import(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range sets {
		if len(d.Rejected) > 0 {
			t.Fatalf("%s: rejected %+v", path, d.Rejected)
		}
		if _, err := st.Apply(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
}

// testLabels opens a label store holding the test TagPack (copied to
// dir, so that a test can import a changed version under the same
// dataset name) and the test actors.
func testLabels(t *testing.T) (*labels.Store, string) {
	t.Helper()
	st, err := labels.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pack := filepath.Join(t.TempDir(), "selector_tagpack.yaml")
	b, err := os.ReadFile("testdata/selector_tagpack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, b, 0o644); err != nil {
		t.Fatal(err)
	}
	importFile(t, st, "testdata/selector_actors.yaml")
	importFile(t, st, pack)
	return st, pack
}

func TestResolveActorAndCategory(t *testing.T) {
	st, _ := testLabels(t)
	ctx := t.Context()
	src := monitor.Sources{Labels: monitor.StoreLabels{Store: st}}
	for _, name := range []string{"lazarusgroup", "LazarusGroup", "Lazarus Group", "hidden cobra", "lazarus"} {
		res, err := monitor.Resolve(ctx, src, monitor.Selector{Actor: name}, "")
		if err != nil {
			t.Fatalf("actor %q: %v", name, err)
		}
		if res.Selector.Actor != "lazarusgroup" {
			t.Fatalf("actor %q resolved to %q", name, res.Selector.Actor)
		}
		if got, want := res.Addresses["btc"], []string{lazarus1, lazarus2, apt38}; !sameSet(got, want) {
			t.Fatalf("actor %q: btc %v, want %v (the sub-group's too)", name, got, want)
		}
		if len(res.Addresses["trx"]) != 1 {
			t.Fatalf("actor %q: trx %v", name, res.Addresses["trx"])
		}
		if !slices.Contains(res.Actors, "apt38") || !slices.Contains(res.Actors, "andariel") {
			t.Fatalf("actor %q covered %v", name, res.Actors)
		}
	}
	// A sub-group alone does not take its parent's addresses.
	res, err := monitor.Resolve(ctx, src, monitor.Selector{Actor: "apt38"}, "btc")
	if err != nil || !sameSet(res.Addresses["btc"], []string{apt38}) {
		t.Fatalf("apt38: %v %v", res.Addresses, err)
	}
	// "sanctioned" is the taxonomy's abuse "sanction".
	res, err = monitor.Resolve(ctx, src, monitor.Selector{Category: "Sanctioned"}, "")
	if err != nil || res.Selector.Category != "sanction" || !sameSet(res.Addresses["btc"], []string{lazarus1, lazarus2}) {
		t.Fatalf("sanctioned: %+v %v", res, err)
	}
	res, err = monitor.Resolve(ctx, src, monitor.Selector{Category: "exchange"}, "btc")
	if err != nil || !sameSet(res.Addresses["btc"], []string{exch1, exch2}) {
		t.Fatalf("exchange: %+v %v", res, err)
	}

	// One watch per watchable chain; the TRON address is reported.
	ws, skipped, err := monitor.SelectorWatches(ctx, src, monitor.Selector{Actor: "lazarus"}, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Chain != "btc" || len(ws[0].Addresses) != 3 || ws[0].Selector == nil ||
		ws[0].Selector.Actor != "lazarusgroup" || ws[0].Source != "actor:lazarusgroup" {
		t.Fatalf("watches %+v", ws)
	}
	if len(skipped) != 1 || skipped[0].Chain != "trx" || skipped[0].Addresses != 1 {
		t.Fatalf("skipped %+v", skipped)
	}
	if _, _, err := monitor.SelectorWatches(ctx, src, monitor.Selector{Actor: "lazarus"}, "trx", "", nil); err == nil || !strings.Contains(err.Error(), "cannot watch") {
		t.Fatalf("a selector on an unwatchable chain: %v", err)
	}
}

func TestResolveInvalid(t *testing.T) {
	st, _ := testLabels(t)
	src := monitor.Sources{Labels: monitor.StoreLabels{Store: st}}
	for _, c := range []struct {
		sel   monitor.Selector
		chain string
		want  string
	}{
		{monitor.Selector{Actor: "nosuchgroup"}, "", `actor "nosuchgroup"`},
		{monitor.Selector{Actor: "a"}, "", `actor "a": ambiguous`},
		{monitor.Selector{Category: "  "}, "", "exactly one"},
		{monitor.Selector{}, "", "exactly one"},
		{monitor.Selector{Actor: "x", Category: "exchange"}, "", "exactly one"},
		{monitor.Selector{Category: "ransomware"}, "", `category "ransomware"`},
		{monitor.Selector{Cluster: exch1}, "", "needs the chain"},
		{monitor.Selector{Cluster: exch1}, "btc", "no clustering of btc"},
	} {
		_, err := monitor.Resolve(t.Context(), src, c.sel, c.chain)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v on %q: %v, want an error with %q", c.sel, c.chain, err, c.want)
		}
	}
	if _, err := monitor.Resolve(t.Context(), monitor.Sources{}, monitor.Selector{Actor: "lazarus"}, ""); err == nil || !strings.Contains(err.Error(), "labels import") {
		t.Errorf("no label database: %v", err)
	}
}

// TestRefreshLabels re-imports a changed TagPack: refresh adds the new
// address of the actor and removes the delisted one, and a category that
// lost all its labels leaves an empty watch.
func TestRefreshLabels(t *testing.T) {
	st, pack := testLabels(t)
	ctx := t.Context()
	data := t.TempDir()
	src := monitor.Sources{Labels: monitor.StoreLabels{Store: st}}
	var all []monitor.Watch
	for _, sel := range []monitor.Selector{{Actor: "lazarus"}, {Category: "mixing_service"}} {
		ws, _, err := monitor.SelectorWatches(ctx, src, sel, "", "", []monitor.Rule{{Kind: monitor.RuleAny}})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ws...)
	}
	manual := monitor.Watch{Chain: "btc", Addresses: []string{exch1}}
	all = append(all, manual)
	if _, err := monitor.AddWatches(ctx, data, all); err != nil {
		t.Fatal(err)
	}
	// Nothing changed yet.
	chs, err := monitor.RefreshWatches(ctx, data, src, monitor.RefreshOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 2 || len(chs[0].Added)+len(chs[0].Removed)+len(chs[1].Added)+len(chs[1].Removed) != 0 {
		t.Fatalf("changes without an import: %+v", chs)
	}
	// The new version delists lazarus2 and the mixer and adds newAddr.
	b, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), lazarus2, newAddr, 1)
	s = s[:strings.Index(s, "- address: 12vUSreb8VA3912MCiafNRUutTHvf7g7A6")]
	if err := os.WriteFile(pack, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	importFile(t, st, pack)
	chs, err = monitor.RefreshWatches(ctx, data, src, monitor.RefreshOptions{LabelsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 2 {
		t.Fatalf("changes %+v", chs)
	}
	if c := chs[0]; c.Watch != "w1" || !slices.Equal(c.Added, []string{newAddr}) || !slices.Equal(c.Removed, []string{lazarus2}) || c.Total != 3 || c.Err != "" {
		t.Fatalf("actor watch change %+v", c)
	}
	if c := chs[1]; c.Watch != "w2" || len(c.Removed) != 1 || c.Total != 0 || c.Err != "" {
		t.Fatalf("category watch change %+v", c)
	}
	ws, err := monitor.Watches(data)
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(ws[0].Addresses, []string{lazarus1, newAddr, apt38}) || len(ws[1].Addresses) != 0 || !slices.Equal(ws[2].Addresses, []string{exch1}) {
		t.Fatalf("watches after refresh %+v", ws)
	}
}

// TestClusterSelector resolves the cluster of an address on a generated
// chain's store, checks it against the clustering, refreshes the watch
// after more blocks joined addresses to the cluster, and refuses an
// address the store has not seen.
func TestClusterSelector(t *testing.T) {
	ctx := t.Context()
	net := &chaincfg.RegressionNetParams
	blocks := t.TempDir()
	if _, err := btcgen.Generate(ctx, blocks, btcgen.Config{Seed: 5, Net: net, Blocks: 160, TxPerBlock: 40, Users: 60}, nil); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ingestTo := func(h uint64) *cluster.Index {
		t.Helper()
		src, err := blkfile.Open(ctx, blocks, wire.BitcoinNet(net.Net))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if _, err := ingest.NewBTC(db, src, ingest.Options{MaxHeight: h}).Run(ctx); err != nil {
			t.Fatal(err)
		}
		ix, err := cluster.Build(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		return ix
	}
	// The watch is made from the clustering at height 120 and refreshed
	// with the one at the tip; address ids do not change as the store
	// grows, so both resolve against the same store.
	early := ingestTo(120)
	ix := ingestTo(0)
	sources := func(ix *cluster.Index) monitor.Sources {
		return monitor.Sources{Clusters: func(_ context.Context, chain string) (monitor.ClusterSource, error) {
			return monitor.StoreClusters{Chain: chain, DB: db, Members: ix.Members}, nil
		}}
	}
	// seedID is an address whose cluster had several members at 120 and
	// gained more by the tip.
	var seedID uint64
	for id := uint64(1); id <= uint64(early.Addresses()); id++ {
		if early.Size(id) >= 2 && ix.Size(id) > early.Size(id) {
			seedID = id
			break
		}
	}
	if seedID == 0 {
		t.Fatal("no cluster grew between height 120 and the tip")
	}
	addrOf := func(id uint64) string {
		kb, err := db.AddrKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		k, err := btc.AddrKeyFromBytes(kb)
		if err != nil {
			t.Fatal(err)
		}
		return k.Encode(net)
	}
	seed := addrOf(seedID)
	size := early.Size(seedID)
	res, err := monitor.Resolve(ctx, sources(early), monitor.Selector{Cluster: seed}, "btc-regtest")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, id := range early.Members(seedID) {
		want = append(want, addrOf(id))
	}
	if got := res.Addresses["btc-regtest"]; len(got) != size || !sameSet(got, want) {
		t.Fatalf("cluster of %s: %d addresses, want %d", seed, len(got), size)
	}
	data := t.TempDir()
	ws, _, err := monitor.SelectorWatches(ctx, sources(early), monitor.Selector{Cluster: seed}, "btc-regtest", "cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := monitor.AddWatches(ctx, data, ws); err != nil {
		t.Fatal(err)
	}
	grown := ix.Size(seedID)
	chs, err := monitor.RefreshWatches(ctx, data, sources(ix), monitor.RefreshOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 1 || len(chs[0].Added) != grown-size || len(chs[0].Removed) != 0 || chs[0].Total != grown {
		t.Fatalf("refresh after clustering grew %d -> %d: %+v", size, grown, chs)
	}
	// Label-only refreshes leave cluster watches alone.
	if chs, err := monitor.RefreshWatches(ctx, data, sources(ix), monitor.RefreshOptions{LabelsOnly: true}); err != nil || len(chs) != 0 {
		t.Fatalf("labels-only refresh: %+v %v", chs, err)
	}

	unseen, err := btc.NewAddrKey(btc.AddrWPKH, 0, make([]byte, 20))
	if err != nil {
		t.Fatal(err)
	}
	_, err = monitor.Resolve(ctx, sources(ix), monitor.Selector{Cluster: unseen.Encode(net)}, "btc-regtest")
	if !errors.Is(err, monitor.ErrNotInStore) || !strings.Contains(err.Error(), unseen.Encode(net)) {
		t.Fatalf("unseen address: %v", err)
	}
	_, err = monitor.Resolve(ctx, sources(ix), monitor.Selector{Cluster: "bc1qnotanaddress"}, "btc-regtest")
	if !errors.Is(err, monitor.ErrInvalid) || !strings.Contains(err.Error(), "bc1qnotanaddress") {
		t.Fatalf("invalid address: %v", err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
