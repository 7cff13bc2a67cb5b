package graphidx_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace/graphidx"
	"github.com/chaintrace/chaintrace/internal/trace/tracebench"
)

// TestIndexMatchesStore builds an index of a generated chain and checks
// every read the trace engine makes against the store: every transaction
// record (but Size and VSize), every output's spender, every address's
// key, id and events, every txid and block; then the same after a round
// trip through a file.
func TestIndexMatchesStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a chain")
	}
	ctx := context.Background()
	chain, err := tracebench.OpenChain(ctx, t.TempDir(), tracebench.DefaultChain(20_000), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	x, err := graphidx.Build(ctx, chain.DB)
	if err != nil {
		t.Fatal(err)
	}
	st := x.Stats()
	t.Logf("index: %d txs, %d inputs, %d outputs, %d addresses, %d bytes", st.Txs, st.Inputs, st.Outputs, st.Addrs, st.Bytes)
	if st.Txs < 20_000 || st.Outputs < st.Txs || st.Addrs < 100 {
		t.Fatalf("index too small: %+v", st)
	}
	same(t, chain.DB, x)
	path := filepath.Join(t.TempDir(), "graph.idx")
	if err := x.Save(path); err != nil {
		t.Fatal(err)
	}
	y, err := graphidx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if y.Stats() != st {
		t.Fatalf("loaded stats %+v, saved %+v", y.Stats(), st)
	}
	same(t, chain.DB, y)

	// A damaged file is an error, never a panic.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.idx")
	for _, cut := range []int{0, 10, 100, len(raw) / 2, len(raw) - 1} {
		if err := os.WriteFile(bad, raw[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := graphidx.Load(bad); err == nil {
			t.Errorf("a file cut at %d of %d bytes loaded", cut, len(raw))
		}
	}
	flip := append([]byte(nil), raw...)
	for i := len(flip) - 4096; i < len(flip); i += 7 {
		flip[i] = 0xff
	}
	if err := os.WriteFile(bad, flip, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := graphidx.Load(bad); err == nil {
		t.Errorf("a file with its last columns overwritten loaded")
	}
}

// same compares every read of x with db's.
func same(t *testing.T, db *store.DB, x *graphidx.Index) {
	t.Helper()
	ctx := context.Background()
	if x.Meta() != db.Meta() {
		t.Fatalf("meta %+v, store %+v", x.Meta(), db.Meta())
	}
	for _, stage := range []string{"blocks", "txs", "addrindex"} {
		a, aok, aerr := x.Progress(ctx, stage)
		b, bok, berr := db.Progress(ctx, stage)
		if a != b || aok != bok || aerr != nil || berr != nil {
			t.Fatalf("progress of %s: index %v %v %v, store %v %v %v", stage, a, aok, aerr, b, bok, berr)
		}
	}
	tip, _, _ := db.Progress(ctx, "blocks")
	for h := uint64(0); h <= tip.Height; h++ {
		a, aerr := x.BlockByHeight(ctx, h)
		b, berr := db.BlockByHeight(ctx, h)
		if a != b || aerr != nil || berr != nil {
			t.Fatalf("block %d: index %+v %v, store %+v %v", h, a, aerr, b, berr)
		}
	}
	var a, b store.TxRec
	addrs := map[uint64]bool{}
	for n := range x.Txs() {
		if err := x.Tx(ctx, n, &a); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, n, &b); err != nil {
			t.Fatal(err)
		}
		b.Size, b.VSize = 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("tx #%d:\nindex %+v\nstore %+v", n, a, b)
		}
		if got, err := x.TxNum(ctx, a.TxID); err != nil || got != n {
			t.Fatalf("txnum of %s: %d %v, want %d", a.TxID, got, err, n)
		}
		for j, o := range a.Outs {
			sa, oka, erra := x.Spender(ctx, n, uint32(j))
			sb, okb, errb := db.Spender(ctx, n, uint32(j))
			if sa != sb || oka != okb || erra != nil || errb != nil {
				t.Fatalf("spender of #%d:%d: index %v %v %v, store %v %v %v", n, j, sa, oka, erra, sb, okb, errb)
			}
			for _, id := range o.AddrIDs {
				addrs[id] = true
			}
		}
	}
	if err := x.Tx(ctx, x.Txs(), &a); err == nil {
		t.Fatal("a transaction past the last one was found")
	}
	k := 0
	for id := range addrs {
		ka, erra := x.AddrKey(ctx, id)
		kb, errb := db.AddrKey(ctx, id)
		if string(ka) != string(kb) || erra != nil || errb != nil {
			t.Fatalf("key of address #%d: index %x %v, store %x %v", id, ka, erra, kb, errb)
		}
		if got, err := x.AddrID(ctx, ka); err != nil || got != id {
			t.Fatalf("id of address %x: %d %v, want %d", ka, got, err, id)
		}
		if k++; k > 3000 {
			continue // events of a sample
		}
		from := uint64(k*7) % x.Txs()
		var ea, eb []store.Event
		if err := x.Events(ctx, id, from, func(e store.Event) bool { ea = append(ea, e); return true }); err != nil {
			t.Fatal(err)
		}
		if err := db.Events(ctx, id, from, func(e store.Event) bool { eb = append(eb, e); return true }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("events of address #%d from #%d:\nindex %+v\nstore %+v", id, from, ea, eb)
		}
	}
}
