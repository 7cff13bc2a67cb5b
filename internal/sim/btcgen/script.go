package btcgen

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// Class is the standard class of an output script, named as Bitcoin Core's
// script solver names them. Result counts outputs by Class so tests can
// compare an ingester's classification with the generator's ground truth.
type Class uint8

// The output script classes the generator writes.
const (
	NonStandard Class = iota // Anything else; here a SHA-256 hash puzzle.
	P2PK                     // <33-byte pubkey> OP_CHECKSIG.
	P2PKH                    // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG.
	P2SH                     // OP_HASH160 <20> OP_EQUAL.
	P2WPKH                   // OP_0 <20>.
	P2WSH                    // OP_0 <32>.
	P2TR                     // OP_1 <32>.
	Multisig                 // Bare 1-of-3 OP_CHECKMULTISIG.
	NullData                 // OP_RETURN <data>, including witness commitments.
	NumClasses               // NumClasses sizes arrays indexed by Class.
)

// classNames are the class names Core's RPC prints.
var classNames = [NumClasses]string{"nonstandard", "p2pk", "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "multisig", "nulldata"}

// String returns the lower-case name Bitcoin Core's RPC uses for the class.
func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return "unknown"
}

// kind is how a wallet holds an output: finer than Class because spending a
// P2SH output depends on what the redeem script is.
type kind uint8

// The kinds of address a wallet holds, and the two output-only kinds.
const (
	kP2PK kind = iota
	kP2PKH
	kP2SHP2WPKH
	kP2SHMultisig
	kP2WPKH
	kP2WSHMultisig
	kP2TR
	kBareMultisig
	kNullData
	kNonStandard
	numKinds
)

// kindInfo holds per-kind constants: the output class, how many key
// indices one address uses, the serialized output and input sizes in
// virtual bytes (for fee estimates), whether spending it needs a witness,
// and the sigop cost of creating and of spending it (to respect the
// block's sigop limit).
type kindInfo struct {
	class    Class
	keys     uint64
	outVB    int
	inVB     int
	witness  bool
	outSigop int
	inSigop  int
}

// kinds gives the constants of each kind. The sizes follow from the
// scripts below, with 72-byte signatures.
var kinds = [numKinds]kindInfo{
	kP2PK:          {class: P2PK, keys: 1, outVB: 44, inVB: 114, outSigop: 4},
	kP2PKH:         {class: P2PKH, keys: 1, outVB: 34, inVB: 148, outSigop: 4},
	kP2SHP2WPKH:    {class: P2SH, keys: 1, outVB: 32, inVB: 91, witness: true, inSigop: 1},
	kP2SHMultisig:  {class: P2SH, keys: 3, outVB: 32, inVB: 297, inSigop: 12},
	kP2WPKH:        {class: P2WPKH, keys: 1, outVB: 31, inVB: 68, witness: true, inSigop: 1},
	kP2WSHMultisig: {class: P2WSH, keys: 3, outVB: 43, inVB: 105, witness: true, inSigop: 3},
	kP2TR:          {class: P2TR, keys: 1, outVB: 43, inVB: 58, witness: true},
	kBareMultisig:  {class: Multisig, keys: 3, outVB: 114, inVB: 115, outSigop: 80},
	kNullData:      {class: NullData, outVB: 50},
	kNonStandard:   {class: NonStandard, outVB: 44},
}

// Script opcodes the generator writes.
const (
	opFalse         = 0x00
	opPushData1     = 0x4c
	op1             = 0x51
	op2             = 0x52
	op3             = 0x53
	opReturn        = 0x6a
	opDup           = 0x76
	opEqual         = 0x87
	opEqualVerify   = 0x88
	opSHA256        = 0xa8
	opHash160       = 0xa9
	opCheckSig      = 0xac
	opCheckMultisig = 0xae
)

// multisigLen is the length of the 2-of-3 and 1-of-3 multisig scripts.
const multisigLen = 3 + 3*34

// keyer derives the generator's public keys. Running secp256k1 for every
// address would dominate the cost of a million-transaction chain, and
// nothing in the pipeline verifies signatures, so key i is simply
// 0x02/0x03 || SHA-256(salt || i): it has the size and shape of a
// compressed key, hashes like one, and is unique per index. Half of such
// strings are not points on the curve, which matters only where a key is
// in an output script (see curvePub).
type keyer struct {
	txenc.Keyer
	ss []byte // Scratch for scriptSigs.
}

