package addrs

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
)

// zecSpec lists Zcash's base58check addresses: transparent P2PKH ("t1")
// and P2SH ("t3") with two-byte versions, and the retired Sprout shielded
// addresses ("zc"), whose payload is two 32-byte keys.
var zecSpec = b58Spec{bitcoinAlphabet, []b58Version{
	{prefix: "\x1c\xb8", payload: 20, kind: "t1 P2PKH"},
	{prefix: "\x1c\xbd", payload: 20, kind: "t3 P2SH"},
	{prefix: "\x16\x9a", payload: 64, kind: "zc Sprout"},
}}

// zecBech32 describes a Zcash bech32 address kind by human-readable part.
type zecBech32 struct {
	// m says the checksum is bech32m rather than bech32.
	m bool
	// size is the payload length in bytes; 0 for unified addresses, whose
	// length varies.
	size int
	what string
	// testnet marks test-network parts, which are rejected.
	testnet bool
}

// zecHRPs are the human-readable parts of Zcash bech32 addresses.
var zecHRPs = map[string]zecBech32{
	"zs":              {size: 43, what: "Sapling"},
	"u":               {m: true, what: "unified"},
	"tex":             {m: true, size: 20, what: "TEX"},
	"ztestsapling":    {testnet: true},
	"zregtestsapling": {testnet: true},
	"utest":           {testnet: true},
	"uregtest":        {testnet: true},
	"textest":         {testnet: true},
}

// minUnified is the shortest payload of a unified address in bytes (the
// shortest input F4Jumble accepts).
const minUnified = 48

// normZEC validates a Zcash address. Transparent t1/t3 and Sprout zc
// addresses are base58check-checked in full and returned as they are.
// Sapling (zs), unified (u) and TEX addresses are bech32 or bech32m: the
// checksum, the checksum variant and the payload length (Sapling 43 bytes,
// TEX 20, unified at least 48) are checked and the address is returned in
// lower case. Unified addresses are checked only that far: their
// receivers are F4Jumble-encoded and are not decoded, so a unified
// address with a valid checksum but no usable receiver is accepted.
func normZEC(s string) (string, error) {
	if i := strings.LastIndexByte(s, '1'); i > 0 {
		hrp := asciiLower(s[:i])
		if k, ok := zecHRPs[hrp]; ok {
			return normZECBech32(s, hrp, k)
		}
	}
	if _, err := zecSpec.check(s); err != nil {
		return "", err
	}
	return s, nil
}

// normZECBech32 validates a Zcash bech32 or bech32m address of kind k.
func normZECBech32(s, hrp string, k zecBech32) (string, error) {
	if k.testnet {
		return "", fmt.Errorf("prefix %q is a Zcash test network", hrp)
	}
	data, m, err := decodeBech32(s)
	if err != nil {
		return "", err
	}
	switch {
	case m != k.m && k.m:
		return "", fmt.Errorf("%s addresses use bech32m, not bech32", k.what)
	case m != k.m:
		return "", fmt.Errorf("%s addresses use bech32, not bech32m", k.what)
	case k.size != 0 && len(data) != k.size:
		return "", fmt.Errorf("wrong length: %d-byte %s payload, want %d", len(data), k.what, k.size)
	case k.size == 0 && len(data) < minUnified:
		return "", fmt.Errorf("wrong length: %d-byte %s payload, want at least %d", len(data), k.what, minUnified)
	}
	return asciiLower(s), nil
}

