package addrs

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestChainOf(t *testing.T) {
	tests := []struct {
		code, want string
	}{
		{"BTC", "btc"}, {"XBT", "btc"}, {"btc", "btc"}, {"ETH", "eth"}, {"ERC-20", "eth"},
		{"LTC", "ltc"}, {"BCH", "bch"}, {"Bitcoin Cash", "bch"}, {"ZEC", "zec"}, {"TRX", "trx"},
		{"TRC20", "trx"}, {"XMR", "xmr"}, {"DASH", "dash"}, {"BSV", "bsv"}, {"BTG", "btg"},
		{"ETC", "etc"}, {"XRP", "xrp"}, {"XVG", "xvg"}, {"DOGE", "doge"}, {"BSC", "bsc"},
		{"BNB", "bsc"}, {"bep-20", "bsc"}, {"ARB", "arb"}, {"MATIC", "polygon"}, {"POL", "polygon"},
		{"Polygon", "polygon"}, {"AVAX", "avax"}, {"OP", "optimism"}, {"SOL", "sol"}, {"base", "base"},
		{" eth ", "eth"}, {"btc-testnet", "btc-testnet"}, {"BTC_SIGNET", "btc-signet"}, {"BEP2", "bnb-beacon"},
	}
	for _, tc := range tests {
		if got, ok := ChainOf(tc.code); !ok || got != tc.want {
			t.Errorf("ChainOf(%q) = %q, %v; want %q", tc.code, got, ok, tc.want)
		}
	}
	for _, code := range []string{"USDT", "USDC", "", "FOO"} {
		if got, ok := ChainOf(code); ok {
			t.Errorf("ChainOf(%q) = %q, want not ok", code, got)
		}
	}
	// Every chain id maps to itself, and every mapping is supported.
	for _, id := range Chains() {
		if got, ok := ChainOf(id); !ok || got != id {
			t.Errorf("ChainOf(%q) = %q, %v", id, got, ok)
		}
	}
	for code, id := range currencyChains {
		if _, ok := chains[id]; !ok {
			t.Errorf("currency %s maps to unsupported chain %q", code, id)
		}
	}
}

func TestChainsAndIsEVM(t *testing.T) {
	ids := Chains()
	if !slices.IsSorted(ids) {
		t.Errorf("Chains() not sorted: %v", ids)
	}
	for _, want := range []string{"btc", "btc-testnet", "btc-signet", "btc-regtest", "ltc", "bch", "doge", "dash",
		"btg", "zec", "bsv", "trx", "xrp", "xmr", "xvg", "sol", "eth", "etc", "bsc", "arb", "polygon", "avax",
		"optimism", "base"} {
		if !slices.Contains(ids, want) {
			t.Errorf("Chains() lacks %q", want)
		}
	}
	ids[0] = "mutated"
	if Chains()[0] == "mutated" {
		t.Error("Chains() returns shared storage")
	}
	for _, c := range []string{"eth", "etc", "bsc", "arb", "polygon", "avax", "optimism", "base", "ETH"} {
		if !IsEVM(c) {
			t.Errorf("IsEVM(%q) = false", c)
		}
	}
	for _, c := range []string{"btc", "trx", "sol", "xmr", "foo", ""} {
		if IsEVM(c) {
			t.Errorf("IsEVM(%q) = true", c)
		}
	}
}

func TestGuess(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{roninExploiter, []string{"eth"}},
		{"0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff", []string{"eth"}},
		{trxOFAC, []string{"trx"}},
		{" " + trxUSDT + " ", []string{"trx"}},
		{trxUSDTHex, []string{"trx"}},
		{"1CF46Rfbp97absrs7zb7dFfZS6qBXUm9EP", []string{"btc", "bch", "bsv"}},
		{"3LtcaPbCj87CwJHnRX3vh7c2y9RZQqeSy8", []string{"btc", "bch", "bsv", "ltc"}},
		{btcP2WPKH, []string{"btc"}},
		{ltcOFAC, []string{"ltc"}},
		{bchOFAC, []string{"bch"}},
		{xvgOFAC, []string{"doge", "xvg"}},
		{zecOFAC, []string{"zec"}},
		{xrpOFAC, []string{"xrp"}},
		{xmrOFAC, []string{"xmr"}},
		{solToken, []string{"sol"}},
		{bnbBeacon, []string{"bnb-beacon"}},
		{"", nil},
		{"not an address", nil},
		{flipCase(roninExploiter, 3), nil},
	}
	for _, tc := range tests {
		if got := Guess(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Guess(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	_, err := Normalize("eth", "0xAbc")
	if err == nil || err.Error() != `addrs: invalid eth address "0xAbc": wrong length: 3 hex digits after 0x, want 40` {
		t.Errorf("message %q", err)
	}
	_, err = Normalize("foo", " x ")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrUnknownChain) || errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown chain: %v", err)
	}
	if e.Chain != "foo" || e.Input != "x" || err.Error() != `addrs: unknown chain "foo" for address "x"` {
		t.Errorf("unknown chain: %+v, %q", e, err)
	}
	long := strings.Repeat("z", 300)
	_, err = Normalize("eth", long)
	if msg := err.Error(); !strings.Contains(msg, strings.Repeat("z", 100)+"…\"") || strings.Contains(msg, strings.Repeat("z", 101)) {
		t.Errorf("long input not cut short: %q", msg)
	}
	amb := &Error{Chain: "sol", Input: "x", Reason: "r", Err: ErrAmbiguous}
	if !errors.Is(amb, ErrAmbiguous) || !errors.Is(amb, ErrInvalid) || errors.Is(amb, ErrUnknownChain) {
		t.Error("ambiguity does not match ErrAmbiguous and ErrInvalid")
	}
	if amb.Error() != `addrs: ambiguous sol address "x": r` {
		t.Errorf("ambiguity message %q", amb)
	}
	for _, sentinel := range []error{ErrInvalid, ErrUnknownChain, ErrAmbiguous} {
		if !strings.HasPrefix(sentinel.Error(), "addrs: ") {
			t.Errorf("sentinel %q lacks the prefix", sentinel)
		}
	}
}

