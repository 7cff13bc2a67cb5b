package btc

import (
	"encoding/binary"
	"fmt"
)

// Lower bounds on serialized sizes. Every count read from the input is
// checked against the bytes that remain before anything is allocated for
// it, so a forged count fails fast instead of allocating.
const (
	// minTxInSize is a prevout (36), an empty script (1) and a sequence (4).
	minTxInSize = 41
	// minTxOutSize is a value (8) and an empty script (1).
	minTxOutSize = 9
	// minTxSize is a version, one input, no outputs and a lock time.
	minTxSize = 4 + 1 + minTxInSize + 1 + 4
	// maxSize is the largest length Bitcoin Core deserializes (32 MiB); a
	// longer length, or a count whose elements cannot fit in it, is
	// reported as malformed rather than truncated.
	maxSize = 0x02000000
)

// Segwit serialization marker and flag bytes.
const (
	segwitMarker = 0x00
	segwitFlag   = 0x01
)

// Field names used to build DecodeError.What on the error path only.
const (
	fVersion     = "version"
	fFlag        = "segwit flag"
	fInCount     = "input count"
	fOutCount    = "output count"
	fLockTime    = "lock time"
	fPrevout     = "prevout"
	fScriptLen   = "script length"
	fScript      = "script"
	fSequence    = "sequence"
	fValue       = "value"
	fWitCount    = "witness item count"
	fWitItemLen  = "length"
	fWitItem     = "data"
	fWitness     = "witness"
	noIndex      = -1
	standaloneTx = -1
)

// DecodeHeader decodes the 80-byte block header at the start of data into
// h. Bytes after the header are ignored, so data may be a whole block.
func DecodeHeader(data []byte, h *Header) error {
	if len(data) < HeaderSize {
		return &DecodeError{Offset: 0, What: "block header", Err: ErrTruncated,
			detail: fmt.Sprintf("need %d bytes, have %d", HeaderSize, len(data))}
	}
	copy(h.Raw[:], data[:HeaderSize])
	raw := h.Raw[:]
	h.Version = int32(binary.LittleEndian.Uint32(raw[0:4]))
	copy(h.PrevBlock[:], raw[4:36])
	copy(h.MerkleRoot[:], raw[36:68])
	h.Timestamp = binary.LittleEndian.Uint32(raw[68:72])
	h.Bits = binary.LittleEndian.Uint32(raw[72:76])
	h.Nonce = binary.LittleEndian.Uint32(raw[76:80])
	return nil
}

// DecodeBlock decodes data, which must hold exactly one serialized block,
// into b. The scripts, witnesses and raw transactions of b alias data.
// b's transaction, input and output arrays are reused and only grown when
// a block needs more than any earlier one, so decoding into a long-lived
// Block does not allocate in the steady state. On error b holds partial
// results and must not be used.
func DecodeBlock(data []byte, b *Block) error {
	if err := DecodeHeader(data, &b.Header); err != nil {
		return err
	}
	d := decoder{data: data, pos: HeaderSize, tx: noIndex}
	count, err := d.count(minTxSize, "block tx count")
	if err != nil {
		return err
	}
	if cap(b.Txs) < count {
		b.Txs = make([]Tx, count)
	} else if count < len(b.Txs) {
		// Drop the references of the transactions no longer used.
		clear(b.Txs[count:])
	}
	b.Txs = b.Txs[:count]
	d.ins, d.outs = b.ins[:0], b.outs[:0]
	err = nil
	for i := range b.Txs {
		d.tx = i
		if err = d.decodeTx(&b.Txs[i]); err != nil {
			break
		}
	}
	b.keepSlabs(&d)
	if err != nil {
		return err
	}
	if d.pos != len(data) {
		return &DecodeError{Offset: int64(d.pos), What: "block", Err: ErrMalformed,
			detail: fmt.Sprintf("%d bytes after the last of %d transactions", len(data)-d.pos, count)}
	}
	b.Size = len(data)
	return nil
}

// keepSlabs stores the input and output arrays of d for the next decode.
// When an array is the one the previous decode used, its entries beyond
// those written now are cleared, so that they no longer reference the
// buffer of an earlier block; a newly grown array is zero past its length.
func (b *Block) keepSlabs(d *decoder) {
	if !d.insGrown && len(d.ins) < b.usedIns {
		clear(d.ins[len(d.ins):b.usedIns])
	}
	if !d.outsGrown && len(d.outs) < b.usedOuts {
		clear(d.outs[len(d.outs):b.usedOuts])
	}
	b.ins, b.outs = d.ins, d.outs
	b.usedIns, b.usedOuts = len(d.ins), len(d.outs)
}

// DecodeTx decodes the transaction at the start of data into tx and
// returns the number of bytes it occupies; bytes after it are ignored.
// The scripts, witnesses and Raw of tx alias data. Unlike DecodeBlock it
// allocates fresh input and output arrays on every call, so tx may be a
// transaction of a Block without disturbing that block.
func DecodeTx(data []byte, tx *Tx) (n int, err error) {
	d := decoder{data: data, tx: standaloneTx}
	if err := d.decodeTx(tx); err != nil {
		return 0, err
	}
	return d.pos, nil
}

