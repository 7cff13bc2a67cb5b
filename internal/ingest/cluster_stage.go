package ingest

import (
	"context"

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
