package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/eth"
)

// ethChain is the part of a source that reconciliation needs: the tip and
// the hash at a height of its best chain.
type ethChain interface {
	Tip(ctx context.Context) (uint64, string, error)
	HashAt(ctx context.Context, height uint64) (string, error)
}

// EthDecodedSource supplies already-decoded blocks (for example an
// ethereum-etl export read by package eth/etl), with the same contract as
// EthSource otherwise. The blocks it delivers are read, never modified.
type EthDecodedSource interface {
	ethChain
	DecodedBlocks(ctx context.Context, from, to uint64, fn func(*eth.Block) error) error
}

// NewEthDecoded prepares an ingest of decoded blocks from src into db, with
// the same stages, batching and reorg handling as NewEth.
func NewEthDecoded(db EthGraph, src EthDecodedSource, opts Options) *Eth {
	in := newEth(db, src, opts)
	in.dec = src
	return in
}

// ethItem is one block on its way to the decoder: raw, or already decoded.
type ethItem struct {
	raw *eth.RawBlock
	blk *eth.Block
}

// checkDecoded checks what the stages rely on in a block that did not come
// through eth.Decode.
func checkDecoded(b *eth.Block) error {
	if b == nil || b.Header == nil || b.Header.Number == nil {
		return errors.New("ingest: decoded eth block without a header")
	}
	for i := range b.Txs {
		if b.Txs[i].Tx == nil {
			return fmt.Errorf("ingest: eth block %d tx %d: no transaction", b.Number(), i)
		}
	}
	for i, w := range b.Withdrawals {
		if w == nil {
			return fmt.Errorf("ingest: eth block %d withdrawal %d: null", b.Number(), i)
		}
	}
	return nil
}
