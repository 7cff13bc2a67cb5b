package eth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"

	"github.com/chaintrace/chaintrace/internal/model"
)

// Trace types, named as trace_block names them.
const (
	// TraceTypeCall is a message call (call, callcode, delegatecall,
	// staticcall; see Trace.CallType).
	TraceTypeCall = "call"
	// TraceTypeCreate is a contract creation (CREATE or CREATE2).
	TraceTypeCreate = "create"
	// TraceTypeSuicide is a self-destruct paying out the contract balance.
	TraceTypeSuicide = "suicide"
)

// Trace is one frame of a transaction's call tree, the same shape whichever
// tracer produced it.
type Trace struct {
	// Type is TraceTypeCall, TraceTypeCreate or TraceTypeSuicide.
	Type string
	// CallType is call, callcode, delegatecall or staticcall for calls and
	// empty otherwise.
	CallType string
	// From is the caller, the creator or the self-destructing contract.
	From common.Address
	// To is the callee, the created contract or the refund address.
	To common.Address
	// Value is the wei the frame carries (for delegatecall, the value of the
	// enclosing call, which does not move).
	Value model.Amount
	// Gas is the gas given to the frame; GasUsed what it used.
	Gas, GasUsed uint64
	// Error is the frame's own error ("" if it succeeded).
	Error string
	// Failed reports that the frame or one of its ancestors errored, so its
	// effects, value included, were reverted.
	Failed bool
	// TraceAddress is the path of child indexes from the top-level frame.
	TraceAddress []int
	// Subtraces is the number of direct children.
	Subtraces int
}

// callFrame is one geth callTracer frame.
type callFrame struct {
	Type         string          `json:"type"`
	From         common.Address  `json:"from"`
	To           *common.Address `json:"to"`
	Value        *hexutil.Big    `json:"value"`
	Gas          hexutil.Uint64  `json:"gas"`
	GasUsed      hexutil.Uint64  `json:"gasUsed"`
	Input        string          `json:"input"`
	Output       string          `json:"output"`
	Error        string          `json:"error"`
	RevertReason string          `json:"revertReason"`
	Calls        []callFrame     `json:"calls"`
}

// gethItem is one element of a debug_traceBlock answer: either a wrapper
// {"txHash", "result"} (or {"txHash", "error"}) or a bare frame.
type gethItem struct {
	callFrame
	TxHash *common.Hash `json:"txHash"`
	Result *callFrame   `json:"result"`
}

// parityAction is the action of a trace_block trace.
type parityAction struct {
	CallType      string          `json:"callType"`
	From          common.Address  `json:"from"`
	To            common.Address  `json:"to"`
	Value         *hexutil.Big    `json:"value"`
	Gas           hexutil.Uint64  `json:"gas"`
	Init          string          `json:"init"`
	Address       common.Address  `json:"address"`
	RefundAddress common.Address  `json:"refundAddress"`
	Balance       *hexutil.Big    `json:"balance"`
	Author        *common.Address `json:"author"`
	RewardType    string          `json:"rewardType"`
}

// parityResult is the result of a trace_block trace.
type parityResult struct {
	GasUsed hexutil.Uint64 `json:"gasUsed"`
	Output  string         `json:"output"`
	Address common.Address `json:"address"`
}

// parityTrace is one element of a trace_block answer.
type parityTrace struct {
	Action              parityAction  `json:"action"`
	Result              *parityResult `json:"result"`
	Error               string        `json:"error"`
	Subtraces           int           `json:"subtraces"`
	TraceAddress        []int         `json:"traceAddress"`
	Type                string        `json:"type"`
	TransactionHash     *common.Hash  `json:"transactionHash"`
	TransactionPosition *uint64       `json:"transactionPosition"`
}

// txTraces is the flattened call tree of one transaction.
type txTraces struct {
	// Hash is the transaction hash the tracer reported (zero if none).
	Hash   common.Hash
	Traces []Trace
}

