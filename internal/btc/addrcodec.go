package btc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"
)

// nonStandardPrefix starts the text form of AddrNonStandard keys.
const nonStandardPrefix = "nonstandard:"

// knownNets are the networks Network accepts, in the order error messages
// list them.
var knownNets = []*chaincfg.Params{
	&chaincfg.MainNetParams,
	&chaincfg.TestNet3Params,
	&chaincfg.SigNetParams,
	&chaincfg.RegressionNetParams,
	&chaincfg.SimNetParams,
}

// Network returns the parameters of a network by name: mainnet (or main,
// bitcoin), testnet3 (or testnet), signet, regtest or simnet. Case is
// ignored.
func Network(name string) (*chaincfg.Params, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "mainnet", "main", "bitcoin":
		return &chaincfg.MainNetParams, nil
	case "testnet", "testnet3":
		return &chaincfg.TestNet3Params, nil
	case "signet":
		return &chaincfg.SigNetParams, nil
	case "regtest":
		return &chaincfg.RegressionNetParams, nil
	case "simnet":
		return &chaincfg.SimNetParams, nil
	}
	return nil, fmt.Errorf("btc: unknown network %q (want mainnet, testnet3, signet, regtest or simnet)", name)
}

// NetworkName returns the canonical name of a network, as Network accepts
// it and model.Chain.Network records it: mainnet, testnet3, signet,
// regtest or simnet. Other parameters (a custom signet) return their own
// Name.
func NetworkName(p *chaincfg.Params) string {
	if p == nil {
		return ""
	}
	for _, k := range knownNets {
		if p.Net == k.Net && p.Bech32HRPSegwit == k.Bech32HRPSegwit {
			return k.Name
		}
	}
	return p.Name
}

// ChainID returns the chain id that labels, screening and traces use for a
// Bitcoin network (package addrs' ids): "btc" for mainnet, "btc-testnet"
// for testnet3 (addresses look alike on every test network), and
// "btc-<name>" for the others (btc-signet, btc-regtest, btc-simnet).
func ChainID(network string) string {
	switch network {
	case "mainnet":
		return "btc"
	case "testnet3":
		return "btc-testnet"
	}
	return "btc-" + network
}

// netsWhere returns the names of the known networks other than net that
// satisfy match, joined for an error message.
func netsWhere(net *chaincfg.Params, match func(*chaincfg.Params) bool) string {
	var names []string
	for _, k := range knownNets {
		if NetworkName(k) != NetworkName(net) && match(k) {
			names = append(names, k.Name)
		}
	}
	return strings.Join(names, "/")
}

// Encode returns the address in the text form of net (mainnet when nil):
// base58check with the network's version byte for AddrPKH and AddrSH,
// bech32 for segwit v0, bech32m for v1 and later, and "nonstandard:" with
// 40 hex digits for AddrNonStandard. It returns "" for the zero key.
func (k AddrKey) Encode(net *chaincfg.Params) string {
	if net == nil {
		net = &chaincfg.MainNetParams
	}
	switch k.kind {
	case AddrPKH:
		return base58.CheckEncode(k.payload[:20], net.PubKeyHashAddrID)
	case AddrSH:
		return base58.CheckEncode(k.payload[:20], net.ScriptHashAddrID)
	case AddrWPKH, AddrWSH:
		return segwitEncode(net.Bech32HRPSegwit, 0, k.payload[:k.n])
	case AddrTR:
		return segwitEncode(net.Bech32HRPSegwit, 1, k.payload[:k.n])
	case AddrWitnessUnknown:
		return segwitEncode(net.Bech32HRPSegwit, k.ver, k.payload[:k.n])
	case AddrNonStandard:
		return hexKey(k.payload[:20])
	}
	return ""
}

// segwitEncode encodes a witness program (BIP 173 and BIP 350).
func segwitEncode(hrp string, version byte, program []byte) string {
	// One 5-bit group for the version and ceil(8*len/5) for the program.
	var groups [1 + (8*maxWitnessProgram+4)/5]byte
	groups[0] = version
	n := 1
	var acc uint32
	var nbits uint
	for _, b := range program {
		acc = acc<<8 | uint32(b)
		nbits += 8
		for nbits >= 5 {
			nbits -= 5
			groups[n] = byte(acc>>nbits) & 31
			n++
		}
	}
	if nbits > 0 {
		groups[n] = byte(acc<<(5-nbits)) & 31
		n++
	}
	var s string
	var err error
	if version == 0 {
		s, err = bech32.Encode(hrp, groups[:n])
	} else {
		s, err = bech32.EncodeM(hrp, groups[:n])
	}
	if err != nil {
		// Unreachable: every group is below 32.
		return ""
	}
	return s
}

// addrErr builds an AddressError.
func addrErr(s string, cause error, format string, args ...any) *AddressError {
	return &AddressError{Addr: s, Err: cause, reason: fmt.Sprintf(format, args...)}
}

