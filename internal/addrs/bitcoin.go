package addrs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
)

// family describes a Bitcoin-derived chain: base58check P2PKH and P2SH
// addresses and, for some chains, bech32 segwit addresses.
type family struct {
	chain string
	b58   b58Spec
	// params carry the segwit human-readable part for btc.ParseAddress,
	// which checks segwit addresses (and, on Bitcoin networks, all
	// addresses); nil when the chain has no segwit addresses.
	params *chaincfg.Params
}

// bitcoinVersions returns the base58check versions of a Bitcoin network.
func bitcoinVersions(p *chaincfg.Params) []b58Version {
	return []b58Version{
		{prefix: string([]byte{p.PubKeyHashAddrID}), payload: 20, kind: "P2PKH"},
		{prefix: string([]byte{p.ScriptHashAddrID}), payload: 20, kind: "P2SH"},
	}
}

// version returns a one-byte b58Version with a 20-byte payload.
func version(b byte, kind string) b58Version {
	return b58Version{prefix: string([]byte{b}), payload: 20, kind: kind}
}

// Network parameters for segwit addresses outside Bitcoin. btc.ParseAddress
// reads only their human-readable part and, in messages, their name.
var (
	litecoinParams    = chaincfg.Params{Name: "litecoin", Bech32HRPSegwit: "ltc"}
	bitcoinGoldParams = chaincfg.Params{Name: "bitcoin gold", Bech32HRPSegwit: "btg"}
)

// The Bitcoin networks and the Bitcoin-derived chains.
var (
	btcMain = bitcoinFamily("btc", &chaincfg.MainNetParams)

	bsvFamily = &family{chain: "bsv", b58: b58Spec{bitcoinAlphabet, bitcoinVersions(&chaincfg.MainNetParams)}}
	ltcFamily = &family{chain: "ltc", params: &litecoinParams, b58: b58Spec{bitcoinAlphabet, []b58Version{
		version(0x30, "P2PKH"), version(0x32, "P2SH"), version(0x05, "P2SH, legacy"),
	}}}
	dogeFamily = &family{chain: "doge", b58: b58Spec{bitcoinAlphabet, []b58Version{
		version(0x1e, "P2PKH"), version(0x16, "P2SH"),
	}}}
	dashFamily = &family{chain: "dash", b58: b58Spec{bitcoinAlphabet, []b58Version{
		version(0x4c, "P2PKH"), version(0x10, "P2SH"),
	}}}
	btgFamily = &family{chain: "btg", params: &bitcoinGoldParams, b58: b58Spec{bitcoinAlphabet, []b58Version{
		version(0x26, "P2PKH"), version(0x17, "P2SH"),
	}}}
	xvgFamily = &family{chain: "xvg", b58: b58Spec{bitcoinAlphabet, []b58Version{
		version(0x1e, "P2PKH"), version(0x21, "P2SH"),
	}}}
)

// bitcoinFamily returns the family of a Bitcoin network.
func bitcoinFamily(chain string, p *chaincfg.Params) *family {
	return &family{chain: chain, params: p, b58: b58Spec{bitcoinAlphabet, bitcoinVersions(p)}}
}

// segwitHRPs names the owners of the segwit human-readable parts that
// Bitcoin-family validators recognise, for wrong-network messages.
var segwitHRPs = map[string]string{
	"bc":      "btc",
	"tb":      "btc-testnet and btc-signet",
	"bcrt":    "btc-regtest",
	"sb":      "Bitcoin simnet",
	"ltc":     "ltc",
	"tltc":    "Litecoin testnet",
	"rltc":    "Litecoin regtest",
	"ltcmweb": "Litecoin MWEB, which is not supported",
	"btg":     "btg",
	"tbtg":    "Bitcoin Gold testnet",
}

// segwitHRP returns the lower-cased human-readable part of s and whether
// it is one of segwitHRPs. The part ends at the last '1', which bech32
// data never contains.
func segwitHRP(s string) (string, bool) {
	i := strings.LastIndexByte(s, '1')
	if i <= 0 || i > len("ltcmweb") {
		return "", false
	}
	hrp := asciiLower(s[:i])
	_, ok := segwitHRPs[hrp]
	return hrp, ok
}

// wrongHRP returns the error for a segwit address of another network.
func (f *family) wrongHRP(hrp string) error {
	if f.params == nil {
		return fmt.Errorf("bech32 prefix %q is for %s; %s has no segwit addresses", hrp, segwitHRPs[hrp], f.chain)
	}
	return fmt.Errorf("bech32 prefix %q is for %s, want %q", hrp, segwitHRPs[hrp], f.params.Bech32HRPSegwit)
}

// btcReason returns the reason of an error from btc.ParseAddress without
// its "btc: address ...:" preamble, which Error repeats.
func btcReason(s string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "btc: address "+strconv.Quote(s)+": ")
	return errors.New(msg)
}

// parseSegwit checks a segwit address with btc.ParseAddress and returns it
// in lower case.
func (f *family) parseSegwit(s string) (string, error) {
	if _, err := btc.ParseAddress(s, f.params); err != nil {
		return "", btcReason(s, err)
	}
	// A valid bech32 string is canonical up to case: re-encoding would
	// only spend time to produce its lower-case form.
	return strings.ToLower(s), nil
}

// normalize validates an address of a Bitcoin-derived chain other than
// Bitcoin: base58check addresses are returned as they are, segwit
// addresses in lower case.
func (f *family) normalize(s string) (string, error) {
	if hrp, ok := segwitHRP(s); ok {
		if f.params == nil || hrp != f.params.Bech32HRPSegwit {
			return "", f.wrongHRP(hrp)
		}
		return f.parseSegwit(s)
	}
	if _, err := f.b58.check(s); err != nil {
		return "", err
	}
	return s, nil
}

// btcNormalizer returns the validator of a Bitcoin network. btc.ParseAddress
// decides validity; when it rejects a base58 string for a reason other
// than the network, the family's own check is asked for a more precise
// reason (the position of a bad character, the decoded length).
func btcNormalizer(f *family) func(string) (string, error) {
	return func(s string) (string, error) {
		if strings.HasPrefix(s, "nonstandard:") {
			return "", errors.New("a chaintrace pseudo-address of a script, not an address")
		}
		hrp, segwit := segwitHRP(s)
		if segwit && hrp != f.params.Bech32HRPSegwit {
			return "", f.wrongHRP(hrp)
		}
		_, err := btc.ParseAddress(s, f.params)
		switch {
		case err == nil && segwit:
			// A valid bech32 string is canonical up to case.
			return strings.ToLower(s), nil
		case err == nil:
			// Base58 is a one-to-one encoding: s is already canonical.
			return s, nil
		case !segwit && !errors.Is(err, btc.ErrWrongNetwork):
			if _, err := f.b58.check(s); err != nil {
				return "", err
			}
		}
		return "", btcReason(s, err)
	}
}

// normBCH validates a Bitcoin Cash address: legacy base58check (starting
// with 1 or 3, checked as Bitcoin's and returned as is) or CashAddr.
func normBCH(s string) (string, error) {
	if s[0] == '1' || s[0] == '3' {
		if _, err := btcMain.b58.check(s); err != nil {
			return "", err
		}
		return s, nil
	}
	return normCashAddr(s)
}
