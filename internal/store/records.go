package store

import (
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/model"
)

// Progress is how far one ingest stage has got: the height and hash of the
// last block whose data the stage has written.
type Progress struct {
	Height uint64
	Hash   chainhash.Hash
}

// BlockRec is the stored form of a block of a UTXO chain.
type BlockRec struct {
	Height    uint64
	Hash      chainhash.Hash
	Prev      chainhash.Hash
	Version   int32
	Time      uint32
	Bits      uint32
	Size      uint32
	Weight    uint32
	TxNumMin  uint64 // ordinal of the block's first transaction
	TxCount   uint32
	AddrIDMin uint64 // first address id that this block may have created
}

// TxRec is the stored form of a UTXO transaction. TxNum is its ordinal in
// chain order (0 for the genesis coinbase), the compact id every other table
// uses. Inputs carry the value and first address of the output they spend so
// that fees and backward traces need no further reads.
type TxRec struct {
	TxNum    uint64
	TxID     chainhash.Hash
	Height   uint64
	Index    uint32
	Version  int32
	LockTime uint32
	Size     uint32
	VSize    uint32
	Coinbase bool
	Ins      []InRec
	Outs     []OutRec
}

// InRec is a stored input: the outpoint it spends, by transaction ordinal.
// An External input spends an output created before the block the store
// starts at (an ingest begun at a later height): only its txid is known,
// and Value, AddrID and PrevTxNum are zero.
type InRec struct {
	PrevTxNum uint64
	PrevVout  uint32
	Value     int64
	AddrID    uint64 // 0 when the spent output has no address
	External  bool
	PrevTxID  chainhash.Hash // set only for External inputs
}

// OutRec is a stored output. AddrIDs is empty for OP_RETURN outputs and
// holds one id per key for bare multisig.
type OutRec struct {
	Value   int64
	Class   model.ScriptClass
	AddrIDs []uint64
}

// SpendRec names the input that spends an output.
type SpendRec struct {
	TxNum uint64
	Vin   uint32
}

// Event is one entry of the address index: the address received an output
// (Spent false; Index is the output index in TxNum) or spent one (Spent
// true; Index is the input index in TxNum). Value is in satoshi.
type Event struct {
	AddrID uint64
	TxNum  uint64
	Spent  bool
	Index  uint32
	Value  int64
}

// Fee returns inputs minus outputs, or 0 for a coinbase, and false when an
// external input's value is unknown.
func (t *TxRec) Fee() (int64, bool) {
	if t.Coinbase {
		return 0, true
	}
	var in, out int64
	for _, i := range t.Ins {
		if i.External {
			return 0, false
		}
		in += i.Value
	}
	for _, o := range t.Outs {
		out += o.Value
	}
	return in - out, true
}

const txFlagCoinbase = 1

// appendTx appends the value encoding of t (without TxNum, which is the key).
func appendTx(dst []byte, t *TxRec) []byte {
	dst = append(dst, t.TxID[:]...)
	dst = binary.AppendUvarint(dst, t.Height)
	dst = binary.AppendUvarint(dst, uint64(t.Index))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(t.Version))
	dst = binary.LittleEndian.AppendUint32(dst, t.LockTime)
	dst = binary.AppendUvarint(dst, uint64(t.Size))
	dst = binary.AppendUvarint(dst, uint64(t.VSize))
	var flags byte
	if t.Coinbase {
		flags |= txFlagCoinbase
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(t.Ins)))
	for i := range t.Ins {
		in := &t.Ins[i]
		// The ordinal is stored plus one; zero marks an external input,
		// followed by the txid it spends.
		if in.External {
			dst = append(dst, 0)
			dst = append(dst, in.PrevTxID[:]...)
		} else {
			dst = binary.AppendUvarint(dst, in.PrevTxNum+1)
		}
		dst = binary.AppendUvarint(dst, uint64(in.PrevVout))
		dst = binary.AppendUvarint(dst, uint64(in.Value))
		dst = binary.AppendUvarint(dst, in.AddrID)
	}
	dst = binary.AppendUvarint(dst, uint64(len(t.Outs)))
	for i := range t.Outs {
		o := &t.Outs[i]
		dst = binary.AppendUvarint(dst, uint64(o.Value))
		dst = append(dst, byte(o.Class))
		dst = binary.AppendUvarint(dst, uint64(len(o.AddrIDs)))
		for _, id := range o.AddrIDs {
			dst = binary.AppendUvarint(dst, id)
		}
	}
	return dst
}

// recReader decodes the varint encodings of stored records and remembers
// the first error, so decoders read straight through and check once.
type recReader struct {
	b   []byte
	off int
	err error
}

