package graphidx

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/chaintrace/chaintrace/internal/store"
)

// Source is what Build reads; *store.DB implements it.
type Source interface {
	Meta() store.ChainMeta
	Progress(ctx context.Context, stage string) (store.Progress, bool, error)
	BlockByHeight(ctx context.Context, height uint64) (store.BlockRec, error)
	ScanTxs(ctx context.Context, from, to uint64, fn func(t *store.TxRec) error) error
	AddrsFrom(ctx context.Context, minID uint64, fn func(id uint64, addrKey []byte) error) error
}

var _ Source = (*store.DB)(nil)

// Build reads the graph of src up to its tip: the lowest progress of the
// blocks, txs and addrindex stages, as the trace engine's tip is. The store
// must not be written meanwhile (an ingest that moves the tip during the
// build makes it fail or miss the newer blocks).
func Build(ctx context.Context, src Source) (*Index, error) {
	x := &Index{meta: src.Meta()}
	var tip uint64
	for i, stage := range []string{"blocks", "txs", "addrindex"} {
		p, ok, err := src.Progress(ctx, stage)
		if err != nil {
			return nil, fmt.Errorf("graphidx: progress of %s: %w", stage, err)
		}
		if !ok {
			return nil, fmt.Errorf("graphidx: stage %s never ran", stage)
		}
		if i == 0 || p.Height < tip {
			tip = p.Height
		}
	}
	if tip >= math.MaxUint32 {
		return nil, fmt.Errorf("graphidx: tip height %d out of range", tip)
	}
	x.tip = tip
	x.blocks = make([]blockRow, 0, tip+1)
	for h := uint64(0); h <= tip; h++ {
		b, err := src.BlockByHeight(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("graphidx: %w", err)
		}
		x.blocks = append(x.blocks, blockRow{
			Hash: b.Hash, Prev: b.Prev, TxNumMin: b.TxNumMin, AddrIDMin: b.AddrIDMin, Version: b.Version,
			Time: b.Time, Bits: b.Bits, Size: b.Size, Weight: b.Weight, TxCount: b.TxCount,
		})
	}
	last := x.blocks[tip]
	nTx := last.TxNumMin + uint64(last.TxCount)
	if nTx >= math.MaxUint32 {
		return nil, fmt.Errorf("graphidx: %d transactions: more than an index holds", nTx)
	}
	if err := x.readAddrs(ctx, src); err != nil {
		return nil, err
	}
	if err := x.readTxs(ctx, src, nTx); err != nil {
		return nil, err
	}
	x.indexAddrs()
	x.sortLookups()
	return x, nil
}

// readAddrs reads every address key, in id order.
func (x *Index) readAddrs(ctx context.Context, src Source) error {
	x.addrKeyOff = []uint64{0, 0} // id 0: no address
	err := src.AddrsFrom(ctx, 1, func(id uint64, key []byte) error {
		if id != uint64(len(x.addrKeyOff)-1) {
			return fmt.Errorf("graphidx: address #%d follows #%d: ids are not dense", id, len(x.addrKeyOff)-2)
		}
		if id >= math.MaxUint32-1 {
			return fmt.Errorf("graphidx: address #%d: more addresses than an index holds", id)
		}
		x.addrKeys = append(x.addrKeys, key...)
		x.addrKeyOff = append(x.addrKeyOff, uint64(len(x.addrKeys)))
		return nil
	})
	if err != nil {
		return fmt.Errorf("graphidx: addresses: %w", err)
	}
	return nil
}

