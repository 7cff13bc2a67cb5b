package model

import "testing"

func TestAmountFormat(t *testing.T) {
	cases := []struct {
		in       string
		decimals uint8
		want     string
	}{
		{"0", 8, "0"},
		{"1", 8, "0.00000001"},
		{"5000000000", 8, "50"},
		{"1050000000", 8, "10.5"},
		{"123456789012345678901234567890", 18, "123456789012.34567890123456789"},
		{"0x0de0b6b3a7640000", 18, "1"},
		{"115792089237316195423570985008687907853269984665640564039457584007913129639935", 0, "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
	}
	for _, c := range cases {
		a, err := ParseAmount(c.in)
		if err != nil {
			t.Fatalf("ParseAmount(%q): %v", c.in, err)
		}
		if got := a.Format(c.decimals); got != c.want {
			t.Errorf("Format(%s, %d) = %s, want %s", c.in, c.decimals, got, c.want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5", "0xzz", "115792089237316195423570985008687907853269984665640564039457584007913129639936"} {
		if _, err := ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) accepted", bad)
		}
	}
}

func TestAmountArithmetic(t *testing.T) {
	max, _ := ParseAmount("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	if _, overflow := max.Add(AmountFromUint64(1)); !overflow {
		t.Error("2^256-1 + 1 did not overflow")
	}
	s, overflow := AmountFromUint64(40).Add(AmountFromUint64(2))
	if overflow || s.String() != "42" || s.Cmp(AmountFromUint64(42)) != 0 || s.IsZero() {
		t.Errorf("40+2 = %s (overflow %v)", s, overflow)
	}
	b := s.Bytes32()
	if AmountFromBytes(b[:]).Cmp(s) != 0 {
		t.Error("Bytes32 round trip")
	}
	if v, ok := s.Uint64(); !ok || v != 42 {
		t.Errorf("Uint64 = %d %v", v, ok)
	}
	if FormatSats(-150000000) != "-1.5" || FormatSats(0) != "0" {
		t.Errorf("FormatSats: %s %s", FormatSats(-150000000), FormatSats(0))
	}
}
