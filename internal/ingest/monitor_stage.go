package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

// monitorStage hands every block to the monitor (Options.Monitor), which
// raises alerts on watched funds and extends watches to where they went,
// writing into the block's batch. Without a monitor it writes only its
// progress, so the stage's progress always moves with the others. It
// reads the txs stage's records, so it runs after it; its scratch slice
// is why it is used by pointer.
type monitorStage struct {
	st      *state
	m       *monitor.Monitor
	outBase []int
}

func (*monitorStage) Name() string { return monitor.StageName }

func (s *monitorStage) Forward(ctx context.Context, w store.Batch, b *prepBlock) error {
	if s.m == nil {
		return nil
	}
	s.outBase = s.outBase[:0]
	n := 0
	for i := range b.blk.Txs {
		s.outBase = append(s.outBase, n)
		n += len(b.blk.Txs[i].Outs)
	}
	mb := &monitor.Block{
		Height: b.height, Hash: b.hash, Time: time.Unix(int64(b.blk.Header.Timestamp), 0), Txs: b.recs,
		OutAddrs: func(i, vout int) []btc.AddrKey {
			k := s.outBase[i] + vout
			return b.addrs[b.addrStart[k]:b.addrStart[k+1]]
		},
	}
	if err := s.m.Forward(ctx, w, s.st.db, mb); err != nil {
		return fmt.Errorf("ingest: monitor at block %d: %w", b.height, err)
	}
	return nil
}

func (s *monitorStage) Unwind(ctx context.Context, w store.Batch, u *unwindBlock) error {
	if s.m == nil {
		return nil
	}
	mb := &monitor.Block{Height: u.rec.Height, Hash: u.rec.Hash, Time: time.Unix(int64(u.rec.Time), 0), Txs: u.txs}
	return s.m.Unwind(ctx, w, s.st.db, mb)
}

// loadMonitor starts the monitor stage on a store written before it
// existed at the other stages' tip (watches apply to blocks from now on,
// so there is nothing to replay), then loads the monitor's state.
func (in *BTC) loadMonitor(ctx context.Context) error {
	_, ok, err := in.db.Progress(ctx, monitor.StageName)
	if err != nil {
		return err
	}
	if !ok {
		tip, have, err := in.db.Progress(ctx, "blocks")
		if err != nil {
			return err
		}
		if have {
			w := in.db.NewBatch()
			defer w.Close()
			w.SetProgress(monitor.StageName, tip)
			if err := w.Commit(ctx, true); err != nil {
				return err
			}
		}
	}
	if in.opts.Monitor == nil {
		return nil
	}
	return in.opts.Monitor.Load(ctx, in.db)
}
