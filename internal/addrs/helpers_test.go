package addrs

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
)

// The helpers here build test addresses with btcutil's encoders and plain
// arithmetic, independently of the code under test.

// testHash returns n deterministic bytes derived from seed.
func testHash(seed string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte(seed + string(rune('a'+i))))
		out = append(out, h[:]...)
	}
	return out[:n]
}

// b58check encodes prefix and payload as base58check (Bitcoin alphabet).
func b58check(prefix string, payload []byte) string {
	body := append([]byte(prefix), payload...)
	h := sha256.Sum256(body)
	h = sha256.Sum256(h[:])
	return base58.Encode(append(body, h[:4]...))
}

// b58badSum encodes prefix and payload with a wrong checksum.
func b58badSum(prefix string, payload []byte) string {
	body := append([]byte(prefix), payload...)
	h := sha256.Sum256(body)
	h = sha256.Sum256(h[:])
	h[0] ^= 1
	return base58.Encode(append(body, h[:4]...))
}

// toRipple maps a Bitcoin-alphabet base58 string to Ripple's alphabet.
func toRipple(s string) string {
	const btcA = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	const xrpA = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(xrpA[strings.IndexByte(btcA, s[i])])
	}
	return b.String()
}

// segwit encodes a witness program with btcutil's bech32 encoder.
func segwit(t testing.TB, hrp string, version byte, program []byte) string {
	t.Helper()
	conv, err := bech32.ConvertBits(program, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte{version}, conv...)
	var s string
	if version == 0 {
		s, err = bech32.Encode(hrp, data)
	} else {
		s, err = bech32.EncodeM(hrp, data)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bech32Bytes encodes bytes with hrp as bech32 or bech32m.
func bech32Bytes(t testing.TB, hrp string, m bool, payload []byte) string {
	t.Helper()
	conv, err := bech32.ConvertBits(payload, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if m {
		s, err = bech32.EncodeM(hrp, conv)
	} else {
		s, err = bech32.Encode(hrp, conv)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// xmrEncode encodes data in Monero's block-wise base58.
func xmrEncode(data []byte) string {
	const alpha = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	sizes := []int{0, 2, 3, 5, 6, 7, 9, 10, 11}
	var b strings.Builder
	for len(data) > 0 {
		n := min(8, len(data))
		var v uint64
		for _, c := range data[:n] {
			v = v<<8 | uint64(c)
		}
		digits := make([]byte, sizes[n])
		for i := len(digits) - 1; i >= 0; i-- {
			digits[i] = alpha[v%58]
			v /= 58
		}
		b.Write(digits)
		data = data[n:]
	}
	return b.String()
}

// xmrAddress builds a Monero address with network prefix and body bytes
// after it, with a correct checksum unless badSum.
func xmrAddress(prefix byte, body []byte, badSum bool) string {
	data := append([]byte{prefix}, body...)
	sum := keccak256(data)
	if badSum {
		sum[0] ^= 1
	}
	return xmrEncode(append(data, sum[:4]...))
}

// swapChar replaces the character at i of s with r.
func swapChar(s string, i int, r byte) string {
	return s[:i] + string(r) + s[i+1:]
}

// flipCase swaps the case of the first letter at or after i.
func flipCase(s string, i int) string {
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			return swapChar(s, i, c-'a'+'A')
		case c >= 'A' && c <= 'Z':
			return swapChar(s, i, c-'A'+'a')
		}
	}
	return s
}
