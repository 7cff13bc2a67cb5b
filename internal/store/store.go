package store

import (
	"context"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Reader is the read side of a UTXO transaction graph. Implementations are
// safe for concurrent use. Returned records and slices belong to the caller.
// Look-ups of absent objects return an error wrapping ErrNotFound, except
// where a bool result says whether the object exists.
type Reader interface {
	// Meta names the chain and network the store holds.
	Meta() ChainMeta
	// Progress returns a stage's progress, false when it never ran.
	Progress(ctx context.Context, stage string) (Progress, bool, error)
	// MetaU64 returns a named counter, false when never set.
	MetaU64(ctx context.Context, name string) (uint64, bool, error)
	// BlockByHeight and BlockByHash return best-chain blocks.
	BlockByHeight(ctx context.Context, height uint64) (BlockRec, error)
	BlockByHash(ctx context.Context, hash chainhash.Hash) (BlockRec, error)
	// TxNum maps a txid to the transaction's ordinal.
	TxNum(ctx context.Context, txid chainhash.Hash) (uint64, error)
	// Tx reads a transaction by ordinal into t, reusing t's slices.
	Tx(ctx context.Context, txnum uint64, t *TxRec) error
	// Spender returns the input spending an output, false when unspent.
	Spender(ctx context.Context, txnum uint64, vout uint32) (SpendRec, bool, error)
	// AddrID maps an address's compact key to its id.
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	// AddrKey maps an address id to its compact key.
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	// AddrsFrom visits addresses with id >= minID in id order.
	AddrsFrom(ctx context.Context, minID uint64, fn func(id uint64, addrKey []byte) error) error
	// Events visits an address's index entries from transaction ordinal
	// fromTxNum in chain order (ordinal, then receipts before spends, then
	// index) until fn returns false.
	Events(ctx context.Context, addrID, fromTxNum uint64, fn func(Event) bool) error
	// Digest hashes the store's whole content in key order and counts the
	// entries; equal digests mean equal content.
	Digest(ctx context.Context) ([32]byte, int, error)
	// Links visits the link log (the clustering stage's record of
	// multi-input transactions and CoinJoins) from transaction ordinal
	// fromTxNum in ordinal order until fn returns false. addrIDs, sorted
	// and distinct, is reused between calls and valid only during one.
	Links(ctx context.Context, fromTxNum uint64, fn func(txnum uint64, kind uint8, addrIDs []uint64) bool) error
	// Link returns the kind of a transaction's link-log entry, false when
	// it has none.
	Link(ctx context.Context, txnum uint64) (kind uint8, ok bool, err error)
	// MonitorGet reads a key of one of the monitor's tables, false when
	// absent; MonitorScan visits a table's keys with a prefix in key
	// order until fn returns false or an error.
	MonitorGet(ctx context.Context, t MonitorTable, key []byte) ([]byte, bool, error)
	MonitorScan(ctx context.Context, t MonitorTable, prefix []byte, fn func(key, val []byte) (bool, error)) error
}

// Batch collects writes that become visible together on Commit, or not at
// all. Ingest stages put their data and their progress in the same Batch,
// which is what makes a killed ingest resumable without a trace. A Batch is
// not safe for concurrent use; reads through Reader do not see its writes
// until Commit. Put methods copy their arguments.
type Batch interface {
	// Len is the encoded size so far, to decide when to commit.
	Len() int
	// Commit applies the batch atomically; sync makes it durable against
	// power loss, and without it the batch still survives a process kill.
	Commit(ctx context.Context, sync bool) error
	// Close releases the batch, dropping uncommitted writes.
	Close()

	SetProgress(stage string, p Progress)
	DeleteProgress(stage string)
	SetMetaU64(name string, v uint64)
	PutBlock(r *BlockRec)
	DeleteBlock(height uint64, hash chainhash.Hash)
	// PutTx writes a transaction and its txid index.
	PutTx(t *TxRec)
	DeleteTx(txnum uint64, txid chainhash.Hash)
	// PutSpend records that output vout of prevTxNum is spent by s.
	PutSpend(prevTxNum uint64, vout uint32, s SpendRec)
	DeleteSpend(prevTxNum uint64, vout uint32)
	// PutAddr assigns id to the address with compact key addrKey.
	PutAddr(id uint64, addrKey []byte)
	DeleteAddr(id uint64, addrKey []byte)
	// PutEvent adds an address-index entry; DeleteEvent matches on
	// AddrID, TxNum, Spent and Index.
	PutEvent(e Event)
	DeleteEvent(e Event)
	// PutLink writes transaction txnum's link-log entry: kind (LinkMultiInput
	// or a CoinJoin kind) and, for LinkMultiInput, the input address ids,
	// which it sorts and deduplicates; CoinJoin kinds store no ids.
	PutLink(txnum uint64, kind uint8, addrIDs []uint64)
	DeleteLink(txnum uint64)
	// PutMonitor and DeleteMonitor write the monitor's tables (watched
	// outputs, alerts, outbox), whose keys and values the monitor encodes.
	PutMonitor(t MonitorTable, key, val []byte)
	DeleteMonitor(t MonitorTable, key []byte)
}

// Graph is a store that ingest can write: a Reader that makes Batches.
type Graph interface {
	Reader
	NewBatch() Batch
}

var _ Graph = (*DB)(nil)

// AccountReader is the read side of an account-chain (Ethereum, EVM) store.
// Implementations are safe for concurrent use. Look-ups of absent objects
// return an error wrapping ErrNotFound, except where a bool result says
// whether the object exists.
type AccountReader interface {
	// Meta names the chain ("eth") and network the store holds.
	Meta() ChainMeta
	// Progress returns a stage's progress, false when it never ran.
	Progress(ctx context.Context, stage string) (Progress, bool, error)
	// MetaU64 returns a named counter, false when never set.
	MetaU64(ctx context.Context, name string) (uint64, bool, error)
	// EthBlockByHeight and EthBlockByHash return best-chain blocks.
	EthBlockByHeight(ctx context.Context, height uint64) (EthBlockRec, error)
	EthBlockByHash(ctx context.Context, hash [32]byte) (EthBlockRec, error)
	// EthTxNum maps a transaction hash to its ordinal.
	EthTxNum(ctx context.Context, hash [32]byte) (uint64, error)
	// EthTx reads a transaction by ordinal into t, reusing t's slices.
	EthTx(ctx context.Context, txnum uint64, t *EthTxRec) error
	// AddrID maps a 20-byte address to its id.
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	// AddrKey maps an address id to its 20 bytes.
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	// AddrsFrom visits addresses with id >= minID in id order.
	AddrsFrom(ctx context.Context, minID uint64, fn func(id uint64, addrKey []byte) error) error
	// EthEvents visits an address's index entries from ordinal fromTxNum
	// in chain order (ordinal, transfer index, incoming before outgoing)
	// until fn returns false.
	EthEvents(ctx context.Context, addrID, fromTxNum uint64, fn func(EthEvent) bool) error
	// Token returns a token contract's metadata by its address id, false
	// when none is stored.
	Token(ctx context.Context, id uint64) (TokenMeta, bool, error)
	// Digest hashes the store's whole content in key order and counts the
	// entries; equal digests mean equal content.
	Digest(ctx context.Context) ([32]byte, int, error)
}

// AccountBatch collects account-chain writes that become visible together
// on Commit, or not at all, with the same contract as Batch: not safe for
// concurrent use, invisible to readers until Commit, Put methods copy
// their arguments.
type AccountBatch interface {
	// Len is the encoded size so far, to decide when to commit.
	Len() int
	// Commit applies the batch atomically; sync makes it durable against
	// power loss.
	Commit(ctx context.Context, sync bool) error
	// Close releases the batch, dropping uncommitted writes.
	Close()

	SetProgress(stage string, p Progress)
	SetMetaU64(name string, v uint64)
	// PutEthBlock writes a block and its hash index.
	PutEthBlock(r *EthBlockRec)
	DeleteEthBlock(height uint64, hash [32]byte)
	// PutEthTx writes a transaction and, unless its hash is zero (the
	// withdrawals pseudo-transaction), its hash index.
	PutEthTx(t *EthTxRec)
	DeleteEthTx(txnum uint64, hash [32]byte)
	// PutAddr assigns id to the 20-byte address addrKey.
	PutAddr(id uint64, addrKey []byte)
	DeleteAddr(id uint64, addrKey []byte)
	// PutEthEvent adds an address-index entry; DeleteEthEvent matches on
	// AddrID, TxNum, Index and Out.
	PutEthEvent(e EthEvent)
	DeleteEthEvent(e EthEvent)
	// PutToken writes a token contract's metadata under its address id.
	PutToken(id uint64, m TokenMeta)
}
