package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Link kinds: the first byte of a link-log value. LinkMultiInput records a
// transaction whose input addresses the multi-input heuristic joins into
// one cluster; the CoinJoin kinds record transactions that have several
// input addresses but were recognised as CoinJoins, whose inputs belong to
// different owners and must never be joined. They are stored, without
// address ids, so that tracing can flag them.
const (
	LinkMultiInput      uint8 = 0
	LinkCoinJoinGeneric uint8 = 1
	LinkWasabi1         uint8 = 2
	LinkWasabi2         uint8 = 3
	LinkWhirlpool       uint8 = 4
	LinkJoinMarket      uint8 = 5
	// LinkMaxKind is the largest kind a store accepts; a larger one in a
	// stored value means the value is corrupt or from a newer version.
	LinkMaxKind = LinkJoinMarket
)

// maxLinkIDs bounds the address ids decoded from one link value. A
// transaction cannot have more inputs than fit in a 4 MWU block (about
// 24,000 at 41 bytes each); the bound is generous and only guards
// allocation against corrupt values.
const maxLinkIDs = 1 << 16

// appendLink appends the value encoding of a link: the kind, then the
// sorted distinct ids as uvarints, the first as is and each next one as
// its difference to the previous (always at least 1), which keeps the
// value small since inputs' addresses are often close in id.
func appendLink(dst []byte, kind uint8, ids []uint64) []byte {
	dst = append(dst, kind)
	var prev uint64
	for i, id := range ids {
		if i == 0 {
			dst = binary.AppendUvarint(dst, id)
		} else {
			dst = binary.AppendUvarint(dst, id-prev)
		}
		prev = id
	}
	return dst
}

// decodeLink decodes a link value into ids (reusing its storage) and
// checks it: a known kind, ids only for LinkMultiInput and then at least
// two, strictly increasing, no overflow, at most maxLinkIDs.
func decodeLink(txnum uint64, v []byte, ids []uint64) (uint8, []uint64, error) {
	ids = ids[:0]
	bad := func(why string) error {
		return fmt.Errorf("store: corrupt link of tx #%d (key U%016x): %s", txnum, txnum, why)
	}
	if len(v) == 0 {
		return 0, ids, bad("empty value")
	}
	kind := v[0]
	if kind > LinkMaxKind {
		return 0, ids, bad(fmt.Sprintf("unknown kind %d", kind))
	}
	p := v[1:]
	var prev uint64
	for len(p) > 0 {
		if len(ids) == maxLinkIDs {
			return 0, ids, bad("too many address ids")
		}
		d, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, ids, bad("truncated address id")
		}
		p = p[n:]
		id := d
		if len(ids) > 0 {
			if d == 0 {
				return 0, ids, bad("address ids not strictly increasing")
			}
			id = prev + d
			if id < prev {
				return 0, ids, bad("address id overflows")
			}
		}
		ids = append(ids, id)
		prev = id
	}
	switch {
	case kind == LinkMultiInput && len(ids) < 2:
		return 0, ids, bad(fmt.Sprintf("multi-input link with %d address ids", len(ids)))
	case kind != LinkMultiInput && len(ids) > 0:
		return 0, ids, bad(fmt.Sprintf("CoinJoin link (kind %d) with address ids", kind))
	}
	return kind, ids, nil
}

// PutLink records the link-log entry of transaction txnum. addrIDs need
// not be sorted or distinct: the stored list is both. CoinJoin kinds are
// stored without ids whatever addrIDs holds.
func (b *pebbleBatch) PutLink(txnum uint64, kind uint8, addrIDs []uint64) {
	b.key = keyU64(b.key[:0], prefixLink, txnum)
	var ids []uint64
	if kind == LinkMultiInput {
		ids = slices.Compact(slices.Sorted(slices.Values(addrIDs)))
	}
	b.val = appendLink(b.val[:0], kind, ids)
	b.set(b.key, b.val)
}

// DeleteLink removes the link-log entry of transaction txnum.
func (b *pebbleBatch) DeleteLink(txnum uint64) {
	b.key = keyU64(b.key[:0], prefixLink, txnum)
	b.del(b.key)
}

// Links calls fn with every link-log entry from transaction ordinal
// fromTxNum on, in ordinal order, until fn returns false. addrIDs is
// reused between calls: it is valid only during the call and fn must copy
// what it keeps.
func (db *DB) Links(ctx context.Context, fromTxNum uint64, fn func(txnum uint64, kind uint8, addrIDs []uint64) bool) error {
	lo := keyU64(nil, prefixLink, fromTxNum)
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: []byte{prefixLink + 1}})
	if err != nil {
		return fmt.Errorf("store: links: %w", err)
	}
	defer it.Close()
	var ids []uint64
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k := it.Key()
		if len(k) != 9 {
			return fmt.Errorf("store: corrupt link key %x", k)
		}
		txnum := binary.BigEndian.Uint64(k[1:])
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: link of tx #%d: %w", txnum, err)
		}
		var kind uint8
		if kind, ids, err = decodeLink(txnum, v, ids); err != nil {
			return err
		}
		if !fn(txnum, kind, ids) {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: links: %w", err)
	}
	return nil
}

// Link returns the kind of transaction txnum's link-log entry, and false
// when the transaction has none (a single input address, or none known).
func (db *DB) Link(ctx context.Context, txnum uint64) (uint8, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	v, err := db.get(keyU64(nil, prefixLink, txnum), nil)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: link of tx #%d: %w", txnum, err)
	}
	kind, _, err := decodeLink(txnum, v, nil)
	if err != nil {
		return 0, false, err
	}
	return kind, true, nil
}
