// Package graphidx holds a UTXO store's transaction graph in memory, in
// flat arrays, so that a trace reads it without a single store look-up.
//
// An Index is built once from a store (Build, which streams the store's
// tables in key order) and can be saved to and loaded from a flat file
// (Save, Load), so that a benchmark or a server pays the build once. It is
// read-only and safe for concurrent use. It answers the reads of the trace
// engine (trace.UTXOReader) the way the store does, with two documented
// differences: transaction records carry no Size and VSize (traces never
// read them), and AddrKey, TxNum and AddrID answer from the index.
//
// The layout is compressed sparse rows: transactions own consecutive
// ranges of a global output array and a global input array (txOut, txIn
// hold the offsets), an input names the global output it spends, an
// output its spender, and an address the outputs it received. Ids are
// uint32, which bounds an index at 2^32-1 transactions, outputs, inputs
// and addresses (Bitcoin mainnet in 2026 has about 1.2 billion
// transactions and 3.3 billion outputs).
package graphidx

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// noOut marks an input whose spent output is not in the index (an
// external input of a store begun above genesis).
const noOut = math.MaxUint32

// classMulti flags, in an output's class byte, an output with more than
// one address (bare multisig), whose further addresses are in the multi
// tables.
const classMulti = 0x80

// flagCoinbase flags a coinbase transaction in txFlags.
const flagCoinbase = 1

// blockRow is a block record in a fixed layout the flat file stores as is.
type blockRow struct {
	Hash, Prev chainhash.Hash
	TxNumMin   uint64
	AddrIDMin  uint64
	Version    int32
	Time       uint32
	Bits       uint32
	Size       uint32
	Weight     uint32
	TxCount    uint32
}

// Index is the in-memory graph of a UTXO store up to its tip at build
// time.
type Index struct {
	meta store.ChainMeta
	tip  uint64 // height of the last block

	blocks []blockRow

	// Per transaction.
	txid     []chainhash.Hash
	txHeight []uint32
	txVer    []int32
	txLock   []uint32
	txFlags  []uint8
	txOut    []uint32 // first global output id; len txs+1
	txIn     []uint32 // first global input id; len txs+1

	// Per input: the global output id it spends, or noOut.
	inPrev []uint32

	// Per output.
	outValue    []int64
	outAddr     []uint32 // first address id, 0 for none
	outClass    []uint8  // model.ScriptClass, with classMulti
	outSpendTx  []uint32 // spender's txnum plus one, 0 while unspent
	outSpendVin []uint32

	// The further addresses of multi-address outputs: multiOut is sorted,
	// output multiOut[k]'s addresses after the first are
	// multiAddr[multiOff[k]:multiOff[k+1]].
	multiOut  []uint32
	multiOff  []uint32
	multiAddr []uint32

	// External inputs, by sorted global input id.
	extIn   []uint32
	extTxID []chainhash.Hash
	extVout []uint32

	// Per address id (0 is no address): its compact key and the outputs
	// it received, each once, in output order.
	addrKeyOff []uint64 // len addrs+1
	addrKeys   []byte
	addrOutOff []uint32 // len addrs+1
	addrOuts   []uint32

	// Look-ups by hash and by key: ids sorted by txid and by address key.
	txByID    []uint32
	addrByKey []uint32
}

// Stats describe an index's size.
type Stats struct {
	Txs, Inputs, Outputs, Addrs uint64
	// Bytes is the memory the index's arrays take.
	Bytes uint64
}

// Stats returns the index's counts and size.
func (x *Index) Stats() Stats {
	s := Stats{Txs: uint64(len(x.txid)), Inputs: uint64(len(x.inPrev)), Outputs: uint64(len(x.outValue))}
	if len(x.addrKeyOff) > 1 {
		s.Addrs = uint64(len(x.addrKeyOff) - 2)
	}
	x.columns(&colIO{write: func(name string, b []byte) { s.Bytes += uint64(len(b)) }})
	return s
}

// Meta returns the chain identity of the store the index was built from.
func (x *Index) Meta() store.ChainMeta { return x.meta }

// InMemory marks the index as a reader that needs no read-ahead: the
// trace engine skips its prefetching goroutines for readers that have it.
func (x *Index) InMemory() bool { return true }

