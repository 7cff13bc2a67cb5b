package ingest

import (
	"context"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// BlockSource supplies the raw serialized blocks of one Bitcoin-like
// chain's best chain, as the source currently sees it. Implementations: Core
// block files (package btc/blkfile) and a node's JSON-RPC (package btc/rpc).
//
// Heights count from the genesis block at 0. A source may change its best
// chain between calls (a live node reorganising); the ingester detects that
// by comparing HashAt with what it stored. Methods must be safe to call from
// one goroutine at a time; they need not be safe for concurrent use.
type BlockSource interface {
	// Tip returns the height and hash of the best block.
	Tip(ctx context.Context) (height uint64, hash chainhash.Hash, err error)
	// HashAt returns the hash of the best-chain block at height, or an error
	// wrapping btc.ErrNotFound when the best chain is shorter.
	HashAt(ctx context.Context, height uint64) (chainhash.Hash, error)
	// Blocks calls fn with the raw serialization of every best-chain block
	// from height from to height to inclusive, in height order. fn owns raw
	// once called: the source never reuses that memory. An error from fn stops
	// the iteration and is returned unchanged. If the best chain changes
	// during the iteration, the source may return an error wrapping
	// btc.ErrReorg; the caller re-checks and resumes.
	Blocks(ctx context.Context, from, to uint64, fn func(height uint64, hash chainhash.Hash, raw []byte) error) error
}
