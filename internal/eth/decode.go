package eth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// Block is a decoded RawBlock: the header, the transactions with their
// receipts and traces, and the beacon-chain withdrawals.
type Block struct {
	// Header is the go-ethereum header decoded from the block JSON.
	Header *types.Header
	// Hash is the block hash as the node reported it.
	Hash common.Hash
	// Txs holds the transactions in block order.
	Txs []Tx
	// Withdrawals is nil before Shanghai and non-nil (possibly empty) after.
	Withdrawals []*types.Withdrawal
	// Trace says where the traces of Txs came from; TraceNone means the
	// block has no traces and internal transfers are unknown.
	Trace TraceKind
}

// Number returns the block number.
func (b *Block) Number() uint64 {
	if b.Header == nil || b.Header.Number == nil || !b.Header.Number.IsUint64() {
		return 0
	}
	return b.Header.Number.Uint64()
}

// Tx is one transaction of a block with its receipt and, when the block was
// traced, its call tree flattened in trace order.
type Tx struct {
	// Hash is the transaction hash as the node reported it.
	Hash common.Hash
	// From is the sender taken from the JSON "from" field.
	From common.Address
	// Tx is the go-ethereum transaction decoded from the block JSON.
	Tx *types.Transaction
	// Receipt is the go-ethereum receipt of the transaction.
	Receipt *types.Receipt
	// StatusKnown is false for pre-Byzantium receipts, which carry a state
	// root instead of a status; Extract then relies on the trace, if any.
	StatusKnown bool
	// Traces is the call tree in depth-first order (nil without traces).
	Traces []Trace
}

// rpcBlock is the part of a JSON-RPC block object that types.Header does not
// cover, mirroring what go-ethereum's client reads next to the header.
type rpcBlock struct {
	Hash         *common.Hash         `json:"hash"`
	Transactions []json.RawMessage    `json:"transactions"`
	Withdrawals  *[]*types.Withdrawal `json:"withdrawals"`
}

// rpcTxExtra holds the transaction fields that types.Transaction ignores.
type rpcTxExtra struct {
	Hash             *common.Hash    `json:"hash"`
	From             *common.Address `json:"from"`
	TransactionIndex *hexutil.Uint64 `json:"transactionIndex"`
}

// rpcReceiptExtra tells whether the receipt carried a status field.
type rpcReceiptExtra struct {
	Status *hexutil.Uint64 `json:"status"`
}

// Decode decodes a RawBlock into a Block. It checks that the block matches
// RawBlock.Number and RawBlock.Hash, that every transaction has exactly one
// receipt in order, and that traces line up with transactions. Errors name
// the block and the field or position at fault.
func Decode(raw *RawBlock) (*Block, error) {
	return decode(raw, true)
}

// decode implements Decode; with requireReceipts false a block whose receipts
// are absent decodes with nil receipts (used by tests on fixtures that have
// no receipts).
func decode(raw *RawBlock, requireReceipts bool) (*Block, error) {
	if raw == nil {
		return nil, errors.New("eth: nil raw block")
	}
	n := raw.Number
	if isNull(raw.Block) {
		return nil, fmt.Errorf("eth: block %d: block JSON is absent or null", n)
	}
	var h types.Header
	if err := json.Unmarshal(raw.Block, &h); err != nil {
		return nil, fmt.Errorf("eth: block %d header: %w", n, err)
	}
	if h.Number == nil || !h.Number.IsUint64() || h.Number.Uint64() != n {
		return nil, fmt.Errorf("eth: block %d header: number is %v", n, h.Number)
	}
	var rb rpcBlock
	if err := json.Unmarshal(raw.Block, &rb); err != nil {
		return nil, fmt.Errorf("eth: block %d body: %w", n, err)
	}
	if rb.Hash == nil {
		return nil, fmt.Errorf("eth: block %d header: missing hash", n)
	}
	if raw.Hash != "" {
		want, err := parseHash(raw.Hash)
		if err != nil {
			return nil, fmt.Errorf("eth: block %d: raw hash: %w", n, err)
		}
		if want != *rb.Hash {
			return nil, fmt.Errorf("eth: block %d: hash %s, raw block says %s", n, rb.Hash.Hex(), want.Hex())
		}
	}
	b := &Block{Header: &h, Hash: *rb.Hash, Txs: make([]Tx, len(rb.Transactions)), Trace: raw.Trace}
	if rb.Withdrawals != nil {
		b.Withdrawals = *rb.Withdrawals
		if b.Withdrawals == nil {
			b.Withdrawals = []*types.Withdrawal{}
		}
		for i, w := range b.Withdrawals {
			if w == nil {
				return nil, fmt.Errorf("eth: block %d withdrawal %d: null", n, i)
			}
		}
	}
	for i, msg := range rb.Transactions {
		if err := decodeTx(&b.Txs[i], msg, i); err != nil {
			return nil, fmt.Errorf("eth: block %d tx %d: %w", n, i, err)
		}
	}
	if err := decodeReceipts(b, raw.Receipts, requireReceipts); err != nil {
		return nil, err
	}
	if err := decodeTraces(b, raw.Traces, raw.Trace); err != nil {
		return nil, err
	}
	return b, nil
}