// decodeBech32 decodes a bech32 or bech32m string of any length and
// returns its payload in bytes and whether the checksum is bech32m.
func decodeBech32(s string) ([]byte, bool, error) {
	sep := strings.LastIndexByte(s, '1')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || (i > sep && bech32Index[c|0x20] < 0) {
			return nil, false, invalidChar(s, i)
		}
	}
	_, digits, variant, err := bech32.DecodeNoLimitWithVersion(s)
	if err != nil {
		var mixed bech32.ErrMixedCase
		var sum bech32.ErrInvalidChecksum
		switch {
		case errors.As(err, &mixed):
			return nil, false, errors.New("mixed upper and lower case")
		case errors.As(err, &sum):
			return nil, false, errors.New("bad bech32 checksum")
		}
		return nil, false, fmt.Errorf("invalid bech32: %v", err)
	}
	data := make([]byte, len(digits)*5/8)
	n, ok := regroup(digits, data)
	if !ok {
		return nil, false, errors.New("invalid padding in the bech32 payload")
	}
	return data[:n], variant == bech32.VersionM, nil
}

// trxSpec describes TRON addresses: base58check with version 0x41 and a
// 20-byte account hash, so they start with "T".
var trxSpec = b58Spec{bitcoinAlphabet, []b58Version{{prefix: "\x41", payload: 20, kind: "TRON account"}}}

// normTRX validates a TRON address in base58check form, returned as is,
// or in hex form ("41" and 40 hex digits, either case), converted to
// base58check.
func normTRX(s string) (string, error) {
	if len(s) == 42 && s[0] == '4' && s[1] == '1' {
		// Base58check TRON addresses have 34 characters, so this is
		// meant as the hex form.
		for i := 2; i < len(s); i++ {
			if hexValue[s[i]] < 0 {
				return "", invalidChar(s, i)
			}
		}
		b, _ := hex.DecodeString(s)
		return base58.CheckEncode(b[1:], 0x41), nil
	}
	if _, err := trxSpec.check(s); err != nil {
		return "", err
	}
	return s, nil
}

// xrpSpec describes classic XRP Ledger addresses: version 0 and a 20-byte
// account id in Ripple's base58 alphabet, so they start with "r".
var xrpSpec = b58Spec{rippleAlphabet, []b58Version{{prefix: "\x00", payload: 20, kind: "classic account"}}}

// normXRP validates a classic XRP Ledger address and returns it as is.
// X-addresses, which pack a destination tag with the account, are
// rejected with a reason saying so.
func normXRP(s string) (string, error) {
	if len(s) == 47 && (s[0] == 'X' || s[0] == 'T') && rippleAlphabet.checkChars(s) == nil {
		return "", errors.New("an X-address, which is not supported: give the classic r-address")
	}
	if _, err := xrpSpec.check(s); err != nil {
		return "", err
	}
	return s, nil
}

// normSOL validates a Solana address: base58 of a 32-byte public key,
// returned as is. Solana addresses carry no checksum, so only the
// characters and the decoded length can be checked; a mistyped address
// of the right length passes.
func normSOL(s string) (string, error) {
	if err := bitcoinAlphabet.checkChars(s); err != nil {
		return "", err
	}
	if len(s) < 32 || len(s) > 44 {
		return "", fmt.Errorf("wrong length: %d characters, want 32 to 44", len(s))
	}
	b, err := bitcoinAlphabet.decode(s)
	if err != nil {
		return "", err
	}
	if len(b) != 32 {
		return "", fmt.Errorf("wrong length: decodes to %d bytes, want 32", len(b))
	}
	return s, nil
}

// normBNBBeacon validates an address of the retired BNB Beacon Chain
// (formerly Binance Chain), which sanctions lists still name: bech32 with
// the "bnb" part and a 20-byte payload. It is returned in lower case.
func normBNBBeacon(s string) (string, error) {
	if i := strings.LastIndexByte(s, '1'); i <= 0 || asciiLower(s[:i]) != "bnb" {
		return "", errors.New(`want the bech32 prefix "bnb"`)
	}
	data, m, err := decodeBech32(s)
	switch {
	case err != nil:
		return "", err
	case m:
		return "", errors.New("BNB Beacon Chain addresses use bech32, not bech32m")
	case len(data) != 20:
		return "", fmt.Errorf("wrong length: %d-byte payload, want 20", len(data))
	}
	return asciiLower(s), nil
}
