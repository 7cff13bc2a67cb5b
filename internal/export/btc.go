package export

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/store"
)

// BTCBlock is a row of a Bitcoin chain's blocks table.
type BTCBlock struct {
	BlockNumber      int64  `parquet:"block_number"`
	BlockHash        string `parquet:"block_hash"`
	ParentHash       string `parquet:"parent_hash"`
	Timestamp        int64  `parquet:"timestamp,timestamp(microsecond)"`
	Version          int32  `parquet:"version"`
	Bits             string `parquet:"bits"`
	Size             int64  `parquet:"size"`
	Weight           int64  `parquet:"weight"`
	TransactionCount int64  `parquet:"transaction_count"`
}

// BTCTransaction is a row of a Bitcoin chain's transactions table.
// InputValue and Fee are null when an input spends an output from before
// the store's first block, whose value the store does not know.
type BTCTransaction struct {
	BlockNumber      int64  `parquet:"block_number"`
	BlockHash        string `parquet:"block_hash"`
	BlockTimestamp   int64  `parquet:"block_timestamp,timestamp(microsecond)"`
	TransactionIndex int32  `parquet:"transaction_index"`
	TransactionHash  string `parquet:"transaction_hash"`
	Version          int32  `parquet:"version"`
	LockTime         int64  `parquet:"lock_time"`
	Size             int64  `parquet:"size"`
	VirtualSize      int64  `parquet:"virtual_size"`
	IsCoinbase       bool   `parquet:"is_coinbase"`
	InputCount       int32  `parquet:"input_count"`
	OutputCount      int32  `parquet:"output_count"`
	InputValue       *int64 `parquet:"input_value,optional"`
	OutputValue      int64  `parquet:"output_value"`
	Fee              *int64 `parquet:"fee,optional"`
}

// BTCInput is a row of a Bitcoin chain's inputs table: one per input of a
// non-coinbase transaction, with the outpoint it spends and that output's
// first address and value (null for an external input).
type BTCInput struct {
	BlockNumber          int64  `parquet:"block_number"`
	BlockTimestamp       int64  `parquet:"block_timestamp,timestamp(microsecond)"`
	TransactionHash      string `parquet:"transaction_hash"`
	TransactionIndex     int32  `parquet:"transaction_index"`
	InputIndex           int32  `parquet:"input_index"`
	SpentTransactionHash string `parquet:"spent_transaction_hash"`
	SpentOutputIndex     int32  `parquet:"spent_output_index"`
	Address              string `parquet:"address,optional"`
	Value                *int64 `parquet:"value,optional"`
}

// BTCOutput is a row of a Bitcoin chain's outputs table. Address is the
// first (for all but bare multisig, the only) address, Addresses all of
// them; the spent_by columns are null for outputs unspent at the store's
// tip.
type BTCOutput struct {
	BlockNumber            int64    `parquet:"block_number"`
	BlockTimestamp         int64    `parquet:"block_timestamp,timestamp(microsecond)"`
	TransactionHash        string   `parquet:"transaction_hash"`
	TransactionIndex       int32    `parquet:"transaction_index"`
	OutputIndex            int32    `parquet:"output_index"`
	ScriptType             string   `parquet:"script_type,dict"`
	Address                string   `parquet:"address,optional"`
	Addresses              []string `parquet:"addresses,list"`
	Value                  int64    `parquet:"value"`
	SpentByTransactionHash string   `parquet:"spent_by_transaction_hash,optional"`
	SpentByInputIndex      *int32   `parquet:"spent_by_input_index,optional"`
	SpentBlockNumber       *int64   `parquet:"spent_block_number,optional"`
}

// cacheEntries bounds each look-up cache of an export (per generation):
// two caches of two generations of 256Ki entries, some 100 bytes each, keep
// an export within about 100 MiB of cache on any chain.
const cacheEntries = 1 << 18

// txRef is what inputs and outputs need of another transaction.
type txRef struct {
	hash   string
	height uint64
}

// btcExport is the state of one Bitcoin chain's export.
type btcExport struct {
	db    *store.DB
	net   *chaincfg.Params
	chain string
	opts  *Options

	blocks *table[BTCBlock]
	txs    *table[BTCTransaction]
	ins    *table[BTCInput]
	outs   *table[BTCOutput]

	addrs   *genCache[uint64, string]
	txRefs  *genCache[uint64, txRef]
	scratch store.TxRec

	// The block being written.
	height    uint64
	blockHash string
	blockTime int64
}