// readTxs streams the transactions 0 to nTx-1.
func (x *Index) readTxs(ctx context.Context, src Source, nTx uint64) error {
	x.txid = slices.Grow(x.txid, int(nTx))
	x.txHeight = slices.Grow(x.txHeight, int(nTx))
	x.txVer = slices.Grow(x.txVer, int(nTx))
	x.txLock = slices.Grow(x.txLock, int(nTx))
	x.txFlags = slices.Grow(x.txFlags, int(nTx))
	x.txOut = slices.Grow(x.txOut, int(nTx)+1)
	x.txIn = slices.Grow(x.txIn, int(nTx)+1)
	nAddrs := uint64(len(x.addrKeyOff) - 1)
	addrOK := func(id uint64) (uint32, error) {
		if id >= nAddrs {
			return 0, fmt.Errorf("graphidx: unknown address #%d", id)
		}
		return uint32(id), nil
	}
	err := src.ScanTxs(ctx, 0, nTx, func(t *store.TxRec) error {
		n := t.TxNum
		if t.Height > x.tip || t.TxNum < x.blocks[t.Height].TxNumMin {
			return fmt.Errorf("graphidx: tx #%d: height %d does not match the blocks", n, t.Height)
		}
		if uint64(len(x.outValue))+uint64(len(t.Outs)) >= math.MaxUint32 || uint64(len(x.inPrev))+uint64(len(t.Ins)) >= math.MaxUint32 {
			return fmt.Errorf("graphidx: tx #%d: more outputs or inputs than an index holds", n)
		}
		x.txid = append(x.txid, t.TxID)
		x.txHeight = append(x.txHeight, uint32(t.Height))
		x.txVer = append(x.txVer, t.Version)
		x.txLock = append(x.txLock, t.LockTime)
		var f uint8
		if t.Coinbase {
			f |= flagCoinbase
		}
		x.txFlags = append(x.txFlags, f)
		x.txOut = append(x.txOut, uint32(len(x.outValue)))
		x.txIn = append(x.txIn, uint32(len(x.inPrev)))
		for vin := range t.Ins {
			in := &t.Ins[vin]
			if in.External {
				x.extIn = append(x.extIn, uint32(len(x.inPrev)))
				x.extTxID = append(x.extTxID, in.PrevTxID)
				x.extVout = append(x.extVout, in.PrevVout)
				x.inPrev = append(x.inPrev, noOut)
				continue
			}
			if in.PrevTxNum >= n {
				return fmt.Errorf("graphidx: tx #%d spends an output of #%d, not earlier", n, in.PrevTxNum)
			}
			o, ok := x.out(in.PrevTxNum, in.PrevVout)
			if !ok {
				return fmt.Errorf("graphidx: tx #%d spends #%d:%d, which does not exist", n, in.PrevTxNum, in.PrevVout)
			}
			if x.outSpendTx[o] != 0 {
				return fmt.Errorf("graphidx: #%d:%d is spent twice (by #%d and #%d)", in.PrevTxNum, in.PrevVout, x.outSpendTx[o]-1, n)
			}
			if x.outValue[o] != in.Value || uint64(x.outAddr[o]) != in.AddrID {
				return fmt.Errorf("graphidx: tx #%d input %d disagrees with the output it spends", n, vin)
			}
			x.outSpendTx[o], x.outSpendVin[o] = uint32(n+1), uint32(vin)
			x.inPrev = append(x.inPrev, o)
		}
		for j := range t.Outs {
			o := &t.Outs[j]
			var first uint32
			c := uint8(o.Class)
			if c&classMulti != 0 {
				return fmt.Errorf("graphidx: tx #%d output %d: script class %d out of range", n, j, o.Class)
			}
			for k, id := range o.AddrIDs {
				a, err := addrOK(id)
				if err != nil {
					return fmt.Errorf("graphidx: tx #%d output %d: %w", n, j, err)
				}
				if k == 0 {
					first = a
					continue
				}
				if k == 1 {
					c |= classMulti
					x.multiOut = append(x.multiOut, uint32(len(x.outValue)))
					x.multiOff = append(x.multiOff, uint32(len(x.multiAddr)))
				}
				x.multiAddr = append(x.multiAddr, a)
			}
			x.outValue = append(x.outValue, o.Value)
			x.outAddr = append(x.outAddr, first)
			x.outClass = append(x.outClass, c)
			x.outSpendTx = append(x.outSpendTx, 0)
			x.outSpendVin = append(x.outSpendVin, 0)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("graphidx: transactions: %w", err)
	}
	x.txOut = append(x.txOut, uint32(len(x.outValue)))
	x.txIn = append(x.txIn, uint32(len(x.inPrev)))
	x.multiOff = append(x.multiOff, uint32(len(x.multiAddr)))
	// Appending left spare capacity, up to a quarter of each array; the
	// copies below give it back.
	x.outValue, x.outAddr, x.outClass = slices.Clone(x.outValue), slices.Clone(x.outAddr), slices.Clone(x.outClass)
	x.outSpendTx, x.outSpendVin, x.inPrev = slices.Clone(x.outSpendTx), slices.Clone(x.outSpendVin), slices.Clone(x.inPrev)
	x.addrKeys = slices.Clone(x.addrKeys)
	x.addrKeyOff = slices.Clone(x.addrKeyOff)
	return nil
}

// indexAddrs fills the per-address output lists by counting sort.
func (x *Index) indexAddrs() {
	nAddrs := len(x.addrKeyOff) - 1
	off := make([]uint32, nAddrs+1)
	x.eachAddr(func(a, o uint32) { off[a+1]++ })
	for i := 1; i <= nAddrs; i++ {
		off[i] += off[i-1]
	}
	outs := make([]uint32, off[nAddrs])
	next := slices.Clone(off[:nAddrs])
	x.eachAddr(func(a, o uint32) {
		outs[next[a]] = o
		next[a]++
	})
	x.addrOutOff, x.addrOuts = off, outs
}

// eachAddr calls fn for every address of every output, in output order,
// each address once per output.
func (x *Index) eachAddr(fn func(addr, out uint32)) {
	for o, a := range x.outAddr {
		if a != 0 {
			fn(a, uint32(o))
		}
		if x.outClass[o]&classMulti == 0 {
			continue
		}
		more := x.multiAddrs(uint32(o))
		for k, b := range more {
			if b == 0 || b == a || slices.Contains(more[:k], b) {
				continue
			}
			fn(b, uint32(o))
		}
	}
}

// sortLookups sorts the transaction ids by txid and the address ids by
// key for the look-ups by hash and by key.
func (x *Index) sortLookups() {
	x.txByID = make([]uint32, len(x.txid))
	for i := range x.txByID {
		x.txByID[i] = uint32(i)
	}
	slices.SortFunc(x.txByID, func(a, b uint32) int {
		ha, hb := &x.txid[a], &x.txid[b]
		if c := cmp.Compare(binary.BigEndian.Uint64(ha[:8]), binary.BigEndian.Uint64(hb[:8])); c != 0 {
			return c
		}
		return bytes.Compare(ha[8:], hb[8:])
	})
	nAddrs := len(x.addrKeyOff) - 1
	x.addrByKey = make([]uint32, 0, max(nAddrs-1, 0))
	for id := 1; id < nAddrs; id++ {
		x.addrByKey = append(x.addrByKey, uint32(id))
	}
	slices.SortFunc(x.addrByKey, func(a, b uint32) int {
		return bytes.Compare(x.addrKey(a), x.addrKey(b))
	})
}
