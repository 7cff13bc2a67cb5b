package btc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/model"
)

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The genesis coinbase key and its well-known address.
const (
	genesisPubKey = "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
	genesisAddr   = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	compressedKey = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	h20           = "751e76e8199196d454941c45d1b3a323f1433bd6"
	h32           = "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"
)

// TestExtractAddrsClasses covers every class with hand-built scripts and
// known mainnet encodings.
func TestExtractAddrsClasses(t *testing.T) {
	ns := func(script string) []string {
		s, _ := hex.DecodeString(script)
		sum := sha256.Sum256(s)
		return []string{"nonstandard:" + hex.EncodeToString(sum[:20])}
	}
	compressedAddr := base58PKH(btcutil.Hash160(mustHex(t, compressedKey)), &chaincfg.MainNetParams)
	cases := []struct {
		name   string
		script string
		class  model.ScriptClass
		addrs  []string
	}{
		{"p2pk uncompressed", "41" + genesisPubKey + "ac", model.ScriptP2PK, []string{genesisAddr}},
		{"p2pk compressed", "21" + compressedKey + "ac", model.ScriptP2PK, []string{compressedAddr}},
		{"p2pk bad prefix", "21" + "05" + compressedKey[2:] + "ac", model.ScriptNonStandard, ns("21" + "05" + compressedKey[2:] + "ac")},
		{"p2pk hybrid", "41" + "06" + genesisPubKey[2:] + "ac", model.ScriptNonStandard, ns("41" + "06" + genesisPubKey[2:] + "ac")},
		{"p2pkh", "76a914" + "62e907b15cbf27d5425399ebf6f0fb50ebb88f18" + "88ac", model.ScriptP2PKH, []string{genesisAddr}},
		{"p2sh", "a914" + "f815b036d9bbbce5e9f2a00abd1bf3dc91e95510" + "87", model.ScriptP2SH, []string{"3QJmV3qfvL9SuYo34YihAf3sRCW3qSinyC"}},
		{"p2wpkh", "0014" + h20, model.ScriptP2WPKH, []string{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}},
		{"p2wsh", "0020" + h32, model.ScriptP2WSH, []string{"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"}},
		{"p2tr", "5120" + "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", model.ScriptP2TR,
			[]string{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"}},
		{"witness v1 40 bytes", "5128" + h20 + h20, model.ScriptWitnessUnknown,
			[]string{"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y"}},
		{"witness v16 2 bytes", "6002751e", model.ScriptWitnessUnknown, []string{"bc1sw50qgdz25j"}},
		{"witness v2 16 bytes", "5210751e76e8199196d454941c45d1b3a323", model.ScriptWitnessUnknown,
			[]string{"bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"}},
		{"pay to anchor", "51024e73", model.ScriptWitnessUnknown, []string{"bc1pfeessrawgf"}},
		{"witness v0 16 bytes", "0010751e76e8199196d454941c45d1b3a323", model.ScriptNonStandard, ns("0010751e76e8199196d454941c45d1b3a323")},
		{"witness v1 pushdata1", "514c20" + h32, model.ScriptNonStandard, ns("514c20" + h32)},
		{"multisig 1-of-2", "51" + "41" + genesisPubKey + "21" + compressedKey + "52ae", model.ScriptMultisig,
			[]string{genesisAddr, compressedAddr}},
		{"multisig duplicate key", "52" + "21" + compressedKey + "21" + compressedKey + "52ae", model.ScriptMultisig,
			[]string{compressedAddr}},
		{"multisig m > n", "53" + "21" + compressedKey + "21" + compressedKey + "52ae", model.ScriptNonStandard,
			ns("53" + "21" + compressedKey + "21" + compressedKey + "52ae")},
		{"multisig n mismatch", "51" + "21" + compressedKey + "53ae", model.ScriptNonStandard, ns("51" + "21" + compressedKey + "53ae")},
		{"multisig m = 0", "00" + "21" + compressedKey + "51ae", model.ScriptNonStandard, ns("00" + "21" + compressedKey + "51ae")},
		{"multisig bad key", "51" + "2105" + compressedKey[2:] + "51ae", model.ScriptNonStandard, ns("51" + "2105" + compressedKey[2:] + "51ae")},
		{"multisig trailing op", "51" + "21" + compressedKey + "51ae" + "ae", model.ScriptNonStandard, ns("51" + "21" + compressedKey + "51aeae")},
		{"multisig 17 keys", "51" + strings.Repeat("21"+compressedKey, 17) + "0111ae", model.ScriptMultisig, []string{compressedAddr}},
		{"multisig 21 keys", "51" + strings.Repeat("21"+compressedKey, 21) + "0115ae", model.ScriptNonStandard,
			ns("51" + strings.Repeat("21"+compressedKey, 21) + "0115ae")},
		{"op_return", "6a", model.ScriptNullData, nil},
		{"op_return data", "6a0401020304", model.ScriptNullData, nil},
		{"op_return long", "6a4c50" + strings.Repeat("ab", 80) + "4c10" + strings.Repeat("cd", 16), model.ScriptNullData, nil},
		{"op_return non-push", "6a76", model.ScriptNonStandard, ns("6a76")},
		{"op_return bad push", "6a05010203", model.ScriptNonStandard, ns("6a05010203")},
		{"empty", "", model.ScriptNonStandard, ns("")},
		{"op_true", "51", model.ScriptNonStandard, ns("51")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := mustHex(t, c.script)
			class, keys := ExtractAddrs(script, nil)
			var got []string
			for _, k := range keys {
				got = append(got, k.Encode(&chaincfg.MainNetParams))
			}
			if class != c.class || strings.Join(got, " ") != strings.Join(c.addrs, " ") {
				t.Fatalf("%s %v, want %s %v", class, got, c.class, c.addrs)
			}
			if d := diffAddrs(script, &chaincfg.MainNetParams, addrDivergence{}); d != "" {
				t.Fatalf("oracle: %s", d)
			}
			// Appending must keep what dst holds.
			prefix := []AddrKey{NonStandardKey([]byte("x"))}
			_, more := ExtractAddrs(script, prefix)
			if len(more) != 1+len(keys) || more[0] != prefix[0] {
				t.Fatalf("append to dst: %v", more)
			}
		})
	}
}

// allNets lists every network Network knows.
func allNets(t *testing.T) []*chaincfg.Params {
	var nets []*chaincfg.Params
	for _, name := range []string{"mainnet", "testnet3", "signet", "regtest", "simnet"} {
		p, err := Network(name)
		if err != nil {
			t.Fatal(err)
		}
		if NetworkName(p) != name {
			t.Fatalf("NetworkName(Network(%q)) = %q", name, NetworkName(p))
		}
		nets = append(nets, p)
	}
	return nets
}

// sampleKeys returns one key of every kind.
func sampleKeys(t *testing.T) []AddrKey {
	var keys []AddrKey
	for _, script := range []string{
		"76a914" + h20 + "88ac", "a914" + h20 + "87", "0014" + h20, "0020" + h32, "5120" + h32,
		"5128" + h20 + h20, "6002751e", "5210751e76e8199196d454941c45d1b3a323", "51024e73", "deadbeef",
	} {
		_, ks := ExtractAddrs(mustHex(t, script), nil)
		keys = append(keys, ks...)
	}
	return keys
}

// btcdAddress returns btcutil's encoding of a key, the oracle for Encode.
func btcdAddress(t *testing.T, k AddrKey, net *chaincfg.Params) string {
	var a btcutil.Address
	var err error
	p := k.Payload()
	switch k.Kind() {
	case AddrPKH:
		a, err = btcutil.NewAddressPubKeyHash(p, net)
	case AddrSH:
		a, err = btcutil.NewAddressScriptHashFromHash(p, net)
	case AddrWPKH:
		a, err = btcutil.NewAddressWitnessPubKeyHash(p, net)
	case AddrWSH:
		a, err = btcutil.NewAddressWitnessScriptHash(p, net)
	case AddrTR:
		a, err = btcutil.NewAddressTaproot(p, net)
	default:
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// TestEncodeParseNetworks encodes every kind on every network, compares
// with btcutil, parses back, and checks that other networks reject it.
func TestEncodeParseNetworks(t *testing.T) {
	nets := allNets(t)
	for _, net := range nets {
		for _, k := range sampleKeys(t) {
			s := k.Encode(net)
			if want := btcdAddress(t, k, net); want != "" && s != want {
				t.Errorf("%s %v: %s, btcutil %s", NetworkName(net), k, s, want)
			}
			// btcutil knows no witness version above 1 nor v1 programs
			// other than taproot and pay-to-anchor.
			if k.Kind() != AddrNonStandard && k.Kind() != AddrWitnessUnknown {
				if dec, err := btcutil.DecodeAddress(s, net); err != nil || !dec.IsForNet(net) {
					t.Errorf("%s %v: btcutil cannot decode %s: %v", NetworkName(net), k, s, err)
				}
			}
			back, err := ParseAddress(s, net)
			if err != nil || back != k {
				t.Errorf("%s: ParseAddress(%s) = %v, %v; want %v", NetworkName(net), s, back, err, k)
			}
			if k.Kind() != AddrNonStandard && k.Kind() != AddrPKH && k.Kind() != AddrSH {
				up, err := ParseAddress(strings.ToUpper(s), net)
				if err != nil || up != k {
					t.Errorf("%s: upper case %s: %v, %v", NetworkName(net), s, up, err)
				}
			}
			for _, other := range nets {
				sameForm := other.Bech32HRPSegwit == net.Bech32HRPSegwit
				if k.Kind() == AddrPKH || k.Kind() == AddrSH {
					sameForm = other.PubKeyHashAddrID == net.PubKeyHashAddrID
				}
				if k.Kind() == AddrNonStandard || sameForm {
					continue
				}
				_, err := ParseAddress(s, other)
				if !errors.Is(err, ErrWrongNetwork) || !strings.Contains(err.Error(), s) ||
					!strings.Contains(err.Error(), NetworkName(other)) {
					t.Errorf("%s address %s on %s: %v", NetworkName(net), s, NetworkName(other), err)
				}
			}
		}
	}
}

// TestParseAddressErrors covers malformed addresses, many from the BIP 173
// and BIP 350 invalid vectors.
func TestParseAddressErrors(t *testing.T) {
	wrongLen := base58.CheckEncode(make([]byte, 21), 0)
	badVersion := base58.CheckEncode(make([]byte, 20), 0x30)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'q' {
			b[i] = 'p'
		} else if b[i] == '2' {
			b[i] = '3'
		} else {
			b[i] = '2'
		}
		return string(b)
	}
	cases := []struct {
		addr, net, want string
		cause           error
	}{
		{"", "mainnet", "empty", ErrInvalidAddress},
		{flip(genesisAddr, 5), "mainnet", "bad base58 checksum", ErrInvalidAddress},
		{flip("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", 10), "mainnet", "bad bech32 checksum", ErrInvalidAddress},
		{"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "mainnet", "is a testnet3/signet/regtest address, not mainnet", ErrWrongNetwork},
		{genesisAddr, "testnet3", "is a mainnet address, not testnet3", ErrWrongNetwork},
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "mainnet", "is a testnet3/signet address, not mainnet", ErrWrongNetwork},
		{"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "testnet3", "is a regtest address, not testnet3", ErrWrongNetwork},
		{"Bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mainnet", "mixed upper and lower case", ErrInvalidAddress},
		{"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "testnet3", "mixed", ErrInvalidAddress},
		{wrongLen, "mainnet", "payload of 21 bytes, want 20", ErrInvalidAddress},
		{badVersion, "mainnet", "unknown version byte 0x30", ErrInvalidAddress},
		{"0OIl", "mainnet", "not a base58check or bech32 address", ErrInvalidAddress},
		{"nonstandard:1234", "mainnet", "40 hex digits", ErrInvalidAddress},
		{"tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "mainnet", "not a base58check", ErrInvalidAddress},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "mainnet", "with a bech32 checksum", ErrInvalidAddress},
		{"tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "testnet3", "with a bech32 checksum", ErrInvalidAddress},
		{"BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "mainnet", "with a bech32 checksum", ErrInvalidAddress},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "mainnet", "v0 address with a bech32m checksum", ErrInvalidAddress},
		{"tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "testnet3", "v0 address with a bech32m checksum", ErrInvalidAddress},
		{"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "mainnet", "invalid bech32", ErrInvalidAddress},
		{"BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "mainnet", "witness version 17", ErrInvalidAddress},
		{"bc1pw5dgrnzv", "mainnet", "witness program of 1 bytes", ErrInvalidAddress},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", "mainnet", "invalid witness program", ErrInvalidAddress},
		{"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "mainnet", "v0 program of 16 bytes", ErrInvalidAddress},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "mainnet", "invalid witness program", ErrInvalidAddress},
		{"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "testnet3", "invalid witness program", ErrInvalidAddress},
		{"bc1gmk9yu", "mainnet", "no witness version", ErrInvalidAddress},
	}
	for _, c := range cases {
		net, err := Network(c.net)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParseAddress(c.addr, net)
		if err == nil {
			t.Errorf("%q on %s: parsed as %v", c.addr, c.net, k)
			continue
		}
		var ae *AddressError
		if !errors.As(err, &ae) || ae.Addr != c.addr || !errors.Is(err, c.cause) ||
			!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"`+c.addr+`"`) {
			t.Errorf("%q on %s: %v; want %v naming the input and containing %q", c.addr, c.net, err, c.cause, c.want)
		}
	}
}

// TestNetwork checks the accepted network names.
func TestNetwork(t *testing.T) {
	for name, want := range map[string]*chaincfg.Params{
		"mainnet": &chaincfg.MainNetParams, "main": &chaincfg.MainNetParams, "Bitcoin": &chaincfg.MainNetParams,
		"testnet": &chaincfg.TestNet3Params, "testnet3": &chaincfg.TestNet3Params,
		"signet": &chaincfg.SigNetParams, "regtest": &chaincfg.RegressionNetParams, "simnet": &chaincfg.SimNetParams,
	} {
		if p, err := Network(name); err != nil || p != want {
			t.Errorf("Network(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := Network("dogecoin"); err == nil || !strings.Contains(err.Error(), "dogecoin") {
		t.Errorf("unknown network: %v", err)
	}
	if NetworkName(nil) != "" {
		t.Error("NetworkName(nil)")
	}
}

// TestAddrKeyBytes round-trips the compact encoding and rejects bad input.
func TestAddrKeyBytes(t *testing.T) {
	seen := map[AddrKey]bool{}
	for _, k := range sampleKeys(t) {
		b := k.Bytes()
		if !bytes.Equal(k.AppendBytes(nil), b) || b[0] != byte(k.Kind()) {
			t.Fatalf("%v: Bytes %x", k, b)
		}
		back, err := AddrKeyFromBytes(b)
		if err != nil || back != k {
			t.Fatalf("%v: AddrKeyFromBytes(%x) = %v, %v", k, b, back, err)
		}
		if len(b) > MaxAddrKeyBytes {
			t.Fatalf("%v: %d bytes", k, len(b))
		}
		seen[k] = true
		buf := make([]byte, 0, MaxAddrKeyBytes)
		if a := testing.AllocsPerRun(10, func() { buf = k.AppendBytes(buf[:0]) }); a != 0 {
			t.Errorf("AppendBytes allocates %.0f times", a)
		}
	}
	if len(seen) != len(sampleKeys(t)) {
		t.Fatal("distinct keys collide as map keys")
	}
	for _, bad := range []string{
		"", "00", "01", "01" + h20 + "00", "02" + h20[2:], "04" + h20, "05" + h20 + "00", "08" + h20,
		"0601", "060102", "0601030000", "061102" + "0000", "060003" + "000000", "060120" + h32, "060229" + strings.Repeat("00", 41),
	} {
		if k, err := AddrKeyFromBytes(mustHex(t, bad)); err == nil {
			t.Errorf("AddrKeyFromBytes(%s) = %v", bad, k)
		}
	}
	if _, err := NewAddrKey(AddrPKH, 1, make([]byte, 20)); err == nil {
		t.Error("NewAddrKey accepted a version for pkh")
	}
	var zero AddrKey
	if !zero.IsZero() || zero.Encode(nil) != "" {
		t.Error("zero key")
	}
}

// TestHash160 checks the RIPEMD-160 implementation against published
// vectors and btcutil.
func TestHash160(t *testing.T) {
	for in, want := range map[string]string{
		"":               "9c1185a5c5e9fc54612808977ee8f548b2258d31",
		"abc":            "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
		"message digest": "5d0689ef49d2fae572b881b123a85ffa21595f36",
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq":       "12a053384a9c0c88e405a06c27dcf49ada62eb2b",
		strings.Repeat("1234567890", 8):                                  "9b752e45573d4b39f4dbd3323cab82bf63326bfb",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789": "b0e20b6e3116640286ed3a87a5713079b21f5189",
	} {
		if got := ripemd160Sum([]byte(in)); hex.EncodeToString(got[:]) != want {
			t.Errorf("RIPEMD-160(%q) = %x, want %s", in, got, want)
		}
	}
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for n := 0; n <= len(buf); n++ {
		if got := hash160(buf[:n]); !bytes.Equal(got[:], btcutil.Hash160(buf[:n])) {
			t.Fatalf("hash160 of %d bytes differs from btcutil", n)
		}
	}
}

// taprootVector is the part of a BIP 341 reference vector the tests use.
type taprootVector struct {
	Tx       string   `json:"tx"`
	Prevouts []string `json:"prevouts"`
	Comment  string   `json:"comment"`
}

// TestTaprootVectors decodes every transaction of btcd's BIP 341
// reference vectors and classifies every prevout script, comparing with
// wire and txscript.
func TestTaprootVectors(t *testing.T) {
	dir := filepath.Join(btcdDir(t), "txscript", "data", "taproot-ref")
	files, err := os.ReadDir(dir)
	if err != nil || len(files) == 0 {
		t.Skipf("taproot reference vectors unavailable in %s: %v", dir, err)
	}
	div := addrDivergence{}
	classes := map[model.ScriptClass]int{}
	ntx, nout := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var v taprootVector
		if err := json.Unmarshal(bytes.TrimRight(bytes.TrimSpace(data), ","), &v); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		raw := mustHex(t, v.Tx)
		var tx Tx
		n, err := DecodeTx(raw, &tx)
		var w wire.MsgTx
		werr := w.Deserialize(bytes.NewReader(raw))
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: ours %v, btcd %v", f.Name(), err, werr)
		}
		if err == nil {
			ntx++
			if n != len(raw) {
				t.Fatalf("%s: consumed %d of %d bytes", f.Name(), n, len(raw))
			}
			if d := diffTx(&tx, &w); d != "" {
				t.Fatalf("%s: %s", f.Name(), d)
			}
		}
		for i, p := range v.Prevouts {
			// A prevout is a serialized output: value and script.
			out := mustHex(t, p)
			l, script, ok := splitVarint(out[min(8, len(out)):])
			if len(out) < 8 || !ok || l != uint64(len(script)) {
				t.Fatalf("%s prevout %d: bad serialized output %s", f.Name(), i, p)
			}
			nout++
			class, _ := ExtractAddrs(script, nil)
			classes[class]++
			if d := diffAddrs(script, &chaincfg.MainNetParams, div); d != "" {
				t.Fatalf("%s prevout %d: %s", f.Name(), i, d)
			}
		}
	}
	if classes[model.ScriptP2TR] == 0 {
		t.Fatal("no P2TR prevouts classified")
	}
	t.Logf("%d vectors, %d txs, %d prevouts; classes %v; deliberate differences %v", len(files), ntx, nout, classes, div)
}

// TestChainID pins the label chain id of each network: testnet3 shares
// "btc-testnet" with the other test networks, as package addrs has it.
func TestChainID(t *testing.T) {
	for net, want := range map[string]string{"mainnet": "btc", "testnet3": "btc-testnet", "signet": "btc-signet", "regtest": "btc-regtest", "simnet": "btc-simnet"} {
		if got := ChainID(net); got != want {
			t.Errorf("ChainID(%q) = %q, want %q", net, got, want)
		}
	}
}
