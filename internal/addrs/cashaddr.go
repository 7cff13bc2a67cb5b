package addrs

import (
	"errors"
	"fmt"
	"strings"
)

// bech32Charset is the 32-character alphabet of bech32 and CashAddr, in
// digit order.
const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Index maps a lower-case byte to its digit in bech32Charset, or -1.
var bech32Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(bech32Charset); i++ {
		t[bech32Charset[i]] = int8(i)
	}
	return t
}()

// cashAddrPrefix is the prefix of Bitcoin Cash mainnet CashAddr addresses.
const cashAddrPrefix = "bitcoincash"

// cashAddrPolymod computes the CashAddr checksum function over the prefix
// (the low five bits of each character), a zero separator and the 5-bit
// digits. A valid address gives 0.
func cashAddrPolymod(prefix string, digits []byte) uint64 {
	c := uint64(1)
	step := func(d byte) {
		top := c >> 35
		c = (c&0x07ffffffff)<<5 ^ uint64(d)
		if top&0x01 != 0 {
			c ^= 0x98f2bc8e61
		}
		if top&0x02 != 0 {
			c ^= 0x79b76d99e2
		}
		if top&0x04 != 0 {
			c ^= 0xf33e5fb3c4
		}
		if top&0x08 != 0 {
			c ^= 0xae2eabe2a8
		}
		if top&0x10 != 0 {
			c ^= 0x1e4f43e470
		}
	}
	for i := 0; i < len(prefix); i++ {
		step(prefix[i] & 0x1f)
	}
	step(0)
	for _, d := range digits {
		step(d)
	}
	return c ^ 1
}

// cashAddrSizes maps the size code of a CashAddr version byte to the hash
// length in bytes.
var cashAddrSizes = [8]int{20, 24, 28, 32, 40, 48, 56, 64}

// cashAddr is a decoded CashAddr address.
type cashAddr struct {
	prefix string
	// typ is the address type from the version byte: 0 P2PKH, 1 P2SH,
	// 2 and 3 their token-aware forms; others are not assigned.
	typ  int
	hash []byte
}

// decodeCashAddr decodes a CashAddr string of any prefix. A string without
// a prefix is read with defaultPrefix. It checks the characters, case,
// checksum, padding, reserved bit and that the hash length matches the
// size code of the version byte.
func decodeCashAddr(s, defaultPrefix string) (cashAddr, error) {
	upper, lower := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		}
	}
	if upper && lower {
		return cashAddr{}, errors.New("mixed upper and lower case")
	}
	if upper {
		s = asciiLower(s)
	}
	prefix, data, offset := defaultPrefix, s, 0
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		prefix, data, offset = s[:i], s[i+1:], i+1
		if prefix == "" {
			return cashAddr{}, errors.New("empty prefix before ':'")
		}
		for j := 0; j < len(prefix); j++ {
			if c := prefix[j]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return cashAddr{}, invalidChar(s, j)
			}
		}
	}
	if len(data) > 120 {
		return cashAddr{}, fmt.Errorf("wrong length: %d characters after the prefix, too long for CashAddr", len(data))
	}
	var digits [120]byte
	for j := 0; j < len(data); j++ {
		d := bech32Index[data[j]]
		if d < 0 {
			return cashAddr{}, invalidChar(s, offset+j)
		}
		digits[j] = byte(d)
	}
	// A version byte, a 20-byte hash and the 8-digit checksum need 42
	// digits.
	if len(data) < 42 {
		return cashAddr{}, fmt.Errorf("wrong length: %d characters after the prefix, want at least 42", len(data))
	}
	if cashAddrPolymod(prefix, digits[:len(data)]) != 0 {
		return cashAddr{}, errors.New("bad CashAddr checksum")
	}
	var payload [80]byte
	n, ok := regroup(digits[:len(data)-8], payload[:])
	if !ok {
		return cashAddr{}, errors.New("invalid padding in the CashAddr payload")
	}
	v := payload[0]
	if v&0x80 != 0 {
		return cashAddr{}, errors.New("reserved bit of the version byte set")
	}
	if want := cashAddrSizes[v&7]; n-1 != want {
		return cashAddr{}, fmt.Errorf("wrong length: %d-byte hash, the version byte says %d", n-1, want)
	}
	return cashAddr{prefix: prefix, typ: int(v >> 3), hash: append([]byte(nil), payload[1:n]...)}, nil
}

// regroup converts 5-bit digits to bytes in dst and returns how many it
// wrote. It fails when dst is too small or the padding is not a partial
// group of zero bits.
func regroup(digits []byte, dst []byte) (int, bool) {
	var acc uint32
	var bits uint
	n := 0
	for _, d := range digits {
		acc = acc<<5 | uint32(d)
		bits += 5
		if bits >= 8 {
			bits -= 8
			if n == len(dst) {
				return 0, false
			}
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n, bits < 5 && acc&(1<<bits-1) == 0
}

// encodeCashAddr encodes a version byte and hash with prefix.
func encodeCashAddr(prefix string, typ int, hash []byte) string {
	size := 0
	for i, l := range cashAddrSizes {
		if l == len(hash) {
			size = i
		}
	}
	payload := append([]byte{byte(typ<<3 | size)}, hash...)
	var digits []byte
	var acc uint32
	var bits uint
	for _, b := range payload {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			digits = append(digits, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		digits = append(digits, byte(acc<<(5-bits))&31)
	}
	sum := cashAddrPolymod(prefix, append(digits, 0, 0, 0, 0, 0, 0, 0, 0))
	for i := 0; i < 8; i++ {
		digits = append(digits, byte(sum>>(5*(7-i)))&31)
	}
	var b strings.Builder
	b.Grow(len(prefix) + 1 + len(digits))
	b.WriteString(prefix)
	b.WriteByte(':')
	for _, d := range digits {
		b.WriteByte(bech32Charset[d])
	}
	return b.String()
}

// normCashAddr validates a Bitcoin Cash mainnet CashAddr address, with or
// without its "bitcoincash:" prefix, and returns it in lower case with the
// prefix. Only the forms the network uses are accepted: 20-byte P2PKH and
// P2SH hashes, 32-byte P2SH hashes (P2SH32) and their token-aware types,
// which are returned as the plain type since they lock to the same script.
func normCashAddr(s string) (string, error) {
	a, err := decodeCashAddr(s, cashAddrPrefix)
	if err != nil {
		return "", err
	}
	switch a.prefix {
	case cashAddrPrefix:
	case "bchtest", "bchreg":
		return "", fmt.Errorf("prefix %q is a Bitcoin Cash test network, want %q", a.prefix, cashAddrPrefix)
	default:
		return "", fmt.Errorf("wrong prefix %q, want %q", a.prefix, cashAddrPrefix)
	}
	typ := a.typ
	if typ == 2 || typ == 3 {
		typ -= 2
	}
	switch {
	case typ > 3:
		return "", fmt.Errorf("unknown CashAddr type %d", a.typ)
	case len(a.hash) == 20, len(a.hash) == 32 && typ == 1:
	default:
		return "", fmt.Errorf("wrong length: %d-byte hash for CashAddr type %d, want 20 (or 32 for P2SH)", len(a.hash), a.typ)
	}
	return encodeCashAddr(cashAddrPrefix, typ, a.hash), nil
}

// asciiLower returns s with the ASCII letters A to Z in lower case and
// every other byte unchanged, so byte offsets in s stay valid.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