func (r *recReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("store: corrupt record: %s at byte %d of %d", what, r.off, len(r.b))
	}
}

func (r *recReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.off += n
	return v
}

func (r *recReader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < n {
		r.fail(what)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *recReader) u32(what string) uint32 {
	s := r.bytes(4, what)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

// count reads a element count and bounds it by the bytes left, given the
// minimum encoded size of one element, so a corrupt count cannot force a
// huge allocation.
func (r *recReader) count(minSize int, what string) int {
	n := r.uvarint(what)
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)-r.off)/uint64(minSize) {
		r.fail(what + " count")
		return 0
	}
	return int(n)
}

// decodeTx decodes a value written by appendTx into t, reusing t's slices.
func decodeTx(txnum uint64, b []byte, t *TxRec) error {
	r := recReader{b: b}
	t.TxNum = txnum
	copy(t.TxID[:], r.bytes(32, "txid"))
	t.Height = r.uvarint("height")
	t.Index = uint32(r.uvarint("index"))
	t.Version = int32(r.u32("version"))
	t.LockTime = r.u32("locktime")
	t.Size = uint32(r.uvarint("size"))
	t.VSize = uint32(r.uvarint("vsize"))
	flags := r.bytes(1, "flags")
	t.Coinbase = len(flags) == 1 && flags[0]&txFlagCoinbase != 0
	nIn := r.count(4, "inputs")
	t.Ins = t.Ins[:0]
	for i := 0; i < nIn && r.err == nil; i++ {
		var in InRec
		if prev := r.uvarint("input prev txnum"); prev > 0 {
			in.PrevTxNum = prev - 1
		} else if r.err == nil {
			in.External = true
			copy(in.PrevTxID[:], r.bytes(32, "input prev txid"))
		}
		in.PrevVout = uint32(r.uvarint("input prev vout"))
		in.Value = int64(r.uvarint("input value"))
		in.AddrID = r.uvarint("input address")
		t.Ins = append(t.Ins, in)
	}
	nOut := r.count(3, "outputs")
	t.Outs = t.Outs[:0]
	for i := 0; i < nOut && r.err == nil; i++ {
		var o OutRec
		o.Value = int64(r.uvarint("output value"))
		if c := r.bytes(1, "output class"); c != nil {
			o.Class = model.ScriptClass(c[0])
		}
		na := r.count(1, "output addresses")
		if na > 0 {
			o.AddrIDs = make([]uint64, na)
			for j := range o.AddrIDs {
				o.AddrIDs[j] = r.uvarint("output address")
			}
		}
		t.Outs = append(t.Outs, o)
	}
	if r.err == nil && r.off != len(b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return fmt.Errorf("%w (tx %d)", r.err, txnum)
	}
	return nil
}

// blockRecSize is the fixed size of an encoded BlockRec value.
const blockRecSize = 32 + 32 + 4 + 4 + 4 + 4 + 4 + 8 + 4 + 8

func appendBlock(dst []byte, b *BlockRec) []byte {
	dst = append(dst, b.Hash[:]...)
	dst = append(dst, b.Prev[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(b.Version))
	dst = binary.LittleEndian.AppendUint32(dst, b.Time)
	dst = binary.LittleEndian.AppendUint32(dst, b.Bits)
	dst = binary.LittleEndian.AppendUint32(dst, b.Size)
	dst = binary.LittleEndian.AppendUint32(dst, b.Weight)
	dst = binary.BigEndian.AppendUint64(dst, b.TxNumMin)
	dst = binary.LittleEndian.AppendUint32(dst, b.TxCount)
	dst = binary.BigEndian.AppendUint64(dst, b.AddrIDMin)
	return dst
}

func decodeBlock(height uint64, v []byte, b *BlockRec) error {
	if len(v) != blockRecSize {
		return fmt.Errorf("store: corrupt block record at height %d: %d bytes, want %d", height, len(v), blockRecSize)
	}
	b.Height = height
	copy(b.Hash[:], v[0:32])
	copy(b.Prev[:], v[32:64])
	b.Version = int32(binary.LittleEndian.Uint32(v[64:]))
	b.Time = binary.LittleEndian.Uint32(v[68:])
	b.Bits = binary.LittleEndian.Uint32(v[72:])
	b.Size = binary.LittleEndian.Uint32(v[76:])
	b.Weight = binary.LittleEndian.Uint32(v[80:])
	b.TxNumMin = binary.BigEndian.Uint64(v[84:])
	b.TxCount = binary.LittleEndian.Uint32(v[92:])
	b.AddrIDMin = binary.BigEndian.Uint64(v[96:])
	return nil
}
