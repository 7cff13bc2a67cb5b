package btcw

import (
	"encoding/binary"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// Kind is the type of an address the ledger makes. It decides the output
// script that pays the address and the shape of the input that spends it,
// which is what address-type heuristics downstream look at.
type Kind uint8

// The address kinds. Their values are stable so that callers may store
// them.
const (
	// P2WPKH is native segwit v0 (bcrt1q... on regtest), the most common
	// kind today.
	P2WPKH Kind = iota
	// P2PKH is legacy pay-to-public-key-hash (m... or n... on regtest).
	P2PKH
	// P2SHP2WPKH is segwit v0 wrapped in P2SH (2... on regtest).
	P2SHP2WPKH
	// P2TR is taproot, spent by key path (bcrt1p... on regtest).
	P2TR
	numKinds
)

// kindNames are the names String returns, as Core's RPC names the scripts.
var kindNames = [numKinds]string{"p2wpkh", "p2pkh", "p2sh-p2wpkh", "p2tr"}

// String returns the kind's lower-case name, so that errors and logs can
// name it.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "invalid"
}

// Addr is an address the ledger made with NewAddr. Treat it as an opaque
// value: compare whole values, use them as map keys, and turn them into
// strings with Chain.AddrString.
//
// For P2TR, Hash is the 32-byte x-only output key. For the other kinds
// Hash[:20] is the 20-byte hash the output script commits to (of the
// public key, or of the P2SH redeem script), and the rest records how the
// ledger derived the key (its index in Hash[20:28] and a check in
// Hash[28:32]), so that the ledger can later spend coins sent to the
// address without keeping a table of every address it ever made.
type Addr struct {
	Kind Kind
	Hash [32]byte
}

// PkScript returns the output script that pays a, so that callers and
// tests can match outputs against addresses; it is nil for an invalid
// kind.
func (a Addr) PkScript() []byte {
	if a.Kind >= numKinds {
		return nil
	}
	return appendPkScript(nil, &a)
}

// appendPkScript appends a's output script, without a length prefix.
func appendPkScript(dst []byte, a *Addr) []byte {
	switch a.Kind {
	case P2WPKH:
		dst = append(dst, opFalse, 20)
		return append(dst, a.Hash[:20]...)
	case P2PKH:
		dst = append(dst, opDup, opHash160, 20)
		dst = append(dst, a.Hash[:20]...)
		return append(dst, opEqualVerify, opCheckSig)
	case P2SHP2WPKH:
		dst = append(dst, opHash160, 20)
		dst = append(dst, a.Hash[:20]...)
		return append(dst, opEqual)
	default:
		dst = append(dst, op1, 32)
		return append(dst, a.Hash[:]...)
	}
}

// scriptLen is the length of each kind's output script.
var scriptLen = [numKinds]int{P2WPKH: 22, P2PKH: 25, P2SHP2WPKH: 23, P2TR: 34}

// Script opcodes the ledger writes.
const (
	opFalse       = 0x00
	op1           = 0x51
	opReturn      = 0x6a
	opDup         = 0x76
	opEqual       = 0x87
	opEqualVerify = 0x88
	opHash160     = 0xa9
	opCheckSig    = 0xac
)

// keyer derives the ledger's keys. Running secp256k1 would dominate the
// cost of a spend and nothing downstream verifies signatures, so key i is
// 0x02/0x03 || SHA-256(salt || i): the size and shape of a compressed
// public key, unique per index and per seed.
type keyer struct {
	txenc.Keyer
}

// newKeyer returns a keyer whose keys depend on seed.
func newKeyer(seed int64) keyer {
	return keyer{Keyer: txenc.NewKeyer(uint64(seed) ^ 0x6274637770756273)}
}

