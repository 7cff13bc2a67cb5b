package store

import (
	"encoding/binary"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/model"
)

// Account-chain (Ethereum and other EVM chains) tables. An account-chain
// store is a DB opened with ChainMeta{Chain: "eth", Network: <chain name>};
// it shares the M (meta), P (progress) and A/a (address) tables with the
// UTXO layout, addresses being keyed by their 20 raw bytes, and adds:
//
//	E <height:8>                                 EthBlockRec (see appendEthBlock)
//	F <hash:32>                                  height(8)
//	G <txhash:32>                                txnum(8)
//	g <txnum:8>                                  EthTxRec with its transfers inline
//	y <addrid:8> <txnum:8> <index:4> <dir:1>     token id (uvarint), amount
//	K <tokenid:8>                                TokenMeta
//
// Withdrawals are stored as one pseudo-transaction per block that has any:
// it takes the ordinal after the block's last real transaction, has Index
// equal to the block's TxCount, a zero Hash (so it has no G entry) and one
// Withdrawal transfer per withdrawal, in block order. EthBlockRec.TxNums
// gives the number of ordinals a block uses.
//
// Amounts are encoded as a length byte (0 to 32) followed by that many
// big-endian bytes without leading zeros.
const (
	prefixEthBlock  = 'E'
	prefixEthHash   = 'F'
	prefixEthTxHash = 'G'
	prefixEthTx     = 'g'
	prefixEthEvent  = 'y'
	prefixToken     = 'K'
)

// Directions in y keys: incoming before outgoing within one transfer.
const (
	ethDirIn  = 0
	ethDirOut = 1
)

const ethEventKeyLen = 1 + 8 + 8 + 4 + 1

// Status values of EthTxRec.
const (
	EthTxFailed  = 0
	EthTxOK      = 1
	EthTxUnknown = 2 // pre-Byzantium receipt without a status
)

// EthBlockRec is the stored form of an account-chain block.
type EthBlockRec struct {
	Height  uint64
	Hash    [32]byte
	Parent  [32]byte
	Time    uint64
	Miner   [20]byte
	BaseFee model.Amount // zero before London
	GasUsed uint64
	// TxCount is the number of real transactions.
	TxCount uint32
	// TxNumMin is the ordinal of the block's first transaction (or of its
	// withdrawals pseudo-transaction when it has no transactions).
	TxNumMin uint64
	// AddrIDMin is the first address id that this block may have created.
	AddrIDMin uint64
	// Withdrawals is the number of beacon-chain withdrawals.
	Withdrawals uint32
}

// TxNums returns how many transaction ordinals the block uses: its
// transactions plus one for the withdrawals pseudo-transaction, if any.
func (b *EthBlockRec) TxNums() uint64 {
	n := uint64(b.TxCount)
	if b.Withdrawals > 0 {
		n++
	}
	return n
}

// EthTxRec is the stored form of an account-chain transaction. Address
// fields hold address ids; 0 means none (To of a contract creation, Created
// of anything else).
type EthTxRec struct {
	TxNum   uint64
	Height  uint64
	Index   uint32
	Hash    [32]byte
	From    uint64
	To      uint64
	Created uint64
	Value   model.Amount
	Status  uint8 // EthTxFailed, EthTxOK or EthTxUnknown
	GasUsed uint64
	// Transfers are the value movements of the transaction, in the order
	// eth.Extract returns them; their position is the Index of their
	// address-index events.
	Transfers []EthTransferRec
}

// EthTransferRec is one value movement inside a transaction. From and To are
// address ids, 0 for the zero address (mints, burns, burnt fees); Token is
// the token contract's address id, 0 for the native coin.
type EthTransferRec struct {
	Kind         uint8 // eth.Kind
	From, To     uint64
	Token        uint64
	Amount       model.Amount
	TokenID      *model.Amount
	LogIndex     int32 // -1 for transfers that do not come from a log
	TraceAddress []uint32
}

// EthEvent is one entry of the account-chain address index: address AddrID
// sent (Out) or received Amount of Token (0 native) in transfer Index of
// transaction TxNum.
type EthEvent struct {
	AddrID uint64
	TxNum  uint64
	Index  uint32
	Out    bool
	Token  uint64
	Amount model.Amount
}

// Token standards as stored in TokenMeta.Standard.
const (
	TokenERC20   = 1
	TokenERC721  = 2
	TokenERC1155 = 3
)

// TokenMeta describes a token contract.
type TokenMeta struct {
	Standard    uint8 // TokenERC20, TokenERC721 or TokenERC1155; 0 unknown
	Decimals    uint8
	HasDecimals bool
	Name        string
	Symbol      string
}

