// Package store is chaintrace's embedded transaction-graph store, on Pebble.
// One store directory holds one chain. Ingest writes through Batch, which
// commits data and stage progress atomically; everything else reads through
// the methods of DB, which are safe for concurrent use.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// ErrNotFound is returned (wrapped) by look-ups of absent blocks,
// transactions and addresses.
var ErrNotFound = errors.New("store: not found")

// ChainMeta identifies the chain a store holds. It is written when the store
// is created and checked on every open, so that blocks of one network never
// land in another network's store.
type ChainMeta struct {
	Chain   string `json:"chain"`   // "btc"
	Network string `json:"network"` // mainnet, testnet3, signet, regtest, simnet
}

// maxSpareBufs is how many batch buffers a DB keeps for reuse.
const maxSpareBufs = 2

// Options tune a store. The zero value is a good default for look-ups;
// ingest sets Bulk.
type Options struct {
	// Bulk favours write throughput: bigger memtables and a relaxed L0.
	Bulk bool
	// ReadOnly opens the store without taking the write path.
	ReadOnly bool
	// MemTableBytes overrides the memtable size (tests use a small one to
	// force flushes).
	MemTableBytes uint64
	// CacheBytes is the block cache's capacity (default 512 MiB). Traces
	// and look-ups read scattered blocks over and over; Pebble's own
	// default of 8 MiB makes each of those reads decompress a block
	// again. Memory is taken as blocks are cached, not up front.
	CacheBytes int64
	Logger     *slog.Logger
}

// DB is an open store.
type DB struct {
	pdb  *pebble.DB
	meta ChainMeta
	dir  string
	// noWAL is set in bulk mode, where durability comes from flushes.
	noWAL bool
	// spare keeps batch buffers for the next batches: ingest commits large
	// batches one after another (one filling while the previous commits),
	// and regrowing buffers of tens of megabytes each time costs more than
	// keeping them.
	spareMu sync.Mutex
	spare   []*sortBuf
}

// Open opens (creating if absent and not read-only) the store in dir for
// the given chain. Opening a store created for another chain or network is
// an error.
func Open(ctx context.Context, dir string, meta ChainMeta, opts Options) (*DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	po := &pebble.Options{
		ReadOnly:           opts.ReadOnly,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             quietLogger{},
	}
	po.MemTableSize = 64 << 20
	po.L0CompactionThreshold = 4
	po.L0StopWritesThreshold = 24
	if opts.Bulk {
		po.MemTableSize = 128 << 20
		po.MemTableStopWritesThreshold = 4
		po.L0CompactionThreshold = 16
		po.L0StopWritesThreshold = 64
		po.CompactionConcurrencyRange = func() (int, int) { return 1, 2 }
		// No WAL: every batch lands whole in one memtable, memtables are
		// flushed in order, and a batch carries its own stage progress, so
		// after a kill the store holds an exact prefix of the committed
		// batches and ingest redoes the rest. A sync commit flushes.
		po.DisableWAL = true
	}
	if opts.MemTableBytes > 0 {
		po.MemTableSize = opts.MemTableBytes
	}
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	cacheBytes := opts.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = 512 << 20
	}
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref() // the DB holds its own reference
	po.Cache = cache
	po.EnsureDefaults()
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	db := &DB{pdb: pdb, dir: dir, noWAL: po.DisableWAL && !opts.ReadOnly}
	if err := db.checkMeta(meta, opts.ReadOnly); err != nil {
		_ = pdb.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) checkMeta(want ChainMeta, readOnly bool) error {
	v, closer, err := db.pdb.Get(keyMeta("chain"))
	if errors.Is(err, pebble.ErrNotFound) {
		if readOnly {
			return fmt.Errorf("store: %s holds no chain yet (ingest first)", db.dir)
		}
		if want.Chain == "" {
			return fmt.Errorf("store: %s is empty and no chain was given", db.dir)
		}
		b, _ := json.Marshal(want)
		w := db.NewBatch()
		defer w.Close()
		w.(*pebbleBatch).set(keyMeta("chain"), b)
		if err := w.Commit(context.Background(), true); err != nil {
			return fmt.Errorf("store: write chain meta: %w", err)
		}
		db.meta = want
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read chain meta: %w", err)
	}
	defer closer.Close()
	var got ChainMeta
	if err := json.Unmarshal(v, &got); err != nil {
		return fmt.Errorf("store: corrupt chain meta in %s: %w", db.dir, err)
	}
	if want.Chain != "" && (got.Chain != want.Chain || got.Network != want.Network) {
		return fmt.Errorf("store: %s holds %s/%s, not %s/%s", db.dir, got.Chain, got.Network, want.Chain, want.Network)
	}
	db.meta = got
	return nil
}

// Meta returns the chain the store holds.
func (db *DB) Meta() ChainMeta { return db.meta }

// Dir returns the store's directory.
func (db *DB) Dir() string { return db.dir }

// Close flushes and closes the store.
func (db *DB) Close() error {
	if err := db.pdb.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Flush forces the memtable to disk; used at the end of bulk loads so the
// next open does not replay a large WAL.
func (db *DB) Flush() error {
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	return nil
}

// get returns a copy of the value at key, or ErrNotFound.
func (db *DB) get(key []byte, dst []byte) ([]byte, error) {
	v, closer, err := db.pdb.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	dst = append(dst[:0], v...)
	closer.Close()
	return dst, nil
}

// Progress returns a stage's progress, and false when the stage has never
// run.
func (db *DB) Progress(ctx context.Context, stage string) (Progress, bool, error) {
	if err := ctx.Err(); err != nil {
		return Progress{}, false, err
	}
	v, err := db.get(keyProgress(stage), nil)
	if errors.Is(err, ErrNotFound) {
		return Progress{}, false, nil
	}
	if err != nil {
		return Progress{}, false, err
	}
	if len(v) != 40 {
		return Progress{}, false, fmt.Errorf("store: corrupt progress of stage %s", stage)
	}
	var p Progress
	p.Height = binary.BigEndian.Uint64(v)
	copy(p.Hash[:], v[8:])
	return p, true, nil
}

// Digest returns a SHA-256 over every key and value in key order. Two stores
// with the same digest hold the same content; the crash test relies on it.
func (db *DB) Digest(ctx context.Context) ([32]byte, int, error) {
	it, err := db.pdb.NewIterWithContext(ctx, nil)
	if err != nil {
		return [32]byte{}, 0, fmt.Errorf("store: digest: %w", err)
	}
	defer it.Close()
	h := sha256.New()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return [32]byte{}, 0, err
			}
		}
		writeLP(h, it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			return [32]byte{}, 0, fmt.Errorf("store: digest: %w", err)
		}
		writeLP(h, v)
		n++
	}
	if err := it.Error(); err != nil {
		return [32]byte{}, 0, fmt.Errorf("store: digest: %w", err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}

func writeLP(h hash.Hash, b []byte) {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(b)))
	h.Write(l[:])
	h.Write(b)
}

// DiskUsage returns the bytes the store occupies on disk.
func (db *DB) DiskUsage() uint64 {
	return db.pdb.Metrics().DiskSpaceUsage()
}

// quietLogger drops Pebble's informational chatter and keeps errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	slog.Error(fmt.Sprintf("pebble: "+format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) {
	slog.Error(fmt.Sprintf("pebble: fatal: "+format, args...))
	os.Exit(1)
}
