package addrs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// alphabet is a base58 alphabet with its reverse index.
type alphabet struct {
	chars string
	// index maps a byte to its digit value, or -1 when it is not in the
	// alphabet.
	index [256]int8
}

// newAlphabet builds an alphabet from its 58 characters in digit order.
func newAlphabet(chars string) *alphabet {
	a := &alphabet{chars: chars}
	for i := range a.index {
		a.index[i] = -1
	}
	for i := 0; i < len(chars); i++ {
		a.index[chars[i]] = int8(i)
	}
	return a
}

// Base58 alphabets.
var (
	// bitcoinAlphabet is used by Bitcoin and its forks, TRON, Solana and
	// (block-wise) Monero.
	bitcoinAlphabet = newAlphabet("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
	// rippleAlphabet is the XRP Ledger's permutation of it.
	rippleAlphabet = newAlphabet("rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz")
)

// invalidChar returns the error for the character at byte offset i of s,
// giving its position in characters from 1.
func invalidChar(s string, i int) error {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return fmt.Errorf("invalid character %q at position %d", r, utf8.RuneCountInString(s[:i])+1)
}

// checkChars returns an error naming the first byte of s outside a.
func (a *alphabet) checkChars(s string) error {
	for i := 0; i < len(s); i++ {
		if a.index[s[i]] < 0 {
			return invalidChar(s, i)
		}
	}
	return nil
}

// maxBase58 bounds the length of the base58 strings decoded, which keeps
// the quadratic decoding cheap. Zcash Sprout addresses, the longest
// base58check addresses supported, have 95 characters.
const maxBase58 = 128

// decode decodes s, which must be at most maxBase58 characters of a. Each
// leading zero digit decodes to a zero byte.
func (a *alphabet) decode(s string) ([]byte, error) {
	if len(s) > maxBase58 {
		return nil, fmt.Errorf("wrong length: %d characters, too long for a base58 address", len(s))
	}
	if err := a.checkChars(s); err != nil {
		return nil, err
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == a.chars[0] {
		zeros++
	}
	// Each digit carries log(58)/log(256) < 0.733 bytes.
	var buf [maxBase58]byte
	size := (len(s)-zeros)*733/1000 + 1
	num := buf[len(buf)-size:]
	used := 0 // bytes of num in use, counted from the end
	for i := zeros; i < len(s); i++ {
		carry := int(a.index[s[i]])
		j := len(num) - 1
		for k := 0; k < used || carry != 0; k++ {
			carry += 58 * int(num[j])
			num[j] = byte(carry)
			carry >>= 8
			j--
		}
		used = len(num) - 1 - j
	}
	out := make([]byte, zeros+used)
	copy(out[zeros:], num[len(num)-used:])
	return out, nil
}

// sha256d returns the first four bytes of the double SHA-256 of b, the
// base58check checksum.
func sha256d(b []byte) [4]byte {
	h := sha256.Sum256(b)
	h = sha256.Sum256(h[:])
	return [4]byte(h[:4])
}

// b58Version is one kind of base58check address of a chain: a version
// prefix of one or two bytes and a payload of fixed length.
type b58Version struct {
	prefix  string
	payload int
	kind    string
}

// b58Spec says which base58check addresses a chain has.
type b58Spec struct {
	alpha    *alphabet
	versions []b58Version
}

// errChecksum is the reason given for a base58check checksum mismatch.
var errChecksum = errors.New("bad base58check checksum")

// check validates the base58check string s against the spec and returns
// the decoded version and payload without the checksum. Reasons are
// checked in this order: characters, checksum, length, version prefix.
func (sp *b58Spec) check(s string) ([]byte, error) {
	b, err := sp.alpha.decode(s)
	if err != nil {
		return nil, err
	}
	if len(b) < 5 {
		return nil, fmt.Errorf("wrong length: decodes to %d bytes, too short for base58check", len(b))
	}
	body := b[:len(b)-4]
	if sha256d(body) != [4]byte(b[len(b)-4:]) {
		return nil, errChecksum
	}
	lengthOK := false
	for _, v := range sp.versions {
		if len(v.prefix)+v.payload == len(body) {
			lengthOK = true
			if hasPrefixBytes(body, v.prefix) {
				return body, nil
			}
		}
	}
	if !lengthOK {
		return nil, fmt.Errorf("wrong length: decodes to %d bytes, want %s", len(b), sp.wantLengths())
	}
	n := len(sp.versions[0].prefix)
	return nil, fmt.Errorf("wrong version prefix 0x%x, want %s", body[:n], sp.wantVersions())
}

// wantLengths lists the decoded lengths of the spec's addresses.
func (sp *b58Spec) wantLengths() string {
	var out []string
	for _, v := range sp.versions {
		l := fmt.Sprint(len(v.prefix) + v.payload + 4)
		if !contains(out, l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, " or ")
}

// wantVersions lists the spec's version prefixes with their kinds.
func (sp *b58Spec) wantVersions() string {
	parts := make([]string, len(sp.versions))
	for i, v := range sp.versions {
		parts[i] = fmt.Sprintf("0x%x (%s)", v.prefix, v.kind)
	}
	return strings.Join(parts, ", ")
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hasPrefixBytes reports whether b starts with p.
func hasPrefixBytes(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if b[i] != p[i] {
			return false
		}
	}
	return true
}
