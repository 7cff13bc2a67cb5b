package addrs

import (
	"errors"
	"strings"
	"testing"
)

// FuzzNormalize checks on every chain that Normalize does not panic, that
// its errors are well-formed, and that it is idempotent:
// Normalize(Normalize(x)) == Normalize(x). RecoverCase and Guess run on
// the same input for panics.
func FuzzNormalize(f *testing.F) {
	seeds := []string{
		"", " ", roninExploiter, strings.ToLower(roninExploiter), btcP2PKH, btcP2WPKH, btcP2TR,
		strings.ToUpper(btcP2WSH), trxOFAC, trxUSDTHex, ltcOFAC, ltcSegwit, bchOFAC,
		"bitcoincash:zr6m7j9njldwwzlg9v7v53unlr4jkmx6eycnjehshe", zecOFAC, xmrOFAC, xmrOFACSub,
		dashOFAC, xrpOFAC, xvgOFAC, btgOFAC, solToken, solSystem, "nonstandard:00",
		"u1" + strings.Repeat("q", 100), "zs1qqqqqqqq", "0x", "41", "bc1", "ltc1", ":", "bitcoincash:",
		"\xff\xfe", "é1", strings.Repeat("1", 200), strings.Repeat("z", 106),
	}
	ids := Chains()
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, pick uint8, s string) {
		chain := ids[int(pick)%len(ids)]
		out, err := Normalize(chain, s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Reason == "" || e.Chain != chain {
				t.Fatalf("Normalize(%q, %q): malformed error %#v", chain, s, err)
			}
			_ = err.Error()
		} else {
			again, err := Normalize(chain, out)
			if err != nil || again != out {
				t.Fatalf("Normalize(%q, %q) = %q, but again gives %q, %v", chain, s, out, again, err)
			}
			if out != trim(out) || out == "" {
				t.Fatalf("Normalize(%q, %q) = %q is not trimmed", chain, s, out)
			}
		}
		got, err := RecoverCase(chain, s, func(lower string) []string { return []string{strings.ToUpper(lower), s} })
		if err == nil {
			if _, err := Normalize(chain, got); err != nil {
				t.Fatalf("RecoverCase(%q, %q) = %q, which is invalid: %v", chain, s, got, err)
			}
		}
		for _, c := range Guess(s) {
			if _, err := Normalize(c, s); err != nil {
				t.Fatalf("Guess(%q) includes %s, but %v", s, c, err)
			}
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	cases := []struct {
		name, chain, in string
	}{
		{"eth/checksummed", "eth", roninExploiter},
		{"eth/lower", "eth", strings.ToLower(roninExploiter)},
		{"btc/p2pkh", "btc", btcP2PKH},
		{"btc/p2wpkh", "btc", btcP2WPKH},
		{"trx", "trx", trxOFAC},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(c.chain, c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
