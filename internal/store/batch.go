package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/cockroachdb/pebble/v2"
)

// pebbleBatch is the Pebble implementation of Batch.
type pebbleBatch struct {
	db  *DB
	b   *pebble.Batch
	key []byte
	val []byte
}

// NewBatch starts an empty batch.
func (db *DB) NewBatch() Batch {
	return &pebbleBatch{db: db, b: db.pdb.NewBatch(), key: make([]byte, 0, 64), val: make([]byte, 0, 1024)}
}

func (b *pebbleBatch) Len() int { return b.b.Len() }

func (b *pebbleBatch) Count() uint32 { return b.b.Count() }

func (b *pebbleBatch) Commit(ctx context.Context, sync bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	opt := pebble.NoSync
	if sync {
		opt = pebble.Sync
	}
	if err := b.b.Commit(opt); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (b *pebbleBatch) Close() { _ = b.b.Close() }

func (b *pebbleBatch) set(key, val []byte) { _ = b.b.Set(key, val, nil) }
func (b *pebbleBatch) del(key []byte)      { _ = b.b.Delete(key, nil) }

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