// Progress returns the index's tip for the stages it holds the data of
// (blocks, txs, addrindex), and false for any other stage.
func (x *Index) Progress(ctx context.Context, stage string) (store.Progress, bool, error) {
	switch stage {
	case "blocks", "txs", "addrindex":
	default:
		return store.Progress{}, false, nil
	}
	if len(x.blocks) == 0 {
		return store.Progress{}, false, nil
	}
	return store.Progress{Height: x.tip, Hash: x.blocks[x.tip].Hash}, true, nil
}

// BlockByHeight returns the block at height.
func (x *Index) BlockByHeight(ctx context.Context, height uint64) (store.BlockRec, error) {
	if height >= uint64(len(x.blocks)) {
		return store.BlockRec{}, fmt.Errorf("graphidx: block at height %d: %w", height, store.ErrNotFound)
	}
	b := &x.blocks[height]
	return store.BlockRec{
		Height: height, Hash: b.Hash, Prev: b.Prev, Version: b.Version, Time: b.Time, Bits: b.Bits,
		Size: b.Size, Weight: b.Weight, TxNumMin: b.TxNumMin, TxCount: b.TxCount, AddrIDMin: b.AddrIDMin,
	}, nil
}

// TxNum returns the ordinal of a transaction by txid.
func (x *Index) TxNum(ctx context.Context, txid chainhash.Hash) (uint64, error) {
	i := sort.Search(len(x.txByID), func(i int) bool {
		return bytes.Compare(x.txid[x.txByID[i]][:], txid[:]) >= 0
	})
	if i < len(x.txByID) && x.txid[x.txByID[i]] == txid {
		return uint64(x.txByID[i]), nil
	}
	return 0, fmt.Errorf("graphidx: tx %s: %w", txid, store.ErrNotFound)
}

// Txs returns the number of transactions in the index.
func (x *Index) Txs() uint64 { return uint64(len(x.txid)) }

// Tx reads transaction txnum into t, reusing t's slices (the output
// address slices too, so a record the caller reuses allocates nothing once
// it has grown). Size and VSize are zero: the index does not keep them.
func (x *Index) Tx(ctx context.Context, txnum uint64, t *store.TxRec) error {
	if txnum >= uint64(len(x.txid)) {
		return fmt.Errorf("graphidx: tx #%d: %w", txnum, store.ErrNotFound)
	}
	n := uint32(txnum)
	h := x.txHeight[n]
	t.TxNum = txnum
	t.TxID = x.txid[n]
	t.Height = uint64(h)
	t.Index = uint32(txnum - x.blocks[h].TxNumMin)
	t.Version, t.LockTime, t.Size, t.VSize = x.txVer[n], x.txLock[n], 0, 0
	t.Coinbase = x.txFlags[n]&flagCoinbase != 0
	i0, i1 := x.txIn[n], x.txIn[n+1]
	t.Ins = slices.Grow(t.Ins[:0], int(i1-i0))[:i1-i0]
	for i := i0; i < i1; i++ {
		in := &t.Ins[i-i0]
		p := x.inPrev[i]
		if p == noOut {
			k, _ := slices.BinarySearch(x.extIn, i)
			*in = store.InRec{External: true}
			if k < len(x.extIn) && x.extIn[k] == i {
				in.PrevTxID, in.PrevVout = x.extTxID[k], x.extVout[k]
			}
			continue
		}
		ptx := x.outTx(p)
		*in = store.InRec{PrevTxNum: uint64(ptx), PrevVout: p - x.txOut[ptx], Value: x.outValue[p], AddrID: uint64(x.outAddr[p])}
	}
	o0, o1 := x.txOut[n], x.txOut[n+1]
	nOut := int(o1 - o0)
	if cap(t.Outs) >= nOut {
		// Keep the address slices of the records being overwritten.
		t.Outs = t.Outs[:nOut]
	} else {
		t.Outs = append(t.Outs[:cap(t.Outs)], make([]store.OutRec, nOut-cap(t.Outs))...)
	}
	for j := o0; j < o1; j++ {
		o := &t.Outs[j-o0]
		o.Value = x.outValue[j]
		c := x.outClass[j]
		o.Class = model.ScriptClass(c &^ classMulti)
		o.AddrIDs = o.AddrIDs[:0]
		if a := x.outAddr[j]; a != 0 {
			o.AddrIDs = append(o.AddrIDs, uint64(a))
		}
		if c&classMulti != 0 {
			for _, a := range x.multiAddrs(j) {
				o.AddrIDs = append(o.AddrIDs, uint64(a))
			}
		}
		if len(o.AddrIDs) == 0 {
			o.AddrIDs = nil
		}
	}
	return nil
}

