package eth

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"

	"github.com/chaintrace/chaintrace/internal/model"
)

// Kind classifies a Transfer.
type Kind uint8

// The kinds of transfer. Token mints and burns keep their token kind; use
// Transfer.IsMint and Transfer.IsBurn to tell them apart.
const (
	// Native is the value of a successful top-level call.
	Native Kind = iota
	// Internal is value moved by a call frame beneath the top level that
	// did not revert. Callcode, delegatecall and staticcall frames move no
	// value and yield nothing.
	Internal
	// Create is value sent into a new contract, by the transaction itself
	// (To is the receipt's contractAddress) or by a create frame.
	Create
	// SelfDestruct is a self-destructing contract's balance paid to its
	// refund address.
	SelfDestruct
	// ERC20 is a Transfer(address,address,uint256) log with three topics
	// and 32 bytes of data.
	ERC20
	// ERC721 is a Transfer log with four topics; TokenID is set and Amount
	// is 1.
	ERC721
	// ERC1155Single is one TransferSingle log.
	ERC1155Single
	// ERC1155Batch is one id/value pair of a TransferBatch log.
	ERC1155Batch
	// FeeBurnt is gasUsed × baseFee, from the sender to the zero address.
	FeeBurnt
	// FeeTip is the rest of the execution fee, from the sender to the
	// block's coinbase; before London the whole fee is tip.
	FeeTip
	// FeeBlob is blobGasUsed × blobGasPrice, burnt (to the zero address).
	FeeBlob
	// Withdrawal is a beacon-chain withdrawal credited in the block, from
	// the zero address, converted from Gwei to wei.
	Withdrawal
	// NumKinds is the number of kinds.
	NumKinds
)

var kindNames = [NumKinds]string{"native", "internal", "create", "selfdestruct", "erc20", "erc721",
	"erc1155-single", "erc1155-batch", "fee-burnt", "fee-tip", "fee-blob", "withdrawal"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "unknown"
}

// IsToken reports whether the kind comes from a token event log.
func (k Kind) IsToken() bool { return k >= ERC20 && k <= ERC1155Batch }

// Transfer is one movement of value found in a block.
type Transfer struct {
	Kind  Kind
	Block uint64
	// TxHash and TxIndex name the transaction; withdrawals have a zero
	// TxHash and TxIndex -1.
	TxHash  common.Hash
	TxIndex int
	// Index orders the transfers of one transaction from 0 (for
	// withdrawals: the withdrawal's position in the block).
	Index int
	// TraceAddress locates Internal, Create and SelfDestruct transfers
	// found in traces (nil otherwise).
	TraceAddress []int
	// LogIndex is the block-wide index of the log of a token transfer, -1
	// for other kinds.
	LogIndex int
	From, To common.Address
	// Token is the token contract; zero for native value.
	Token common.Address
	// TokenID is the token id of ERC-721 and ERC-1155 transfers.
	TokenID *model.Amount
	// Amount is in wei or token base units.
	Amount model.Amount
}

// IsMint reports whether t is a token transfer from the zero address.
func (t *Transfer) IsMint() bool { return t.Kind.IsToken() && t.From == (common.Address{}) }

// IsBurn reports whether t is a token transfer to the zero address.
func (t *Transfer) IsBurn() bool { return t.Kind.IsToken() && t.To == (common.Address{}) }

// Stats describes what Extract found and what it could not know.
type Stats struct {
	// Txs is the number of transactions; FailedTxs those that failed.
	Txs, FailedTxs int
	// UnknownStatusTxs counts pre-Byzantium transactions whose receipt has
	// no status and whose trace (if any) did not settle it; they are
	// treated as successful.
	UnknownStatusTxs int
	// InternalKnown is false when the block had no traces, so Internal,
	// nested Create and SelfDestruct transfers are absent.
	InternalKnown bool
	// RevertedValueFrames counts value-carrying frames skipped because they
	// or an ancestor reverted.
	RevertedValueFrames int
	// CallCodeValueFrames counts callcode frames with value, skipped
	// because callcode leaves the value with the caller.
	CallCodeValueFrames int
	// TokenLogs counts logs recognised as token transfers.
	TokenLogs int
	// MalformedTokenLogs counts logs with a token event signature whose
	// topics or data do not fit the event; they are skipped.
	MalformedTokenLogs int
	// FeeAnomalies counts receipts whose fee could not be split (price
	// below base fee or 256-bit overflow); their fee is skipped.
	FeeAnomalies int
	// PerKind counts the transfers of each kind.
	PerKind [NumKinds]int
}

// gweiToWei is 10^9.
var gweiToWei = uint256.NewInt(1_000_000_000)

// Extract returns every value transfer of b in a deterministic order: by
// transaction, and within one transaction native value, trace transfers in
// trace order, token events in log order, then fees; withdrawals come last.
func Extract(b *Block) ([]Transfer, Stats) {
	var st Stats
	if b == nil {
		return nil, st
	}
	st.InternalKnown = b.Trace != TraceNone
	st.Txs = len(b.Txs)
	out := make([]Transfer, 0, 3*len(b.Txs)+len(b.Withdrawals))
	num := b.Number()
	for i := range b.Txs {
		out = extractTx(out, b, i, num, &st)
	}
	for i, w := range b.Withdrawals {
		if w == nil {
			continue
		}
		amt := new(uint256.Int).Mul(uint256.NewInt(w.Amount), gweiToWei)
		out = append(out, Transfer{Kind: Withdrawal, Block: num, TxIndex: -1, Index: i, LogIndex: -1,
			To: w.Address, Amount: amountFromU256(amt)})
	}
	for i := range out {
		st.PerKind[out[i].Kind]++
	}
	return out, st
}