func appendAmount(dst []byte, a model.Amount) []byte {
	b := a.Bytes32()
	i := 0
	for i < len(b) && b[i] == 0 {
		i++
	}
	dst = append(dst, byte(len(b)-i))
	return append(dst, b[i:]...)
}

func (r *recReader) amount(what string) model.Amount {
	l := r.bytes(1, what)
	if l == nil {
		return model.Amount{}
	}
	if l[0] > 32 {
		r.off--
		r.fail(what + " length")
		return model.Amount{}
	}
	v := r.bytes(int(l[0]), what)
	if r.err != nil {
		return model.Amount{}
	}
	return model.AmountFromBytes(v)
}

func (r *recReader) u64(what string) uint64 {
	s := r.bytes(8, what)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

func (r *recReader) done(what string) error {
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return fmt.Errorf("%w (%s)", r.err, what)
	}
	return nil
}

// appendEthBlock encodes b without its height (the key): hash(32)
// parent(32) time(8) miner(20) txnummin(8) addridmin(8), then uvarints
// gasused, txcount, withdrawals, then the base fee amount.
func appendEthBlock(dst []byte, b *EthBlockRec) []byte {
	dst = append(dst, b.Hash[:]...)
	dst = append(dst, b.Parent[:]...)
	dst = binary.BigEndian.AppendUint64(dst, b.Time)
	dst = append(dst, b.Miner[:]...)
	dst = binary.BigEndian.AppendUint64(dst, b.TxNumMin)
	dst = binary.BigEndian.AppendUint64(dst, b.AddrIDMin)
	dst = binary.AppendUvarint(dst, b.GasUsed)
	dst = binary.AppendUvarint(dst, uint64(b.TxCount))
	dst = binary.AppendUvarint(dst, uint64(b.Withdrawals))
	return appendAmount(dst, b.BaseFee)
}

func decodeEthBlock(height uint64, v []byte, b *EthBlockRec) error {
	r := recReader{b: v}
	b.Height = height
	copy(b.Hash[:], r.bytes(32, "hash"))
	copy(b.Parent[:], r.bytes(32, "parent"))
	b.Time = r.u64("time")
	copy(b.Miner[:], r.bytes(20, "miner"))
	b.TxNumMin = r.u64("txnum min")
	b.AddrIDMin = r.u64("addr id min")
	b.GasUsed = r.uvarint("gas used")
	b.TxCount = r.u32v("tx count")
	b.Withdrawals = r.u32v("withdrawals")
	b.BaseFee = r.amount("base fee")
	return r.done(fmt.Sprintf("eth block at height %d", height))
}

// u32v reads a uvarint that must fit 32 bits.
func (r *recReader) u32v(what string) uint32 {
	v := r.uvarint(what)
	if v > 1<<32-1 {
		r.fail(what + " overflows 32 bits")
		return 0
	}
	return uint32(v)
}

// appendEthTx encodes t without its ordinal (the key): hash(32), uvarints
// height, index, from, to, created, value amount, status(1), uvarint gas
// used, uvarint transfer count, and per transfer: kind(1), uvarints from,
// to, token, amount, token-id flag(1) [token-id amount], uvarint
// logindex+1, uvarint trace-address length and elements.
func appendEthTx(dst []byte, t *EthTxRec) []byte {
	dst = append(dst, t.Hash[:]...)
	dst = binary.AppendUvarint(dst, t.Height)
	dst = binary.AppendUvarint(dst, uint64(t.Index))
	dst = binary.AppendUvarint(dst, t.From)
	dst = binary.AppendUvarint(dst, t.To)
	dst = binary.AppendUvarint(dst, t.Created)
	dst = appendAmount(dst, t.Value)
	dst = append(dst, t.Status)
	dst = binary.AppendUvarint(dst, t.GasUsed)
	dst = binary.AppendUvarint(dst, uint64(len(t.Transfers)))
	for i := range t.Transfers {
		tr := &t.Transfers[i]
		dst = append(dst, tr.Kind)
		dst = binary.AppendUvarint(dst, tr.From)
		dst = binary.AppendUvarint(dst, tr.To)
		dst = binary.AppendUvarint(dst, tr.Token)
		dst = appendAmount(dst, tr.Amount)
		if tr.TokenID != nil {
			dst = append(dst, 1)
			dst = appendAmount(dst, *tr.TokenID)
		} else {
			dst = append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(int64(tr.LogIndex)+1))
		dst = binary.AppendUvarint(dst, uint64(len(tr.TraceAddress)))
		for _, a := range tr.TraceAddress {
			dst = binary.AppendUvarint(dst, uint64(a))
		}
	}
	return dst
}

