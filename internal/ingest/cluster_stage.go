package ingest

import (
	"context"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/store"
)

// clustersStage writes the link log that address clustering replays: for
// every transaction spending from two or more distinct addresses, either a
// multi-input link of those addresses or, when the transaction looks like
// a CoinJoin, its CoinJoin kind (see cluster.Classify). It reads only the
// block's transaction records, so it runs after the txs stage.
// Its scratch slice is why it is used by pointer: stages run on one
// goroutine.
type clustersStage struct {
	ids []uint64
}

func (*clustersStage) Name() string { return cluster.StageName }

func (s *clustersStage) Forward(ctx context.Context, w store.Batch, b *prepBlock) error {
	for i := range b.recs {
		rec := &b.recs[i]
		kind, ids, ok := cluster.Classify(rec, s.ids)
		s.ids = ids
		if ok {
			w.PutLink(rec.TxNum, kind, ids)
		}
	}
	return nil
}

// Unwind deletes the entries Forward wrote for the block: Classify is a
// pure function of the stored records, so it names the same transactions.
func (s *clustersStage) Unwind(ctx context.Context, w store.Batch, u *unwindBlock) error {
	for i := range u.txs {
		t := &u.txs[i]
		_, ids, ok := cluster.Classify(t, s.ids)
		s.ids = ids
		if ok {
			w.DeleteLink(t.TxNum)
		}
	}
	return nil
}

// backfillClusters writes the clusters stage's link log for a store
// ingested before the stage existed: its other stages have progress and
// it has none. It replays every stored transaction through Classify in
// chain order, committing as it goes, and records the stage's progress
// (the other stages' tip) in the last batch. Puts are idempotent, so a
// backfill killed half-way simply starts again.
func (in *BTC) backfillClusters(ctx context.Context) error {
	if _, ok, err := in.db.Progress(ctx, cluster.StageName); err != nil || ok {
		return err
	}
	tip, ok, err := in.db.Progress(ctx, "blocks")
	if err != nil || !ok {
		return err
	}
	b, err := in.db.BlockByHeight(ctx, tip.Height)
	if err != nil {
		return err
	}
	end := b.TxNumMin + uint64(b.TxCount)
	in.log.Info("building the clusters stage for a store written before it existed", "txs", end)
	w := in.db.NewBatch()
	defer w.Close()
	var rec store.TxRec
	var ids []uint64
	for n := uint64(0); n < end; n++ {
		if err := in.db.Tx(ctx, n, &rec); err != nil {
			return fmt.Errorf("ingest: clusters backfill: %w", err)
		}
		kind, out, ok := cluster.Classify(&rec, ids)
		ids = out
		if ok {
			w.PutLink(rec.TxNum, kind, out)
		}
		if w.Len() >= in.opts.BatchBytes {
			if err := w.Commit(ctx, false); err != nil {
				return err
			}
			in.log.Info("clusters backfill", "txs", n+1, "of", end)
		}
	}
	w.SetProgress(cluster.StageName, tip)
	return w.Commit(ctx, true)
}
