package btcgen

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// The generator serializes transactions itself, straight into the block
// buffer, rather than building wire.MsgTx values: that avoids an
// allocation per script and lets the txid be hashed from the buffer in
// place. The tests decode every block with btcd's wire package, which
// keeps this encoder honest.

// appendU32 and appendU64 append little-endian integers, Bitcoin's byte
// order for every fixed-size field.
func appendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }
func appendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// appendVarInt appends Bitcoin's CompactSize encoding of v.
func appendVarInt(dst []byte, v uint64) []byte {
	switch {
	case v < 0xfd:
		return append(dst, byte(v))
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfd), uint16(v))
	case v <= 0xffffffff:
		return appendU32(append(dst, 0xfe), uint32(v))
	default:
		return appendU64(append(dst, 0xff), v)
	}
}

// hasher computes Bitcoin's double SHA-256 over buffers without allocating.
type hasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// newHasher returns a hasher with its own SHA-256 state.
func newHasher() *hasher { return &hasher{h: sha256.New()} }

// txid returns the double SHA-256 of a transaction serialized at tx with
// its witness section, found at tx[witStart:witEnd], left out. Without a
// witness (witStart == 0) it is the hash of the whole of tx. The segwit
// marker and flag, two bytes after the version, are skipped too.
func (h *hasher) txid(tx []byte, witStart, witEnd int) chainhash.Hash {
	if witStart == 0 {
		return chainhash.DoubleHashH(tx)
	}
	h.h.Reset()
	h.h.Write(tx[:4])
	h.h.Write(tx[6:witStart])
	h.h.Write(tx[witEnd:])
	return chainhash.Hash(sha256.Sum256(h.h.Sum(h.sum[:0])))
}

// merkleRoot returns the merkle root of leaves, using scratch (grown as
// needed and returned) as working space so that leaves is left intact.
// An odd level pairs its last hash with itself, as Bitcoin does.
func merkleRoot(leaves, scratch []chainhash.Hash) (chainhash.Hash, []chainhash.Hash) {
	level := append(scratch[:0], leaves...)
	var pair [2 * chainhash.HashSize]byte
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		for i := 0; i < len(level); i += 2 {
			copy(pair[:32], level[i][:])
			copy(pair[32:], level[i+1][:])
			level[i/2] = chainhash.DoubleHashH(pair[:])
		}
		level = level[:len(level)/2]
	}
	return level[0], level[:0]
}

// appendHeight appends the BIP34 block-height push that starts a coinbase
// scriptSig, encoded exactly as Core's CScript() << nHeight does: OP_0 or
// OP_1..OP_16 for small heights, else a minimal little-endian number push.
func appendHeight(dst []byte, h int) []byte {
	switch {
	case h == 0:
		return append(dst, opFalse)
	case h <= 16:
		return append(dst, byte(op1-1+h))
	}
	var num [5]byte
	n := 0
	for v := h; v > 0; v >>= 8 {
		num[n] = byte(v)
		n++
	}
	if num[n-1]&0x80 != 0 {
		n++ // Keep the number positive: a set top bit would be the sign.
	}
	dst = append(dst, byte(n))
	return append(dst, num[:n]...)
}

// hashMeetsTarget reports whether a block hash, a little-endian number,
// is at most target, given as 32 big-endian bytes.
func hashMeetsTarget(h *chainhash.Hash, target *[32]byte) bool {
	for i := range 32 {
		a, b := h[31-i], target[i]
		if a != b {
			return a < b
		}
	}
	return true
}

// compactToTarget expands compact difficulty bits into 32 big-endian
// bytes, and reports the expected number of hashes to meet it (capped).
func compactToTarget(bits uint32) (target [32]byte, tries float64) {
	exp := int(bits >> 24)
	mant := bits & 0x007fffff
	if bits&0x00800000 != 0 {
		return target, 1e300 // Negative targets can never be met.
	}
	// The mantissa's three bytes occupy big-endian positions
	// 32-exp .. 34-exp; bytes that fall outside 0..31 are dropped.
	for i := range 3 {
		pos := 32 - exp + i
		if pos >= 0 && pos < 32 {
			target[pos] = byte(mant >> (16 - 8*i))
		}
	}
	tries = 1
	for _, b := range target {
		if b != 0 {
			return target, tries * 256 / (float64(b) + 1)
		}
		tries *= 256
	}
	return target, 1e300
}
