package btc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/model"
)

// AddrKind says what an AddrKey's payload is. The numeric values are
// stored on disk as the first byte of AddrKey.Bytes: append only.
type AddrKind uint8

// Address kinds.
const (
	// AddrInvalid is the kind of the zero AddrKey.
	AddrInvalid AddrKind = iota
	// AddrPKH is a 20-byte HASH160 of a public key. It identifies P2PKH
	// outputs, P2PK outputs (indexed under the hash of the key as given,
	// compressed or not) and each key of a bare multisig output.
	AddrPKH
	// AddrSH is a 20-byte HASH160 of a redeem script (P2SH).
	AddrSH
	// AddrWPKH is a 20-byte segwit v0 key hash (P2WPKH).
	AddrWPKH
	// AddrWSH is a 32-byte segwit v0 script hash (P2WSH).
	AddrWSH
	// AddrTR is a 32-byte taproot output key (P2TR, segwit v1).
	AddrTR
	// AddrWitnessUnknown is a witness program of version 1 to 16 and 2 to
	// 40 bytes other than a v1 32-byte program, which is AddrTR.
	AddrWitnessUnknown
	// AddrNonStandard is a pseudo-address for scripts without an address:
	// the first 20 bytes of the SHA-256 of the script.
	AddrNonStandard
)

var addrKindNames = [...]string{
	AddrInvalid:        "invalid",
	AddrPKH:            "pkh",
	AddrSH:             "sh",
	AddrWPKH:           "wpkh",
	AddrWSH:            "wsh",
	AddrTR:             "tr",
	AddrWitnessUnknown: "witness_unknown",
	AddrNonStandard:    "nonstandard",
}

// String returns the lower-case name of the kind.
func (k AddrKind) String() string {
	if int(k) < len(addrKindNames) {
		return addrKindNames[k]
	}
	return fmt.Sprintf("addrkind(%d)", uint8(k))
}

// payloadSize returns the fixed payload size of the kind, or 0 for
// AddrWitnessUnknown (variable) and invalid kinds.
func (k AddrKind) payloadSize() int {
	switch k {
	case AddrPKH, AddrSH, AddrWPKH, AddrNonStandard:
		return 20
	case AddrWSH, AddrTR:
		return 32
	}
	return 0
}

// Witness program limits (BIP 141).
const (
	minWitnessProgram = 2
	maxWitnessProgram = 40
)

// MaxAddrKeyBytes is the longest encoding returned by AddrKey.Bytes.
const MaxAddrKeyBytes = 3 + maxWitnessProgram

// AddrKey is the compact binary identity of an address, independent of
// the network. It is a comparable fixed-size value, usable as a map key;
// the zero value is invalid. Bytes not covered by the payload are always
// zero, so equal addresses are equal keys.
type AddrKey struct {
	kind AddrKind
	// ver is the witness version of AddrWitnessUnknown, else zero.
	ver uint8
	// n is the payload length.
	n       uint8
	payload [maxWitnessProgram]byte
}

// NewAddrKey builds a key of the given kind from its payload. version is
// the witness version for AddrWitnessUnknown and must be 0 otherwise.
func NewAddrKey(kind AddrKind, version int, payload []byte) (AddrKey, error) {
	var k AddrKey
	switch kind {
	case AddrWitnessUnknown:
		if version < 1 || version > 16 {
			return k, fmt.Errorf("btc: witness version %d out of range 1..16", version)
		}
		if len(payload) < minWitnessProgram || len(payload) > maxWitnessProgram {
			return k, fmt.Errorf("btc: witness program of %d bytes, want %d..%d",
				len(payload), minWitnessProgram, maxWitnessProgram)
		}
		if version == 1 && len(payload) == 32 {
			return k, errors.New("btc: v1 32-byte witness program is taproot, not witness_unknown")
		}
	default:
		size := kind.payloadSize()
		if size == 0 {
			return k, fmt.Errorf("btc: invalid address kind %d", uint8(kind))
		}
		if version != 0 {
			return k, fmt.Errorf("btc: %s address has no witness version %d", kind, version)
		}
		if len(payload) != size {
			return k, fmt.Errorf("btc: %s payload of %d bytes, want %d", kind, len(payload), size)
		}
	}
	k.kind, k.ver, k.n = kind, uint8(version), uint8(len(payload))
	copy(k.payload[:], payload)
	return k, nil
}

// makeKey builds a key from a payload known to be valid for kind.
func makeKey(kind AddrKind, ver uint8, payload []byte) AddrKey {
	k := AddrKey{kind: kind, ver: ver, n: uint8(len(payload))}
	copy(k.payload[:], payload)
	return k
}

// Kind returns the kind of the key.
func (k AddrKey) Kind() AddrKind { return k.kind }

// IsZero reports whether k is the zero (invalid) key.
func (k AddrKey) IsZero() bool { return k.kind == AddrInvalid }

