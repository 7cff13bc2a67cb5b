package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// Stage is one step of Bitcoin ingest, in the manner of Erigon's staged
// sync. For every block, the driver calls each stage's Forward in order, all
// into one store.Batch that also carries every stage's progress; on a reorg
// it calls Unwind in reverse order for each orphaned block, tip first. A
// stage writes only through the batch and keeps no state that a reset of the
// ingester's caches would not rebuild, which is what makes a killed ingest
// resume exactly.
type Stage interface {
	// Name is the stage's progress key.
	Name() string
	// Forward writes the stage's data for block b.
	Forward(ctx context.Context, w store.Batch, b *prepBlock) error
	// Unwind removes the stage's data for block u, the current tip.
	Unwind(ctx context.Context, w store.Batch, u *unwindBlock) error
}

// prepBlock is a decoded block on its way through the stages. The decode
// step fills everything up to addrs; the txs stage fills recs, which the
// address-index stage reads.
type prepBlock struct {
	height uint64
	hash   chainhash.Hash
	raw    []byte
	blk    btc.Block
	txids  []chainhash.Hash
	weight int
	// Output classes and addresses, flattened over the block's outputs in
	// order: the addresses of output k are addrs[addrStart[k]:addrStart[k+1]].
	class     []model.ScriptClass
	addrStart []int32
	addrs     []btc.AddrKey
	recs      []store.TxRec
	// extra holds spend events for the second and later keys of spent
	// bare-multisig outputs, which InRec does not carry.
	extra []store.Event
}

// unwindBlock is a stored block being unwound, with its transactions.
type unwindBlock struct {
	rec store.BlockRec
	txs []store.TxRec
}

// state is what the stages share: the store, the next free ordinals, and
// the look-aside caches.
type state struct {
	db         store.Graph
	caches     *caches
	nextTxNum  uint64
	nextAddrID uint64 // ids start at 1; 0 means "no address"
	keyBuf     []byte
	// startHeight is the first stored block's height: 0 for a store that
	// begins at genesis. Above 0, inputs spending outputs that are not in
	// the store are recorded as external instead of rejected.
	startHeight uint64
}

const metaStartHeight = "start_height"

const metaNextAddr = "next_addr_id"

// blocksStage writes block records.
type blocksStage struct{ st *state }

func (blocksStage) Name() string { return "blocks" }

func (s blocksStage) Forward(ctx context.Context, w store.Batch, b *prepBlock) error {
	h := &b.blk.Header
	w.PutBlock(&store.BlockRec{
		Height:    b.height,
		Hash:      b.hash,
		Prev:      h.PrevBlock,
		Version:   h.Version,
		Time:      h.Timestamp,
		Bits:      h.Bits,
		Size:      uint32(b.blk.Size),
		Weight:    uint32(b.weight),
		TxNumMin:  s.st.nextTxNum,
		TxCount:   uint32(len(b.blk.Txs)),
		AddrIDMin: s.st.nextAddrID,
	})
	return nil
}

func (s blocksStage) Unwind(ctx context.Context, w store.Batch, u *unwindBlock) error {
	w.DeleteBlock(u.rec.Height, u.rec.Hash)
	return nil
}

// txsStage resolves inputs against earlier outputs, assigns transaction and
// address ids, and writes transactions, spends and addresses.
type txsStage struct{ st *state }

func (txsStage) Name() string { return "txs" }

