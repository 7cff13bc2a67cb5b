package ingest_test

import (
	"context"
	"testing"

	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
)

// TestClustersBackfill turns a store into one written before the clusters
// stage existed (no link log, no stage progress), runs ingest again, and
// checks that the backfill rebuilt exactly what ingesting with the stage
// wrote.
func TestClustersBackfill(t *testing.T) {
	ctx := context.Background()
	genDir, res := generate(t, btcgen.Config{Seed: 11, Blocks: 160, TxPerBlock: 30, Users: 200})
	blk := subset(t, genDir, res.Records)
	db := openStore(t, t.TempDir(), "regtest")
	ingestFiles(t, db, blk, regtestNet, ingest.Options{})
	want := digest(t, db)

	w := db.NewBatch()
	links := 0
	if err := db.Links(ctx, 0, func(txnum uint64, _ uint8, _ []uint64) bool {
		w.DeleteLink(txnum)
		links++
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if links == 0 {
		t.Fatal("the generated chain has no multi-input transactions: the test proves nothing")
	}
	w.DeleteProgress(cluster.StageName)
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if digest(t, db) == want {
		t.Fatal("deleting the link log did not change the store")
	}
	st := ingestFiles(t, db, blk, regtestNet, ingest.Options{BatchBytes: 4 << 10})
	if st.Blocks != 0 {
		t.Fatalf("the second run ingested %d blocks; want only the backfill", st.Blocks)
	}
	if got := digest(t, db); got != want {
		t.Fatalf("after the backfill the store is %s; ingesting with the stage gave %s", got, want)
	}
}