// newKeyer returns a keyer whose keys depend on seed, so that different
// seeds give different addresses.
func newKeyer(seed int64) *keyer {
	return &keyer{Keyer: txenc.NewKeyer(uint64(seed) ^ 0x6b65797361756c74)}
}

// curvePub returns public key i moved onto the curve: the digest is
// rehashed until it is the x coordinate of a point. Parsing a key costs
// microseconds, so only keys that sit in output scripts (P2PK and bare
// multisig, which tools such as btcd's address extraction parse) get it.
func (k *keyer) curvePub(i uint64) [33]byte {
	pk := k.Pub(i)
	for {
		if _, err := btcec.ParsePubKey(pk[:]); err == nil {
			return pk
		}
		d := sha256.Sum256(pk[1:])
		copy(pk[1:], d[:])
	}
}

// appendMultisig appends an m-of-3 multisig script over keys key..key+2,
// valid curve points for bare multisig (m = 1).
func (k *keyer) appendMultisig(dst []byte, m byte, key uint64) []byte {
	dst = append(dst, op1-1+m)
	for j := range uint64(3) {
		var pk [33]byte
		if m == 1 {
			pk = k.curvePub(key + j)
		} else {
			pk = k.Pub(key + j)
		}
		dst = append(dst, 33)
		dst = append(dst, pk[:]...)
	}
	return append(dst, op3, opCheckMultisig)
}

// appendOutScript appends the length-prefixed output script of an address
// of kind kd whose first key index is key. For kNullData key is the data
// length and for kNonStandard it is ignored; both take their bytes from rng.
func (k *keyer) appendOutScript(dst []byte, kd kind, key uint64, rng *rand.Rand) []byte {
	switch kd {
	case kP2PK:
		pk := k.curvePub(key)
		dst = append(dst, 35, 33)
		dst = append(dst, pk[:]...)
		return append(dst, opCheckSig)
	case kP2PKH:
		pk := k.Pub(key)
		h := k.Hash160(pk[:])
		dst = append(dst, 25, opDup, opHash160, 20)
		dst = append(dst, h[:]...)
		return append(dst, opEqualVerify, opCheckSig)
	case kP2SHP2WPKH, kP2SHMultisig:
		h := k.redeemHash(kd, key)
		dst = append(dst, 23, opHash160, 20)
		dst = append(dst, h[:]...)
		return append(dst, opEqual)
	case kP2WPKH:
		pk := k.Pub(key)
		h := k.Hash160(pk[:])
		dst = append(dst, 22, opFalse, 20)
		return append(dst, h[:]...)
	case kP2WSHMultisig:
		var ws [multisigLen]byte
		h := sha256.Sum256(k.appendMultisig(ws[:0], 2, key))
		dst = append(dst, 34, opFalse, 32)
		return append(dst, h[:]...)
	case kP2TR:
		// The x-only output key is the digest itself: real ones are
		// tweaked keys, indistinguishable from random 32-byte strings.
		d := k.Digest(key)
		dst = append(dst, 34, op1, 32)
		return append(dst, d[:]...)
	case kBareMultisig:
		dst = append(dst, multisigLen)
		return k.appendMultisig(dst, 1, key)
	case kNullData:
		n := int(key)
		if n <= 75 {
			dst = append(dst, byte(2+n), opReturn, byte(n))
		} else {
			dst = append(dst, byte(3+n), opReturn, opPushData1, byte(n))
		}
		return appendRandom(dst, n, rng)
	default:
		dst = append(dst, 35, opSHA256, 32)
		dst = appendRandom(dst, 32, rng)
		return append(dst, opEqual)
	}
}

// redeemHash returns the P2SH script hash of a P2SH address.
func (k *keyer) redeemHash(kd kind, key uint64) [20]byte {
	var rs [multisigLen]byte
	if kd == kP2SHMultisig {
		return k.Hash160(k.appendMultisig(rs[:0], 2, key))
	}
	return k.Hash160(k.appendWPKHProgram(rs[:0], key))
}

