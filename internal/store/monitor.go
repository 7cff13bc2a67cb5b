package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// MonitorTable names one of the monitor's tables in a chain store. The
// monitor (package monitor) owns the encoding of their keys after the
// table byte and of their values; the store only keeps them, so that the
// monitor's alerts and watched outputs commit in the same batch as the
// block that raised them. The table bytes are disjoint from the graph's.
type MonitorTable byte

// The monitor's tables. See DEVELOPERS.md for their keys and values.
const (
	// MonWatched holds watched outputs: taint extended from a watch.
	MonWatched MonitorTable = 'W'
	// MonAlert holds alert records by sequence number.
	MonAlert MonitorTable = 'L'
	// MonAlertHeight indexes the alerts a block raised, by height.
	MonAlertHeight MonitorTable = 'l'
	// MonOutbox holds alerts not yet handed to the webhook targets.
	MonOutbox MonitorTable = 'O'
	// MonPending holds deliveries not yet acknowledged, per target.
	MonPending MonitorTable = 'Q'
	// MonDead holds deliveries given up after the last retry.
	MonDead MonitorTable = 'D'
	// MonTaint holds the account monitor's tainted amounts per address,
	// asset and watch (account chains).
	MonTaint MonitorTable = 'V'
	// MonUndo holds, per height, the tainted amounts a block changed as
	// they were before it, which its unwind restores (account chains).
	MonUndo MonitorTable = 'v'
)

func (t MonitorTable) valid() bool {
	switch t {
	case MonWatched, MonAlert, MonAlertHeight, MonOutbox, MonPending, MonDead, MonTaint, MonUndo:
		return true
	}
	return false
}

// PutMonitor writes key (after the table byte) with val in table t.
// An unknown table is ignored: Batch methods do not fail, and the
// monitor only uses the constants above.
func (b *pebbleBatch) PutMonitor(t MonitorTable, key, val []byte) {
	if !t.valid() {
		return
	}
	b.key = keyBytes(b.key[:0], byte(t), key)
	b.set(b.key, val)
}

// DeleteMonitor removes key from table t.
func (b *pebbleBatch) DeleteMonitor(t MonitorTable, key []byte) {
	if !t.valid() {
		return
	}
	b.key = keyBytes(b.key[:0], byte(t), key)
	b.del(b.key)
}

// MonitorGet reads key from table t; ok is false when it is absent.
func (db *DB) MonitorGet(ctx context.Context, t MonitorTable, key []byte) (val []byte, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if !t.valid() {
		return nil, false, fmt.Errorf("store: unknown monitor table %q", byte(t))
	}
	v, err := db.get(keyBytes(nil, byte(t), key), nil)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// MonitorScan calls fn with the entries of table t whose key (after the
// table byte) starts with prefix, in key order, until fn returns false or
// an error. key and val are valid only during the call.
func (db *DB) MonitorScan(ctx context.Context, t MonitorTable, prefix []byte, fn func(key, val []byte) (bool, error)) error {
	if !t.valid() {
		return fmt.Errorf("store: unknown monitor table %q", byte(t))
	}
	lo := keyBytes(nil, byte(t), prefix)
	it, err := db.pdb.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return fmt.Errorf("store: monitor scan: %w", err)
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: monitor scan: %w", err)
		}
		more, err := fn(it.Key()[1:], v)
		if err != nil || !more {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: monitor scan: %w", err)
	}
	return nil
}

// prefixEnd returns the smallest key greater than every key starting
// with p, or nil when there is none (p all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
