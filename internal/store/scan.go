package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// ScanTxs calls fn with every transaction whose ordinal is in [from, to),
// in chain order, streaming the transaction table in key order (one
// iterator, no point reads), which is what building an in-memory copy of
// the graph wants. The record is reused between calls: fn must copy what
// it keeps. A missing ordinal in the range is an error, since ordinals are
// dense.
func (db *DB) ScanTxs(ctx context.Context, from, to uint64, fn func(t *TxRec) error) error {
	if from >= to {
		return nil
	}
	lo := keyU64(nil, prefixTx, from)
	hi := keyU64(nil, prefixTx, to)
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("store: scan transactions: %w", err)
	}
	defer it.Close()
	var t TxRec
	want := from
	for it.First(); it.Valid(); it.Next() {
		if want%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := it.Key()
		if len(k) != 9 {
			return fmt.Errorf("store: corrupt transaction key %x", k)
		}
		txnum := binary.BigEndian.Uint64(k[1:])
		if txnum != want {
			return fmt.Errorf("store: scan transactions: tx #%d missing (next is #%d): %w", want, txnum, ErrNotFound)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: scan transactions: %w", err)
		}
		if err := decodeTx(txnum, v, &t); err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		want++
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: scan transactions: %w", err)
	}
	if want != to {
		return fmt.Errorf("store: scan transactions: tx #%d missing: %w", want, ErrNotFound)
	}
	return nil
}
