// Package export writes chaintrace's stores as Parquet files for analytics
// engines (Spark, Trino, DuckDB, ClickHouse): the Bitcoin and EVM
// transaction graphs, one directory per chain id, and the label database's
// active labels and actors. Tables stream from the stores in chain order
// and are split into files at a size bound, so memory stays bounded
// whatever the chain's size. docs/parquet.md documents every column.
package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// storeCacheBytes is the block cache of a store being exported. The scan
// reads each block of the transaction table once and the point reads
// (blocks, addresses, spenders) are mostly near it, so the store's default
// of 512 MiB would on a large store fill up with blocks never read again;
// on a 1.7M-row simulated world 64 MiB exports as fast.
const storeCacheBytes = 64 << 20

// Defaults of Options.
const (
	DefaultRowGroupRows = 128 << 10
	DefaultFileBytes    = 256 << 20
)

// ErrBadOut is returned (wrapped) when the output path cannot be a
// directory of the export.
var ErrBadOut = errors.New("export: bad output directory")

// Options select and shape an export. The zero value exports every chain
// and the labels, whole, zstd-compressed.
type Options struct {
	// Chains are the chain ids to export ("btc", "eth", "eth-sim"); empty
	// exports every store of the data directory.
	Chains []string
	// FromHeight and, when HasToHeight is set, ToHeight bound the
	// exported blocks, inclusive; the range is clamped to each store's
	// blocks.
	FromHeight, ToHeight uint64
	HasToHeight          bool
	// NoLabels skips the labels and actors tables.
	NoLabels bool
	// Compression is "zstd" (default), "snappy" or "none".
	Compression string
	// RowGroupRows is the most rows of one row group, which bounds the
	// memory each open table holds (default DefaultRowGroupRows).
	RowGroupRows int
	// FileBytes starts a new file once one has grown past it (default
	// DefaultFileBytes); a file ends up at most one row group larger.
	FileBytes int64
	// Progress is called after each block of a chain with the chain id,
	// the blocks done and the blocks to do; nil reports nothing.
	Progress func(chain string, done, total int64)
	// Logger receives a line per table; nil discards them.
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.FileBytes <= 0 {
		o.FileBytes = DefaultFileBytes
	}
	switch o.Compression {
	case "":
		o.Compression = "zstd"
	case "zstd", "snappy", "none":
	default:
		return fmt.Errorf("export: compression %q: want zstd, snappy or none", o.Compression)
	}
	if o.HasToHeight && o.FromHeight > o.ToHeight {
		return fmt.Errorf("export: from height %d is above to height %d", o.FromHeight, o.ToHeight)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (o *Options) codec() compress.Codec {
	switch o.Compression {
	case "snappy":
		return &parquet.Snappy
	case "none":
		return &parquet.Uncompressed
	}
	return &parquet.Zstd
}

// heights clamps the requested range to a store's tip; ok is false when
// nothing is left to export.
func (o *Options) heights(tip uint64) (from, to uint64, ok bool) {
	from, to = o.FromHeight, tip
	if o.HasToHeight && o.ToHeight < to {
		to = o.ToHeight
	}
	return from, to, from <= to
}

func (o *Options) progress(chain string, done, total int64) {
	if o.Progress != nil {
		o.Progress(chain, done, total)
	}
}

// TableStats is what one table's export wrote.
type TableStats struct {
	// Chain is the chain id, empty for labels and actors.
	Chain string `json:"chain,omitempty"`
	Name  string `json:"table"`
	Dir   string `json:"dir"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	Files int    `json:"files"`
}

// Summary is what an export wrote, table by table.
type Summary struct {
	Out     string        `json:"out"`
	Tables  []TableStats  `json:"tables"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Rows totals the tables' rows.
func (s *Summary) Rows() (n int64) {
	for _, t := range s.Tables {
		n += t.Rows
	}
	return n
}

// Bytes totals the tables' file sizes.
func (s *Summary) Bytes() (n int64) {
	for _, t := range s.Tables {
		n += t.Bytes
	}
	return n
}

// PrepareOut checks that out is, or can become, a directory and creates it.
func PrepareOut(out string) error {
	if out == "" {
		return fmt.Errorf("%w: no path given", ErrBadOut)
	}
	fi, err := os.Stat(out)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%w: %s is a file, not a directory", ErrBadOut, out)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrBadOut, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOut, err)
	}
	return nil
}

// chainStore is a chain store found under a data directory.
type chainStore struct {
	chain string // chain id: btc, btc-testnet3, eth, eth-sim
	dir   string
	eth   bool
}

// findStores lists the chain stores under dataDir, opening each read-only
// to learn its chain id, sorted by chain id.
func findStores(ctx context.Context, dataDir string) ([]chainStore, error) {
	var out []chainStore
	for _, pat := range []string{"btc-*", "eth-*"} {
		dirs, err := filepath.Glob(filepath.Join(dataDir, pat))
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		for _, dir := range dirs {
			db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
			if err != nil {
				return nil, fmt.Errorf("export: %w", err)
			}
			m := db.Meta()
			_ = db.Close()
			cs := chainStore{dir: dir, eth: m.Chain == "eth"}
			if cs.eth {
				cs.chain = workspace.ETHChainID(m.Network)
			} else {
				cs.chain = btc.ChainID(m.Network)
			}
			out = append(out, cs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].chain < out[j].chain })
	return out, nil
}

// Run exports the stores under dataDir into out: a directory per chain id
// with one sub-directory per table, and labels/ and actors/ from the label
// database when it exists. A chain named in opts.Chains without a store is
// an error.
func Run(ctx context.Context, dataDir, out string, opts Options) (Summary, error) {
	start := time.Now()
	if err := opts.defaults(); err != nil {
		return Summary{}, err
	}
	if err := PrepareOut(out); err != nil {
		return Summary{}, err
	}
	sum := Summary{Out: out}
	stores, err := findStores(ctx, dataDir)
	if err != nil {
		return sum, err
	}
	if len(opts.Chains) > 0 {
		var have []string
		var picked []chainStore
		for _, s := range stores {
			have = append(have, s.chain)
			if slices.Contains(opts.Chains, s.chain) {
				picked = append(picked, s)
			}
		}
		for _, c := range opts.Chains {
			if !slices.Contains(have, c) {
				return sum, fmt.Errorf("export: no store of chain %q under %s (have %v)", c, dataDir, have)
			}
		}
		stores = picked
	}
	_, lerr := os.Stat(workspace.LabelsDir(dataDir))
	if len(stores) == 0 && (opts.NoLabels || lerr != nil) {
		return sum, fmt.Errorf("export: nothing to export under %s: no btc-* or eth-* store and no label database (set --data)", dataDir)
	}
	for _, s := range stores {
		db, err := store.Open(ctx, s.dir, store.ChainMeta{}, store.Options{ReadOnly: true, CacheBytes: storeCacheBytes})
		if err != nil {
			return sum, fmt.Errorf("export: %w", err)
		}
		var tables []TableStats
		if s.eth {
			tables, err = ETH(ctx, db, s.chain, filepath.Join(out, s.chain), opts)
		} else {
			tables, err = BTC(ctx, db, s.chain, filepath.Join(out, s.chain), opts)
		}
		_ = db.Close()
		sum.Tables = append(sum.Tables, tables...)
		if err != nil {
			return sum, err
		}
	}
	if !opts.NoLabels {
		if lerr == nil {
			st, err := openLabels(ctx, workspace.LabelsDir(dataDir), labels.DefaultLiveWait)
			if err != nil {
				return sum, err
			}
			tables, err := Labels(ctx, st, out, opts)
			_ = st.Close()
			sum.Tables = append(sum.Tables, tables...)
			if err != nil {
				return sum, err
			}
		} else {
			opts.Logger.Info("no label database: labels and actors not exported", "dir", workspace.LabelsDir(dataDir))
		}
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// openLabels opens the label store, retrying while another process holds
// it: a Pebble store admits one process at a time, and an import or a
// server taking its snapshot holds it for moments, which an export waits
// out rather than fail.
func openLabels(ctx context.Context, dir string, wait time.Duration) (*labels.Store, error) {
	deadline := time.Now().Add(wait)
	delay := 20 * time.Millisecond
	for {
		st, err := labels.Open(ctx, dir)
		if err == nil {
			return st, nil
		}
		if ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("export: label database %s (held by another process for over %s?): %w", dir, wait, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// logTables logs one line per table.
func logTables(log *slog.Logger, tables []TableStats) {
	for _, t := range tables {
		log.Info("exported", "chain", t.Chain, "table", t.Name, "rows", t.Rows, "bytes", t.Bytes, "files", t.Files)
	}
}

// micros converts Unix seconds to the microseconds of a Parquet TIMESTAMP.
func micros(unixSeconds uint64) int64 { return int64(unixSeconds) * 1_000_000 }

// ptr returns a pointer to v, for optional columns whose zero is a value.
func ptr[T any](v T) *T { return &v }