// decoder walks a buffer. ins and outs are slabs from which the input and
// output slices of the transactions are carved.
type decoder struct {
	data []byte
	pos  int
	// tx is the index of the transaction being decoded, for errors.
	tx   int
	ins  []TxIn
	outs []TxOut
	// insGrown and outsGrown are set when a slab was reallocated.
	insGrown, outsGrown bool
}

// where formats the location of a field for an error message.
func (d *decoder) where(part string, in, item int, field string) string {
	s := "tx"
	if d.tx >= 0 {
		s = fmt.Sprintf("tx %d", d.tx)
	}
	if part != "" {
		if in >= 0 {
			s += fmt.Sprintf(" %s %d", part, in)
		} else {
			s += " " + part
		}
	}
	if item >= 0 {
		s += fmt.Sprintf(" witness item %d", item)
	}
	return s + " " + field
}

// truncated returns the error for a field at off that needs need bytes.
func (d *decoder) truncated(off, need int, part string, in, item int, field string) error {
	return &DecodeError{Offset: int64(off), What: d.where(part, in, item, field), Err: ErrTruncated,
		detail: fmt.Sprintf("need %d bytes, %d remain", need, len(d.data)-off)}
}

// malformed returns the error for an invalid field at off.
func (d *decoder) malformed(off int, what, detail string) error {
	return &DecodeError{Offset: int64(off), What: what, Err: ErrMalformed, detail: detail}
}

// varint reads a compact size integer. Non-canonical encodings are
// accepted; every use bounds the value by the bytes that remain.
func (d *decoder) varint() (uint64, bool) {
	p, data := d.pos, d.data
	if p >= len(data) {
		return 0, false
	}
	switch c := data[p]; c {
	case 0xfd:
		if len(data)-p < 3 {
			return 0, false
		}
		d.pos = p + 3
		return uint64(binary.LittleEndian.Uint16(data[p+1:])), true
	case 0xfe:
		if len(data)-p < 5 {
			return 0, false
		}
		d.pos = p + 5
		return uint64(binary.LittleEndian.Uint32(data[p+1:])), true
	case 0xff:
		if len(data)-p < 9 {
			return 0, false
		}
		d.pos = p + 9
		return binary.LittleEndian.Uint64(data[p+1:]), true
	default:
		d.pos = p + 1
		return uint64(c), true
	}
}

// count reads a block-level element count whose elements need at least
// minSize bytes each.
func (d *decoder) count(minSize int, what string) (int, error) {
	start := d.pos
	v, ok := d.varint()
	if !ok {
		return 0, &DecodeError{Offset: int64(start), What: what, Err: ErrTruncated}
	}
	if rem := len(d.data) - d.pos; v > uint64(rem/minSize) {
		return 0, countErr(start, what, v, minSize, rem)
	}
	return int(v), nil
}

// countErr reports a count of elements of at least minSize bytes each
// that do not fit in the rem bytes left. A count that could fit in the
// largest serialization Bitcoin Core reads means the input was cut short;
// a larger one is malformed.
func countErr(off int, what string, v uint64, minSize, rem int) error {
	cause := ErrMalformed
	if v <= maxSize/uint64(minSize) {
		cause = ErrTruncated
	}
	return &DecodeError{Offset: int64(off), What: what, Err: cause,
		detail: fmt.Sprintf("count %d needs at least %d bytes each, %d remain", v, minSize, rem)}
}

// txCount reads an input or output count of the current transaction.
func (d *decoder) txCount(minSize int, field string) (int, error) {
	start := d.pos
	v, ok := d.varint()
	if !ok {
		return 0, d.truncated(start, 1, "", noIndex, noIndex, field)
	}
	if rem := len(d.data) - d.pos; v > uint64(rem/minSize) {
		return 0, countErr(start, d.where("", noIndex, noIndex, field), v, minSize, rem)
	}
	return int(v), nil
}

// bytes reads a length-prefixed byte string for the named field.
func (d *decoder) bytes(part string, in, item int, lenField, field string) ([]byte, error) {
	start := d.pos
	v, ok := d.varint()
	if !ok {
		return nil, d.truncated(start, 1, part, in, item, lenField)
	}
	p := d.pos
	if v > uint64(len(d.data)-p) {
		if v > maxSize {
			return nil, d.malformed(start, d.where(part, in, item, lenField),
				fmt.Sprintf("length %d exceeds the %d bytes that remain", v, len(d.data)-p))
		}
		return nil, d.truncated(p, int(v), part, in, item, field)
	}
	d.pos = p + int(v)
	return d.data[p:d.pos:d.pos], nil
}

// takeIns carves n inputs from the slab, growing it when needed. A grown
// slab starts empty: slices carved earlier keep the old array alive until
// the next decode, which then reuses the larger array.
func (d *decoder) takeIns(n int) []TxIn {
	if cap(d.ins)-len(d.ins) < n {
		c := max(n, 2*cap(d.ins))
		if d.tx >= 0 {
			c = max(c, 64)
		}
		d.ins = make([]TxIn, 0, c)
		d.insGrown = true
	}
	l := len(d.ins)
	d.ins = d.ins[:l+n]
	return d.ins[l : l+n : l+n]
}

