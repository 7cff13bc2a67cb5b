package btcw

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
)

// TestIngest reads the ledger's files through chaintrace's own ingest
// path, as `chaintrace ingest btc --blocks` does, and checks that the
// store agrees with the ledger: the tip, the transaction count, and the
// balance of every address the script paid.
func TestIngest(t *testing.T) {
	dir := t.TempDir()
	key := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	d := newDriver(t, dir, Config{Seed: 2, FileSize: 512 << 10, XORKey: &key}, 2)
	d.run(150, 40)
	if err := d.c.Close(); err != nil {
		t.Fatal(err)
	}
	net := d.c.Net()

	ctx := context.Background()
	src, err := blkfile.Open(ctx, dir, wire.BitcoinNet(net.Net))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if bs := src.Stats(); bs.Blocks != int(d.c.Height())+1 || bs.Stale != 0 || bs.Orphans != 0 {
		t.Fatalf("blkfile sees %+v, ledger height %d", bs, d.c.Height())
	}
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := ingest.NewBTC(db, src, ingest.Options{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stats := d.c.Stats()
	if int32(st.Height) != d.c.Height() || st.TipHash != d.c.TipHash() || int64(st.Txs) != stats.Txs {
		t.Fatalf("ingested up to %d %v with %d txs; ledger at %d %v with %d txs",
			st.Height, st.TipHash, st.Txs, d.c.Height(), d.c.TipHash(), stats.Txs)
	}

	want := make(map[Addr]int64)
	for _, op := range d.ops {
		if c, ok := d.c.Unspent(op); ok {
			want[c.Addr] += c.Value
		}
	}
	q, err := query.NewBTC(db)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, a := range d.addrs {
		s, err := q.Address(ctx, d.c.AddrString(a))
		if err != nil {
			t.Fatalf("%s: %v", d.c.AddrString(a), err)
		}
		if s.Balance != want[a] {
			t.Fatalf("%s %s: store balance %d, ledger %d", a.Kind, s.Address, s.Balance, want[a])
		}
		total += s.Balance
	}
	if total != stats.UnspentValue || len(d.addrs) < 1000 {
		t.Fatalf("%d addresses hold %d in the store, ledger's unspent value %d", len(d.addrs), total, stats.UnspentValue)
	}
}
