package cluster_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

// btcdDir returns the btcd module directory, whose testdata holds real
// mainnet blocks, or skips the test.
func btcdDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("btcd module not available (go list: %v)", err)
	}
	return dir
}

// ingestMainnet ingests btcd's mainnet blocks 0-14131 into a new store.
func ingestMainnet(t testing.TB, maxHeight uint64) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(btcdDir(t), "blockchain", "testdata", "blk_0_to_14131.dat")
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src, err := blkfile.Open(ctx, path, wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := ingest.NewBTC(db, src, ingest.Options{MaxHeight: maxHeight}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// oracleClusters decodes a Core block file with btcd's wire package,
// resolves every input's previous output from earlier transactions in the
// file, takes the first address txscript extracts from its script (P2PK
// as the P2PKH address of its key, as chaintrace indexes it), and joins
// the input addresses of every transaction with a plain map-based
// union-find. It returns each address's cluster, as a sorted member list
// shared by all members.
func oracleClusters(t *testing.T, path string, params *chaincfg.Params) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parent := map[string]string{}
	var find func(string) string
	find = func(a string) string {
		p, ok := parent[a]
		if !ok {
			parent[a] = a
			return a
		}
		if p == a {
			return a
		}
		r := find(p)
		parent[a] = r
		return r
	}
	prevAddr := map[wire.OutPoint]string{}
	r := bytes.NewReader(data)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil || binary.LittleEndian.Uint32(hdr[:4]) == 0 {
			break
		}
		raw := make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(r, raw); err != nil {
			t.Fatal(err)
		}
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		for ti, tx := range mb.Transactions {
			if ti > 0 {
				var first string
				for _, in := range tx.TxIn {
					a, ok := prevAddr[in.PreviousOutPoint]
					if !ok {
						continue
					}
					if first == "" {
						first = find(a)
						continue
					}
					if ra := find(a); ra != first {
						parent[ra] = first
					}
				}
			}
			h := tx.TxHash()
			for i, o := range tx.TxOut {
				_, as, _, _ := txscript.ExtractPkScriptAddrs(o.PkScript, params)
				if len(as) == 0 {
					continue
				}
				a := as[0]
				if pk, ok := a.(*btcutil.AddressPubKey); ok {
					a = pk.AddressPubKeyHash()
				}
				name := a.EncodeAddress()
				find(name)
				prevAddr[wire.OutPoint{Hash: h, Index: uint32(i)}] = name
			}
		}
	}
	groups := map[string][]string{}
	for a := range parent {
		r := find(a)
		groups[r] = append(groups[r], a)
	}
	out := map[string][]string{}
	for _, g := range groups {
		slices.Sort(g)
		for _, a := range g {
			out[a] = g
		}
	}
	return out
}

// TestMainnetClustersMatchOracle ingests the real mainnet blocks 0-14131
// with the clusters stage, builds the index from the link log, and checks
// every address's cluster against an independent union-find over btcd's
// own decoding of the same file: the member sets must be equal.
func TestMainnetClustersMatchOracle(t *testing.T) {
	db, path := ingestMainnet(t, 0)
	ctx := context.Background()
	ix, err := cluster.Build(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	if len(st.CoinJoins) != 0 {
		t.Fatalf("CoinJoins detected in 2009-2010 blocks: %v", st.CoinJoins)
	}
	want := oracleClusters(t, path, &chaincfg.MainNetParams)
	if ix.Addresses() != len(want) {
		t.Fatalf("index covers %d addresses, the oracle %d", ix.Addresses(), len(want))
	}
	net := &chaincfg.MainNetParams
	ids := map[string]uint64{}
	for a := range want {
		k, err := btc.ParseAddress(a, net)
		if err != nil {
			t.Fatal(err)
		}
		id, err := db.AddrID(ctx, k.Bytes())
		if err != nil {
			t.Fatalf("address %s: %v", a, err)
		}
		ids[a] = id
	}
	multi := 0
	for a, members := range want {
		id := ids[a]
		if got := ix.Size(id); got != len(members) {
			t.Fatalf("cluster of %s has %d members, the oracle says %d", a, got, len(members))
		}
		c := ix.ClusterOf(id)
		minID := id
		for _, m := range members {
			if ix.ClusterOf(ids[m]) != c {
				t.Fatalf("%s and %s are one cluster for the oracle, not for the index", a, m)
			}
			minID = min(minID, ids[m])
		}
		if c != minID {
			t.Fatalf("cluster id of %s is %d, want its smallest member id %d", a, c, minID)
		}
		if len(members) > 1 {
			multi++
		}
	}
	if multi == 0 || st.Links == 0 {
		t.Fatal("no multi-address cluster in the range: the test proves nothing")
	}
	t.Logf("%d addresses, %d clusters, %d in multi-address clusters, %d links", len(want), ix.Count(), multi, st.Links)
}

// TestIndexCatchUpAndRebuild builds the index over a partial ingest,
// catches up after more blocks (with readers running concurrently), and
// checks that a store rebuilt through
// an unwind (emulated by swapping in a store stopped lower) makes CatchUp
// rebuild rather than keep joins the store no longer has.
func TestIndexCatchUpAndRebuild(t *testing.T) {
	ctx := context.Background()
	full, _ := ingestMainnet(t, 0)
	want, err := cluster.Build(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	part, path := ingestMainnet(t, 9000)
	ix, err := cluster.Build(ctx, part)
	if err != nil {
		t.Fatal(err)
	}
	low := ix.Count()
	src, err := blkfile.Open(ctx, path, wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.NewBTC(part, src, ingest.Options{}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	src.Close()
	// Readers may use the index while it catches up (run with -race).
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := uint64(1); ; id = id%20000 + 1 {
			select {
			case <-stop:
				return
			default:
			}
			if c := ix.ClusterOf(id); c > id || ix.Size(id) < 1 {
				t.Errorf("address #%d: cluster %d size %d", id, c, ix.Size(id))
				return
			}
		}
	}()
	err = ix.CatchUp(ctx, part)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	sameIndex(t, ix, want)
	// The index is now at the tip of the full chain; a store that only
	// reaches 9000 looks like the same chain unwound to 9000.
	short, _ := ingestMainnet(t, 9000)
	if err := ix.CatchUp(ctx, short); err != nil {
		t.Fatal(err)
	}
	if ix.Count() != low || ix.Stats().Tip.Height != 9000 {
		t.Fatalf("after the unwind: %d clusters at height %d, want %d at 9000", ix.Count(), ix.Stats().Tip.Height, low)
	}
	if ix.Count() == want.Count() {
		t.Fatal("the unwound range has no links: the test proves nothing")
	}
}

func sameIndex(t *testing.T, got, want *cluster.Index) {
	t.Helper()
	if got.Addresses() != want.Addresses() || got.Count() != want.Count() {
		t.Fatalf("index: %d addresses %d clusters, want %d and %d", got.Addresses(), got.Count(), want.Addresses(), want.Count())
	}
	for id := uint64(1); id <= uint64(want.Addresses()); id++ {
		if got.ClusterOf(id) != want.ClusterOf(id) || got.Size(id) != want.Size(id) {
			t.Fatalf("address #%d: cluster %d size %d, want %d size %d", id, got.ClusterOf(id), got.Size(id), want.ClusterOf(id), want.Size(id))
		}
	}
}
