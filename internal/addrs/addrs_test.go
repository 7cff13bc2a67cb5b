package addrs

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Real addresses used across the tests.
const (
	roninExploiter = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
	btcP2PKH       = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
	btcP2WPKH      = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	btcP2WSH       = "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"
	btcP2TR        = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
	trxOFAC        = "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"
	trxUSDT        = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	trxUSDTHex     = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
	ltcOFAC        = "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb"
	ltcSegwit      = "ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt"
	bchOFAC        = "qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq"
	zecOFAC        = "t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWL"
	xmrOFAC        = "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL"
	xmrOFACSub     = "884Bz8UH63aYsjVdkfWfScRYWZGGNbjFL7pztqvWNSrtYT4reFSwyvkCj9KEGUtheHhhMUj87ciTBFyzoesrMJ4L1FvSoxL"
	dashOFAC       = "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2"
	xrpOFAC        = "rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh66"
	xrpGenesis     = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"
	xvgOFAC        = "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z"
	btgOFAC        = "GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS"
	solToken       = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
	solSystem      = "11111111111111111111111111111111"
	bnbBeacon      = "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23"
)

func TestNormalizeValid(t *testing.T) {
	h20 := testHash("valid", 20)
	sprout := b58check("\x16\x9a", testHash("sprout", 64))
	sapling := bech32Bytes(t, "zs", false, testHash("sapling", 43))
	unified := bech32Bytes(t, "u", true, testHash("unified", 100))
	tex := bech32Bytes(t, "tex", true, h20)
	integrated := xmrAddress(19, testHash("integrated", 72), false)
	tests := []struct {
		chain, in, want string
	}{
		{"btc", btcP2PKH, btcP2PKH},
		{"btc", " \t" + btcP2PKH + "\r\n", btcP2PKH},
		{"btc", "\ufeff" + btcP2PKH + "\u200b", btcP2PKH},
		{"BTC", btcP2PKH, btcP2PKH},
		{"btc", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"},
		{"btc", btcP2WPKH, btcP2WPKH},
		{"btc", strings.ToUpper(btcP2WPKH), btcP2WPKH},
		{"btc", btcP2WSH, btcP2WSH},
		{"btc", btcP2TR, btcP2TR},
		{"btc-testnet", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"},
		{"btc-testnet", b58check("\x6f", h20), b58check("\x6f", h20)},
		{"btc-signet", b58check("\xc4", h20), b58check("\xc4", h20)},
		{"btc-regtest", segwit(t, "bcrt", 0, h20), segwit(t, "bcrt", 0, h20)},
		{"bsv", "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9", "12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX9"},
		{"ltc", ltcOFAC, ltcOFAC},
		{"ltc", "M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3", "M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3"},
		{"ltc", b58check("\x05", h20), b58check("\x05", h20)},
		{"ltc", ltcSegwit, ltcSegwit},
		{"ltc", strings.ToUpper(ltcSegwit), ltcSegwit},
		{"ltc", segwit(t, "ltc", 1, testHash("ltc-taproot", 32)), segwit(t, "ltc", 1, testHash("ltc-taproot", 32))},
		{"bch", "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB", "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB"},
		{"bch", bchOFAC, "bitcoincash:" + bchOFAC},
		{"bch", "bitcoincash:" + bchOFAC, "bitcoincash:" + bchOFAC},
		{"bch", strings.ToUpper("bitcoincash:" + bchOFAC), "bitcoincash:" + bchOFAC},
		{"bch", strings.ToUpper(bchOFAC), "bitcoincash:" + bchOFAC},
		{"doge", b58check("\x1e", h20), b58check("\x1e", h20)},
		{"doge", b58check("\x16", h20), b58check("\x16", h20)},
		{"dash", dashOFAC, dashOFAC},
		{"dash", b58check("\x10", h20), b58check("\x10", h20)},
		{"btg", btgOFAC, btgOFAC},
		{"btg", b58check("\x17", h20), b58check("\x17", h20)},
		{"btg", segwit(t, "btg", 0, h20), segwit(t, "btg", 0, h20)},
		{"xvg", xvgOFAC, xvgOFAC},
		{"xvg", b58check("\x21", h20), b58check("\x21", h20)},
		{"zec", zecOFAC, zecOFAC},
		{"zec", b58check("\x1c\xbd", h20), b58check("\x1c\xbd", h20)},
		{"zec", sprout, sprout},
		{"zec", sapling, sapling},
		{"zec", strings.ToUpper(sapling), sapling},
		{"zec", unified, unified},
		{"zec", tex, tex},
		{"trx", trxOFAC, trxOFAC},
		{"trx", trxUSDT, trxUSDT},
		{"trx", trxUSDTHex, trxUSDT},
		{"trx", strings.ToUpper(trxUSDTHex), trxUSDT},
		{"xrp", xrpOFAC, xrpOFAC},
		{"xrp", xrpGenesis, xrpGenesis},
		{"xmr", xmrOFAC, xmrOFAC},
		{"xmr", xmrOFACSub, xmrOFACSub},
		{"xmr", integrated, integrated},
		{"sol", solToken, solToken},
		{"sol", solSystem, solSystem},
		{"eth", roninExploiter, roninExploiter},
		{"eth", strings.ToLower(roninExploiter), roninExploiter},
		{"eth", "0x" + strings.ToUpper(roninExploiter[2:]), roninExploiter},
		{"eth", "0X" + strings.ToLower(roninExploiter[2:]), roninExploiter},
		{"bsc", strings.ToLower(roninExploiter), roninExploiter},
		{"polygon", roninExploiter, roninExploiter},
		{"Optimism", roninExploiter, roninExploiter},
		{"bnb-beacon", bnbBeacon, bnbBeacon},
		{"bnb-beacon", strings.ToUpper(bnbBeacon), bnbBeacon},
	}
	for _, tc := range tests {
		got, err := Normalize(tc.chain, tc.in)
		if err != nil {
			t.Errorf("Normalize(%q, %q): %v", tc.chain, tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Normalize(%q, %q) = %q, want %q", tc.chain, tc.in, got, tc.want)
		}
	}
}

func TestNormalizeInvalid(t *testing.T) {
	h20 := testHash("invalid", 20)
	lowerRonin := strings.ToLower(roninExploiter)
	tests := []struct {
		chain, in string
		reason    string // a substring of the reason
	}{
		{"btc", "", "empty"},
		{"btc", "   ", "empty"},
		{"btc", strings.Repeat("1", maxInput+1), "too long"},
		{"btc", swapChar(btcP2PKH, 33, '4'), "bad base58check checksum"},
		{"btc", swapChar(btcP2PKH, 5, '0'), "invalid character '0' at position 6"},
		{"btc", swapChar(btcP2PKH, 5, 'l'), "invalid character 'l' at position 6"},
		{"btc", "1Q2TWHE3GMdé6BZKafqwxXtWAWgFt5Jvm3", "invalid character 'é' at position 12"},
		{"btc", b58check("\x00", testHash("x", 21)), "wrong length: decodes to 26 bytes, want 25"},
		{"btc", b58check("\x30", h20), "wrong version prefix 0x30, want 0x00 (P2PKH), 0x05 (P2SH) (valid as ltc)"},
		{"btc", b58check("\x6f", h20), "testnet3"},
		{"btc", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", `bech32 prefix "tb" is for btc-testnet and btc-signet, want "bc"`},
		{"btc", swapChar(btcP2WPKH, 41, '5'), "bad bech32 checksum"},
		{"btc", "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mixed upper and lower case"},
		{"btc", "nonstandard:" + strings.Repeat("00", 20), "pseudo-address"},
		{"btc", trxOFAC, "(valid as trx)"},
		{"btc", roninExploiter, "(valid as eth)"},
		{"btc-testnet", btcP2PKH, "(valid as btc, bch, bsv)"},
		{"btc-regtest", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", `bech32 prefix "tb"`},
		{"bsv", btcP2WPKH, "bsv has no segwit addresses"},
		{"bsv", b58badSum("\x00", h20), "bad base58check checksum"},
		{"ltc", btcP2WPKH, `bech32 prefix "bc" is for btc, want "ltc" (valid as btc)`},
		{"ltc", swapChar(ltcOFAC, 10, 'A'), "bad base58check checksum"},
		{"ltc", btcP2PKH, "wrong version prefix 0x00, want 0x30 (P2PKH), 0x32 (P2SH), 0x05 (P2SH, legacy)"},
		{"ltc", swapChar(ltcSegwit, 20, 'b'), "invalid bech32"},
		{"ltc", segwit(t, "ltc", 0, testHash("x", 25)), "segwit v0 program of 25 bytes"},
		{"bch", swapChar(bchOFAC, 41, 'x'), "bad CashAddr checksum"},
		{"bch", swapChar(bchOFAC, 3, 'b'), "invalid character 'b' at position 4"},
		{"bch", "bitcoincash:" + swapChar(bchOFAC, 3, 'o'), "invalid character 'o' at position 16"},
		{"bch", "bitcoincash:qpf2cphc5dkUclkqur7lhj2yuqq9pk3hmukle77vhq", "mixed upper and lower case"},
		{"bch", "bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t", "Bitcoin Cash test network"},
		{"bch", "pref:pr6m7j9njldwwzlg9v7v53unlr4jkmx6ey65nvtks5", `wrong prefix "pref", want "bitcoincash"`},
		{"bch", "bitcoincash:q9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2ws4mr9g0", "24-byte hash"},
		{"bch", "qpf2cphc5dkuclkqur7lhj2", "want at least 42"},
		{"bch", b58badSum("\x05", h20), "bad base58check checksum"},
		{"doge", b58check("\x00", h20), "wrong version prefix 0x00, want 0x1e (P2PKH), 0x16 (P2SH)"},
		{"doge", b58badSum("\x1e", h20), "bad base58check checksum"},
		{"dash", swapChar(dashOFAC, 2, 'O'), "invalid character 'O' at position 3"},
		{"dash", b58check("\x4c", testHash("x", 19)), "wrong length: decodes to 24 bytes, want 25"},
		{"btg", b58check("\x00", h20), "wrong version prefix 0x00"},
		{"btg", "ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt", `bech32 prefix "ltc" is for ltc, want "btg"`},
		{"xvg", b58check("\x1f", h20), "wrong version prefix 0x1f"},
		{"xvg", "XVG" + xvgOFAC[3:], "bad base58check checksum"},
		{"zec", swapChar(zecOFAC, 20, 'z'), "bad base58check checksum"},
		{"zec", b58check("\x1c\xb8", testHash("x", 21)), "wrong length: decodes to 27 bytes, want 26 or 70"},
		{"zec", b58check("\x1d\x25", h20), "wrong version prefix 0x1d25"},
		{"zec", btcP2PKH, "wrong length: decodes to 25 bytes"},
		{"zec", bech32Bytes(t, "zs", false, testHash("x", 42)), "wrong length: 42-byte Sapling payload, want 43"},
		{"zec", bech32Bytes(t, "zs", true, testHash("x", 43)), "Sapling addresses use bech32, not bech32m"},
		{"zec", bech32Bytes(t, "u", false, testHash("x", 60)), "unified addresses use bech32m"},
		{"zec", bech32Bytes(t, "u", true, testHash("x", 40)), "want at least 48"},
		{"zec", bech32Bytes(t, "utest", true, testHash("x", 60)), "Zcash test network"},
		{"zec", swapChar(bech32Bytes(t, "tex", true, h20), 10, 'q'), "bad bech32 checksum"},
		{"zec", swapChar(bech32Bytes(t, "tex", true, h20), 10, 'b'), "invalid character 'b' at position 11"},
		{"trx", swapChar(trxOFAC, 10, 'z'), "bad base58check checksum"},
		{"trx", strings.ToLower(trxOFAC), "invalid character 'l' at position 29"},
		{"trx", "tniq9axbp9ejuqhdhrwrfvaa8u3guqzh81", "bad base58check checksum"},
		{"trx", btcP2PKH, "wrong version prefix 0x00, want 0x41 (TRON account)"},
		{"trx", b58check("\x41", testHash("x", 21)), "wrong length: decodes to 26 bytes, want 25"},
		{"trx", "0" + trxOFAC[1:], "invalid character '0' at position 1"},
		{"trx", "41" + strings.Repeat("g", 40), "invalid character 'g' at position 3"},
		{"xrp", swapChar(xrpOFAC, 12, 'q'), "bad base58check checksum"},
		{"xrp", toRipple(b58check("\x01", h20)), "wrong version prefix 0x01"},
		{"xrp", toRipple(b58check("\x00", testHash("x", 16))), "wrong length: decodes to 21 bytes, want 25"},
		{"xrp", "r" + "0" + xrpOFAC[2:], "invalid character '0' at position 2"},
		{"xrp", "X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ", "X-address"},
		{"xmr", swapChar(xmrOFAC, 50, 'z'), "bad Monero checksum"},
		{"xmr", xmrOFAC[:94], "wrong length: 94 characters, want 95 (standard or subaddress) or 106 (integrated)"},
		{"xmr", swapChar(xmrOFAC, 3, '0'), "invalid character '0' at position 4"},
		{"xmr", xmrAddress(53, testHash("x", 64), false), "network prefix 53 is Monero testnet"},
		{"xmr", xmrAddress(19, testHash("x", 64), false), "wrong network prefix 19 for a 95-character address"},
		{"xmr", xmrAddress(18, testHash("x", 72), false), "wrong network prefix 18 for a 106-character address"},
		{"xmr", xmrAddress(18, testHash("x", 64), true), "bad Monero checksum"},
		{"xmr", strings.Repeat("z", 11) + xmrOFAC[11:], "overflows 8 bytes"},
		{"xmr", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320", "transaction hash or key"},
		{"sol", solToken[:31], "wrong length: 31 characters, want 32 to 44"},
		{"sol", strings.Repeat("z", 44), "wrong length: decodes to 33 bytes, want 32"},
		{"sol", swapChar(solToken, 0, 'I'), "invalid character 'I' at position 1"},
		{"eth", lowerRonin[2:], `missing "0x" prefix`},
		{"eth", lowerRonin[:41], "wrong length: 39 hex digits after 0x, want 40"},
		{"eth", lowerRonin + "0", "wrong length: 41 hex digits after 0x, want 40"},
		{"eth", swapChar(lowerRonin, 7, 'g'), "invalid character 'g' at position 8"},
		{"eth", flipCase(roninExploiter, 3), "mixed case with bad EIP-55 checksum"},
		{"eth", "0xAbc" + strings.ToLower(roninExploiter[5:]), "mixed case with bad EIP-55 checksum"},
		{"etc", flipCase(roninExploiter, 3), "mixed case with bad EIP-55 checksum"},
		{"eth", trxOFAC, `missing "0x" prefix (valid as trx)`},
		{"eth", "0x" + strings.Repeat("ab", 32), "transaction hash or key"},
		{"bsc", bnbBeacon, `missing "0x" prefix (valid as bnb-beacon)`},
		{"bnb-beacon", swapChar(bnbBeacon, 20, 'q'), "bad bech32 checksum"},
		{"bnb-beacon", bech32Bytes(t, "tbnb", false, h20), `want the bech32 prefix "bnb"`},
		{"bnb-beacon", bech32Bytes(t, "bnb", true, h20), "use bech32, not bech32m"},
		{"bnb-beacon", bech32Bytes(t, "bnb", false, testHash("x", 32)), "wrong length: 32-byte payload, want 20"},
	}
	for _, tc := range tests {
		got, err := Normalize(tc.chain, tc.in)
		if err == nil {
			t.Errorf("Normalize(%q, %q) = %q, want an error with %q", tc.chain, tc.in, got, tc.reason)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnknownChain) {
			t.Errorf("Normalize(%q, %q): error %v is not an *Error wrapping ErrInvalid", tc.chain, tc.in, err)
			continue
		}
		if !strings.Contains(e.Reason, tc.reason) {
			t.Errorf("Normalize(%q, %q): reason %q, want it to contain %q", tc.chain, tc.in, e.Reason, tc.reason)
		}
		if e.Input != strings.TrimSpace(tc.in) {
			t.Errorf("Normalize(%q, %q): Input = %q", tc.chain, tc.in, e.Input)
		}
		if !strings.HasPrefix(err.Error(), "addrs: invalid ") {
			t.Errorf("Normalize(%q, %q): message %q lacks the prefix", tc.chain, tc.in, err)
		}
	}
}

// TestEIP55 checks the test vectors of EIP-55 in each letter case.
func TestEIP55(t *testing.T) {
	vectors := []string{
		// All caps.
		"0x52908400098527886E0F7030069857D2E4169EE7",
		"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
		// All lower.
		"0xde709f2102306220921060314715629080e2fb77",
		"0x27b1fdb04752bbc536007a920d24acb045561c26",
		// Normal.
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
		roninExploiter,
	}
	for _, v := range vectors {
		for _, in := range []string{v, strings.ToLower(v), "0x" + strings.ToUpper(v[2:])} {
			got, err := Normalize("eth", in)
			if err != nil || got != v {
				t.Errorf("Normalize(eth, %q) = %q, %v; want %q", in, got, err, v)
			}
		}
	}
}

// TestCashAddrSpec checks the vectors of the CashAddr specification: the
// legacy/CashAddr pairs through Normalize, and the larger payloads and
// other prefixes through the decoder.
func TestCashAddrSpec(t *testing.T) {
	pairs := [][2]string{
		{"1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"},
		{"1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR", "bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy"},
		{"16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb", "bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r"},
		{"3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq"},
		{"3LDsS579y7sruadqu11beEJoTjdFiFCdX4", "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e"},
		{"31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw", "bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37"},
	}
	for _, p := range pairs {
		for _, in := range p {
			if got, err := Normalize("bch", in); err != nil || got != in {
				t.Errorf("Normalize(bch, %q) = %q, %v", in, got, err)
			}
		}
		// Both forms carry the same hash.
		legacy, err := bitcoinAlphabet.decode(p[0])
		if err != nil {
			t.Fatal(err)
		}
		a, err := decodeCashAddr(p[1], "")
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(a.hash) != hex.EncodeToString(legacy[1:21]) {
			t.Errorf("%s: CashAddr hash %x, legacy %x", p[1], a.hash, legacy[1:21])
		}
	}
	sized := []struct {
		addr string
		typ  int
		hash string
	}{
		{"bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2", 0, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"},
		{"bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t", 1, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"},
		{"pref:pr6m7j9njldwwzlg9v7v53unlr4jkmx6ey65nvtks5", 1, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"},
		{"prefix:0r6m7j9njldwwzlg9v7v53unlr4jkmx6ey3qnjwsrf", 15, "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9"},
		{"bitcoincash:q9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2ws4mr9g0", 0, "7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA"},
		{"prefix:09adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2p29kc2lp", 15, "7ADBF6C17084BC86C1706827B41A56F5CA32865925E946EA"},
		{"bitcoincash:qgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcw59jxxuz", 0, "3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B"},
		{"bchtest:pgagf7w02x4wnz3mkwnchut2vxphjzccwxgjvvjmlsxqwkcvs7md7wt", 1, "3A84F9CF51AAE98A3BB3A78BF16A6183790B18719126325BFC0C075B"},
		{"bitcoincash:qvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq5nlegake", 0, "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060"},
		{"pref:pvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq4k9m7qf9", 1, "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060"},
		{"bitcoincash:qnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklv39gr3uvz", 0, "C07138323E00FA4FC122D3B85B9628EA810B3F381706385E289B0B25631197D194B5C238BEB136FB"},
		{"bitcoincash:qh3krj5607v3qlqh5c3wq3lrw3wnuxw0sp8dv0zugrrt5a3kj6ucysfz8kxwv2k53krr7n933jfsunqex2w82sl", 0, "E361CA9A7F99107C17A622E047E3745D3E19CF804ED63C5C40C6BA763696B98241223D8CE62AD48D863F4CB18C930E4C"},
		{"bitcoincash:qmvl5lzvdm6km38lgga64ek5jhdl7e3aqd9895wu04fvhlnare5937w4ywkq57juxsrhvw8ym5d8qx7sz7zz0zvcypqscw8jd03f", 0, "D9FA7C4C6EF56DC4FF423BAAE6D495DBFF663D034A72D1DC7D52CBFE7D1E6858F9D523AC0A7A5C34077638E4DD1A701BD017842789982041"},
		{"prefix:0lg0x333p4238k0qrc5ej7rzfw5g8e4a4r6vvzyrcy8j3s5k0en7calvclhw46hudk5flttj6ydvjc0pv3nchp52amk97tqa5zygg96ms92w6845", 15, "D0F346310D5513D9E01E299978624BA883E6BDA8F4C60883C10F28C2967E67EC77ECC7EEEAEAFC6DA89FAD72D11AC961E164678B868AEEEC5F2C1DA08884175B"},
	}
	for _, v := range sized {
		a, err := decodeCashAddr(v.addr, "")
		if err != nil {
			t.Errorf("decodeCashAddr(%q): %v", v.addr, err)
			continue
		}
		prefix := v.addr[:strings.IndexByte(v.addr, ':')]
		if a.prefix != prefix || a.typ != v.typ || !strings.EqualFold(hex.EncodeToString(a.hash), v.hash) {
			t.Errorf("decodeCashAddr(%q) = %s, %d, %x; want %s, %d, %s", v.addr, a.prefix, a.typ, a.hash, prefix, v.typ, v.hash)
		}
		if got := encodeCashAddr(a.prefix, a.typ, a.hash); got != v.addr {
			t.Errorf("encodeCashAddr round trip of %q gave %q", v.addr, got)
		}
	}
	// Token-aware types (CashTokens) lock to the same scripts as the plain
	// ones and normalise to them; P2SH32 is accepted.
	tokens := [][2]string{
		{"bitcoincash:zr6m7j9njldwwzlg9v7v53unlr4jkmx6eycnjehshe", "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2"},
		{"bitcoincash:rpawqn2h74a4t50phuza84kdp3794pq3cct3k50p0y", "bitcoincash:ppawqn2h74a4t50phuza84kdp3794pq3ccvm92p8sh"},
		{"bitcoincash:rvqqqqqqqqqqqqqqqqqqqqqqzg69v7ysqqqqqqqqqqqqqqqqqqqqqn9alsp2y", "bitcoincash:pvqqqqqqqqqqqqqqqqqqqqqqzg69v7ysqqqqqqqqqqqqqqqqqqqqqpkp7fqn0"},
		{"bitcoincash:pvqqqqqqqqqqqqqqqqqqqqqqzg69v7ysqqqqqqqqqqqqqqqqqqqqqpkp7fqn0", "bitcoincash:pvqqqqqqqqqqqqqqqqqqqqqqzg69v7ysqqqqqqqqqqqqqqqqqqqqqpkp7fqn0"},
	}
	for _, p := range tokens {
		if got, err := Normalize("bch", p[0]); err != nil || got != p[1] {
			t.Errorf("Normalize(bch, %q) = %q, %v; want %q", p[0], got, err, p[1])
		}
	}
}