func (s txsStage) Forward(ctx context.Context, w store.Batch, b *prepBlock) error {
	st := s.st
	txs := b.blk.Txs
	if cap(b.recs) < len(txs) {
		b.recs = make([]store.TxRec, len(txs))
	}
	b.recs = b.recs[:len(txs)]
	b.extra = b.extra[:0]
	outBase := 0
	for i := range txs {
		tx := &txs[i]
		rec := &b.recs[i]
		*rec = store.TxRec{
			TxNum:    st.nextTxNum,
			TxID:     b.txids[i],
			Height:   b.height,
			Index:    uint32(i),
			Version:  tx.Version,
			LockTime: tx.LockTime,
			Size:     uint32(tx.Size()),
			VSize:    uint32(tx.VSize()),
			Coinbase: i == 0 && tx.IsCoinbase(),
			Ins:      rec.Ins[:0],
			Outs:     rec.Outs[:0],
		}
		st.nextTxNum++
		if !rec.Coinbase {
			for vin := range tx.Ins {
				in := &tx.Ins[vin]
				op := outpoint{txid: in.PrevTxID, vout: in.PrevIndex}
				u, err := st.spend(ctx, op)
				if errors.Is(err, errUnknownOutput) && st.startHeight > 0 {
					rec.Ins = append(rec.Ins, store.InRec{External: true, PrevTxID: op.txid, PrevVout: op.vout})
					st.caches.utxos.put(op, utxo{spent: true})
					continue
				}
				if err != nil {
					return fmt.Errorf("ingest: block %d (%s) tx %d (%s) input %d: %w", b.height, b.hash, i, b.txids[i], vin, err)
				}
				rec.Ins = append(rec.Ins, store.InRec{PrevTxNum: u.txnum, PrevVout: op.vout, Value: u.value, AddrID: u.addr})
				for _, id := range u.more {
					b.extra = append(b.extra, store.Event{AddrID: id, TxNum: rec.TxNum, Spent: true, Index: uint32(vin), Value: u.value})
				}
				w.PutSpend(u.txnum, op.vout, store.SpendRec{TxNum: rec.TxNum, Vin: uint32(vin)})
			}
		}
		for vout := range tx.Outs {
			k := outBase + vout
			keys := b.addrs[b.addrStart[k]:b.addrStart[k+1]]
			o := store.OutRec{Value: tx.Outs[vout].Value, Class: b.class[k]}
			if len(keys) > 0 {
				o.AddrIDs = make([]uint64, len(keys))
				for j := range keys {
					id, err := st.addrID(ctx, w, keys[j])
					if err != nil {
						return fmt.Errorf("ingest: block %d tx %s output %d: %w", b.height, b.txids[i], vout, err)
					}
					o.AddrIDs[j] = id
				}
			}
			rec.Outs = append(rec.Outs, o)
			if o.Class != model.ScriptNullData {
				u := utxo{txnum: rec.TxNum, value: o.Value}
				if len(o.AddrIDs) > 0 {
					u.addr = o.AddrIDs[0]
					if len(o.AddrIDs) > 1 {
						u.more = o.AddrIDs[1:]
					}
				}
				st.caches.utxos.put(outpoint{txid: rec.TxID, vout: uint32(vout)}, u)
			}
		}
		outBase += len(tx.Outs)
		w.PutTx(rec)
	}
	w.SetMetaU64(metaNextAddr, st.nextAddrID)
	return nil
}

// errUnknownOutput and errDoubleSpend describe inputs the ingester cannot
// accept; either means the source's chain is not a valid chain.
var (
	errUnknownOutput = errors.New("spends an output that is not in the store")
	errDoubleSpend   = errors.New("spends an output that is already spent")
)

// spend resolves and consumes an outpoint, from the cache or the store.
func (st *state) spend(ctx context.Context, op outpoint) (utxo, error) {
	if u, ok := st.caches.utxos.get(op); ok {
		if u.spent {
			return utxo{}, fmt.Errorf("%s:%d %w", op.txid, op.vout, errDoubleSpend)
		}
		st.caches.utxos.del(op)
		st.caches.utxos.put(op, utxo{spent: true})
		return u, nil
	}
	if st.caches.utxos.complete {
		return utxo{}, fmt.Errorf("%s:%d %w", op.txid, op.vout, errUnknownOutput)
	}
	txnum, err := st.db.TxNum(ctx, op.txid)
	if errors.Is(err, store.ErrNotFound) {
		return utxo{}, fmt.Errorf("%s:%d %w", op.txid, op.vout, errUnknownOutput)
	}
	if err != nil {
		return utxo{}, err
	}
	var t store.TxRec
	if err := st.db.Tx(ctx, txnum, &t); err != nil {
		return utxo{}, err
	}
	if int(op.vout) >= len(t.Outs) {
		return utxo{}, fmt.Errorf("%s:%d %w (tx has %d outputs)", op.txid, op.vout, errUnknownOutput, len(t.Outs))
	}
	if _, spent, err := st.db.Spender(ctx, txnum, op.vout); err != nil {
		return utxo{}, err
	} else if spent {
		return utxo{}, fmt.Errorf("%s:%d %w", op.txid, op.vout, errDoubleSpend)
	}
	o := t.Outs[op.vout]
	u := utxo{txnum: txnum, value: o.Value}
	if len(o.AddrIDs) > 0 {
		u.addr = o.AddrIDs[0]
		u.more = o.AddrIDs[1:]
	}
	st.caches.utxos.put(op, utxo{spent: true})
	return u, nil
}

