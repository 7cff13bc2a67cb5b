// Package txenc holds the Bitcoin serialization and hashing primitives the
// simulators (btcgen, btcw) share. They write transactions and blocks as
// bytes straight into their buffers rather than building wire.MsgTx
// values, which avoids allocations per input and output and lets a txid be
// hashed from the buffer in place; their tests decode every block with
// btcd's wire package, which keeps this encoding honest.
package txenc

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	//lint:ignore SA1019 Bitcoin's HASH160 is defined with RIPEMD-160.
	"golang.org/x/crypto/ripemd160"
)

// AppendU32 appends v little-endian, Bitcoin's byte order for fixed-size
// fields.
func AppendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

// AppendU64 appends v little-endian.
func AppendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// AppendVarInt appends Bitcoin's CompactSize encoding of v.
func AppendVarInt(dst []byte, v uint64) []byte {
	switch {
	case v < 0xfd:
		return append(dst, byte(v))
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfd), uint16(v))
	case v <= 0xffffffff:
		return AppendU32(append(dst, 0xfe), uint32(v))
	default:
		return AppendU64(append(dst, 0xff), v)
	}
}

// Hasher computes Bitcoin's double SHA-256 over parts of a buffer without
// allocating. A Hasher is not safe for concurrent use.
type Hasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewHasher returns a Hasher with its own SHA-256 state.
func NewHasher() *Hasher { return &Hasher{h: sha256.New()} }

// TxID returns the double SHA-256 of the transaction serialized in tx with
// its segwit marker and flag (the two bytes after the version) and its
// witness section, tx[witStart:witEnd], left out. A transaction without
// witness (witStart == 0) hashes whole.
func (h *Hasher) TxID(tx []byte, witStart, witEnd int) chainhash.Hash {
	if witStart == 0 {
		return chainhash.DoubleHashH(tx)
	}
	h.h.Reset()
	h.h.Write(tx[:4])
	h.h.Write(tx[6:witStart])
	h.h.Write(tx[witEnd:])
	return chainhash.Hash(sha256.Sum256(h.h.Sum(h.sum[:0])))
}

// MerkleRoot returns the merkle root of leaves, using scratch (grown as
// needed and returned) as working space so that leaves stays intact. An
// odd level pairs its last hash with itself, as Bitcoin does.
func MerkleRoot(leaves, scratch []chainhash.Hash) (chainhash.Hash, []chainhash.Hash) {
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

// AppendHeight appends the BIP34 block-height push that starts a coinbase
// scriptSig, encoded exactly as Core's CScript() << nHeight does: OP_0 or
// OP_1..OP_16 for small heights, else a minimal little-endian number push.
// Negative heights are written as 0.
func AppendHeight(dst []byte, h int64) []byte {
	switch {
	case h <= 0:
		return append(dst, 0x00)
	case h <= 16:
		return append(dst, byte(0x50+h))
	}
	var num [9]byte
	n := 0
	for v := uint64(h); v > 0; v >>= 8 {
		num[n] = byte(v)
		n++
	}
	if num[n-1]&0x80 != 0 {
		n++ // Keep the number positive: a set top bit would be the sign.
	}
	dst = append(dst, byte(n))
	return append(dst, num[:n]...)
}

// HashMeetsTarget reports whether a block hash, a little-endian number, is
// at most target, given as 32 big-endian bytes.
func HashMeetsTarget(h *chainhash.Hash, target *[32]byte) bool {
	for i := range 32 {
		a, b := h[31-i], target[i]
		if a != b {
			return a < b
		}
	}
	return true
}

// CompactToTarget expands compact difficulty bits into 32 big-endian bytes
// and reports the expected number of hashes to meet it (capped at 1e300).
func CompactToTarget(bits uint32) (target [32]byte, tries float64) {
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

// Keyer derives a simulator's keys. Running secp256k1 would dominate the
// cost of a transaction and nothing downstream verifies signatures, so key
// i is 0x02/0x03 || SHA-256(salt || i): the size and shape of a compressed
// public key, unique per index and per salt, though not a point on the
// curve. A Keyer is not safe for concurrent use.
type Keyer struct {
	salt [8]byte
	rip  hash.Hash
	sum  [ripemd160.Size]byte
	sha  [sha256.Size]byte
}

// NewKeyer returns a Keyer whose keys depend on salt.
func NewKeyer(salt uint64) Keyer {
	k := Keyer{rip: ripemd160.New()}
	binary.LittleEndian.PutUint64(k.salt[:], salt)
	return k
}

// Salt returns the keyer's salt.
func (k *Keyer) Salt() uint64 { return binary.LittleEndian.Uint64(k.salt[:]) }

// Digest returns SHA-256(salt || i), the material of key i.
func (k *Keyer) Digest(i uint64) [32]byte {
	var buf [16]byte
	copy(buf[:8], k.salt[:])
	binary.LittleEndian.PutUint64(buf[8:], i)
	return sha256.Sum256(buf[:])
}

// Pub returns the compressed-looking public key i.
func (k *Keyer) Pub(i uint64) [33]byte {
	d := k.Digest(i)
	var pk [33]byte
	pk[0] = 0x02 | d[31]&1
	copy(pk[1:], d[:])
	return pk
}

// Hash160 returns RIPEMD-160(SHA-256(b)), Bitcoin's address hash.
func (k *Keyer) Hash160(b []byte) [20]byte {
	k.sha = sha256.Sum256(b)
	k.rip.Reset()
	k.rip.Write(k.sha[:])
	var out [20]byte
	copy(out[:], k.rip.Sum(k.sum[:0]))
	return out
}
