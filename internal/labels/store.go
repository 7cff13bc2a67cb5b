package labels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Store is the persistent label database, a Pebble store in one directory
// (see keys.go for its layout). Apply calls are serialised; every other
// method may run concurrently with them and with each other, and reads a
// consistent view of the store.
type Store struct {
	db  *pebble.DB
	dir string

	// applyMu serialises Apply, which reads a dataset's labels and then
	// writes the difference.
	applyMu sync.Mutex
	// now is the clock of Apply; tests replace it.
	now func() time.Time

	closeOnce sync.Once
	closeErr  error
}

// DatasetInfo describes an applied dataset: its import record. Imported,
// Counts and Rejected are those of the last Apply that changed the store;
// an Apply that finds nothing to change (an identical re-import) writes
// nothing, so that it leaves the store byte-identical. Active and Retired
// count the dataset's labels in the store.
type DatasetInfo struct {
	Name     string     `json:"name"`
	Format   string     `json:"format,omitempty"`
	Path     string     `json:"path,omitempty"`
	Imported time.Time  `json:"imported"`
	Counts   Counts     `json:"counts"`
	Active   int        `json:"active"`
	Retired  int        `json:"retired"`
	Rejected []Rejected `json:"rejected,omitempty"`
}

// Open opens the label store in dir, creating the directory and the store
// when absent. A directory holding a store of another format is an error.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("labels: create %s: %w", dir, err)
	}
	po := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             quietLogger{},
		// A large dataset commits as one batch; a bigger memtable keeps
		// such batches from being flushed on their own.
		MemTableSize: 32 << 20,
	}
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	po.EnsureDefaults()
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("labels: open %s: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, now: func() time.Time { return time.Now().UTC() }}
	if err := s.checkFormat(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// checkFormat writes the format version into a new store and checks it in
// an existing one.
func (s *Store) checkFormat() error {
	key := append([]byte{prefixMeta}, "format"...)
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		if err := s.db.Set(key, []byte(formatVersion), pebble.Sync); err != nil {
			return fmt.Errorf("labels: write format of %s: %w", s.dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("labels: read format of %s: %w", s.dir, err)
	}
	got := string(v)
	closer.Close()
	if got != formatVersion {
		return fmt.Errorf("labels: %s holds format %q, want %q", s.dir, got, formatVersion)
	}
	return nil
}

// Close closes the store. Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("labels: close: %w", err)
		}
	})
	return s.closeErr
}

// reader is a consistent view of the store for reads that take several
// steps.
type reader struct {
	snap *pebble.Snapshot
}

func (s *Store) reader() reader { return reader{snap: s.db.NewSnapshot()} }

func (r reader) close() { _ = r.snap.Close() }

// scan calls fn for every key with the given prefix, in key order, until fn
// returns false or an error. The key and value are valid only during fn.
func (r reader) scan(ctx context.Context, prefix []byte, fn func(k, v []byte) (bool, error)) error {
	it, err := r.snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("labels: iterate: %w", err)
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				_ = it.Close()
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("labels: iterate: %w", err)
		}
		more, err := fn(it.Key(), v)
		if err != nil || !more {
			_ = it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return fmt.Errorf("labels: iterate: %w", err)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("labels: iterate: %w", err)
	}
	return nil
}

// label reads and decodes the label at d key k; ok is false when absent.
func (r reader) label(k []byte, l *Label) (bool, error) {
	v, closer, err := r.snap.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("labels: get: %w", err)
	}
	defer closer.Close()
	if err := decodeLabel(v, l, nil); err != nil {
		return false, fmt.Errorf("%w at key %q", err, k)
	}
	return true, nil
}

// quietLogger drops Pebble's informational messages and keeps errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	slog.Error(fmt.Sprintf("pebble: "+format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) {
	slog.Error(fmt.Sprintf("pebble: fatal: "+format, args...))
	os.Exit(1)
}