// knownFrom returns a RecoverCase lookup over addrs.
func knownFrom(addrs ...string) func(string) []string {
	m := map[string][]string{}
	for _, a := range addrs {
		k := strings.ToLower(a)
		m[k] = append(m[k], a)
	}
	return func(lower string) []string { return m[lower] }
}

func TestRecoverCase(t *testing.T) {
	// Two Solana addresses equal ignoring case, both well-formed.
	solA := solToken
	solB := flipCase(solToken, 2)
	if _, err := Normalize("sol", solB); err != nil {
		t.Fatalf("test setup: %v", err)
	}
	allDigits := "11111111111111111111111111111111"
	tests := []struct {
		chain, in string
		known     func(string) []string
		want      string
		err       error
	}{
		// Unambiguous: one known address fits.
		{"trx", strings.ToLower(trxOFAC), knownFrom(trxOFAC, trxUSDT), trxOFAC, nil},
		{"btc", strings.ToLower(btcP2PKH), knownFrom(btcP2PKH), btcP2PKH, nil},
		{"xmr", strings.ToLower(xmrOFAC), knownFrom(xmrOFAC), xmrOFAC, nil},
		{"sol", strings.ToLower(solA), knownFrom(solA), solA, nil},
		// A known entry that is invalid for the chain is no candidate.
		{"trx", strings.ToLower(trxOFAC), knownFrom(trxOFAC, swapChar(trxOFAC, 5, 'z')), trxOFAC, nil},
		// Case-insensitive formats and unchanged inputs need no lookup.
		{"eth", strings.ToLower(roninExploiter), nil, roninExploiter, nil},
		{"btc", strings.ToUpper(btcP2WPKH), nil, btcP2WPKH, nil},
		{"bch", bchOFAC, nil, "bitcoincash:" + bchOFAC, nil},
		{"sol", allDigits, nil, allDigits, nil},
		{"sol", solA, nil, solA, nil},
		{"trx", trxOFAC, knownFrom(trxOFAC), trxOFAC, nil},
		// None: invalid as given and not known.
		{"trx", strings.ToLower(trxOFAC), knownFrom(trxUSDT), "", ErrInvalid},
		{"trx", strings.ToLower(trxOFAC), nil, "", ErrInvalid},
		// A lowered Solana address may still have a valid shape; without a
		// checksum that proves nothing.
		{"sol", strings.ToLower(solA), nil, "", ErrInvalid},
		// Ambiguous: two known addresses fit.
		{"sol", strings.ToLower(solA), knownFrom(solA, solB), "", ErrAmbiguous},
		// Unknown chain.
		{"foo", "x", nil, "", ErrUnknownChain},
	}
	for _, tc := range tests {
		got, err := RecoverCase(tc.chain, tc.in, tc.known)
		if tc.err == nil {
			if err != nil || got != tc.want {
				t.Errorf("RecoverCase(%q, %q) = %q, %v; want %q", tc.chain, tc.in, got, err, tc.want)
			}
			continue
		}
		var e *Error
		if !errors.Is(err, tc.err) || !errors.As(err, &e) || got != "" {
			t.Errorf("RecoverCase(%q, %q) = %q, %v; want %v", tc.chain, tc.in, got, err, tc.err)
			continue
		}
		if tc.err == ErrAmbiguous && (!strings.Contains(e.Reason, solA) || !strings.Contains(e.Reason, solB)) {
			t.Errorf("ambiguity reason %q does not list the candidates", e.Reason)
		}
	}
	_, err := RecoverCase("sol", strings.ToLower(solA), nil)
	if err == nil || !strings.Contains(err.Error(), "no checksum") {
		t.Errorf("sol without candidates: %v", err)
	}
}