// appendWPKHProgram appends the P2WPKH witness program OP_0 <hash160(pk)>.
func (k *keyer) appendWPKHProgram(dst []byte, key uint64) []byte {
	pk := k.Pub(key)
	h := k.Hash160(pk[:])
	dst = append(dst, opFalse, 20)
	return append(dst, h[:]...)
}

// appendScriptSig appends the length-prefixed scriptSig that spends an
// output of kind kd. Native segwit spends have an empty scriptSig.
func (k *keyer) appendScriptSig(dst []byte, kd kind, key uint64, rng *rand.Rand) []byte {
	// Built aside first: a P2SH multisig scriptSig can pass 252 bytes,
	// where its length prefix grows to three bytes.
	ss := k.ss[:0]
	switch kd {
	case kP2PK:
		ss = appendPushedSig(ss, rng)
	case kP2PKH:
		ss = appendPushedSig(ss, rng)
		pk := k.Pub(key)
		ss = append(ss, 33)
		ss = append(ss, pk[:]...)
	case kP2SHP2WPKH:
		ss = append(ss, 22)
		ss = k.appendWPKHProgram(ss, key)
	case kP2SHMultisig:
		ss = append(ss, opFalse)
		ss = appendPushedSig(ss, rng)
		ss = appendPushedSig(ss, rng)
		ss = append(ss, opPushData1, multisigLen)
		ss = k.appendMultisig(ss, 2, key)
	case kBareMultisig:
		ss = append(ss, opFalse)
		ss = appendPushedSig(ss, rng)
	}
	k.ss = ss
	return append(txenc.AppendVarInt(dst, uint64(len(ss))), ss...)
}

// appendWitness appends the witness stack that spends an output of kind
// kd; legacy spends get the empty stack a segwit transaction requires for
// every input.
func (k *keyer) appendWitness(dst []byte, kd kind, key uint64, rng *rand.Rand) []byte {
	switch kd {
	case kP2SHP2WPKH, kP2WPKH:
		dst = append(dst, 2)
		dst = appendPushedSig(dst, rng)
		pk := k.Pub(key)
		dst = append(dst, 33)
		return append(dst, pk[:]...)
	case kP2WSHMultisig:
		// CHECKMULTISIG pops one extra item, hence the leading empty one.
		dst = append(dst, 4, 0)
		dst = appendPushedSig(dst, rng)
		dst = appendPushedSig(dst, rng)
		dst = append(dst, multisigLen)
		return k.appendMultisig(dst, 2, key)
	case kP2TR:
		// A key-path spend: one 64-byte Schnorr signature, or 65 bytes
		// when the wallet states a non-default sighash type.
		if rng.IntN(20) == 0 {
			dst = append(dst, 1, 65)
			dst = appendRandom(dst, 64, rng)
			return append(dst, 0x01)
		}
		dst = append(dst, 1, 64)
		return appendRandom(dst, 64, rng)
	default:
		return append(dst, 0)
	}
}

// appendPushedSig appends a push of a DER-encoded ECDSA signature with a
// SIGHASH_ALL byte: 71 bytes when R is low (most wallets since 2018 grind
// for that), otherwise 72. S is always low, as relay policy requires.
func appendPushedSig(dst []byte, rng *rand.Rand) []byte {
	var r, s [32]byte
	fillRandom(r[:], rng)
	fillRandom(s[:], rng)
	if rng.IntN(10) < 7 {
		r[0] &= 0x7f
	}
	r[0] |= 0x01 // Nonzero first byte keeps the integer minimally encoded.
	s[0] = s[0]&0x7f | 0x01
	rlen := 32
	if r[0]&0x80 != 0 {
		rlen = 33
	}
	dst = append(dst, byte(rlen+39), 0x30, byte(rlen+36), 0x02, byte(rlen))
	if rlen == 33 {
		dst = append(dst, 0)
	}
	dst = append(dst, r[:]...)
	dst = append(dst, 0x02, 32)
	dst = append(dst, s[:]...)
	return append(dst, 0x01)
}

// appendRandom appends n bytes from rng.
func appendRandom(dst []byte, n int, rng *rand.Rand) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	fillRandom(dst[start:], rng)
	return dst
}

// fillRandom fills b from rng, eight bytes per draw.
func fillRandom(b []byte, rng *rand.Rand) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, rng.Uint64())
		b = b[8:]
	}
	if len(b) > 0 {
		v := rng.Uint64()
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
	}
}
