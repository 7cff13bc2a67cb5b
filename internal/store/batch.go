package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/cockroachdb/pebble/v2"
)

// pebbleBatch is the Pebble implementation of Batch. It does not write
// into a pebble.Batch as it goes: it appends keys and values to an arena
// and, on Commit, sorts them and hands them to Pebble in key order. Ingest
// writes several tables at once, most of them in random key order (txids,
// address keys, address-index entries by address); a large Pebble batch is
// sorted by Pebble with full-key comparisons before it is flushed, which
// costs far more than sorting here on integer prefixes, and sorted input
// makes Pebble's own sort a linear pass. Writes to the same key keep their
// order, so the last one wins.
type pebbleBatch struct {
	db   *DB
	buf  *sortBuf
	key  []byte
	val  []byte
	done bool
}

// NewBatch starts an empty batch.
func (db *DB) NewBatch() Batch {
	var sb *sortBuf
	db.spareMu.Lock()
	if n := len(db.spare); n > 0 {
		sb = db.spare[n-1]
		db.spare = db.spare[:n-1]
	}
	db.spareMu.Unlock()
	if sb == nil {
		sb = &sortBuf{}
	}
	sb.reset()
	return &pebbleBatch{db: db, buf: sb, key: make([]byte, 0, 64), val: make([]byte, 0, 1024)}
}

func (b *pebbleBatch) Len() int { return b.buf.size() }

func (b *pebbleBatch) Commit(ctx context.Context, sync bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.done {
		return fmt.Errorf("store: commit of a closed or committed batch")
	}
	opt := pebble.NoSync
	if sync && !b.db.noWAL {
		opt = pebble.Sync
	}
	pb := b.db.pdb.NewBatchWithSize(b.buf.size())
	defer pb.Close()
	b.buf.sort()
	if err := b.buf.apply(pb); err != nil {
		return fmt.Errorf("store: build batch: %w", err)
	}
	if err := pb.Commit(opt); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if sync && b.db.noWAL {
		if err := b.db.pdb.Flush(); err != nil {
			return fmt.Errorf("store: flush: %w", err)
		}
	}
	b.buf.reset()
	return nil
}

func (b *pebbleBatch) Close() {
	if b.done {
		return
	}
	b.done = true
	b.buf.reset()
	b.db.spareMu.Lock()
	if len(b.db.spare) < maxSpareBufs {
		b.db.spare = append(b.db.spare, b.buf)
	}
	b.db.spareMu.Unlock()
	b.buf = nil
}

func (b *pebbleBatch) set(key, val []byte) { b.buf.add(opSet, key, val) }
func (b *pebbleBatch) del(key []byte)      { b.buf.add(opDel, key, nil) }

func (b *pebbleBatch) SetProgress(stage string, p Progress) {
	b.val = binary.BigEndian.AppendUint64(b.val[:0], p.Height)
	b.val = append(b.val, p.Hash[:]...)
	b.set(keyProgress(stage), b.val)
}

func (b *pebbleBatch) DeleteProgress(stage string) { b.del(keyProgress(stage)) }

func (b *pebbleBatch) SetMetaU64(name string, v uint64) {
	b.val = binary.BigEndian.AppendUint64(b.val[:0], v)
	b.set(keyMeta(name), b.val)
}

func (b *pebbleBatch) PutBlock(r *BlockRec) {
	b.key = keyU64(b.key[:0], prefixHeight, r.Height)
	b.val = appendBlock(b.val[:0], r)
	b.set(b.key, b.val)
	b.key = keyBytes(b.key[:0], prefixHash, r.Hash[:])
	b.val = binary.BigEndian.AppendUint64(b.val[:0], r.Height)
	b.set(b.key, b.val)
}

func (b *pebbleBatch) DeleteBlock(height uint64, hash chainhash.Hash) {
	b.key = keyU64(b.key[:0], prefixHeight, height)
	b.del(b.key)
	b.key = keyBytes(b.key[:0], prefixHash, hash[:])
	b.del(b.key)
}

func (b *pebbleBatch) PutTx(t *TxRec) {
	b.key = keyU64(b.key[:0], prefixTx, t.TxNum)
	b.val = appendTx(b.val[:0], t)
	b.set(b.key, b.val)
	b.key = keyBytes(b.key[:0], prefixTxID, t.TxID[:])
	b.val = binary.BigEndian.AppendUint64(b.val[:0], t.TxNum)
	b.set(b.key, b.val)
}

func (b *pebbleBatch) DeleteTx(txnum uint64, txid chainhash.Hash) {
	b.key = keyU64(b.key[:0], prefixTx, txnum)
	b.del(b.key)
	b.key = keyBytes(b.key[:0], prefixTxID, txid[:])
	b.del(b.key)
}

func (b *pebbleBatch) PutSpend(prevTxNum uint64, vout uint32, s SpendRec) {
	b.key = keySpend(b.key[:0], prevTxNum, vout)
	b.val = binary.BigEndian.AppendUint64(b.val[:0], s.TxNum)
	b.val = binary.BigEndian.AppendUint32(b.val, s.Vin)
	b.set(b.key, b.val)
}

func (b *pebbleBatch) DeleteSpend(prevTxNum uint64, vout uint32) {
	b.key = keySpend(b.key[:0], prevTxNum, vout)
	b.del(b.key)
}

func (b *pebbleBatch) PutAddr(id uint64, addrKey []byte) {
	b.key = keyBytes(b.key[:0], prefixAddrKey, addrKey)
	b.val = binary.BigEndian.AppendUint64(b.val[:0], id)
	b.set(b.key, b.val)
	b.key = keyU64(b.key[:0], prefixAddrID, id)
	b.set(b.key, addrKey)
}

func (b *pebbleBatch) DeleteAddr(id uint64, addrKey []byte) {
	b.key = keyBytes(b.key[:0], prefixAddrKey, addrKey)
	b.del(b.key)
	b.key = keyU64(b.key[:0], prefixAddrID, id)
	b.del(b.key)
}

func (b *pebbleBatch) PutEvent(e Event) {
	b.key = eventKey(b.key[:0], e)
	b.val = binary.AppendUvarint(b.val[:0], uint64(e.Value))
	b.set(b.key, b.val)
}

func (b *pebbleBatch) DeleteEvent(e Event) {
	b.key = eventKey(b.key[:0], e)
	b.del(b.key)
}

func eventKey(dst []byte, e Event) []byte {
	dir := byte(dirReceived)
	if e.Spent {
		dir = dirSpent
	}
	return keyEvent(dst, e.AddrID, e.TxNum, dir, e.Index)
}
