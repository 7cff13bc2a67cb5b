package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/store/storetest"
)

var regtest = store.ChainMeta{Chain: "btc", Network: "regtest"}

func openTemp(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir(), regtest, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPebbleSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Graph { return openTemp(t) })
}

func TestPebbleChainMetaChecked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, dir, regtest, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	b.SetMetaU64("x", 1)
	if err := b.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(ctx, dir, store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "holds btc/regtest, not btc/mainnet") {
		t.Fatalf("opening a regtest store as mainnet: %v", err)
	}
	ro, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.Meta() != regtest {
		t.Fatalf("meta = %+v", ro.Meta())
	}
	if v, ok, err := ro.MetaU64(ctx, "x"); err != nil || !ok || v != 1 {
		t.Fatalf("reopened store lost data: %d %v %v", v, ok, err)
	}
}

func TestPebbleEmptyReadOnlyIsAnError(t *testing.T) {
	_, err := store.Open(context.Background(), t.TempDir(), store.ChainMeta{}, store.Options{ReadOnly: true})
	if err == nil {
		t.Fatal("read-only open of an empty directory succeeded")
	}
}