// ParseAddress parses an address of net (mainnet when nil) as Encode
// writes it and returns its key. Bech32 addresses are accepted in lower or
// upper case but not mixed. The checksum, the network, the witness version
// and checksum variant, and the payload length are all checked; errors are
// *AddressError values that name the input and wrap ErrInvalidAddress or
// ErrWrongNetwork.
func ParseAddress(s string, net *chaincfg.Params) (AddrKey, error) {
	if net == nil {
		net = &chaincfg.MainNetParams
	}
	if s == "" {
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "empty")
	}
	if rest, ok := strings.CutPrefix(s, nonStandardPrefix); ok {
		b, err := hex.DecodeString(rest)
		if err != nil || len(b) != 20 {
			return AddrKey{}, addrErr(s, ErrInvalidAddress, "want %q and 40 hex digits", nonStandardPrefix)
		}
		return makeKey(AddrNonStandard, 0, b), nil
	}
	// The data part of a bech32 string has no '1', so the last '1' ends
	// the human-readable part. A base58 string yields no known HRP.
	if i := strings.LastIndexByte(s, '1'); i > 0 {
		hrp := strings.ToLower(s[:i])
		if hrp == net.Bech32HRPSegwit || netsWhere(net, func(p *chaincfg.Params) bool {
			return p.Bech32HRPSegwit == hrp
		}) != "" {
			return parseSegwit(s, net)
		}
	}
	return parseBase58(s, net)
}

// parseSegwit parses a bech32 or bech32m witness address.
func parseSegwit(s string, net *chaincfg.Params) (AddrKey, error) {
	hrp, data, variant, err := bech32.DecodeGeneric(s)
	if err != nil {
		var mixed bech32.ErrMixedCase
		var sum bech32.ErrInvalidChecksum
		switch {
		case errors.As(err, &mixed):
			return AddrKey{}, addrErr(s, ErrInvalidAddress, "mixed upper and lower case")
		case errors.As(err, &sum):
			return AddrKey{}, addrErr(s, ErrInvalidAddress, "bad bech32 checksum")
		}
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "invalid bech32: %v", err)
	}
	if hrp != net.Bech32HRPSegwit {
		return AddrKey{}, addrErr(s, ErrWrongNetwork, "is a %s address, not %s",
			netsWhere(net, func(p *chaincfg.Params) bool { return p.Bech32HRPSegwit == hrp }), NetworkName(net))
	}
	if len(data) == 0 {
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "no witness version")
	}
	version := data[0]
	if version > 16 {
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "witness version %d above 16", version)
	}
	var program [maxWitnessProgram]byte
	n, ok := regroup5to8(data[1:], program[:])
	if !ok {
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "invalid witness program encoding")
	}
	if n < minWitnessProgram || n > maxWitnessProgram {
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "witness program of %d bytes, want %d..%d",
			n, minWitnessProgram, maxWitnessProgram)
	}
	switch {
	case version == 0 && variant != bech32.Version0:
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "segwit v0 address with a bech32m checksum")
	case version != 0 && variant != bech32.VersionM:
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "segwit v%d address with a bech32 checksum, want bech32m", version)
	}
	prog := program[:n]
	switch {
	case version == 0 && n == 20:
		return makeKey(AddrWPKH, 0, prog), nil
	case version == 0 && n == 32:
		return makeKey(AddrWSH, 0, prog), nil
	case version == 0:
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "segwit v0 program of %d bytes, want 20 or 32", n)
	case version == 1 && n == 32:
		return makeKey(AddrTR, 0, prog), nil
	}
	return makeKey(AddrWitnessUnknown, version, prog), nil
}

// regroup5to8 converts 5-bit groups to bytes in dst. It fails when dst is
// too small or the padding is longer than 4 bits or not zero (BIP 173).
func regroup5to8(groups []byte, dst []byte) (int, bool) {
	var acc uint32
	var nbits uint
	n := 0
	for _, g := range groups {
		if g > 31 {
			return 0, false
		}
		acc = acc<<5 | uint32(g)
		nbits += 5
		if nbits >= 8 {
			nbits -= 8
			if n == len(dst) {
				return 0, false
			}
			dst[n] = byte(acc >> nbits)
			n++
		}
	}
	if nbits >= 5 || acc&(1<<nbits-1) != 0 {
		return 0, false
	}
	return n, true
}

// parseBase58 parses a base58check P2PKH or P2SH address.
func parseBase58(s string, net *chaincfg.Params) (AddrKey, error) {
	payload, version, err := base58.CheckDecode(s)
	switch {
	case errors.Is(err, base58.ErrChecksum):
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "bad base58 checksum")
	case err != nil:
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "not a base58check or bech32 address")
	}
	if len(payload) != 20 {
		return AddrKey{}, addrErr(s, ErrInvalidAddress, "payload of %d bytes, want 20", len(payload))
	}
	switch version {
	case net.PubKeyHashAddrID:
		return makeKey(AddrPKH, 0, payload), nil
	case net.ScriptHashAddrID:
		return makeKey(AddrSH, 0, payload), nil
	}
	if other := netsWhere(net, func(p *chaincfg.Params) bool {
		return p.PubKeyHashAddrID == version || p.ScriptHashAddrID == version
	}); other != "" {
		return AddrKey{}, addrErr(s, ErrWrongNetwork, "is a %s address, not %s", other, NetworkName(net))
	}
	return AddrKey{}, addrErr(s, ErrInvalidAddress, "unknown version byte 0x%02x for %s", version, NetworkName(net))
}
