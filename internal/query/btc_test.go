package query_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
)

func mainnetStore(t *testing.T) *query.BTC {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil || len(out) == 0 {
		t.Skipf("btcd module not available: %v", err)
	}
	ctx := context.Background()
	src, err := blkfile.Open(ctx, filepath.Join(strings.TrimSpace(string(out)), "blockchain", "testdata", "blk_0_to_14131.dat"), wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := ingest.NewBTC(db, src, ingest.Options{}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := query.NewBTC(db)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestAddressTxsPages walks an address's history in pages of every size
// and checks the pages concatenate to the full history in chain order.
func TestAddressTxsPages(t *testing.T) {
	q := mainnetStore(t)
	ctx := context.Background()
	const addr = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
	all, next, err := q.AddressTxs(ctx, addr, 0, 1000)
	if err != nil || next != 0 {
		t.Fatalf("full history: %v, next %d", err, next)
	}
	s, err := q.Address(ctx, addr)
	if err != nil || len(all) != s.TxCount || len(all) < 3 {
		t.Fatalf("history of %d txs, summary says %d (%v)", len(all), s.TxCount, err)
	}
	var rec, sent int64
	for i, tx := range all {
		rec += tx.Received
		sent += tx.Sent
		if i > 0 && tx.Height < all[i-1].Height {
			t.Fatalf("history not in chain order at %d", i)
		}
	}
	if rec != s.TotalReceived || sent != s.TotalSent {
		t.Fatalf("pages sum to %d/%d, summary %d/%d", rec, sent, s.TotalReceived, s.TotalSent)
	}
	for size := 1; size <= len(all); size++ {
		var got []query.AddressTx
		cursor := uint64(0)
		for pages := 0; ; pages++ {
			page, nxt, err := q.AddressTxs(ctx, addr, cursor, size)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > size || pages > len(all) {
				t.Fatalf("page size %d: got %d rows after %d pages", size, len(page), pages)
			}
			got = append(got, page...)
			if nxt == 0 {
				break
			}
			cursor = nxt
		}
		if len(got) != len(all) {
			t.Fatalf("page size %d: %d rows, want %d", size, len(got), len(all))
		}
		for i := range got {
			if got[i] != all[i] {
				t.Fatalf("page size %d: row %d = %+v, want %+v", size, i, got[i], all[i])
			}
		}
	}
}

func TestLookupErrors(t *testing.T) {
	q := mainnetStore(t)
	ctx := context.Background()
	if _, err := q.Tx(ctx, strings.Repeat("ab", 32)); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("unknown txid: %v", err)
	}
	if _, err := q.Block(ctx, "14132"); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("block above the tip: %v", err)
	}
	if _, err := q.Block(ctx, "xyz"); err == nil || !strings.Contains(err.Error(), "xyz") {
		t.Errorf("bad block ref: %v", err)
	}
	if _, err := q.Address(ctx, "1BitcoinEaterAddressDontSendf59kuE"); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("address without activity: %v", err)
	}
	tip, ok, err := q.Tip(ctx)
	if err != nil || !ok || tip.Height != 14131 {
		t.Errorf("tip = %+v %v %v", tip, ok, err)
	}
}