// WitnessVersion returns the segwit version of a witness address and
// false for other kinds.
func (k AddrKey) WitnessVersion() (int, bool) {
	switch k.kind {
	case AddrWPKH, AddrWSH:
		return 0, true
	case AddrTR:
		return 1, true
	case AddrWitnessUnknown:
		return int(k.ver), true
	}
	return 0, false
}

// Payload returns a copy of the hash, key or witness program.
func (k AddrKey) Payload() []byte {
	return append([]byte(nil), k.payload[:k.n]...)
}

// String returns a network-independent debugging form such as
// "pkh:<hex>" or "witness_unknown:v2:<hex>". Use Encode for addresses.
func (k AddrKey) String() string {
	if k.kind == AddrWitnessUnknown {
		return fmt.Sprintf("%s:v%d:%x", k.kind, k.ver, k.payload[:k.n])
	}
	return fmt.Sprintf("%s:%x", k.kind, k.payload[:k.n])
}

// AppendBytes appends the compact encoding of k to dst: the kind byte and
// the payload, with the witness version and program length between them
// for AddrWitnessUnknown. It allocates only when dst lacks capacity.
func (k AddrKey) AppendBytes(dst []byte) []byte {
	dst = append(dst, byte(k.kind))
	if k.kind == AddrWitnessUnknown {
		dst = append(dst, k.ver, k.n)
	}
	return append(dst, k.payload[:k.n]...)
}

// Bytes returns the compact encoding described at AppendBytes.
func (k AddrKey) Bytes() []byte {
	return k.AppendBytes(make([]byte, 0, 3+int(k.n)))
}

// AddrKeyFromBytes decodes the encoding made by Bytes. b must hold exactly
// one key.
func AddrKeyFromBytes(b []byte) (AddrKey, error) {
	if len(b) == 0 {
		return AddrKey{}, errors.New("btc: empty address key")
	}
	kind := AddrKind(b[0])
	if kind == AddrWitnessUnknown {
		if len(b) < 3 {
			return AddrKey{}, fmt.Errorf("btc: witness_unknown address key of %d bytes is truncated", len(b))
		}
		if int(b[2]) != len(b)-3 {
			return AddrKey{}, fmt.Errorf("btc: witness_unknown address key declares %d program bytes, has %d",
				b[2], len(b)-3)
		}
		return NewAddrKey(kind, int(b[1]), b[3:])
	}
	return NewAddrKey(kind, 0, b[1:])
}

// Script opcodes used for classification.
const (
	opFalse         = 0x00
	opPushData1     = 0x4c
	opPushData2     = 0x4d
	opPushData4     = 0x4e
	op1             = 0x51
	op16            = 0x60
	opReturn        = 0x6a
	opDup           = 0x76
	opEqual         = 0x87
	opEqualVerify   = 0x88
	opHash160       = 0xa9
	opCheckSig      = 0xac
	opCheckMultisig = 0xae
	// maxMultisigKeys is the most keys OP_CHECKMULTISIG accepts.
	maxMultisigKeys = 20
)

// ExtractAddrs classifies an output script and appends its addresses to
// dst, allocating only when dst lacks capacity:
//
//   - P2PK (a 33-byte 02/03 or 65-byte 04 public key and OP_CHECKSIG): the
//     AddrPKH of the key as given; an invalid key prefix makes the script
//     non-standard;
//   - P2PKH, P2SH, P2WPKH, P2WSH, P2TR: their hash or key;
//   - bare multisig (m, 1 to 20 valid public keys, n, OP_CHECKMULTISIG with
//     1 <= m <= n): one AddrPKH per distinct key, in script order;
//   - OP_RETURN followed only by pushes: ScriptNullData, no address;
//   - other witness programs of version 1 to 16: AddrWitnessUnknown;
//   - anything else, the empty script included: ScriptNonStandard with the
//     AddrNonStandard pseudo-address of the script.
func ExtractAddrs(script []byte, dst []AddrKey) (model.ScriptClass, []AddrKey) {
	n := len(script)
	switch n {
	case 22:
		if script[0] == opFalse && script[1] == 20 {
			return model.ScriptP2WPKH, append(dst, makeKey(AddrWPKH, 0, script[2:]))
		}
	case 23:
		if script[0] == opHash160 && script[1] == 20 && script[22] == opEqual {
			return model.ScriptP2SH, append(dst, makeKey(AddrSH, 0, script[2:22]))
		}
	case 25:
		if script[0] == opDup && script[1] == opHash160 && script[2] == 20 &&
			script[23] == opEqualVerify && script[24] == opCheckSig {
			return model.ScriptP2PKH, append(dst, makeKey(AddrPKH, 0, script[3:23]))
		}
	case 34:
		if script[1] == 32 {
			switch script[0] {
			case opFalse:
				return model.ScriptP2WSH, append(dst, makeKey(AddrWSH, 0, script[2:]))
			case op1:
				return model.ScriptP2TR, append(dst, makeKey(AddrTR, 0, script[2:]))
			}
		}
	case 35, 67:
		if int(script[0]) == n-2 && script[n-1] == opCheckSig && validPubKey(script[1:n-1]) {
			h := hash160(script[1 : n-1])
			return model.ScriptP2PK, append(dst, makeKey(AddrPKH, 0, h[:]))
		}
	}
	if n >= 2+minWitnessProgram && n <= 2+maxWitnessProgram && script[0] >= op1 && script[0] <= op16 &&
		int(script[1]) == n-2 && !(script[0] == op1 && n == 34) {
		return model.ScriptWitnessUnknown, append(dst, makeKey(AddrWitnessUnknown, script[0]-op1+1, script[2:]))
	}
	if n > 0 && script[0] == opReturn && pushOnly(script[1:]) {
		return model.ScriptNullData, dst
	}
	if n > 0 && script[n-1] == opCheckMultisig {
		if out, ok := appendMultisig(script, dst); ok {
			return model.ScriptMultisig, out
		}
	}
	return model.ScriptNonStandard, append(dst, NonStandardKey(script))
}