// takeOuts carves n outputs from the slab like takeIns.
func (d *decoder) takeOuts(n int) []TxOut {
	if cap(d.outs)-len(d.outs) < n {
		c := max(n, 2*cap(d.outs))
		if d.tx >= 0 {
			c = max(c, 64)
		}
		d.outs = make([]TxOut, 0, c)
		d.outsGrown = true
	}
	l := len(d.outs)
	d.outs = d.outs[:l+n]
	return d.outs[l : l+n : l+n]
}

// decodeTx decodes one transaction at d.pos into tx, overwriting every
// field.
func (d *decoder) decodeTx(tx *Tx) error {
	data := d.data
	start := d.pos
	if len(data)-start < 4 {
		return d.truncated(start, 4, "", noIndex, noIndex, fVersion)
	}
	tx.Version = int32(binary.LittleEndian.Uint32(data[start:]))
	d.pos = start + 4

	// A zero input count is the segwit marker: transactions without
	// inputs are invalid, so the ambiguity resolves to segwit.
	segwit := false
	if d.pos < len(data) && data[d.pos] == segwitMarker {
		if len(data)-d.pos < 2 {
			return d.truncated(d.pos, 2, "", noIndex, noIndex, fFlag)
		}
		if f := data[d.pos+1]; f != segwitFlag {
			return d.malformed(d.pos, d.where("", noIndex, noIndex, fFlag),
				fmt.Sprintf("zero input count followed by flag 0x%02x, want segwit flag 0x01", f))
		}
		segwit = true
		d.pos += 2
	}

	nin, err := d.txCount(minTxInSize, fInCount)
	if err != nil {
		return err
	}
	if nin == 0 {
		return d.malformed(d.pos-1, d.where("", noIndex, noIndex, fInCount), "transaction has no inputs")
	}
	ins := d.takeIns(nin)
	for i := range ins {
		in := &ins[i]
		p := d.pos
		if len(data)-p < 36 {
			return d.truncated(p, 36, "input", i, noIndex, fPrevout)
		}
		copy(in.PrevTxID[:], data[p:p+32])
		in.PrevIndex = binary.LittleEndian.Uint32(data[p+32:])
		d.pos = p + 36
		if in.Script, err = d.bytes("input", i, noIndex, fScriptLen, fScript); err != nil {
			return err
		}
		p = d.pos
		if len(data)-p < 4 {
			return d.truncated(p, 4, "input", i, noIndex, fSequence)
		}
		in.Sequence = binary.LittleEndian.Uint32(data[p:])
		in.Witness = nil
		d.pos = p + 4
	}

	nout, err := d.txCount(minTxOutSize, fOutCount)
	if err != nil {
		return err
	}
	outs := d.takeOuts(nout)
	for i := range outs {
		out := &outs[i]
		p := d.pos
		if len(data)-p < 8 {
			return d.truncated(p, 8, "output", i, noIndex, fValue)
		}
		out.Value = int64(binary.LittleEndian.Uint64(data[p:]))
		d.pos = p + 8
		if out.Script, err = d.bytes("output", i, noIndex, fScriptLen, fScript); err != nil {
			return err
		}
	}

	witStart, witEnd := 0, 0
	if segwit {
		witStart = d.pos - start
		if err := d.witnesses(ins); err != nil {
			return err
		}
		witEnd = d.pos - start
	}

	p := d.pos
	if len(data)-p < 4 {
		return d.truncated(p, 4, "", noIndex, noIndex, fLockTime)
	}
	tx.LockTime = binary.LittleEndian.Uint32(data[p:])
	d.pos = p + 4

	tx.Ins, tx.Outs = ins, outs
	tx.Raw = data[start:d.pos:d.pos]
	tx.witStart, tx.witEnd = witStart, witEnd
	return nil
}

// witnesses decodes the witness stack of every input. A segwit
// serialization in which no input has a witness item is rejected, as
// Bitcoin Core does ("superfluous witness record").
func (d *decoder) witnesses(ins []TxIn) error {
	data := d.data
	found := false
	for i := range ins {
		start := d.pos
		v, ok := d.varint()
		if !ok {
			return d.truncated(start, 1, "input", i, noIndex, fWitCount)
		}
		if v > uint64(len(data)-d.pos) {
			return countErr(start, d.where("input", i, noIndex, fWitCount), v, 1, len(data)-d.pos)
		}
		if v == 0 {
			continue
		}
		for j := 0; j < int(v); j++ {
			if _, err := d.bytes("input", i, j, fWitItemLen, fWitItem); err != nil {
				return err
			}
		}
		ins[i].Witness = data[start:d.pos:d.pos]
		found = true
	}
	if !found {
		return d.malformed(d.pos, d.where("", noIndex, noIndex, fWitness),
			"segwit flag set but no input has a witness")
	}
	return nil
}
