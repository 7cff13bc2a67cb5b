// Package tracebench builds the data of the trace-latency benchmark: a
// generated Bitcoin-like chain ingested into a chaintrace store, seeded
// sets of source addresses drawn from it, and the same transaction graph
// loaded into PostgreSQL, where the haircut trace runs as one recursive
// SQL query. The benchmark itself is in bench_test.go.
package tracebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/cockroachdb/pebble/v2"
)

// Net is the network of every benchmark chain.
var Net = &chaincfg.RegressionNetParams

// ChainID is the addrs chain id of the benchmark chain, as the trace
// engine and its parameters name it.
const ChainID = "btc-regtest"

// ChainConfig selects a generated chain. The same ChainConfig always
// yields the same chain, so a store built once is reused.
type ChainConfig struct {
	// Txs is the least number of transactions the chain holds
	// (btcgen.Config.MinTxs).
	Txs int64
	// Seed selects the chain (btcgen.Config.Seed).
	Seed int64
	// Users is the number of wallets (btcgen.Config.Users).
	Users int
	// TxPerBlock is the average number of transactions in a block.
	TxPerBlock int
}

// DefaultChain is the benchmark's chain of at least txs transactions:
// seed 7, 2,500 transactions a block, and one wallet for every 20
// transactions (between 10,000 and 2,000,000), so that address reuse and
// the mixing of coins stay alike across sizes.
func DefaultChain(txs int64) ChainConfig {
	return ChainConfig{Txs: txs, Seed: 7, Users: int(min(max(txs/20, 10_000), 2_000_000)), TxPerBlock: 2500}
}

// Key names the chain's cache entries: every parameter is in it.
func (c ChainConfig) Key() string {
	return fmt.Sprintf("seed%d-txs%d-users%d-tpb%d", c.Seed, c.Txs, c.Users, c.TxPerBlock)
}

// ChainInfo describes a built chain store. It is saved next to the store,
// so the figures of the build survive into later runs that reuse it.
type ChainInfo struct {
	Config ChainConfig `json:"config"`
	// Height is the tip height; Txs, Inputs and Outputs count what the
	// store holds, measured by reading every transaction back.
	Height  uint64 `json:"height"`
	Txs     uint64 `json:"txs"`
	Inputs  uint64 `json:"inputs"`
	Outputs uint64 `json:"outputs"`
	// GenerateSeconds and IngestSeconds time the build; StoreBytes is the
	// store's size on disk.
	GenerateSeconds float64 `json:"generate_seconds"`
	IngestSeconds   float64 `json:"ingest_seconds"`
	StoreBytes      uint64  `json:"store_bytes"`
	// Compacted is set once the store has been compacted after ingest,
	// which took CompactSeconds.
	Compacted      bool    `json:"compacted"`
	CompactSeconds float64 `json:"compact_seconds"`
}

// Chain is an open benchmark chain store.
type Chain struct {
	DB   *store.DB
	Dir  string
	Info ChainInfo
}

// Close closes the store.
func (c *Chain) Close() error { return c.DB.Close() }

// Logf receives progress messages; testing.TB's Logf fits.
type Logf func(format string, args ...any)

// OpenChain opens the chain store for cfg under root, building it first
// when root holds none: btcgen writes the chain as block files, ingest
// loads them into a store in bulk mode, and the store is read back once to
// count its transactions and outputs. The block files are removed after
// the build; the store stays for the next run.
func OpenChain(ctx context.Context, root string, cfg ChainConfig, logf Logf) (*Chain, error) {
	dir := filepath.Join(root, "chain-"+cfg.Key())
	infoPath := filepath.Join(dir, "info.json")
	info, err := readInfo(infoPath)
	if errors.Is(err, os.ErrNotExist) {
		info, err = buildChain(ctx, dir, cfg, logf)
		if err == nil {
			err = writeInfo(infoPath, info)
		}
	}
	if err == nil && !info.Compacted {
		logf("tracebench: compacting the store")
		start := time.Now()
		if err = compactStore(ctx, filepath.Join(dir, "store")); err == nil {
			info.Compacted, info.CompactSeconds = true, time.Since(start).Seconds()
			info.StoreBytes, err = dirSize(filepath.Join(dir, "store"))
		}
		if err == nil {
			logf("tracebench: compacted in %.0fs", info.CompactSeconds)
			err = writeInfo(infoPath, info)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("tracebench: chain %s: %w", cfg.Key(), err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "store"), storeMeta(), store.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("tracebench: chain %s: %w", cfg.Key(), err)
	}
	return &Chain{DB: db, Dir: dir, Info: info}, nil
}

func storeMeta() store.ChainMeta {
	return store.ChainMeta{Chain: "btc", Network: btc.NetworkName(Net)}
}

func readInfo(path string) (ChainInfo, error) {
	var info ChainInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("read %s: %w", path, err)
	}
	return info, nil
}

