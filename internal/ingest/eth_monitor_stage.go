package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/chaintrace/chaintrace/internal/store"
)

// ethMonitorStageName is the account monitor's stage and progress key.
const ethMonitorStageName = "eth-monitor"

// ethMonitorStage hands every block to the account monitor
// (Options.EthMonitor), which raises alerts on watched funds and moves
// their taint along the block's transfers, writing into the block's
// batch. Without a monitor it writes only its progress, so the stage's
// progress always moves with the others. It reads the eth-txs stage's
// records, so it runs after it.
type ethMonitorStage struct {
	st *ethState
	m  *monitor.EthMonitor
}

func (*ethMonitorStage) Name() string { return ethMonitorStageName }

// monitorIO returns the store and batch as the monitor reads and writes
// them; store.DB and its batches are both.
func (s *ethMonitorStage) monitorIO(w store.AccountBatch) (monitor.EthReader, monitor.Writer, error) {
	r, ok := s.st.db.(monitor.EthReader)
	if !ok {
		return nil, nil, fmt.Errorf("ingest: the store (%T) has no monitor tables", s.st.db)
	}
	mw, ok := w.(monitor.Writer)
	if !ok {
		return nil, nil, fmt.Errorf("ingest: the store's batch (%T) has no monitor tables", w)
	}
	return r, mw, nil
}

func (s *ethMonitorStage) Forward(ctx context.Context, w store.AccountBatch, b *ethPrep) error {
	if s.m == nil {
		return nil
	}
	r, mw, err := s.monitorIO(w)
	if err != nil {
		return err
	}
	// The block's transfers name their addresses; recs carry the ids
	// the eth-txs stage gave them, some created by this very block. The
	// map is built on the monitor's first question: a monitor without
	// watches asks none.
	var ids map[uint64][20]byte
	addr := func(id uint64) [20]byte {
		if ids == nil {
			ids = map[uint64][20]byte{}
			nTx := len(b.blk.Txs)
			for i := range b.recs {
				start := b.txStart[min(i, nTx)]
				for k := range b.recs[i].Transfers {
					tr, src := &b.recs[i].Transfers[k], &b.transfers[start+k]
					ids[tr.From], ids[tr.To], ids[tr.Token] = src.From, src.To, src.Token
				}
			}
		}
		return ids[id]
	}
	mb := &monitor.EthBlock{
		Height: b.height, Hash: b.blk.Hash, Time: time.Unix(int64(b.blk.Header.Time), 0), Txs: b.recs, Addr: addr,
	}
	if err := s.m.Forward(ctx, mw, r, mb); err != nil {
		return fmt.Errorf("ingest: monitor at eth block %d: %w", b.height, err)
	}
	return nil
}

func (s *ethMonitorStage) Unwind(ctx context.Context, w store.AccountBatch, u *ethUnwind) error {
	if s.m == nil {
		return nil
	}
	r, mw, err := s.monitorIO(w)
	if err != nil {
		return err
	}
	mb := &monitor.EthBlock{Height: u.rec.Height, Hash: u.rec.Hash, Time: time.Unix(int64(u.rec.Time), 0), Txs: u.txs}
	return s.m.Unwind(ctx, mw, r, mb)
}

// loadEthMonitor starts the eth-monitor stage on a store written before
// it existed at the other stages' tip (watches apply to blocks from now
// on, so there is nothing to replay), then loads the monitor's state.
func (in *Eth) loadEthMonitor(ctx context.Context) error {
	_, ok, err := in.db.Progress(ctx, ethMonitorStageName)
	if err != nil {
		return err
	}
	if !ok {
		tip, have, err := in.db.Progress(ctx, "eth-blocks")
		if err != nil {
			return err
		}
		if have {
			w := in.db.NewAccountBatch()
			defer w.Close()
			w.SetProgress(ethMonitorStageName, tip)
			if err := w.Commit(ctx, true); err != nil {
				return err
			}
		}
	}
	if in.opts.EthMonitor == nil {
		return nil
	}
	r, ok := in.db.(monitor.EthReader)
	if !ok {
		return fmt.Errorf("ingest: the store (%T) has no monitor tables", in.db)
	}
	return in.opts.EthMonitor.Load(ctx, r)
}