// addrID returns the id of an address, assigning the next free id (and
// writing it) the first time the address is seen.
func (st *state) addrID(ctx context.Context, w store.Batch, k btc.AddrKey) (uint64, error) {
	if id, ok := st.caches.addrs.get(k); ok {
		return id, nil
	}
	st.keyBuf = k.AppendBytes(st.keyBuf[:0])
	var id uint64
	err := store.ErrNotFound
	if !st.caches.addrs.complete {
		id, err = st.db.AddrID(ctx, st.keyBuf)
	}
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		id = st.nextAddrID
		st.nextAddrID++
		w.PutAddr(id, st.keyBuf)
	default:
		return 0, err
	}
	st.caches.addrs.put(k, id)
	return id, nil
}

func (s txsStage) Unwind(ctx context.Context, w store.Batch, u *unwindBlock) error {
	for i := len(u.txs) - 1; i >= 0; i-- {
		t := &u.txs[i]
		for _, in := range t.Ins {
			if !in.External {
				w.DeleteSpend(in.PrevTxNum, in.PrevVout)
			}
		}
		w.DeleteTx(t.TxNum, t.TxID)
	}
	err := s.st.db.AddrsFrom(ctx, u.rec.AddrIDMin, func(id uint64, key []byte) error {
		w.DeleteAddr(id, key)
		return nil
	})
	if err != nil {
		return err
	}
	w.SetMetaU64(metaNextAddr, u.rec.AddrIDMin)
	return nil
}

// addrIndexStage writes the address index: one event per address per
// output received and per output spent.
type addrIndexStage struct{ st *state }

func (addrIndexStage) Name() string { return "addrindex" }

func (s addrIndexStage) Forward(ctx context.Context, w store.Batch, b *prepBlock) error {
	for i := range b.recs {
		rec := &b.recs[i]
		for vin := range rec.Ins {
			in := &rec.Ins[vin]
			if in.AddrID == 0 {
				continue
			}
			w.PutEvent(store.Event{AddrID: in.AddrID, TxNum: rec.TxNum, Spent: true, Index: uint32(vin), Value: in.Value})
		}
		for vout := range rec.Outs {
			o := &rec.Outs[vout]
			for _, id := range o.AddrIDs {
				w.PutEvent(store.Event{AddrID: id, TxNum: rec.TxNum, Index: uint32(vout), Value: o.Value})
			}
		}
	}
	for _, e := range b.extra {
		w.PutEvent(e)
	}
	return nil
}

// extraAddrs returns the further address ids of a spent multisig
// output; InRec keeps only the first, so the rest are read back.
func (s addrIndexStage) extraAddrs(ctx context.Context, in store.InRec) ([]uint64, error) {
	var prev store.TxRec
	if err := s.st.db.Tx(ctx, in.PrevTxNum, &prev); err != nil {
		return nil, err
	}
	if int(in.PrevVout) >= len(prev.Outs) {
		return nil, fmt.Errorf("ingest: tx #%d has no output %d", in.PrevTxNum, in.PrevVout)
	}
	ids := prev.Outs[in.PrevVout].AddrIDs
	if len(ids) <= 1 {
		return nil, nil
	}
	return ids[1:], nil
}

func (s addrIndexStage) Unwind(ctx context.Context, w store.Batch, u *unwindBlock) error {
	for i := len(u.txs) - 1; i >= 0; i-- {
		t := &u.txs[i]
		for vout := range t.Outs {
			for _, id := range t.Outs[vout].AddrIDs {
				w.DeleteEvent(store.Event{AddrID: id, TxNum: t.TxNum, Index: uint32(vout)})
			}
		}
		for vin, in := range t.Ins {
			if in.AddrID == 0 {
				continue
			}
			w.DeleteEvent(store.Event{AddrID: in.AddrID, TxNum: t.TxNum, Spent: true, Index: uint32(vin)})
			more, err := s.extraAddrs(ctx, in)
			if err != nil {
				return err
			}
			for _, id := range more {
				w.DeleteEvent(store.Event{AddrID: id, TxNum: t.TxNum, Spent: true, Index: uint32(vin)})
			}
		}
	}
	return nil
}