// txSuccess decides whether transaction t succeeded.
func txSuccess(t *Tx, st *Stats) bool {
	if t.Receipt != nil && t.StatusKnown {
		return t.Receipt.Status == types.ReceiptStatusSuccessful
	}
	for i := range t.Traces {
		if len(t.Traces[i].TraceAddress) == 0 {
			return !t.Traces[i].Failed
		}
	}
	st.UnknownStatusTxs++
	return true
}

// extractTx appends the transfers of transaction i.
func extractTx(out []Transfer, b *Block, i int, num uint64, st *Stats) []Transfer {
	t := &b.Txs[i]
	if t.Tx == nil {
		return out
	}
	base := Transfer{Block: num, TxHash: t.Hash, TxIndex: i, LogIndex: -1}
	idx := 0
	add := func(tr Transfer) {
		tr.Index = idx
		idx++
		out = append(out, tr)
	}
	ok := txSuccess(t, st)
	if !ok {
		st.FailedTxs++
	}
	if ok {
		if v := t.Tx.Value(); v.Sign() > 0 {
			amt, err := amountFromBig(v)
			if err == nil {
				tr := base
				tr.Kind, tr.From, tr.Amount = Native, t.From, amt
				if to := t.Tx.To(); to != nil {
					tr.To = *to
				} else {
					tr.Kind = Create
					tr.To = createdAddress(t)
				}
				add(tr)
			}
		}
		for j := range t.Traces {
			tc := &t.Traces[j]
			if len(tc.TraceAddress) == 0 || tc.Value.IsZero() {
				continue
			}
			if tc.Failed {
				st.RevertedValueFrames++
				continue
			}
			tr := base
			tr.From, tr.To, tr.Amount, tr.TraceAddress = tc.From, tc.To, tc.Value, tc.TraceAddress
			switch {
			case tc.Type == TraceTypeCreate:
				tr.Kind = Create
			case tc.Type == TraceTypeSuicide:
				tr.Kind = SelfDestruct
			case tc.CallType == "call":
				tr.Kind = Internal
			case tc.CallType == "callcode":
				st.CallCodeValueFrames++
				continue
			default:
				continue
			}
			add(tr)
		}
		if t.Receipt != nil {
			for _, l := range t.Receipt.Logs {
				if l == nil {
					continue
				}
				before := len(out)
				out = appendTokenTransfers(out, l, base, st)
				for k := before; k < len(out); k++ {
					out[k].Index = idx
					idx++
				}
			}
		}
	} else {
		for j := range t.Traces {
			if !t.Traces[j].Value.IsZero() && len(t.Traces[j].TraceAddress) > 0 {
				st.RevertedValueFrames++
			}
		}
	}
	if t.Receipt != nil && b.Header != nil {
		out = appendFees(out, b.Header, t, base, &idx, st)
	}
	return out
}

// createdAddress returns the contract created by a top-level creation.
func createdAddress(t *Tx) common.Address {
	if t.Receipt != nil && t.Receipt.ContractAddress != (common.Address{}) {
		return t.Receipt.ContractAddress
	}
	for i := range t.Traces {
		if len(t.Traces[i].TraceAddress) == 0 {
			return t.Traces[i].To
		}
	}
	return common.Address{}
}

// appendFees appends the burnt, tip and blob fees of transaction t.
func appendFees(out []Transfer, h *types.Header, t *Tx, base Transfer, idx *int, st *Stats) []Transfer {
	add := func(k Kind, to common.Address, v *uint256.Int) {
		if v.IsZero() {
			return
		}
		tr := base
		tr.Kind, tr.From, tr.To, tr.Amount, tr.Index = k, t.From, to, amountFromU256(v), *idx
		*idx++
		out = append(out, tr)
	}
	r := t.Receipt
	price, over := uint256.FromBig(effectiveGasPrice(t, h.BaseFee))
	if over {
		st.FeeAnomalies++
		return out
	}
	gas := uint256.NewInt(r.GasUsed)
	total, over := new(uint256.Int).MulOverflow(gas, price)
	if over {
		st.FeeAnomalies++
		return out
	}
	burnt := new(uint256.Int)
	if bf := h.BaseFee; bf != nil {
		fee, over := uint256.FromBig(bf)
		if over || fee.Gt(price) {
			st.FeeAnomalies++
			return out
		}
		burnt.Mul(gas, fee)
	}
	tip := new(uint256.Int).Sub(total, burnt)
	add(FeeBurnt, common.Address{}, burnt)
	add(FeeTip, h.Coinbase, tip)
	if r.BlobGasUsed > 0 && r.BlobGasPrice != nil {
		bp, over := uint256.FromBig(r.BlobGasPrice)
		blob, over2 := new(uint256.Int).MulOverflow(uint256.NewInt(r.BlobGasUsed), bp)
		if over || over2 {
			st.FeeAnomalies++
			return out
		}
		add(FeeBlob, common.Address{}, blob)
	}
	return out
}