// decodeTx decodes one full transaction object at position i.
func decodeTx(t *Tx, msg json.RawMessage, i int) error {
	if len(msg) == 0 || msg[0] != '{' {
		return errors.New("not a transaction object (block fetched without full transactions?)")
	}
	var tx types.Transaction
	if err := json.Unmarshal(msg, &tx); err != nil {
		return err
	}
	var ex rpcTxExtra
	if err := json.Unmarshal(msg, &ex); err != nil {
		return err
	}
	if ex.Hash == nil {
		return errors.New("missing hash")
	}
	if ex.From == nil {
		return errors.New("missing from")
	}
	if ex.TransactionIndex != nil && uint64(*ex.TransactionIndex) != uint64(i) {
		return fmt.Errorf("transactionIndex is %d", uint64(*ex.TransactionIndex))
	}
	t.Tx, t.Hash, t.From = &tx, *ex.Hash, *ex.From
	return nil
}

// decodeReceipts decodes the receipts array into b.Txs.
func decodeReceipts(b *Block, msg json.RawMessage, required bool) error {
	n := b.Number()
	if isNull(msg) {
		if required && len(b.Txs) > 0 {
			return fmt.Errorf("eth: block %d receipts: absent for %d transactions", n, len(b.Txs))
		}
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(msg, &list); err != nil {
		return fmt.Errorf("eth: block %d receipts: %w", n, err)
	}
	if len(list) != len(b.Txs) {
		return fmt.Errorf("eth: block %d receipts: %d receipts for %d transactions", n, len(list), len(b.Txs))
	}
	for i, m := range list {
		if isNull(m) {
			return fmt.Errorf("eth: block %d tx %d receipt: null", n, i)
		}
		var r types.Receipt
		if err := json.Unmarshal(m, &r); err != nil {
			return fmt.Errorf("eth: block %d tx %d receipt: %w", n, i, err)
		}
		var ex rpcReceiptExtra
		if err := json.Unmarshal(m, &ex); err != nil {
			return fmt.Errorf("eth: block %d tx %d receipt: %w", n, i, err)
		}
		t := &b.Txs[i]
		if r.TxHash != t.Hash {
			return fmt.Errorf("eth: block %d tx %d receipt: transactionHash %s, transaction is %s", n, i, r.TxHash.Hex(), t.Hash.Hex())
		}
		if r.BlockNumber != nil && (!r.BlockNumber.IsUint64() || r.BlockNumber.Uint64() != n) {
			return fmt.Errorf("eth: block %d tx %d receipt: blockNumber is %v", n, i, r.BlockNumber)
		}
		for j, l := range r.Logs {
			if l == nil {
				return fmt.Errorf("eth: block %d tx %d receipt: log %d is null", n, i, j)
			}
		}
		if ex.Status != nil && uint64(*ex.Status) > 1 {
			return fmt.Errorf("eth: block %d tx %d receipt: status %d", n, i, uint64(*ex.Status))
		}
		t.Receipt, t.StatusKnown = &r, ex.Status != nil
	}
	return nil
}

// effectiveGasPrice returns the price per gas the sender paid: the
// receipt's effectiveGasPrice when present, otherwise the price implied by
// the transaction and the block's base fee.
func effectiveGasPrice(t *Tx, baseFee *big.Int) *big.Int {
	if t.Receipt != nil && t.Receipt.EffectiveGasPrice != nil {
		return t.Receipt.EffectiveGasPrice
	}
	if baseFee == nil || t.Tx.Type() == types.LegacyTxType || t.Tx.Type() == types.AccessListTxType {
		return t.Tx.GasPrice()
	}
	p := new(big.Int).Add(baseFee, t.Tx.GasTipCap())
	if p.Cmp(t.Tx.GasFeeCap()) > 0 {
		p.Set(t.Tx.GasFeeCap())
	}
	return p
}

// isNull reports whether msg is empty or the JSON literal null.
func isNull(msg json.RawMessage) bool {
	m := bytes.TrimSpace(msg)
	return len(m) == 0 || string(m) == "null"
}

// parseHash parses a 0x-prefixed 32-byte hex hash.
func parseHash(s string) (common.Hash, error) {
	b, err := hexutil.Decode(s)
	if err != nil {
		return common.Hash{}, err
	}
	if len(b) != common.HashLength {
		return common.Hash{}, fmt.Errorf("hash %q is %d bytes", s, len(b))
	}
	return common.BytesToHash(b), nil
}