// BTC exports a Bitcoin store as the blocks, transactions, inputs and
// outputs tables under dir, from opts.FromHeight (or the store's first
// block) to opts.ToHeight (or its tip). An empty store, or a range past
// its tip, gives tables without rows.
func BTC(ctx context.Context, db *store.DB, chain, dir string, opts Options) ([]TableStats, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	net, err := btc.Network(db.Meta().Network)
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", chain, err)
	}
	x := &btcExport{db: db, net: net, chain: chain, opts: &opts,
		addrs: newGenCache[uint64, string](cacheEntries), txRefs: newGenCache[uint64, txRef](cacheEntries)}
	stats := make([]TableStats, 4)
	for i := range stats {
		stats[i].Chain = chain
	}
	if x.blocks, err = newTable[BTCBlock]("blocks", filepath.Join(dir, "blocks"), &opts, &stats[0]); err != nil {
		return nil, err
	}
	if x.txs, err = newTable[BTCTransaction]("transactions", filepath.Join(dir, "transactions"), &opts, &stats[1]); err != nil {
		return nil, err
	}
	if x.ins, err = newTable[BTCInput]("inputs", filepath.Join(dir, "inputs"), &opts, &stats[2]); err != nil {
		return nil, err
	}
	if x.outs, err = newTable[BTCOutput]("outputs", filepath.Join(dir, "outputs"), &opts, &stats[3]); err != nil {
		return nil, err
	}
	err = x.run(ctx)
	err = closeAll(err, x.blocks, x.txs, x.ins, x.outs)
	if err != nil {
		return stats, err
	}
	logTables(opts.Logger, stats)
	return stats, nil
}

// storeRange returns the heights to export of a store whose ingest
// progress is under stage, false when there are none.
func storeRange(ctx context.Context, p interface {
	Progress(ctx context.Context, stage string) (store.Progress, bool, error)
	MetaU64(ctx context.Context, name string) (uint64, bool, error)
}, stage string, opts *Options) (from, to uint64, ok bool, err error) {
	tip, ok, err := p.Progress(ctx, stage)
	if err != nil || !ok {
		return 0, 0, false, err
	}
	start, _, err := p.MetaU64(ctx, "start_height")
	if err != nil {
		return 0, 0, false, err
	}
	from, to, ok = opts.heights(tip.Height)
	return max(from, start), to, ok && max(from, start) <= to, nil
}

func (x *btcExport) run(ctx context.Context) error {
	from, to, ok, err := storeRange(ctx, x.db, "blocks", x.opts)
	if err != nil {
		return fmt.Errorf("export: %s: %w", x.chain, err)
	}
	if !ok {
		return nil
	}
	first, err := x.db.BlockByHeight(ctx, from)
	if err != nil {
		return fmt.Errorf("export: %s: %w", x.chain, err)
	}
	last, err := x.db.BlockByHeight(ctx, to)
	if err != nil {
		return fmt.Errorf("export: %s: %w", x.chain, err)
	}
	total := int64(to - from + 1)
	next := from
	// Blocks are read as the scan reaches their transactions (a block
	// has at least its coinbase), so its row precedes its transactions'.
	advance := func(upTo uint64) error {
		for ; next <= upTo; next++ {
			if err := x.block(ctx, next); err != nil {
				return err
			}
			x.opts.progress(x.chain, int64(next-from+1), total)
		}
		return nil
	}
	err = x.db.ScanTxs(ctx, first.TxNumMin, last.TxNumMin+uint64(last.TxCount), func(t *store.TxRec) error {
		if err := advance(t.Height); err != nil {
			return err
		}
		return x.tx(ctx, t)
	})
	if err == nil {
		err = advance(to)
	}
	if err != nil {
		return fmt.Errorf("export: %s: %w", x.chain, err)
	}
	return nil
}

func (x *btcExport) block(ctx context.Context, height uint64) error {
	b, err := x.db.BlockByHeight(ctx, height)
	if err != nil {
		return err
	}
	x.height, x.blockHash, x.blockTime = height, b.Hash.String(), micros(uint64(b.Time))
	return x.blocks.add(BTCBlock{
		BlockNumber: int64(height), BlockHash: x.blockHash, ParentHash: b.Prev.String(),
		Timestamp: x.blockTime, Version: b.Version, Bits: strconv.FormatUint(uint64(b.Bits), 16),
		Size: int64(b.Size), Weight: int64(b.Weight), TransactionCount: int64(b.TxCount),
	})
}