// NonStandardKey returns the AddrNonStandard pseudo-address of a script.
func NonStandardKey(script []byte) AddrKey {
	h := sha256.Sum256(script)
	return makeKey(AddrNonStandard, 0, h[:20])
}

// validPubKey reports whether b has the size its prefix byte calls for: 33
// bytes after 02 or 03 (compressed), 65 after 04 (uncompressed). Whether
// the point is on the curve is not checked.
func validPubKey(b []byte) bool {
	switch len(b) {
	case 33:
		return b[0] == 0x02 || b[0] == 0x03
	case 65:
		return b[0] == 0x04
	}
	return false
}

// nextOp parses the opcode at s[p] and returns its push data (nil for
// opcodes that push nothing), the position after it and whether it parses.
func nextOp(s []byte, p int) (data []byte, next int, ok bool) {
	op := s[p]
	p++
	var l int
	switch {
	case op > opPushData4:
		return nil, p, true
	case op < opPushData1:
		l = int(op)
	case op == opPushData1:
		if len(s)-p < 1 {
			return nil, 0, false
		}
		l = int(s[p])
		p++
	case op == opPushData2:
		if len(s)-p < 2 {
			return nil, 0, false
		}
		l = int(s[p]) | int(s[p+1])<<8
		p += 2
	default:
		if len(s)-p < 4 {
			return nil, 0, false
		}
		v := uint32(s[p]) | uint32(s[p+1])<<8 | uint32(s[p+2])<<16 | uint32(s[p+3])<<24
		if uint64(v) > uint64(len(s)-p-4) {
			return nil, 0, false
		}
		l = int(v)
		p += 4
	}
	if l > len(s)-p {
		return nil, 0, false
	}
	return s[p : p+l], p + l, true
}

// pushOnly reports whether s parses as a sequence of push opcodes (up to
// OP_16, as Bitcoin Core's IsPushOnly counts them).
func pushOnly(s []byte) bool {
	for p := 0; p < len(s); {
		if s[p] > op16 {
			return false
		}
		var ok bool
		if _, p, ok = nextOp(s, p); !ok {
			return false
		}
	}
	return true
}

// multisigNumber parses the m or n of a multisig script at s[p]: OP_1 to
// OP_16, or a minimal one-byte push of 17 to 20.
func multisigNumber(s []byte, p int) (v, next int, ok bool) {
	if p >= len(s) {
		return 0, 0, false
	}
	if op := s[p]; op >= op1 && op <= op16 {
		return int(op-op1) + 1, p + 1, true
	}
	if s[p] == 1 && p+1 < len(s) && s[p+1] > 16 && s[p+1] <= maxMultisigKeys {
		return int(s[p+1]), p + 2, true
	}
	return 0, 0, false
}

// appendMultisig appends one AddrPKH per distinct key of a bare multisig
// script and reports whether the script is one. The keys are validated
// before any is hashed, so dst is untouched when it is not.
func appendMultisig(s []byte, dst []AddrKey) ([]AddrKey, bool) {
	m, p, ok := multisigNumber(s, 0)
	if !ok {
		return dst, false
	}
	var keys [maxMultisigKeys][]byte
	nkeys := 0
	for p < len(s) {
		data, next, ok := nextOp(s, p)
		if !ok || !validPubKey(data) {
			break
		}
		if nkeys == maxMultisigKeys {
			return dst, false
		}
		keys[nkeys] = data
		nkeys++
		p = next
	}
	n, p, ok := multisigNumber(s, p)
	if !ok || n != nkeys || m > n || p != len(s)-1 {
		return dst, false
	}
	start := len(dst)
	for i := 0; i < nkeys; i++ {
		h := hash160(keys[i])
		k := makeKey(AddrPKH, 0, h[:])
		dup := false
		for _, prev := range dst[start:] {
			if prev == k {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, k)
		}
	}
	return dst, true
}

// hexKey formats a pseudo-address payload for Encode.
func hexKey(b []byte) string {
	return nonStandardPrefix + hex.EncodeToString(b)
}