func writeInfo(path string, info ChainInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// genInfo is what the generator reports of the chain, saved with the
// block files as the mark that they are complete.
type genInfo struct {
	Txs, Outputs, Bytes int64
	Seconds             float64
}

// ingestCacheEntries sizes ingest's output and address caches: far above
// the default, so that at the benchmark's size (about 40M addresses) they
// never drop entries and a miss needs no store read. With the default, a
// build of 26M transactions slows from 95k to 7k tx/s once the address
// cache first rotates, every new address then costing store reads. The
// price is memory: without ingestMemoryLimit, that build peaked at 19 GB
// of RSS, the garbage collector letting the heap grow to twice the caches.
const ingestCacheEntries = 64_000_000

// ingestMemoryLimit is the soft memory limit (runtime/debug) set while
// ingest runs, so that the garbage collector works harder instead.
const ingestMemoryLimit = 12 << 30

// buildChain generates, ingests and measures the chain into dir. Block
// files a killed build completed are reused; an incomplete store is not.
func buildChain(ctx context.Context, dir string, cfg ChainConfig, logf Logf) (ChainInfo, error) {
	info := ChainInfo{Config: cfg}
	blkDir := filepath.Join(dir, "blk")
	genPath := filepath.Join(blkDir, "complete.json")
	var gen genInfo
	if b, err := os.ReadFile(genPath); err == nil && json.Unmarshal(b, &gen) == nil {
		logf("tracebench: reusing the generated block files of %s", cfg.Key())
	} else {
		if err := os.RemoveAll(dir); err != nil {
			return info, fmt.Errorf("clear %s: %w", dir, err)
		}
		start := time.Now()
		logf("tracebench: generating chain %s", cfg.Key())
		res, err := btcgen.Generate(ctx, blkDir, btcgen.Config{
			Seed: cfg.Seed, Net: Net, MinTxs: cfg.Txs, TxPerBlock: cfg.TxPerBlock, Users: cfg.Users,
		}, nil)
		if err != nil {
			return info, fmt.Errorf("generate: %w", err)
		}
		gen = genInfo{Txs: res.Txs, Outputs: res.Outputs, Bytes: res.Bytes, Seconds: time.Since(start).Seconds()}
		b, err := json.Marshal(gen)
		if err == nil {
			err = os.WriteFile(genPath, b, 0o644)
		}
		if err != nil {
			return info, fmt.Errorf("generate: %w", err)
		}
		logf("tracebench: generated %d txs, %d outputs, %d bytes in %.0fs", gen.Txs, gen.Outputs, gen.Bytes, gen.Seconds)
	}
	info.GenerateSeconds = gen.Seconds

	start := time.Now()
	logf("tracebench: ingesting")
	storeDir := filepath.Join(dir, "store")
	if err := os.RemoveAll(storeDir); err != nil {
		return info, fmt.Errorf("clear %s: %w", storeDir, err)
	}
	db, err := store.Open(ctx, storeDir, storeMeta(), store.Options{Bulk: true})
	if err != nil {
		return info, err
	}
	src, err := blkfile.Open(ctx, blkDir, wire.BitcoinNet(Net.Net))
	if err != nil {
		_ = db.Close()
		return info, fmt.Errorf("open block files: %w", err)
	}
	var last time.Time
	progress := func(st ingest.Status) {
		if time.Since(last) >= time.Minute {
			last = time.Now()
			logf("tracebench: ingest at height %d of %d, %d txs, %.0f tx/s", st.Height, st.Target, st.Txs, float64(st.Txs)/st.Elapsed.Seconds())
		}
	}
	limit := debug.SetMemoryLimit(ingestMemoryLimit)
	_, err = ingest.NewBTC(db, src, ingest.Options{CacheEntries: ingestCacheEntries, Progress: progress}).Run(ctx)
	debug.SetMemoryLimit(limit)
	src.Close()
	if err == nil {
		err = db.Flush()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("ingest: %w", err)
	}
	info.IngestSeconds = time.Since(start).Seconds()
	logf("tracebench: ingested in %.0fs", info.IngestSeconds)
	if err := os.RemoveAll(blkDir); err != nil {
		return info, fmt.Errorf("remove block files: %w", err)
	}

	db, err = store.Open(ctx, storeDir, storeMeta(), store.Options{ReadOnly: true})
	if err != nil {
		return info, err
	}
	defer db.Close()
	info.StoreBytes = db.DiskUsage()
	err = ScanTxs(ctx, db, func(t *store.TxRec) error {
		info.Txs++
		info.Height = t.Height
		if !t.Coinbase {
			info.Inputs += uint64(len(t.Ins))
		}
		info.Outputs += uint64(len(t.Outs))
		return nil
	})
	if err != nil {
		return info, err
	}
	if int64(info.Txs) != gen.Txs || int64(info.Outputs) != gen.Outputs {
		return info, fmt.Errorf("store holds %d txs and %d outputs, the generator made %d and %d", info.Txs, info.Outputs, gen.Txs, gen.Outputs)
	}
	return info, nil
}

// compactStore compacts the whole key space of the Pebble store in dir.
// Bulk ingest leaves many overlapping level-0 tables (it relaxes the
// compaction triggers), which every point read must then consult; a store
// that a node has kept open for a while has compacted them away, and the
// benchmark measures that state. Package store offers no compaction, so
// this opens the directory with Pebble itself, while no store has it open.
func compactStore(ctx context.Context, dir string) error {
	db, err := pebble.Open(dir, &pebble.Options{
		FormatMajorVersion:         pebble.FormatNewest,
		DisableWAL:                 true,
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
		Logger:                     pebbleLogger{},
	})
	if err != nil {
		return fmt.Errorf("compact %s: %w", dir, err)
	}
	err = db.Compact(ctx, []byte{0}, []byte{0xff, 0xff}, true)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("compact %s: %w", dir, err)
	}
	return nil
}

