package addrs

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/sha3"
)

// keccakState is the part of the x/crypto Keccak state used here: a
// hash.Hash that can also Read its output without copying the state.
type keccakState interface {
	Write(p []byte) (int, error)
	Read(out []byte) (int, error)
	Reset()
}

// keccakPool recycles legacy Keccak-256 states, which are a few hundred
// bytes each.
var keccakPool = sync.Pool{New: func() any { return sha3.NewLegacyKeccak256() }}

// keccak256 returns the legacy (pre-SHA-3) Keccak-256 digest of b, as
// Ethereum and Monero use it.
func keccak256(b []byte) [32]byte {
	h := keccakPool.Get().(keccakState)
	h.Reset()
	h.Write(b)
	var out [32]byte
	h.Read(out[:])
	keccakPool.Put(h)
	return out
}

// hexValue maps a byte to its hex digit value, or -1.
var hexValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = int8(c - 'a' + 10)
		t[c-'a'+'A'] = int8(c - 'a' + 10)
	}
	return t
}()

// normEVM validates an EVM address: "0x" (or "0X") and 40 hex digits, all
// lower case, all upper case or mixed with a correct EIP-55 checksum, and
// returns it with "0x" and the EIP-55 checksum. One Keccak-256 digest is
// computed per call.
func normEVM(s string) (string, error) {
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return "", errors.New(`missing "0x" prefix`)
	}
	var upper, lower bool
	for i := 2; i < len(s); i++ {
		c := s[i]
		if hexValue[c] < 0 {
			return "", invalidChar(s, i)
		}
		switch {
		case c >= 'a':
			lower = true
		case c >= 'A':
			upper = true
		}
	}
	if len(s) != 42 {
		return "", fmt.Errorf("wrong length: %d hex digits after 0x, want 40", len(s)-2)
	}
	// EIP-55: hash the lower-case hex digits; a letter is upper case when
	// the matching nibble of the hash is 8 or more.
	var out [42]byte
	out[0], out[1] = '0', 'x'
	for i := 2; i < 42; i++ {
		c := s[i]
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	h := keccak256(out[2:])
	for i := 2; i < 42; i++ {
		nibble := h[(i-2)/2]
		if i%2 == 0 {
			nibble >>= 4
		}
		if out[i] >= 'a' && nibble&0xf >= 8 {
			out[i] -= 'a' - 'A'
		}
	}
	if upper && lower && string(out[2:]) != s[2:] {
		return "", errors.New("mixed case with bad EIP-55 checksum")
	}
	if s[1] == 'x' && string(out[2:]) == s[2:] {
		return s, nil
	}
	return string(out[:]), nil
}