// decodeTraces decodes msg as traces of the given kind into b.Txs.
func decodeTraces(b *Block, msg json.RawMessage, kind TraceKind) error {
	n := b.Number()
	var per []txTraces
	var err error
	switch kind {
	case TraceNone:
		return nil
	case TraceGethCall:
		per, err = parseGethTraces(msg)
	case TraceParity:
		per, err = parseParityTraces(msg, len(b.Txs))
	default:
		return fmt.Errorf("eth: block %d traces: unknown trace kind %q", n, kind)
	}
	if err != nil {
		return fmt.Errorf("eth: block %d traces: %w", n, err)
	}
	if len(per) != len(b.Txs) {
		return fmt.Errorf("eth: block %d traces: %d traced transactions for %d transactions", n, len(per), len(b.Txs))
	}
	for i := range per {
		if per[i].Hash != (common.Hash{}) && per[i].Hash != b.Txs[i].Hash {
			return fmt.Errorf("eth: block %d tx %d traces: transaction hash %s, transaction is %s", n, i, per[i].Hash.Hex(), b.Txs[i].Hash.Hex())
		}
		b.Txs[i].Traces = per[i].Traces
	}
	return nil
}

// parseGethTraces decodes a debug_traceBlock callTracer answer.
func parseGethTraces(msg json.RawMessage) ([]txTraces, error) {
	if isNull(msg) {
		return nil, errors.New("absent")
	}
	var items []gethItem
	if err := json.Unmarshal(msg, &items); err != nil {
		return nil, err
	}
	out := make([]txTraces, len(items))
	for i := range items {
		it := &items[i]
		f := it.Result
		if f == nil {
			if it.Type == "" && it.Error != "" {
				return nil, fmt.Errorf("tx %d: tracer error: %s", i, it.Error)
			}
			f = &it.callFrame
		}
		if it.TxHash != nil {
			out[i].Hash = *it.TxHash
		}
		var err error
		out[i].Traces, err = flattenFrame(out[i].Traces[:0], f, nil, false)
		if err != nil {
			return nil, fmt.Errorf("tx %d: %w", i, err)
		}
	}
	return out, nil
}