// pebbleLogger drops Pebble's informational messages and keeps its
// errors.
type pebbleLogger struct{}

func (pebbleLogger) Infof(string, ...any) {}

func (pebbleLogger) Errorf(format string, args ...any) {
	log.Printf("pebble: "+format, args...)
}

func (pebbleLogger) Fatalf(format string, args ...any) {
	log.Fatalf("pebble: "+format, args...)
}

// dirSize returns the bytes of the files in dir.
func dirSize(dir string) (uint64, error) {
	var n uint64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += uint64(fi.Size())
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}

// TxCount returns the number of transactions in db: the ordinal after the
// last transaction of the tip block.
func TxCount(ctx context.Context, db *store.DB) (uint64, error) {
	p, ok, err := db.Progress(ctx, "blocks")
	if err != nil {
		return 0, fmt.Errorf("tracebench: tip: %w", err)
	}
	if !ok {
		return 0, nil
	}
	b, err := db.BlockByHeight(ctx, p.Height)
	if err != nil {
		return 0, fmt.Errorf("tracebench: tip: %w", err)
	}
	return b.TxNumMin + uint64(b.TxCount), nil
}

// ScanTxs calls fn with every transaction of db in chain order. The record
// is reused between calls.
func ScanTxs(ctx context.Context, db *store.DB, fn func(t *store.TxRec) error) error {
	n, err := TxCount(ctx, db)
	if err != nil {
		return err
	}
	var t store.TxRec
	for txnum := range n {
		if err := db.Tx(ctx, txnum, &t); err != nil {
			return fmt.Errorf("tracebench: scan: %w", err)
		}
		if err := fn(&t); err != nil {
			return err
		}
	}
	return nil
}

// WarmStore reads every file of the chain's store once, so that the
// traces that follow find it in the operating system's page cache, as a
// store in regular use would be. It returns the bytes read.
func (c *Chain) WarmStore() (int64, error) {
	var n int64
	err := filepath.WalkDir(filepath.Join(c.Dir, "store"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		m, err := io.Copy(io.Discard, f)
		n += m
		return err
	})
	if err != nil {
		return n, fmt.Errorf("tracebench: warm the store: %w", err)
	}
	return n, nil
}