// wpkhProgram returns the P2WPKH witness program of key i, OP_0 <hash160>,
// which is also the redeem script of its P2SH-P2WPKH address.
func (k *keyer) wpkhProgram(i uint64) [22]byte {
	pk := k.Pub(i)
	var prog [22]byte
	prog[0], prog[1] = opFalse, 20
	h := k.Hash160(pk[:])
	copy(prog[2:], h[:])
	return prog
}

// make returns the address of kind kd over key i.
func (k *keyer) make(kd Kind, i uint64) Addr {
	a := Addr{Kind: kd}
	switch kd {
	case P2TR:
		// The output key is the digest itself: real ones are tweaked
		// keys, indistinguishable from random 32-byte strings.
		a.Hash = k.Digest(i)
		return a
	case P2SHP2WPKH:
		prog := k.wpkhProgram(i)
		h := k.Hash160(prog[:])
		copy(a.Hash[:20], h[:])
	default:
		pk := k.Pub(i)
		h := k.Hash160(pk[:])
		copy(a.Hash[:20], h[:])
	}
	binary.LittleEndian.PutUint64(a.Hash[20:], i)
	binary.LittleEndian.PutUint32(a.Hash[28:], k.check(&a))
	return a
}

// check returns the 32-bit check an address made by this keyer carries
// in Hash[28:32]: a keyed mix of its kind, hash and key index. It lets
// Spend refuse addresses the ledger did not make (or another seed made),
// whose coins it could not spend, without recomputing any hash.
func (k *keyer) check(a *Addr) uint32 {
	x := mix(k.Salt() ^ uint64(a.Kind)<<56)
	x = mix(x ^ binary.LittleEndian.Uint64(a.Hash[0:]))
	x = mix(x ^ binary.LittleEndian.Uint64(a.Hash[8:]))
	x = mix(x ^ uint64(binary.LittleEndian.Uint32(a.Hash[16:])))
	x = mix(x ^ binary.LittleEndian.Uint64(a.Hash[20:]))
	return uint32(x >> 32)
}

// mix is the SplitMix64 finalizer, a fast bijective scrambler.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// owns reports whether a is an address this keyer made, which the ledger
// can therefore spend from. Every P2TR key qualifies, since a key-path
// spend needs only a signature.
func (k *keyer) owns(a *Addr) bool {
	switch {
	case a.Kind >= numKinds:
		return false
	case a.Kind == P2TR:
		return true
	}
	return binary.LittleEndian.Uint32(a.Hash[28:]) == k.check(a)
}

// keyIndex returns the key index recorded in an address of a kind other
// than P2TR.
func keyIndex(a *Addr) uint64 { return binary.LittleEndian.Uint64(a.Hash[20:]) }

// NewAddr returns a fresh address of kind k. Addresses derive from
// Config.Seed and a counter, so the same calls give the same addresses,
// and an address is never returned twice. An invalid kind gives an
// invalid Addr, which Spend and Mine refuse.
func (c *Chain) NewAddr(k Kind) Addr {
	if k >= numKinds {
		return Addr{Kind: k}
	}
	a := c.keys.make(k, c.nextKey)
	c.nextKey++
	return a
}

// AddrString returns a encoded for the chain's network (bcrt1q...,
// m/n..., 2... and bcrt1p... on regtest), as the ingested store and the
// query package spell it. It returns "" for an invalid kind.
func (c *Chain) AddrString(a Addr) string {
	var addr btcutil.Address
	var err error
	switch a.Kind {
	case P2WPKH:
		addr, err = btcutil.NewAddressWitnessPubKeyHash(a.Hash[:20], c.net)
	case P2PKH:
		addr, err = btcutil.NewAddressPubKeyHash(a.Hash[:20], c.net)
	case P2SHP2WPKH:
		addr, err = btcutil.NewAddressScriptHashFromHash(a.Hash[:20], c.net)
	case P2TR:
		addr, err = btcutil.NewAddressTaproot(a.Hash[:], c.net)
	default:
		return ""
	}
	if err != nil {
		return ""
	}
	return addr.EncodeAddress()
}
