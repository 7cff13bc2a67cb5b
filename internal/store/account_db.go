package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

var (
	_ AccountReader = (*DB)(nil)
	_ AccountBatch  = (*pebbleBatch)(nil)
)

// NewAccountBatch starts an empty batch for an account-chain store. It is
// the same sorted batch as NewBatch, seen through the account-chain
// methods.
func (db *DB) NewAccountBatch() AccountBatch {
	return db.NewBatch().(*pebbleBatch)
}

// PutEthBlock writes a block record and its hash index.
func (b *pebbleBatch) PutEthBlock(r *EthBlockRec) {
	b.key = keyU64(b.key[:0], prefixEthBlock, r.Height)
	b.val = appendEthBlock(b.val[:0], r)
	b.set(b.key, b.val)
	b.key = keyBytes(b.key[:0], prefixEthHash, r.Hash[:])
	b.val = binary.BigEndian.AppendUint64(b.val[:0], r.Height)
	b.set(b.key, b.val)
}

// DeleteEthBlock removes a block record and its hash index.
func (b *pebbleBatch) DeleteEthBlock(height uint64, hash [32]byte) {
	b.key = keyU64(b.key[:0], prefixEthBlock, height)
	b.del(b.key)
	b.key = keyBytes(b.key[:0], prefixEthHash, hash[:])
	b.del(b.key)
}

// PutEthTx writes a transaction and, unless its hash is zero (withdrawals),
// its hash index.
func (b *pebbleBatch) PutEthTx(t *EthTxRec) {
	b.key = keyU64(b.key[:0], prefixEthTx, t.TxNum)
	b.val = appendEthTx(b.val[:0], t)
	b.set(b.key, b.val)
	if t.Hash != ([32]byte{}) {
		b.key = keyBytes(b.key[:0], prefixEthTxHash, t.Hash[:])
		b.val = binary.BigEndian.AppendUint64(b.val[:0], t.TxNum)
		b.set(b.key, b.val)
	}
}

// DeleteEthTx removes what PutEthTx wrote.
func (b *pebbleBatch) DeleteEthTx(txnum uint64, hash [32]byte) {
	b.key = keyU64(b.key[:0], prefixEthTx, txnum)
	b.del(b.key)
	if hash != ([32]byte{}) {
		b.key = keyBytes(b.key[:0], prefixEthTxHash, hash[:])
		b.del(b.key)
	}
}

// PutEthEvent adds an address-index entry.
func (b *pebbleBatch) PutEthEvent(e EthEvent) {
	b.key = keyEthEvent(b.key[:0], &e)
	b.val = appendEthEventValue(b.val[:0], &e)
	b.set(b.key, b.val)
}

// DeleteEthEvent removes the entry matching AddrID, TxNum, Index and Out.
func (b *pebbleBatch) DeleteEthEvent(e EthEvent) {
	b.key = keyEthEvent(b.key[:0], &e)
	b.del(b.key)
}

// PutToken writes the metadata of the token whose contract has address id.
func (b *pebbleBatch) PutToken(id uint64, m TokenMeta) {
	b.key = keyU64(b.key[:0], prefixToken, id)
	b.val = appendTokenMeta(b.val[:0], &m)
	b.set(b.key, b.val)
}

// EthBlockByHeight returns the best-chain block at height.
func (db *DB) EthBlockByHeight(ctx context.Context, height uint64) (EthBlockRec, error) {
	if err := ctx.Err(); err != nil {
		return EthBlockRec{}, err
	}
	v, err := db.get(keyU64(nil, prefixEthBlock, height), nil)
	if err != nil {
		return EthBlockRec{}, fmt.Errorf("store: eth block at height %d: %w", height, err)
	}
	var r EthBlockRec
	return r, decodeEthBlock(height, v, &r)
}

// EthBlockByHash returns a best-chain block by hash.
func (db *DB) EthBlockByHash(ctx context.Context, hash [32]byte) (EthBlockRec, error) {
	h, err := db.getU64(ctx, keyBytes(nil, prefixEthHash, hash[:]), func() string { return fmt.Sprintf("eth block 0x%x", hash) })
	if err != nil {
		return EthBlockRec{}, err
	}
	return db.EthBlockByHeight(ctx, h)
}

// EthTxNum returns the ordinal of a transaction by hash.
func (db *DB) EthTxNum(ctx context.Context, hash [32]byte) (uint64, error) {
	return db.getU64(ctx, keyBytes(nil, prefixEthTxHash, hash[:]), func() string { return fmt.Sprintf("eth tx 0x%x", hash) })
}

// EthTx reads the transaction with ordinal txnum into t, reusing t's
// Transfers slice.
func (db *DB) EthTx(ctx context.Context, txnum uint64, t *EthTxRec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, closer, err := db.pdb.Get(keyU64(nil, prefixEthTx, txnum))
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("store: eth tx #%d: %w", txnum, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: eth tx #%d: %w", txnum, err)
	}
	defer closer.Close()
	return decodeEthTx(txnum, v, t)
}

// EthEvents calls fn with the address-index entries of addrID in chain
// order (transaction ordinal, transfer index, incoming before outgoing),
// starting at ordinal fromTxNum, until fn returns false.
func (db *DB) EthEvents(ctx context.Context, addrID, fromTxNum uint64, fn func(EthEvent) bool) error {
	lo := keyU64(nil, prefixEthEvent, addrID)
	lo = binary.BigEndian.AppendUint64(lo, fromTxNum)
	var hi []byte
	if addrID == ^uint64(0) {
		hi = []byte{prefixEthEvent + 1}
	} else {
		hi = keyU64(nil, prefixEthEvent, addrID+1)
	}
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("store: eth events of address #%d: %w", addrID, err)
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: eth events of address #%d: %w", addrID, err)
		}
		var e EthEvent
		if err := decodeEthEvent(it.Key(), v, &e); err != nil {
			return err
		}
		if !fn(e) {
			return nil
		}
	}
	return it.Error()
}

// Token returns the metadata of the token whose contract has address id,
// and false when none is stored.
func (db *DB) Token(ctx context.Context, id uint64) (TokenMeta, bool, error) {
	if err := ctx.Err(); err != nil {
		return TokenMeta{}, false, err
	}
	v, err := db.get(keyU64(nil, prefixToken, id), nil)
	if errors.Is(err, ErrNotFound) {
		return TokenMeta{}, false, nil
	}
	if err != nil {
		return TokenMeta{}, false, err
	}
	var m TokenMeta
	if err := decodeTokenMeta(id, v, &m); err != nil {
		return TokenMeta{}, false, err
	}
	return m, true, nil
}
