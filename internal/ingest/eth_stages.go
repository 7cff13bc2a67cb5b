package ingest

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// ethStage is one step of Ethereum ingest, with the contract of Stage:
// Forward writes the stage's data for a block into the shared batch, Unwind
// removes it for the current tip block, and neither keeps state that
// reloading the ingester would not rebuild.
type ethStage interface {
	Name() string
	Forward(ctx context.Context, w store.AccountBatch, b *ethPrep) error
	Unwind(ctx context.Context, w store.AccountBatch, u *ethUnwind) error
}

// ethPrep is a decoded block with its transfers. The transfers of
// transaction i are transfers[txStart[i]:txStart[i+1]]; those from
// txStart[len(Txs)] on are the withdrawals. The txs stage fills recs (the
// withdrawals pseudo-transaction last), which the address-index stage reads.
type ethPrep struct {
	height    uint64
	blk       *eth.Block
	transfers []eth.Transfer
	txStart   []int
	recs      []store.EthTxRec
}

// ethUnwind is a stored block being unwound, with its transactions.
type ethUnwind struct {
	rec store.EthBlockRec
	txs []store.EthTxRec
}

// ethState is what the Ethereum stages share.
type ethState struct {
	db          EthGraph
	addrs       *genMap[common.Address, uint64]
	nextTxNum   uint64
	nextAddrID  uint64 // ids start at 1; 0 is "none" and the zero address
	startHeight uint64
}

// addrID returns the id of address a, assigning the next free id (and
// writing it) the first time a is seen. The zero address gets no id: it is
// 0, the mint source and burn sink, and has no address-index entries.
func (st *ethState) addrID(ctx context.Context, w store.AccountBatch, a common.Address) (uint64, error) {
	if a == (common.Address{}) {
		return 0, nil
	}
	if id, ok := st.addrs.get(a); ok {
		return id, nil
	}
	var id uint64
	err := store.ErrNotFound
	if !st.addrs.complete {
		id, err = st.db.AddrID(ctx, a[:])
	}
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		id = st.nextAddrID
		st.nextAddrID++
		w.PutAddr(id, a[:])
	default:
		return 0, err
	}
	st.addrs.put(a, id)
	return id, nil
}

func amountFromBig(x *big.Int) (model.Amount, error) {
	if x == nil {
		return model.Amount{}, nil
	}
	if x.Sign() < 0 {
		return model.Amount{}, fmt.Errorf("negative amount %s", x)
	}
	u, over := uint256.FromBig(x)
	if over {
		return model.Amount{}, fmt.Errorf("amount %s overflows 256 bits", x)
	}
	b := u.Bytes32()
	return model.AmountFromBytes(b[:]), nil
}

// ethBlocksStage writes block records.
type ethBlocksStage struct{ st *ethState }

func (ethBlocksStage) Name() string { return "eth-blocks" }

func (s ethBlocksStage) Forward(ctx context.Context, w store.AccountBatch, b *ethPrep) error {
	h := b.blk.Header
	fee, err := amountFromBig(h.BaseFee)
	if err != nil {
		return fmt.Errorf("ingest: eth block %d base fee: %w", b.height, err)
	}
	w.PutEthBlock(&store.EthBlockRec{
		Height:      b.height,
		Hash:        b.blk.Hash,
		Parent:      h.ParentHash,
		Time:        h.Time,
		Miner:       h.Coinbase,
		BaseFee:     fee,
		GasUsed:     h.GasUsed,
		TxCount:     uint32(len(b.blk.Txs)),
		TxNumMin:    s.st.nextTxNum,
		AddrIDMin:   s.st.nextAddrID,
		Withdrawals: uint32(len(b.blk.Withdrawals)),
	})
	return nil
}

func (ethBlocksStage) Unwind(ctx context.Context, w store.AccountBatch, u *ethUnwind) error {
	w.DeleteEthBlock(u.rec.Height, u.rec.Hash)
	return nil
}

// ethTxsStage assigns transaction ordinals and address ids (in order of
// first appearance: sender, recipient, created contract, then each
// transfer's from, to and token) and writes transactions and addresses.
type ethTxsStage struct{ st *ethState }

func (ethTxsStage) Name() string { return "eth-txs" }