// outTx returns the transaction that created global output o.
func (x *Index) outTx(o uint32) uint32 {
	// The last transaction whose first output is at most o; transactions
	// without outputs share their offset with the next one, and the
	// search skips them by taking the last.
	i, _ := slices.BinarySearch(x.txOut, o+1)
	return uint32(i - 1)
}

// multiAddrs returns the addresses after the first of a multi-address
// output.
func (x *Index) multiAddrs(o uint32) []uint32 {
	k, ok := slices.BinarySearch(x.multiOut, o)
	if !ok {
		return nil
	}
	return x.multiAddr[x.multiOff[k]:x.multiOff[k+1]]
}

// Spender returns the input spending output vout of txnum, and false when
// the output is unspent.
func (x *Index) Spender(ctx context.Context, txnum uint64, vout uint32) (store.SpendRec, bool, error) {
	o, ok := x.out(txnum, vout)
	if !ok {
		return store.SpendRec{}, false, nil
	}
	s := x.outSpendTx[o]
	if s == 0 {
		return store.SpendRec{}, false, nil
	}
	return store.SpendRec{TxNum: uint64(s - 1), Vin: x.outSpendVin[o]}, true, nil
}

// out returns the global id of output vout of txnum.
func (x *Index) out(txnum uint64, vout uint32) (uint32, bool) {
	if txnum >= uint64(len(x.txid)) {
		return 0, false
	}
	o0, o1 := x.txOut[txnum], x.txOut[txnum+1]
	if uint64(vout) >= uint64(o1-o0) {
		return 0, false
	}
	return o0 + vout, true
}

// AddrID returns the id of the address with compact key addrKey.
func (x *Index) AddrID(ctx context.Context, addrKey []byte) (uint64, error) {
	i := sort.Search(len(x.addrByKey), func(i int) bool {
		return bytes.Compare(x.addrKey(x.addrByKey[i]), addrKey) >= 0
	})
	if i < len(x.addrByKey) && bytes.Equal(x.addrKey(x.addrByKey[i]), addrKey) {
		return uint64(x.addrByKey[i]), nil
	}
	return 0, fmt.Errorf("graphidx: address %x: %w", addrKey, store.ErrNotFound)
}

func (x *Index) addrKey(id uint32) []byte {
	return x.addrKeys[x.addrKeyOff[id]:x.addrKeyOff[id+1]]
}

// AddrKey returns the compact key of address id, a copy the caller owns.
func (x *Index) AddrKey(ctx context.Context, id uint64) ([]byte, error) {
	if id == 0 || id+1 >= uint64(len(x.addrKeyOff)) {
		return nil, fmt.Errorf("graphidx: address #%d: %w", id, store.ErrNotFound)
	}
	return bytes.Clone(x.addrKey(uint32(id))), nil
}

// Events calls fn with the address index entries of addrID from
// transaction fromTxNum on, in the store's order (by transaction, receipts
// before spends, each by index): the outputs the address received and the
// inputs that spent them.
func (x *Index) Events(ctx context.Context, addrID, fromTxNum uint64, fn func(store.Event) bool) error {
	if addrID == 0 || addrID+1 >= uint64(len(x.addrOutOff)) {
		return nil
	}
	outs := x.addrOuts[x.addrOutOff[addrID]:x.addrOutOff[addrID+1]]
	evs := make([]store.Event, 0, 2*len(outs))
	for _, o := range outs {
		tx := x.outTx(o)
		v := x.outValue[o]
		if uint64(tx) >= fromTxNum {
			evs = append(evs, store.Event{AddrID: addrID, TxNum: uint64(tx), Index: o - x.txOut[tx], Value: v})
		}
		if s := x.outSpendTx[o]; s != 0 && uint64(s-1) >= fromTxNum {
			evs = append(evs, store.Event{AddrID: addrID, TxNum: uint64(s - 1), Spent: true, Index: x.outSpendVin[o], Value: v})
		}
	}
	slices.SortFunc(evs, func(a, b store.Event) int {
		switch {
		case a.TxNum != b.TxNum:
			return cmpU64(a.TxNum, b.TxNum)
		case a.Spent != b.Spent:
			if b.Spent {
				return -1
			}
			return 1
		}
		return cmpU64(uint64(a.Index), uint64(b.Index))
	})
	for i, e := range evs {
		if i > 0 && evs[i-1] == e {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
