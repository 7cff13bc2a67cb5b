// Package blkfile reads the block files a Bitcoin Core node keeps in its
// blocks directory (blk00000.dat, blk00001.dat, ...) and serves the best
// chain found in them as a block source.
//
// A block file is a sequence of records, each made of the 4-byte network
// magic, a little-endian uint32 size and that many bytes of serialized
// block. Core preallocates files, so a run of zero bytes where a magic is
// expected ends the data of a file. Blocks are stored in arrival order, not
// height order, and the files may hold stale forks and blocks whose parent is
// missing. Since Core 28 the files may be obfuscated with the 8-byte key in
// blocks/xor.dat: the byte at file position p is XORed with key[p%8].
//
// Open scans only record headers and 80-byte block headers, builds the block
// tree and picks the chain with the most cumulative work. Block bodies are
// read later, on demand, by Blocks. A Source is a snapshot: to see blocks
// Core appended after Open, open the files again.
package blkfile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btc"
)

// MaxRecordSize is the largest block record size Open accepts. Consensus
// limits a serialized block to 4,000,000 bytes; anything far above that is a
// corrupt size field.
const MaxRecordSize = 32 << 20

// Option configures Open.
type Option func(*options)

type options struct {
	progress func(done, total int64)
	log      *slog.Logger
}

// WithProgress makes Open call fn from its own goroutine as the scan
// advances, with the bytes scanned so far and the total size of all block
// files. The last call reports done == total.
func WithProgress(fn func(done, total int64)) Option {
	return func(o *options) { o.progress = fn }
}

// WithLogger makes Open log what it finds (a truncated tail, blocks left out
// of the tree, a summary) to l. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// Stats describes what Open found. Records always equals
// Blocks + Stale + Orphans + Duplicates.
type Stats struct {
	// Files is the number of block files scanned.
	Files int
	// Bytes is the total size of the scanned files, padding included.
	Bytes int64
	// Records is the number of complete block records found.
	Records int
	// Blocks is the number of blocks on the best chain, genesis included.
	Blocks int
	// Stale is the number of blocks connected to genesis but not on the best
	// chain.
	Stale int
	// Orphans is the number of blocks not connected to genesis (their parent,
	// or an ancestor's parent, is not in the files).
	Orphans int
	// Duplicates is the number of records repeating a block seen earlier.
	Duplicates int
	// Truncated is the number of incomplete records ignored at the end of the
	// last file (what Core can leave after a crash, or while it is writing).
	Truncated int
}

// blockLoc locates one best-chain block in the files.
type blockLoc struct {
	hash chainhash.Hash
	// off is the file position of the record (its magic).
	off  int64
	file int32
	size uint32
}

// Source serves the best chain of a set of Core block files. It implements
// the ingest BlockSource contract. Its methods are meant to be called from
// one goroutine at a time.
type Source struct {
	net    wire.BitcoinNet
	files  []blkFile
	key    xorKey
	chain  []blockLoc
	stats  Stats
	cache  fileCache
	rd     reader
	closed bool
}

// Open scans the block files at path, which is either a single block file
// (obfuscated with the xor.dat next to it, if any) or a blocks directory
// holding blk*.dat files (a data directory with a blocks subdirectory also
// works). Every record must carry the magic of net. Open reads only record
// and block headers, checks each header's proof of work, and selects the
// best chain: the one with the most cumulative work, starting at a block
// whose previous-block hash is zero; between equal-work tips the one found
// first wins. Malformed data yields an error naming the file and byte
// offset, except an incomplete final record in the last file, which is
// ignored with a warning. A set without a genesis block is an error.
func Open(ctx context.Context, path string, net wire.BitcoinNet, opts ...Option) (*Source, error) {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, errors.New("blkfile: empty path")
	}
	files, keyPath, err := listFiles(path)
	if err != nil {
		return nil, err
	}
	key, err := readXORKey(keyPath)
	if err != nil {
		return nil, err
	}
	sc := newScan(net, key, files, &o)
	if err := sc.run(ctx); err != nil {
		return nil, err
	}
	chain, err := sc.tree.bestChain(files, o.log)
	if err != nil {
		return nil, err
	}
	s := &Source{
		net:   net,
		files: files,
		key:   key,
		chain: chain,
		stats: sc.stats,
		cache: newFileCache(files),
		rd:    reader{winFile: -1},
	}
	s.stats.Blocks = len(chain)
	s.stats.Stale = sc.tree.connected - len(chain)
	s.stats.Orphans = len(sc.tree.nodes) - sc.tree.connected
	o.log.Info("blkfile: scanned block files",
		"path", path, "files", s.stats.Files, "bytes", s.stats.Bytes,
		"records", s.stats.Records, "tip_height", len(chain)-1,
		"tip", chain[len(chain)-1].hash.String(), "stale", s.stats.Stale,
		"orphans", s.stats.Orphans, "duplicates", s.stats.Duplicates,
		"truncated", s.stats.Truncated, "obfuscated", key.active())
	return s, nil
}

// Tip returns the height and hash of the last best-chain block found by
// Open. It never fails.
func (s *Source) Tip(ctx context.Context) (uint64, chainhash.Hash, error) {
	tip := len(s.chain) - 1
	return uint64(tip), s.chain[tip].hash, nil
}

// HashAt returns the hash of the best-chain block at height, or an error
// wrapping btc.ErrNotFound when height is above the tip.
func (s *Source) HashAt(ctx context.Context, height uint64) (chainhash.Hash, error) {
	if height >= uint64(len(s.chain)) {
		return chainhash.Hash{}, fmt.Errorf("blkfile: height %d is above the tip %d: %w",
			height, len(s.chain)-1, btc.ErrNotFound)
	}
	return s.chain[height].hash, nil
}

// Stats returns what Open found.
func (s *Source) Stats() Stats { return s.stats }

// Close closes the files Blocks opened. Blocks fails after Close; Tip,
// HashAt and Stats keep answering from memory. Close must not run
// concurrently with Blocks.
func (s *Source) Close() error {
	s.closed = true
	s.rd = reader{winFile: -1}
	return s.cache.closeAll()
}
