package trace

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/chaintrace/chaintrace/internal/store"
)

// utxoPrefetchWorkers is how many reads run ahead of a forward walk. The
// reads wait on the disk far more than they use a core, so more of them
// than cores keep the device busy.
const utxoPrefetchWorkers = 8

// utxoPrefetchDepth bounds the transactions requested and not yet taken.
const utxoPrefetchDepth = 8192

// utxoPrefetch reads the transactions a forward walk has queued, with the
// spenders of their outputs, ahead of the walk on a few goroutines. The
// walk visits transactions one at a time in chain order and each visit
// waits on several scattered reads; reading ahead overlaps that waiting
// (the store is safe for concurrent use). It is only a cache: what the
// walk computes does not depend on it, and a transaction it could not
// take in (the queue ran far ahead) is read by the walk itself.
type utxoPrefetch struct {
	db  UTXOReader
	ctx context.Context
	ch  chan *utxoFetched
	mu  sync.Mutex
	got map[uint64]*utxoFetched
	wg  sync.WaitGroup
}

// utxoFetched is one transaction read ahead: its record and, for each
// output, its spender. done is closed when the fields are final.
type utxoFetched struct {
	txnum uint64
	// state is 0 while queued, 1 once a worker reads it, 2 when the walk
	// came first and reads it itself (the worker then skips it).
	state  atomic.Int32
	done   chan struct{}
	rec    store.TxRec
	spends []utxoSpend
	err    error
}

type utxoSpend struct {
	s     store.SpendRec
	spent bool
	err   error
	// key is the compact key of the output's first address, nil when it
	// has none or the read failed (the walk then reads it itself).
	key []byte
}

func newUTXOPrefetch(ctx context.Context, db UTXOReader) *utxoPrefetch {
	p := &utxoPrefetch{db: db, ctx: ctx, ch: make(chan *utxoFetched, utxoPrefetchDepth), got: map[uint64]*utxoFetched{}}
	for range utxoPrefetchWorkers {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *utxoPrefetch) work() {
	defer p.wg.Done()
	for f := range p.ch {
		if !f.state.CompareAndSwap(0, 1) {
			continue
		}
		f.err = p.db.Tx(p.ctx, f.txnum, &f.rec)
		if f.err == nil {
			f.spends = make([]utxoSpend, len(f.rec.Outs))
			for j := range f.rec.Outs {
				s := &f.spends[j]
				s.s, s.spent, s.err = p.db.Spender(p.ctx, f.txnum, uint32(j))
				if ids := f.rec.Outs[j].AddrIDs; len(ids) > 0 {
					s.key, _ = p.db.AddrKey(p.ctx, ids[0])
				}
			}
		}
		close(f.done)
	}
}

// request asks for txnum to be read ahead, unless the workers are too far
// behind already.
func (p *utxoPrefetch) request(txnum uint64) {
	f := &utxoFetched{txnum: txnum, done: make(chan struct{})}
	p.mu.Lock()
	if len(p.got) >= utxoPrefetchDepth {
		p.mu.Unlock()
		return
	}
	p.got[txnum] = f
	p.mu.Unlock()
	p.ch <- f // blocks only while workers skip entries the walk claimed
}

// take returns txnum's read-ahead once it is complete, or nil when it was
// not requested or no worker has started on it (waiting behind the queue
// would be slower than reading it now).
func (p *utxoPrefetch) take(txnum uint64) *utxoFetched {
	p.mu.Lock()
	f := p.got[txnum]
	delete(p.got, txnum)
	p.mu.Unlock()
	if f == nil || f.state.CompareAndSwap(0, 2) {
		return nil
	}
	<-f.done
	return f
}

// stop ends the workers after the reads already requested.
func (p *utxoPrefetch) stop() {
	close(p.ch)
	p.wg.Wait()
}
