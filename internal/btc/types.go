// Package btc decodes Bitcoin blocks and transactions from their wire
// serialization and derives addresses from output scripts. The decoder is
// zero-copy: decoded scripts and witnesses alias the input buffer, and a
// Block reuses its backing arrays across DecodeBlock calls, so decoding a
// block allocates nothing once the arrays have grown to the largest block.
package btc

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// HeaderSize is the size of a serialized block header.
const HeaderSize = 80

// Header is a decoded block header.
type Header struct {
	Version    int32
	PrevBlock  chainhash.Hash
	MerkleRoot chainhash.Hash
	Timestamp  uint32
	Bits       uint32
	Nonce      uint32
	// Raw is the 80-byte serialization, kept to hash it.
	Raw [HeaderSize]byte
}

// Block is a decoded block. Its slices alias the buffer given to
// DecodeBlock; the caller must not modify that buffer while the Block is in
// use. A Block may be reused for the next DecodeBlock call, which
// overwrites it.
type Block struct {
	Header Header
	Txs    []Tx
	// Size is the serialized size in bytes.
	Size int

	// Backing arrays reused across decodes. usedIns and usedOuts count the
	// leading entries the last decode wrote; entries after them are zero,
	// so the arrays never keep the buffers of earlier blocks alive.
	ins      []TxIn
	outs     []TxOut
	usedIns  int
	usedOuts int
}

// Tx is a decoded transaction. Raw is its full serialization (with
// witnesses when it has them).
type Tx struct {
	Version  int32
	LockTime uint32
	Ins      []TxIn
	Outs     []TxOut
	Raw      []byte
	// witStart and witEnd delimit the witness section within Raw; both are
	// zero for a transaction without witnesses.
	witStart, witEnd int
}

// TxIn is a decoded input. Witness is the raw witness stack of this input
// (item count followed by length-prefixed items), empty without witness.
type TxIn struct {
	PrevTxID  chainhash.Hash
	PrevIndex uint32
	Script    []byte
	Sequence  uint32
	Witness   []byte
}

// TxOut is a decoded output.
type TxOut struct {
	Value  int64
	Script []byte
}
