package model

import (
	"fmt"
	"strings"

	"github.com/holiman/uint256"
)

// Amount is an exact non-negative 256-bit quantity of an asset's smallest
// unit (satoshi, wei, token base units). It is a value type: copying it
// copies the number.
type Amount struct {
	v uint256.Int
}

// AmountFromUint64 returns n as an Amount.
func AmountFromUint64(n uint64) Amount {
	var a Amount
	a.v.SetUint64(n)
	return a
}

// ParseAmount parses a decimal or 0x-prefixed hexadecimal integer.
func ParseAmount(s string) (Amount, error) {
	var a Amount
	var err error
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		// Leading zeros are common in fixed-width data (32-byte log
		// words); the strict JSON-RPC quantity parser refuses them.
		digits := strings.TrimLeft(s[2:], "0")
		if digits == "" && len(s) > 2 {
			digits = "0"
		}
		err = a.v.SetFromHex("0x" + digits)
	} else {
		err = a.v.SetFromDecimal(s)
	}
	if err != nil {
		return Amount{}, fmt.Errorf("model: amount %q: %w", s, err)
	}
	return a, nil
}

// Add returns a+b and whether the sum overflowed 256 bits.
func (a Amount) Add(b Amount) (Amount, bool) {
	var r Amount
	_, overflow := r.v.AddOverflow(&a.v, &b.v)
	return r, overflow
}

// Sub returns a-b and whether it underflowed (b > a).
func (a Amount) Sub(b Amount) (Amount, bool) {
	var r Amount
	_, underflow := r.v.SubOverflow(&a.v, &b.v)
	return r, underflow
}

// Cmp compares a and b and returns -1, 0 or +1.
func (a Amount) Cmp(b Amount) int { return a.v.Cmp(&b.v) }

// IsZero reports whether a is zero.
func (a Amount) IsZero() bool { return a.v.IsZero() }

// Uint64 returns the low 64 bits and whether the value fits in them.
func (a Amount) Uint64() (uint64, bool) { return a.v.Uint64(), a.v.IsUint64() }

// Bytes32 returns the big-endian 32-byte encoding used on disk.
func (a Amount) Bytes32() [32]byte { return a.v.Bytes32() }

// AmountFromBytes decodes a big-endian encoding of at most 32 bytes.
func AmountFromBytes(b []byte) Amount {
	var a Amount
	a.v.SetBytes(b)
	return a
}

// String returns the decimal integer.
func (a Amount) String() string { return a.v.Dec() }

// Format renders a with the given number of decimals, trimming trailing
// zeros of the fraction ("1.5", "0.00000001", "40").
func (a Amount) Format(decimals uint8) string {
	s := a.v.Dec()
	if decimals == 0 {
		return s
	}
	d := int(decimals)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// FormatSats renders a satoshi count as BTC with up to eight decimals.
func FormatSats(sats int64) string {
	neg := sats < 0
	if neg {
		sats = -sats
	}
	s := AmountFromUint64(uint64(sats)).Format(8)
	if neg {
		return "-" + s
	}
	return s
}

// MulDiv returns floor(a*b/c), computed without intermediate overflow, and
// false when c is zero or the result does not fit 256 bits. Proportional
// shares (a haircut's tainted part of a payment) are computed with it.
func MulDiv(a, b, c Amount) (Amount, bool) {
	if c.v.IsZero() {
		return Amount{}, false
	}
	var r Amount
	_, overflow := r.v.MulDivOverflow(&a.v, &b.v, &c.v)
	return r, !overflow
}

// Min returns the smaller of a and b.
func Min(a, b Amount) Amount {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

// MarshalJSON writes the amount as a bare JSON integer, exact at any size;
// JSON numbers have no width limit, although some decoders (JavaScript's)
// lose precision above 2^53.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.v.Dec()), nil }

// UnmarshalJSON reads a JSON integer or a string holding a decimal or
// 0x-hex integer.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}
