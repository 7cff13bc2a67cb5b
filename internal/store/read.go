package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/cockroachdb/pebble/v2"
)

// MetaU64 returns a named counter, and false when it was never set.
func (db *DB) MetaU64(ctx context.Context, name string) (uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	v, err := db.get(keyMeta(name), nil)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("store: corrupt meta %s", name)
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// getU64 reads an 8-byte big-endian value (the hash and address indexes).
// what describes the looked-up object in errors; it is only called on an
// error, since ingest looks ids up on its hot path.
func (db *DB) getU64(ctx context.Context, key []byte, what func() string) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	v, closer, err := db.pdb.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, fmt.Errorf("store: %s: %w", what(), ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what(), err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("store: corrupt index entry for %s", what())
	}
	return binary.BigEndian.Uint64(v), nil
}

// BlockByHeight returns the best-chain block at height.
func (db *DB) BlockByHeight(ctx context.Context, height uint64) (BlockRec, error) {
	if err := ctx.Err(); err != nil {
		return BlockRec{}, err
	}
	v, err := db.get(keyU64(nil, prefixHeight, height), nil)
	if err != nil {
		return BlockRec{}, fmt.Errorf("store: block at height %d: %w", height, err)
	}
	var r BlockRec
	return r, decodeBlock(height, v, &r)
}

// BlockByHash returns a best-chain block by hash.
func (db *DB) BlockByHash(ctx context.Context, hash chainhash.Hash) (BlockRec, error) {
	h, err := db.getU64(ctx, keyBytes(nil, prefixHash, hash[:]), func() string { return "block " + hash.String() })
	if err != nil {
		return BlockRec{}, err
	}
	return db.BlockByHeight(ctx, h)
}

// TxNum returns the ordinal of a transaction by txid.
func (db *DB) TxNum(ctx context.Context, txid chainhash.Hash) (uint64, error) {
	return db.getU64(ctx, keyBytes(nil, prefixTxID, txid[:]), func() string { return "tx " + txid.String() })
}

// Tx reads the transaction with ordinal txnum into t, reusing t's slices.
func (db *DB) Tx(ctx context.Context, txnum uint64, t *TxRec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, closer, err := db.pdb.Get(keyU64(nil, prefixTx, txnum))
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("store: tx #%d: %w", txnum, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: tx #%d: %w", txnum, err)
	}
	defer closer.Close()
	return decodeTx(txnum, v, t)
}

// Spender returns the input spending output vout of txnum, and false when
// the output is unspent.
func (db *DB) Spender(ctx context.Context, txnum uint64, vout uint32) (SpendRec, bool, error) {
	if err := ctx.Err(); err != nil {
		return SpendRec{}, false, err
	}
	v, err := db.get(keySpend(nil, txnum, vout), nil)
	if errors.Is(err, ErrNotFound) {
		return SpendRec{}, false, nil
	}
	if err != nil {
		return SpendRec{}, false, err
	}
	if len(v) != 12 {
		return SpendRec{}, false, fmt.Errorf("store: corrupt spend record of #%d:%d", txnum, vout)
	}
	return SpendRec{TxNum: binary.BigEndian.Uint64(v), Vin: binary.BigEndian.Uint32(v[8:])}, true, nil
}

// AddrID returns the id of the address with compact key addrKey.
func (db *DB) AddrID(ctx context.Context, addrKey []byte) (uint64, error) {
	return db.getU64(ctx, keyBytes(nil, prefixAddrKey, addrKey), func() string { return fmt.Sprintf("address %x", addrKey) })
}

// AddrKey returns the compact key of address id. The returned slice is the
// caller's.
func (db *DB) AddrKey(ctx context.Context, id uint64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, err := db.get(keyU64(nil, prefixAddrID, id), nil)
	if err != nil {
		return nil, fmt.Errorf("store: address #%d: %w", id, err)
	}
	return v, nil
}

// AddrsFrom calls fn with every address whose id is at least minID, in id
// order. Unwind uses it to drop the addresses a block created.
func (db *DB) AddrsFrom(ctx context.Context, minID uint64, fn func(id uint64, addrKey []byte) error) error {
	lo := keyU64(nil, prefixAddrID, minID)
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: []byte{prefixAddrID + 1}})
	if err != nil {
		return fmt.Errorf("store: addresses: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: addresses: %w", err)
		}
		if err := fn(binary.BigEndian.Uint64(k[1:]), bytes.Clone(v)); err != nil {
			return err
		}
	}
	return it.Error()
}

// Events calls fn with the address index entries of addrID in chain order
// (by transaction ordinal; within a transaction receipts before spends, each
// by index), starting at transaction ordinal fromTxNum. fn returns false to
// stop early.
func (db *DB) Events(ctx context.Context, addrID, fromTxNum uint64, fn func(Event) bool) error {
	lo := keyU64(nil, prefixEvent, addrID)
	lo = binary.BigEndian.AppendUint64(lo, fromTxNum)
	hi := keyU64(nil, prefixEvent, addrID+1)
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("store: events of address #%d: %w", addrID, err)
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := it.Key()
		if len(k) != eventKeyLen {
			return fmt.Errorf("store: corrupt event key of address #%d", addrID)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: events of address #%d: %w", addrID, err)
		}
		val, nv := binary.Uvarint(v)
		if nv <= 0 {
			return fmt.Errorf("store: corrupt event value of address #%d", addrID)
		}
		e := Event{
			AddrID: addrID,
			TxNum:  binary.BigEndian.Uint64(k[9:]),
			Spent:  k[17] == dirSpent,
			Index:  binary.BigEndian.Uint32(k[18:]),
			Value:  int64(val),
		}
		if !fn(e) {
			return nil
		}
	}
	return it.Error()
}

// BlockOfTx returns the block holding transaction ordinal txnum, by binary
// search over block heights (txnums grow with height).
func (db *DB) BlockOfTx(ctx context.Context, txnum uint64, tipHeight uint64) (BlockRec, error) {
	lo, hi := uint64(0), tipHeight
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		b, err := db.BlockByHeight(ctx, mid)
		if err != nil {
			return BlockRec{}, err
		}
		if b.TxNumMin <= txnum {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return db.BlockByHeight(ctx, lo)
}
