package eth

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chaintrace/chaintrace/internal/model"
)

// Event signatures of the token standards, as topic 0.
var (
	topicTransfer       = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	topicTransferSingle = crypto.Keccak256Hash([]byte("TransferSingle(address,address,address,uint256,uint256)"))
	topicTransferBatch  = crypto.Keccak256Hash([]byte("TransferBatch(address,address,address,uint256[],uint256[])"))
)

// wordLen is the size of an ABI word and of a log topic.
const wordLen = 32

// appendTokenTransfers appends the token transfers that log l records. Logs
// with a token signature that do not fit the event are counted in
// st.MalformedTokenLogs and skipped. The Index of appended transfers is left
// for the caller to set.
func appendTokenTransfers(out []Transfer, l *types.Log, base Transfer, st *Stats) []Transfer {
	if len(l.Topics) == 0 {
		return out
	}
	tr := base
	tr.Token, tr.LogIndex = l.Address, int(l.Index)
	switch l.Topics[0] {
	case topicTransfer:
		switch {
		case len(l.Topics) == 3 && len(l.Data) == wordLen:
			tr.Kind = ERC20
			tr.From, tr.To = topicAddress(l.Topics[1]), topicAddress(l.Topics[2])
			tr.Amount = model.AmountFromBytes(l.Data)
		case len(l.Topics) == 4 && len(l.Data) == 0:
			tr.Kind = ERC721
			tr.From, tr.To = topicAddress(l.Topics[1]), topicAddress(l.Topics[2])
			id := model.AmountFromBytes(l.Topics[3][:])
			tr.TokenID, tr.Amount = &id, model.AmountFromUint64(1)
		default:
			st.MalformedTokenLogs++
			return out
		}
	case topicTransferSingle:
		if len(l.Topics) != 4 || len(l.Data) != 2*wordLen {
			st.MalformedTokenLogs++
			return out
		}
		tr.Kind = ERC1155Single
		tr.From, tr.To = topicAddress(l.Topics[2]), topicAddress(l.Topics[3])
		id := model.AmountFromBytes(l.Data[:wordLen])
		tr.TokenID, tr.Amount = &id, model.AmountFromBytes(l.Data[wordLen:])
	case topicTransferBatch:
		if len(l.Topics) != 4 {
			st.MalformedTokenLogs++
			return out
		}
		ids, ok1 := abiWordArray(l.Data, 0)
		vals, ok2 := abiWordArray(l.Data, 1)
		if !ok1 || !ok2 || len(ids) != len(vals) {
			st.MalformedTokenLogs++
			return out
		}
		st.TokenLogs++
		tr.Kind = ERC1155Batch
		tr.From, tr.To = topicAddress(l.Topics[2]), topicAddress(l.Topics[3])
		for i := range ids {
			t := tr
			id := model.AmountFromBytes(ids[i])
			t.TokenID, t.Amount = &id, model.AmountFromBytes(vals[i])
			out = append(out, t)
		}
		return out
	default:
		return out
	}
	st.TokenLogs++
	return append(out, tr)
}

// topicAddress returns the address held in the low 20 bytes of a topic.
func topicAddress(h common.Hash) common.Address {
	return common.BytesToAddress(h[12:])
}

// abiWordArray reads the uint256[] whose offset is head word n of ABI-encoded
// data, returning the 32-byte words without copying. It reports false if
// any offset or length points outside data.
func abiWordArray(data []byte, n int) ([][]byte, bool) {
	off, ok := abiWord(data, uint64(n)*wordLen)
	if !ok {
		return nil, false
	}
	count, ok := abiWord(data, off)
	if !ok {
		return nil, false
	}
	start := off + wordLen
	avail := uint64(len(data)) - start // start <= len(data) since abiWord succeeded
	if count > avail/wordLen {
		return nil, false
	}
	words := make([][]byte, count)
	for i := range words {
		p := start + uint64(i)*wordLen
		words[i] = data[p : p+wordLen]
	}
	return words, true
}

// abiWord reads the 32-byte big-endian word at byte offset off of data as a
// uint64, reporting false if it lies outside data or exceeds 64 bits.
func abiWord(data []byte, off uint64) (uint64, bool) {
	if off > uint64(len(data)) || uint64(len(data))-off < wordLen {
		return 0, false
	}
	w := data[off : off+wordLen]
	for _, c := range w[:24] {
		if c != 0 {
			return 0, false
		}
	}
	var v uint64
	for _, c := range w[24:] {
		v = v<<8 | uint64(c)
	}
	return v, true
}