// flattenFrame appends f and its descendants in depth-first order.
func flattenFrame(dst []Trace, f *callFrame, addr []int, parentFailed bool) ([]Trace, error) {
	t := Trace{
		From:         f.From,
		Gas:          uint64(f.Gas),
		GasUsed:      uint64(f.GasUsed),
		Error:        f.Error,
		TraceAddress: addr,
		Subtraces:    len(f.Calls),
	}
	t.Failed = parentFailed || f.Error != ""
	if f.To != nil {
		t.To = *f.To
	}
	if f.Value != nil {
		v, err := amountFromBig((*big.Int)(f.Value))
		if err != nil {
			return nil, fmt.Errorf("trace %v: value: %w", addr, err)
		}
		t.Value = v
	}
	switch typ := strings.ToLower(f.Type); typ {
	case "call", "callcode", "delegatecall", "staticcall":
		t.Type, t.CallType = TraceTypeCall, typ
	case "create", "create2":
		t.Type = TraceTypeCreate
	case "selfdestruct", "suicide":
		t.Type = TraceTypeSuicide
	default:
		return nil, fmt.Errorf("trace %v: unknown frame type %q", addr, f.Type)
	}
	dst = append(dst, t)
	for i := range f.Calls {
		child := make([]int, len(addr)+1)
		copy(child, addr)
		child[len(addr)] = i
		var err error
		dst, err = flattenFrame(dst, &f.Calls[i], child, t.Failed)
		if err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// parseParityTraces decodes a trace_block answer for a block of txCount
// transactions, dropping block and uncle reward traces.
func parseParityTraces(msg json.RawMessage, txCount int) ([]txTraces, error) {
	if isNull(msg) {
		return nil, errors.New("absent")
	}
	var list []parityTrace
	if err := json.Unmarshal(msg, &list); err != nil {
		return nil, err
	}
	out := make([]txTraces, 0, txCount)
	// failed[d] is the Failed flag of the latest trace at depth d of the
	// current transaction; trace_block lists frames depth-first.
	var failed []bool
	for i := range list {
		p := &list[i]
		if p.Type == "reward" {
			continue
		}
		if p.TransactionPosition == nil {
			return nil, fmt.Errorf("trace %d: no transactionPosition", i)
		}
		if *p.TransactionPosition > uint64(len(list)) {
			return nil, fmt.Errorf("trace %d: transactionPosition %d out of range", i, *p.TransactionPosition)
		}
		pos := int(*p.TransactionPosition)
		depth := len(p.TraceAddress)
		if depth == 0 {
			if pos != len(out) {
				return nil, fmt.Errorf("trace %d: transactionPosition %d, want %d", i, pos, len(out))
			}
			var h common.Hash
			if p.TransactionHash != nil {
				h = *p.TransactionHash
			}
			out = append(out, txTraces{Hash: h})
			failed = failed[:0]
		} else if pos != len(out)-1 || depth > len(failed) {
			return nil, fmt.Errorf("trace %d: traceAddress %v of transaction %d out of order", i, p.TraceAddress, pos)
		}
		t, err := parityToTrace(p)
		if err != nil {
			return nil, fmt.Errorf("trace %d: %w", i, err)
		}
		t.Failed = t.Error != "" || (depth > 0 && failed[depth-1])
		failed = append(failed[:depth], t.Failed)
		cur := &out[len(out)-1]
		cur.Traces = append(cur.Traces, t)
	}
	return out, nil
}

// parityToTrace converts one parity trace.
func parityToTrace(p *parityTrace) (Trace, error) {
	a := &p.Action
	t := Trace{
		Gas:          uint64(a.Gas),
		Error:        p.Error,
		TraceAddress: p.TraceAddress,
		Subtraces:    p.Subtraces,
	}
	if p.Result != nil {
		t.GasUsed = uint64(p.Result.GasUsed)
	}
	if t.TraceAddress == nil {
		t.TraceAddress = []int{}
	}
	for _, x := range t.TraceAddress {
		if x < 0 {
			return Trace{}, fmt.Errorf("negative traceAddress %v", p.TraceAddress)
		}
	}
	value := a.Value
	switch p.Type {
	case "call":
		t.Type, t.CallType = TraceTypeCall, strings.ToLower(a.CallType)
		t.From, t.To = a.From, a.To
	case "create":
		t.Type, t.From = TraceTypeCreate, a.From
		if p.Result != nil {
			t.To = p.Result.Address
		}
	case "suicide", "selfdestruct":
		t.Type, t.From, t.To = TraceTypeSuicide, a.Address, a.RefundAddress
		value = a.Balance
	default:
		return Trace{}, fmt.Errorf("unknown trace type %q", p.Type)
	}
	if value != nil {
		v, err := amountFromBig((*big.Int)(value))
		if err != nil {
			return Trace{}, fmt.Errorf("value: %w", err)
		}
		t.Value = v
	}
	return t, nil
}

// amountFromBig converts a non-negative big.Int of at most 256 bits.
func amountFromBig(x *big.Int) (model.Amount, error) {
	if x == nil {
		return model.Amount{}, nil
	}
	u, overflow := uint256.FromBig(x)
	if overflow || x.Sign() < 0 {
		return model.Amount{}, fmt.Errorf("%v does not fit 256 unsigned bits", x)
	}
	return amountFromU256(u), nil
}

// amountFromU256 converts a uint256 to an Amount.
func amountFromU256(u *uint256.Int) model.Amount {
	b := u.Bytes32()
	return model.AmountFromBytes(b[:])
}