// minEthTransferSize is the smallest encoding of one transfer.
const minEthTransferSize = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1

func decodeEthTx(txnum uint64, v []byte, t *EthTxRec) error {
	r := recReader{b: v}
	t.TxNum = txnum
	copy(t.Hash[:], r.bytes(32, "hash"))
	t.Height = r.uvarint("height")
	t.Index = r.u32v("index")
	t.From = r.uvarint("from")
	t.To = r.uvarint("to")
	t.Created = r.uvarint("created")
	t.Value = r.amount("value")
	if s := r.bytes(1, "status"); s != nil {
		t.Status = s[0]
		if t.Status > EthTxUnknown {
			r.off--
			r.fail("status")
		}
	}
	t.GasUsed = r.uvarint("gas used")
	n := r.count(minEthTransferSize, "transfers")
	t.Transfers = t.Transfers[:0]
	for i := 0; i < n && r.err == nil; i++ {
		var tr EthTransferRec
		if k := r.bytes(1, "transfer kind"); k != nil {
			tr.Kind = k[0]
		}
		tr.From = r.uvarint("transfer from")
		tr.To = r.uvarint("transfer to")
		tr.Token = r.uvarint("transfer token")
		tr.Amount = r.amount("transfer amount")
		if f := r.bytes(1, "transfer token-id flag"); f != nil {
			switch f[0] {
			case 0:
			case 1:
				id := r.amount("transfer token id")
				tr.TokenID = &id
			default:
				r.off--
				r.fail("transfer token-id flag")
			}
		}
		li := r.uvarint("transfer log index")
		if li > 1<<31 {
			r.fail("transfer log index")
		}
		tr.LogIndex = int32(int64(li) - 1)
		na := r.count(1, "transfer trace address")
		if na > 0 {
			tr.TraceAddress = make([]uint32, na)
			for j := range tr.TraceAddress {
				tr.TraceAddress[j] = r.u32v("transfer trace address")
			}
		}
		t.Transfers = append(t.Transfers, tr)
	}
	return r.done(fmt.Sprintf("eth tx %d", txnum))
}

func keyEthEvent(dst []byte, e *EthEvent) []byte {
	dst = keyU64(dst, prefixEthEvent, e.AddrID)
	dst = binary.BigEndian.AppendUint64(dst, e.TxNum)
	dst = binary.BigEndian.AppendUint32(dst, e.Index)
	if e.Out {
		return append(dst, ethDirOut)
	}
	return append(dst, ethDirIn)
}

// appendEthEventValue encodes an event's value: uvarint token id, amount.
func appendEthEventValue(dst []byte, e *EthEvent) []byte {
	dst = binary.AppendUvarint(dst, e.Token)
	return appendAmount(dst, e.Amount)
}

func decodeEthEvent(k, v []byte, e *EthEvent) error {
	if len(k) != ethEventKeyLen || k[0] != prefixEthEvent || k[21] > ethDirOut {
		return fmt.Errorf("store: corrupt eth event key %x", k)
	}
	e.AddrID = binary.BigEndian.Uint64(k[1:])
	e.TxNum = binary.BigEndian.Uint64(k[9:])
	e.Index = binary.BigEndian.Uint32(k[17:])
	e.Out = k[21] == ethDirOut
	r := recReader{b: v}
	e.Token = r.uvarint("token")
	e.Amount = r.amount("amount")
	return r.done(fmt.Sprintf("eth event of address #%d tx %d", e.AddrID, e.TxNum))
}

// appendTokenMeta encodes m: standard(1) decimals(1) flags(1), then name
// and symbol, each a uvarint length and the bytes.
func appendTokenMeta(dst []byte, m *TokenMeta) []byte {
	var flags byte
	if m.HasDecimals {
		flags = 1
	}
	dst = append(dst, m.Standard, m.Decimals, flags)
	dst = binary.AppendUvarint(dst, uint64(len(m.Name)))
	dst = append(dst, m.Name...)
	dst = binary.AppendUvarint(dst, uint64(len(m.Symbol)))
	return append(dst, m.Symbol...)
}

func decodeTokenMeta(id uint64, v []byte, m *TokenMeta) error {
	r := recReader{b: v}
	if h := r.bytes(3, "header"); h != nil {
		m.Standard, m.Decimals = h[0], h[1]
		if h[2] > 1 {
			r.off--
			r.fail("flags")
		}
		m.HasDecimals = h[2] == 1
	}
	m.Name = string(r.bytes(r.count(1, "name"), "name"))
	m.Symbol = string(r.bytes(r.count(1, "symbol"), "symbol"))
	return r.done(fmt.Sprintf("token #%d", id))
}