func (s ethTxsStage) Forward(ctx context.Context, w store.AccountBatch, b *ethPrep) error {
	st := s.st
	txs := b.blk.Txs
	n := len(txs)
	if len(b.blk.Withdrawals) > 0 {
		n++
	}
	b.recs = make([]store.EthTxRec, n)
	for i := range txs {
		t := &txs[i]
		rec := &b.recs[i]
		*rec = store.EthTxRec{TxNum: st.nextTxNum, Height: b.height, Index: uint32(i), Hash: t.Hash, Status: store.EthTxUnknown}
		st.nextTxNum++
		fail := func(err error) error {
			return fmt.Errorf("ingest: eth block %d tx %d (%s): %w", b.height, i, t.Hash.Hex(), err)
		}
		var err error
		if rec.From, err = st.addrID(ctx, w, t.From); err != nil {
			return fail(err)
		}
		if to := t.Tx.To(); to != nil {
			if rec.To, err = st.addrID(ctx, w, *to); err != nil {
				return fail(err)
			}
		} else if t.Receipt != nil {
			if rec.Created, err = st.addrID(ctx, w, t.Receipt.ContractAddress); err != nil {
				return fail(err)
			}
		}
		if rec.Value, err = amountFromBig(t.Tx.Value()); err != nil {
			return fail(err)
		}
		if t.Receipt != nil {
			rec.GasUsed = t.Receipt.GasUsed
			if t.StatusKnown {
				rec.Status = uint8(t.Receipt.Status)
			}
		}
		if rec.Transfers, err = s.transfers(ctx, w, b.transfers[b.txStart[i]:b.txStart[i+1]]); err != nil {
			return fail(err)
		}
		w.PutEthTx(rec)
	}
	if len(b.blk.Withdrawals) > 0 {
		rec := &b.recs[len(txs)]
		*rec = store.EthTxRec{TxNum: st.nextTxNum, Height: b.height, Index: uint32(len(txs)), Status: store.EthTxOK}
		st.nextTxNum++
		var err error
		if rec.Transfers, err = s.transfers(ctx, w, b.transfers[b.txStart[len(txs)]:]); err != nil {
			return fmt.Errorf("ingest: eth block %d withdrawals: %w", b.height, err)
		}
		w.PutEthTx(rec)
	}
	w.SetMetaU64(metaNextAddr, st.nextAddrID)
	return nil
}

func (s ethTxsStage) transfers(ctx context.Context, w store.AccountBatch, trs []eth.Transfer) ([]store.EthTransferRec, error) {
	if len(trs) == 0 {
		return nil, nil
	}
	out := make([]store.EthTransferRec, len(trs))
	for k := range trs {
		tr := &trs[k]
		o := &out[k]
		o.Kind = uint8(tr.Kind)
		o.Amount = tr.Amount
		if tr.TokenID != nil {
			id := *tr.TokenID
			o.TokenID = &id
		}
		if tr.LogIndex < -1 || tr.LogIndex > 1<<31-2 {
			return nil, fmt.Errorf("transfer %d: log index %d out of range", k, tr.LogIndex)
		}
		o.LogIndex = int32(tr.LogIndex)
		if len(tr.TraceAddress) > 0 {
			o.TraceAddress = make([]uint32, len(tr.TraceAddress))
			for j, a := range tr.TraceAddress {
				if a < 0 || int64(a) > 1<<32-1 {
					return nil, fmt.Errorf("transfer %d: trace address element %d out of range", k, a)
				}
				o.TraceAddress[j] = uint32(a)
			}
		}
		var err error
		if o.From, err = s.st.addrID(ctx, w, tr.From); err != nil {
			return nil, err
		}
		if o.To, err = s.st.addrID(ctx, w, tr.To); err != nil {
			return nil, err
		}
		if o.Token, err = s.st.addrID(ctx, w, tr.Token); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s ethTxsStage) Unwind(ctx context.Context, w store.AccountBatch, u *ethUnwind) error {
	for i := len(u.txs) - 1; i >= 0; i-- {
		w.DeleteEthTx(u.txs[i].TxNum, u.txs[i].Hash)
	}
	err := s.st.db.AddrsFrom(ctx, u.rec.AddrIDMin, func(id uint64, key []byte) error {
		w.DeleteAddr(id, key)
		return nil
	})
	if err != nil {
		return err
	}
	w.SetMetaU64(metaNextAddr, u.rec.AddrIDMin)
	return nil
}

// ethAddrIndexStage writes the address index: per transfer, an outgoing
// event for its sender and an incoming one for its recipient (neither for
// the zero address).
type ethAddrIndexStage struct{}

func (ethAddrIndexStage) Name() string { return "eth-addrindex" }

func (ethAddrIndexStage) Forward(ctx context.Context, w store.AccountBatch, b *ethPrep) error {
	for i := range b.recs {
		forEachEthEvent(&b.recs[i], w.PutEthEvent)
	}
	return nil
}

func (ethAddrIndexStage) Unwind(ctx context.Context, w store.AccountBatch, u *ethUnwind) error {
	for i := len(u.txs) - 1; i >= 0; i-- {
		forEachEthEvent(&u.txs[i], w.DeleteEthEvent)
	}
	return nil
}

// forEachEthEvent calls fn with the address-index events of a transaction.
func forEachEthEvent(rec *store.EthTxRec, fn func(store.EthEvent)) {
	for k := range rec.Transfers {
		tr := &rec.Transfers[k]
		e := store.EthEvent{TxNum: rec.TxNum, Index: uint32(k), Token: tr.Token, Amount: tr.Amount}
		if tr.From != 0 {
			e.AddrID, e.Out = tr.From, true
			fn(e)
		}
		if tr.To != 0 {
			e.AddrID, e.Out = tr.To, false
			fn(e)
		}
	}
}
