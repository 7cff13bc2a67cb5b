package btcw

import (
	"encoding/binary"
	"math/rand/v2"
)

// The ledger serializes transactions itself, straight into the buffer of
// the block being built, with package txenc's primitives (shared with
// btcgen). The tests decode every block with btcd's wire package, which
// keeps this encoder honest.

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
