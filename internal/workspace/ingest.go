package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/eth/etl"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

// IngestOptions configure an ingest. The embedded ingest.Options carry
// the logger (which also gets the summary line of a finished ingest), the
// progress callback, batch and cache sizes and the height bounds; zero
// values take ingest's defaults.
type IngestOptions struct {
	ingest.Options
	// Scan, when set, is called while block files are scanned, with the
	// bytes read and the bytes to read.
	Scan func(done, total int64)
}

func (o *IngestOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// OpenBlockFiles opens Bitcoin Core block files (a blk*.dat file or a
// blocks directory, obfuscated or not) of network net as a block source
// and logs what the scan found.
func OpenBlockFiles(ctx context.Context, path string, net *chaincfg.Params, o IngestOptions) (*blkfile.Source, error) {
	log := o.logger()
	bopts := []blkfile.Option{blkfile.WithLogger(log)}
	if o.Scan != nil {
		bopts = append(bopts, blkfile.WithProgress(o.Scan))
	}
	s, err := blkfile.Open(ctx, path, wire.BitcoinNet(net.Net), bopts...)
	if err != nil {
		return nil, err
	}
	st := s.Stats()
	log.Info("block files scanned", "path", path, "best_chain_blocks", st.Blocks, "stale", st.Stale, "orphans", st.Orphans, "files", st.Files)
	return s, nil
}

// IngestBlockFiles ingests the best chain of Bitcoin Core block files into
// the btc-<network> store under dataDir, continuing from what the store
// already holds (a store already at the files' tip applies nothing).
func IngestBlockFiles(ctx context.Context, dataDir, blocksDir string, net *chaincfg.Params, o IngestOptions) (ingest.Status, error) {
	src, err := OpenBlockFiles(ctx, blocksDir, net, o)
	if err != nil {
		return ingest.Status{}, err
	}
	defer src.Close()
	return IngestBTC(ctx, dataDir, src, btc.NetworkName(net), o)
}

// IngestBTC ingests a Bitcoin block source (block files or a node) into
// the btc-<network> store under dataDir, incrementally: it continues from
// the stored tip and unwinds blocks the source no longer has.
func IngestBTC(ctx context.Context, dataDir string, src ingest.BlockSource, network string, o IngestOptions) (ingest.Status, error) {
	log := o.logger()
	db, err := store.Open(ctx, BTCStoreDir(dataDir, network), store.ChainMeta{Chain: "btc", Network: network}, store.Options{Bulk: true, Logger: o.Logger})
	if err != nil {
		return ingest.Status{}, err
	}
	defer db.Close()
	var lastTxs uint64
	opts := o.Options
	opts.Progress = func(s ingest.Status) {
		lastTxs = s.Txs
		if o.Progress != nil {
			o.Progress(s)
		}
	}
	st, err := ingest.NewBTC(db, src, opts).Run(ctx)
	if err != nil {
		return st, err
	}
	if err := db.Flush(); err != nil {
		return st, err
	}
	rate := 0.0
	if st.Elapsed > 0 {
		rate = float64(lastTxs) / st.Elapsed.Seconds()
	}
	log.Info("ingest done", "tip_height", st.Height, "tip_hash", st.TipHash.String(), "blocks", st.Blocks, "txs", st.Txs,
		"unwound", st.Unwound, "elapsed", st.Elapsed.Round(time.Millisecond).String(), "tx_per_s", int64(rate), "store_bytes", db.DiskUsage())
	return st, nil
}

// IngestETL imports an ethereum-etl export directory into the
// eth-<network> store under dataDir. An empty store starts at the
// export's first block unless o.StartHeight says otherwise. Token
// symbols and decimals come from the export's tokens file, where it has
// one.
func IngestETL(ctx context.Context, dataDir, etlDir, network string, o IngestOptions) (ingest.Status, error) {
	log := o.logger()
	src, err := etl.Open(etlDir, etl.Options{Logger: o.Logger})
	if err != nil {
		return ingest.Status{}, err
	}
	opts := o.Options
	if opts.StartHeight == 0 {
		opts.StartHeight = src.First()
	}
	db, err := store.Open(ctx, ETHStoreDir(dataDir, network), store.ChainMeta{Chain: "eth", Network: network}, store.Options{Bulk: true, Logger: o.Logger})
	if err != nil {
		return ingest.Status{}, err
	}
	defer db.Close()
	st, err := ingest.NewEthDecoded(db, src, opts).Run(ctx)
	if err != nil {
		return st, err
	}
	tokens := 0
	if st.Blocks > 0 {
		// The export's tokens file answers the metadata calls a node
		// would, so that amounts of its tokens show with their decimals.
		if tokens, err = ingest.FillTokenMeta(ctx, db, src, st.Height+1-st.Blocks, st.Height); err != nil {
			log.Warn("token metadata incomplete", "err", err)
		}
	}
	if err := db.Flush(); err != nil {
		return st, err
	}
	log.Info("etl import done", "chain", network, "tip_height", st.Height, "blocks", st.Blocks, "txs", st.Txs, "tokens", tokens,
		"elapsed", st.Elapsed.Round(time.Millisecond).String(), "store_bytes", db.DiskUsage())
	return st, nil
}

// StoreTip returns the progress (height and block hash) a chain store
// under dataDir has ingested up to; dir is the store's directory name
// ("btc-regtest", "eth-sim"). ok is false when there is no such store or
// it holds no block. Callers use it to skip an ingest that would apply
// nothing.
func StoreTip(ctx context.Context, dataDir, dir string) (p store.Progress, ok bool, err error) {
	path := filepath.Join(dataDir, dir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return store.Progress{}, false, nil
	}
	db, err := store.Open(ctx, path, store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		return store.Progress{}, false, err
	}
	defer db.Close()
	stage := "blocks"
	if db.Meta().Chain == "eth" {
		stage = "eth-blocks"
	}
	p, ok, err = db.Progress(ctx, stage)
	if err != nil {
		return store.Progress{}, false, fmt.Errorf("workspace: %s: %w", path, err)
	}
	return p, ok, nil
}