func (x *btcExport) tx(ctx context.Context, t *store.TxRec) error {
	hash := t.TxID.String()
	x.txRefs.put(t.TxNum, txRef{hash: hash, height: t.Height})
	row := BTCTransaction{
		BlockNumber: int64(t.Height), BlockHash: x.blockHash, BlockTimestamp: x.blockTime,
		TransactionIndex: int32(t.Index), TransactionHash: hash, Version: t.Version,
		LockTime: int64(t.LockTime), Size: int64(t.Size), VirtualSize: int64(t.VSize),
		IsCoinbase: t.Coinbase, InputCount: int32(len(t.Ins)), OutputCount: int32(len(t.Outs)),
	}
	known := true
	var inSum int64
	for i := range t.Ins {
		in := &t.Ins[i]
		r := BTCInput{BlockNumber: int64(t.Height), BlockTimestamp: x.blockTime, TransactionHash: hash,
			TransactionIndex: int32(t.Index), InputIndex: int32(i), SpentOutputIndex: int32(in.PrevVout)}
		if in.External {
			known = false
			r.SpentTransactionHash = chainhash.Hash(in.PrevTxID).String()
		} else {
			prev, err := x.txRef(ctx, in.PrevTxNum)
			if err != nil {
				return err
			}
			r.SpentTransactionHash = prev.hash
			addr, err := x.addr(ctx, in.AddrID)
			if err != nil {
				return err
			}
			r.Address, r.Value = addr, ptr(in.Value)
			inSum += in.Value
		}
		if err := x.ins.add(r); err != nil {
			return err
		}
	}
	for i := range t.Outs {
		o := &t.Outs[i]
		row.OutputValue += o.Value
		r := BTCOutput{BlockNumber: int64(t.Height), BlockTimestamp: x.blockTime, TransactionHash: hash,
			TransactionIndex: int32(t.Index), OutputIndex: int32(i), ScriptType: o.Class.String(), Value: o.Value}
		if len(o.AddrIDs) > 0 {
			r.Addresses = make([]string, len(o.AddrIDs))
			for j, id := range o.AddrIDs {
				a, err := x.addr(ctx, id)
				if err != nil {
					return err
				}
				r.Addresses[j] = a
			}
			r.Address = r.Addresses[0]
		}
		sp, spent, err := x.db.Spender(ctx, t.TxNum, uint32(i))
		if err != nil {
			return err
		}
		if spent {
			by, err := x.txRef(ctx, sp.TxNum)
			if err != nil {
				return err
			}
			r.SpentByTransactionHash, r.SpentByInputIndex, r.SpentBlockNumber = by.hash, ptr(int32(sp.Vin)), ptr(int64(by.height))
		}
		if err := x.outs.add(r); err != nil {
			return err
		}
	}
	if known {
		if t.Coinbase {
			inSum = 0
		}
		row.InputValue = ptr(inSum)
		fee, _ := t.Fee()
		row.Fee = ptr(fee)
	}
	return x.txs.add(row)
}

// txRef returns a transaction's hash and height by ordinal.
func (x *btcExport) txRef(ctx context.Context, txnum uint64) (txRef, error) {
	if r, ok := x.txRefs.get(txnum); ok {
		return r, nil
	}
	if err := x.db.Tx(ctx, txnum, &x.scratch); err != nil {
		return txRef{}, err
	}
	r := txRef{hash: x.scratch.TxID.String(), height: x.scratch.Height}
	x.txRefs.put(txnum, r)
	return r, nil
}

// addr returns an address id's string in the store's network, "" for id 0
// (an output without an address).
func (x *btcExport) addr(ctx context.Context, id uint64) (string, error) {
	if id == 0 {
		return "", nil
	}
	if s, ok := x.addrs.get(id); ok {
		return s, nil
	}
	kb, err := x.db.AddrKey(ctx, id)
	if err != nil {
		return "", err
	}
	k, err := btc.AddrKeyFromBytes(kb)
	if err != nil {
		return "", fmt.Errorf("address #%d: %w", id, err)
	}
	s := k.Encode(x.net)
	x.addrs.put(id, s)
	return s, nil
}
