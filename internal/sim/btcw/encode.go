package btcw

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/rand/v2"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// The ledger serializes transactions itself, straight into the buffer of
// the block being built, rather than building wire.MsgTx values: that
// avoids allocations per input and output and lets the txid be hashed
// from the buffer in place. The tests decode every block with btcd's
// wire package, which keeps this encoder honest.

// appendU32 and appendU64 append little-endian integers, Bitcoin's byte
// order for fixed-size fields.
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

// hasher computes Bitcoin's double SHA-256 over parts of a buffer
// without allocating.
type hasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// txid returns the double SHA-256 of the transaction serialized in tx
// with its segwit marker and flag (the two bytes after the version) and
// its witness section, tx[witStart:witEnd], left out. A transaction
// without witness (witStart == 0) hashes whole.
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
// needed and returned) as working space so that leaves stays intact. An
// odd level pairs its last hash with itself, as Bitcoin does.
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

// appendHeight appends the BIP34 height push that starts a coinbase
// scriptSig, encoded as Core's CScript() << nHeight: OP_1..OP_16 for
// small heights, else a minimal little-endian number push.
func appendHeight(dst []byte, h int32) []byte {
	if h >= 1 && h <= 16 {
		return append(dst, byte(op1-1+h))
	}
	var num [5]byte
	n := 0
	for v := uint32(h); v > 0; v >>= 8 {
		num[n] = byte(v)
		n++
	}
	if n > 0 && num[n-1]&0x80 != 0 {
		n++ // A set top bit would make the number negative.
	}
	dst = append(dst, byte(n))
	return append(dst, num[:n]...)
}

// appendSig appends a length-prefixed dummy DER ECDSA signature with a
// SIGHASH_ALL byte, drawn from rng: 71 bytes when R is low, 72 when high,
// as if R were random. S is always low, as relay policy requires, and
// both integers are minimally encoded, so the signature parses as DER.
func appendSig(dst []byte, rng *rand.PCG) []byte {
	r0, r1, r2, r3 := rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()
	s0, s1, s2, s3 := rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()
	// A nonzero first byte keeps each integer minimal; a high first byte
	// of R needs a zero pad byte to stay positive.
	r0 |= 1 << 56
	s0 = s0&^(0x80<<56) | 1<<56
	rlen := 32
	if r0>>63 != 0 {
		rlen = 33
	}
	dst = append(dst, byte(rlen+39), 0x30, byte(rlen+36), 0x02, byte(rlen))
	if rlen == 33 {
		dst = append(dst, 0)
	}
	dst = binary.BigEndian.AppendUint64(dst, r0)
	dst = binary.BigEndian.AppendUint64(dst, r1)
	dst = binary.BigEndian.AppendUint64(dst, r2)
	dst = binary.BigEndian.AppendUint64(dst, r3)
	dst = append(dst, 0x02, 32)
	dst = binary.BigEndian.AppendUint64(dst, s0)
	dst = binary.BigEndian.AppendUint64(dst, s1)
	dst = binary.BigEndian.AppendUint64(dst, s2)
	dst = binary.BigEndian.AppendUint64(dst, s3)
	return append(dst, 0x01)
}

// appendSchnorr appends a dummy 64-byte Schnorr signature drawn from rng,
// with its length prefix, as a taproot key-path witness item.
func appendSchnorr(dst []byte, rng *rand.PCG) []byte {
	dst = append(dst, 64)
	for range 8 {
		dst = binary.LittleEndian.AppendUint64(dst, rng.Uint64())
	}
	return dst
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
// bytes and returns the expected number of hashes needed to meet them.
func compactToTarget(bits uint32) (target [32]byte, tries float64) {
	exp := int(bits >> 24)
	mant := bits & 0x007fffff
	if bits&0x00800000 != 0 {
		return target, 1e300 // A negative target is never met.
	}
	for i := range 3 {
		if pos := 32 - exp + i; pos >= 0 && pos < 32 {
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
