package addrs

import (
	"errors"
	"fmt"
	"math/bits"
)

// Monero's base58 splits the data into 8-byte blocks and encodes each
// block separately into a fixed number of characters, padding with the
// zero digit: a full block takes 11 characters, a final block of n bytes
// xmrBlockChars[n].
var xmrBlockChars = [9]int{0, 2, 3, 5, 6, 7, 9, 10, 11}

// Monero address lengths in characters.
const (
	// xmrStandardLen is the length of standard addresses and subaddresses:
	// a one-byte network prefix, two 32-byte public keys and a 4-byte
	// checksum, 69 bytes.
	xmrStandardLen = 95
	// xmrIntegratedLen is the length of integrated addresses, which add
	// an 8-byte payment id: 77 bytes.
	xmrIntegratedLen = 106
)

// Monero mainnet network prefixes (varints, all one byte).
const (
	xmrStandard   = 18
	xmrIntegrated = 19
	xmrSubaddress = 42
)

// xmrOtherNets names the prefixes of Monero's test networks.
var xmrOtherNets = map[byte]string{
	53: "testnet", 54: "testnet", 63: "testnet",
	24: "stagenet", 25: "stagenet", 36: "stagenet",
}

// normXMR validates a Monero mainnet address and returns it as is. It
// checks the alphabet, the length (95 characters for standard addresses
// and subaddresses, 106 for integrated ones), the block encoding, the
// network prefix and the Keccak-256 checksum. Whether the two keys are
// valid curve points is not checked.
func normXMR(s string) (string, error) {
	if err := bitcoinAlphabet.checkChars(s); err != nil {
		return "", err
	}
	if len(s) != xmrStandardLen && len(s) != xmrIntegratedLen {
		return "", fmt.Errorf("wrong length: %d characters, want %d (standard or subaddress) or %d (integrated)",
			len(s), xmrStandardLen, xmrIntegratedLen)
	}
	var buf [77]byte
	data, err := decodeXMR(s, buf[:0])
	if err != nil {
		return "", err
	}
	body, sum := data[:len(data)-4], data[len(data)-4:]
	if h := keccak256(body); [4]byte(h[:4]) != [4]byte(sum) {
		return "", errors.New("bad Monero checksum")
	}
	prefix := data[0]
	if net, ok := xmrOtherNets[prefix]; ok {
		return "", fmt.Errorf("network prefix %d is Monero %s", prefix, net)
	}
	switch {
	case len(s) == xmrStandardLen && (prefix == xmrStandard || prefix == xmrSubaddress):
	case len(s) == xmrIntegratedLen && prefix == xmrIntegrated:
	case len(s) == xmrStandardLen:
		return "", fmt.Errorf("wrong network prefix %d for a %d-character address, want %d (standard) or %d (subaddress)",
			prefix, len(s), xmrStandard, xmrSubaddress)
	default:
		return "", fmt.Errorf("wrong network prefix %d for a %d-character address, want %d (integrated)",
			prefix, len(s), xmrIntegrated)
	}
	return s, nil
}

// decodeXMR decodes Monero base58 (characters already checked) and appends
// the bytes to dst.
func decodeXMR(s string, dst []byte) ([]byte, error) {
	for start := 0; start < len(s); start += 11 {
		block := s[start:min(start+11, len(s))]
		n := 8
		if len(block) < 11 {
			n = -1
			for i, c := range xmrBlockChars {
				if c == len(block) {
					n = i
				}
			}
			if n < 0 {
				return nil, fmt.Errorf("wrong length: final block of %d characters", len(block))
			}
		}
		var v uint64
		for i := 0; i < len(block); i++ {
			hi, lo := bits.Mul64(v, 58)
			lo, carry := bits.Add64(lo, uint64(bitcoinAlphabet.index[block[i]]), 0)
			if hi != 0 || carry != 0 {
				return nil, fmt.Errorf("block at position %d overflows 8 bytes", start+1)
			}
			v = lo
		}
		if n < 8 && v>>(8*n) != 0 {
			return nil, fmt.Errorf("block at position %d overflows %d bytes", start+1, n)
		}
		for i := n - 1; i >= 0; i-- {
			dst = append(dst, byte(v>>(8*i)))
		}
	}
	return dst, nil
}
