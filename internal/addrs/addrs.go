// Package addrs validates and normalises addresses of many chains for the
// label and sanctions database. Importers call Normalize on every address a
// source names before storing it, and screening calls it on user input
// before a look-up, so that one address has one stored form.
//
// Chains are named by chaintrace chain ids in lower case ("btc", "eth",
// "trx", ...); ChainOf maps the currency and network codes that sources use
// to them, and Guess tells which chains an address of unknown chain fits.
// Every validator checks what the chain's format lets it check: base58check
// and bech32 checksums, CashAddr's polymod, EIP-55 mixed-case checksums,
// Monero's Keccak checksum, version bytes and payload lengths. Failures are
// *Error values naming the chain, the input and the reason.
package addrs

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chaintrace/chaintrace/internal/btc"
)

// ErrUnknownChain is wrapped by the *Error returned for a chain id that is
// not supported. Importers report such rows as rejected, not as fatal.
var ErrUnknownChain = errors.New("addrs: unknown chain")

// ErrInvalid is wrapped by the *Error returned for an address that is not
// valid for its chain.
var ErrInvalid = errors.New("addrs: invalid address")

// ErrAmbiguous is wrapped by the *Error that RecoverCase returns when more
// than one address fits a lower-cased input. errors.Is also reports such an
// error as ErrInvalid, since the input is not usable as given.
var ErrAmbiguous = errors.New("addrs: ambiguous address")

// Error reports an address that cannot be normalised.
type Error struct {
	// Chain is the chain id the address was checked against.
	Chain string
	// Input is the address as given, less surrounding white space.
	Input string
	// Reason says what is wrong, e.g. "bad base58check checksum" or
	// "invalid character 'O' at position 7". Positions count characters
	// from 1 in Input.
	Reason string
	// Err is ErrInvalid, ErrUnknownChain or ErrAmbiguous.
	Err error
}

// maxShownInput is how many characters of the input Error shows.
const maxShownInput = 100

// Error formats the error as in
// `addrs: invalid eth address "0xAbc…": bad EIP-55 checksum`. Inputs longer
// than 100 characters are cut short with an ellipsis.
func (e *Error) Error() string {
	in := e.Input
	if utf8.RuneCountInString(in) > maxShownInput {
		n := 0
		for i := range in {
			if n == maxShownInput {
				in = in[:i] + "…"
				break
			}
			n++
		}
	}
	quoted := strconv.Quote(in)
	switch e.Err {
	case ErrUnknownChain:
		return "addrs: unknown chain " + strconv.Quote(e.Chain) + " for address " + quoted
	case ErrAmbiguous:
		return "addrs: ambiguous " + e.Chain + " address " + quoted + ": " + e.Reason
	}
	return "addrs: invalid " + e.Chain + " address " + quoted + ": " + e.Reason
}

// Unwrap returns the cause: ErrInvalid, ErrUnknownChain or ErrAmbiguous.
func (e *Error) Unwrap() error { return e.Err }

// Is reports an ambiguity as ErrInvalid too, so that callers who reject
// invalid rows reject ambiguous ones with a single test.
func (e *Error) Is(target error) bool {
	return target == ErrInvalid && e.Err == ErrAmbiguous
}

// maxInput bounds the length of an input in bytes. The longest addresses
// supported, Zcash unified addresses, stay well below it.
const maxInput = 1024

// chainInfo describes how one chain's addresses are checked.
type chainInfo struct {
	id string
	// norm validates a trimmed, non-empty input of at most maxInput bytes
	// and returns its canonical form, or an error whose text is the reason.
	norm func(s string) (string, error)
	// evm marks chains with Ethereum's address format.
	evm bool
	// unchecked marks formats without a checksum, where a string of the
	// right shape proves nothing about its letter case (Solana).
	unchecked bool
	// testnet marks test networks, which Guess does not report.
	testnet bool
}

// evmChains are the EVM chains supported, Ethereum first. They share one
// address format.
var evmChains = []string{
	"eth", "etc", "bsc", "arb", "polygon", "avax", "optimism", "base",
	"ftm", "gnosis", "linea", "zksync", "scroll", "blast", "mantle", "celo",
}

// chains holds every supported chain by id. It is filled in init and read
// only afterwards.
var chains = map[string]*chainInfo{}

// guessOrder lists the chains Guess tries, in the order it reports them.
var guessOrder []*chainInfo

// chainIDs is the sorted list of supported chain ids.
var chainIDs []string

func init() {
	add := func(c *chainInfo) {
		chains[c.id] = c
		if !c.testnet && (!c.evm || c.id == "eth") {
			guessOrder = append(guessOrder, c)
		}
	}
	add(&chainInfo{id: "btc", norm: btcNormalizer(btcMain)})
	// Test networks take their parameters from package btc. Addresses
	// are alike on testnet3, testnet4 and signet, so "btc-testnet" also
	// serves testnet4.
	for _, name := range []string{"testnet", "signet", "regtest"} {
		if p, err := btc.Network(name); err == nil {
			id := "btc-" + name
			add(&chainInfo{id: id, norm: btcNormalizer(bitcoinFamily(id, p)), testnet: true})
		}
	}
	add(&chainInfo{id: "bch", norm: normBCH})
	add(&chainInfo{id: "bsv", norm: bsvFamily.normalize})
	add(&chainInfo{id: "ltc", norm: ltcFamily.normalize})
	add(&chainInfo{id: "doge", norm: dogeFamily.normalize})
	add(&chainInfo{id: "dash", norm: dashFamily.normalize})
	add(&chainInfo{id: "btg", norm: btgFamily.normalize})
	add(&chainInfo{id: "xvg", norm: xvgFamily.normalize})
	add(&chainInfo{id: "zec", norm: normZEC})
	add(&chainInfo{id: "trx", norm: normTRX})
	add(&chainInfo{id: "xrp", norm: normXRP})
	add(&chainInfo{id: "xmr", norm: normXMR})
	add(&chainInfo{id: "sol", norm: normSOL, unchecked: true})
	add(&chainInfo{id: "bnb-beacon", norm: normBNBBeacon})
	for _, id := range evmChains {
		add(&chainInfo{id: id, norm: normEVM, evm: true})
	}
	for id := range chains {
		chainIDs = append(chainIDs, id)
	}
	sort.Strings(chainIDs)
	for _, id := range chainIDs {
		if k := codeKey(id); currencyChains[k] == "" {
			currencyChains[k] = id
		}
	}
}

// Chains returns the ids of the supported chains, sorted. The slice is the
// caller's to keep.
func Chains() []string {
	return append([]string(nil), chainIDs...)
}

// IsEVM reports whether chain is a supported EVM chain (eth, etc, bsc, arb,
// polygon, avax, optimism, base, ...), whose addresses are 20-byte hex
// strings with EIP-55 checksums. The chain id is matched as Normalize
// matches it.
func IsEVM(chain string) bool {
	c, ok := lookup(chain)
	return ok && c.evm
}

// lookup finds a chain by id, ignoring case and surrounding spaces.
func lookup(chain string) (*chainInfo, bool) {
	if c, ok := chains[chain]; ok {
		return c, true
	}
	c, ok := chains[strings.ToLower(strings.TrimSpace(chain))]
	return c, ok
}

// isTrimmed reports whether r is removed from both ends of an input: white
// space, the byte-order mark and the zero-width space that spreadsheets and
// web pages leave around copied addresses.
func isTrimmed(r rune) bool {
	return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b'
}

// trim removes the characters isTrimmed matches from both ends of s.
func trim(s string) string {
	if s != "" && s[0] > ' ' && s[0] < utf8.RuneSelf && s[len(s)-1] > ' ' && s[len(s)-1] < utf8.RuneSelf {
		return s
	}
	return strings.TrimFunc(s, isTrimmed)
}

// check runs c's validator on the trimmed s after the checks common to all
// chains, returning the canonical form or the reason it is invalid.
func (c *chainInfo) check(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("empty")
	case len(s) > maxInput:
		return "", errors.New("too long (" + strconv.Itoa(len(s)) + " bytes)")
	}
	return c.norm(s)
}

// Normalize validates s as an address of chain and returns its canonical
// form. White space around s is ignored; the chain id is matched ignoring
// case. Canonical forms are:
//
//   - Bitcoin-family base58check (btc, ltc, bch legacy, bsv, doge, dash,
//     btg, xvg, zec transparent and Sprout), TRON, Ripple, Monero and
//     Solana base58: the input as is, since base58 is case-sensitive;
//   - bech32 and bech32m (btc, ltc and btg segwit, zec Sapling, unified
//     and TEX, bnb-beacon): lower case; upper-case input is accepted,
//     mixed case is not;
//   - Bitcoin Cash CashAddr: lower case with the "bitcoincash:" prefix,
//     which may be missing from the input; token-aware types are written
//     as the plain P2PKH or P2SH type they lock to;
//   - EVM chains: "0x" and the EIP-55 checksummed hex. Input may be all
//     lower or all upper case after the prefix, or mixed case with a
//     correct EIP-55 checksum; mixed case with a wrong one is an error;
//   - TRON: base58check with version 0x41; the hex form "41" followed by
//     40 hex digits is converted to it.
//
// Errors are *Error values wrapping ErrUnknownChain when chain is not
// supported and ErrInvalid otherwise; when s is valid on other chains the
// reason says so, as in "... (valid as trx)". A canonical form normalises
// to itself.
func Normalize(chain, s string) (string, error) {
	s = trim(s)
	c, ok := lookup(chain)
	if !ok {
		return "", &Error{Chain: chain, Input: s, Reason: "unknown chain", Err: ErrUnknownChain}
	}
	out, err := c.check(s)
	if err != nil {
		reason := err.Error()
		if others := guess(s, c); len(others) > 0 {
			reason += " (valid as " + strings.Join(others, ", ") + ")"
		} else if isHash(s) {
			reason += " (64 hex digits: a transaction hash or key, not an address)"
		}
		return "", &Error{Chain: c.id, Input: s, Reason: reason, Err: ErrInvalid}
	}
	return out, nil
}

// Guess returns the mainnet chains on which s (less surrounding white
// space) is a valid address, in a fixed order: Bitcoin-family chains
// first, then zec, trx, xrp, xmr, sol, bnb-beacon and "eth". The EVM
// chains share one format, so an EVM address is reported once, as "eth";
// callers that know the network (a token on BSC, say) should use that
// chain instead. Some formats are shared by several chains: a Bitcoin
// P2PKH address yields btc, bch and bsv, a Dogecoin one doge and xvg.
// Guess returns nil when s fits no chain. It serves sources that name a
// token rather than a chain, such as OFAC's "USDT" and "USDC" entries,
// which list Ethereum, TRON and Bitcoin (Omni) addresses.
func Guess(s string) []string {
	return guess(trim(s), nil)
}

// guess returns the ids of the chains in guessOrder other than except on
// which the trimmed s is valid. An EVM except leaves out "eth" too.
func guess(s string, except *chainInfo) []string {
	if s == "" || len(s) > maxInput {
		return nil
	}
	var out []string
	for _, c := range guessOrder {
		if c == except || (c.evm && except != nil && except.evm) {
			continue
		}
		if _, err := c.norm(s); err == nil {
			out = append(out, c.id)
		}
	}
	return out
}

// isHash reports whether s is 64 hex digits, with or without "0x": the
// shape of transaction hashes and keys, which sources sometimes list as
// addresses.
func isHash(s string) bool {
	if len(s) == 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if hexValue[s[i]] < 0 {
			return false
		}
	}
	return true
}

// currencyChains maps currency and network codes, upper-cased and without
// spaces, hyphens and underscores, to chain ids.
var currencyChains = map[string]string{
	"BTC": "btc", "XBT": "btc", "BITCOIN": "btc",
	"ETH": "eth", "ETHER": "eth", "ETHEREUM": "eth", "ERC20": "eth",
	"LTC": "ltc", "LITECOIN": "ltc",
	"BCH": "bch", "BITCOINCASH": "bch",
	"BSV": "bsv", "BITCOINSV": "bsv",
	"BTG": "btg", "BITCOINGOLD": "btg",
	"ZEC": "zec", "ZCASH": "zec",
	"TRX": "trx", "TRON": "trx", "TRC20": "trx",
	"XMR": "xmr", "MONERO": "xmr",
	"DASH": "dash",
	"ETC":  "etc", "ETHEREUMCLASSIC": "etc",
	"XRP": "xrp", "RIPPLE": "xrp",
	"XVG": "xvg", "VERGE": "xvg",
	"DOGE": "doge", "DOGECOIN": "doge",
	"BSC": "bsc", "BNB": "bsc", "BEP20": "bsc", "BNBSMARTCHAIN": "bsc", "BINANCESMARTCHAIN": "bsc",
	"BEP2": "bnb-beacon", "BINANCECHAIN": "bnb-beacon", "BNBBEACONCHAIN": "bnb-beacon",
	"ARB": "arb", "ARBITRUM": "arb", "ARBITRUMONE": "arb",
	"MATIC": "polygon", "POL": "polygon", "POLYGON": "polygon",
	"AVAX": "avax", "AVALANCHE": "avax", "AVAXC": "avax",
	"OP": "optimism", "OPTIMISM": "optimism",
	"BASE": "base",
	"SOL":  "sol", "SOLANA": "sol",
	"FTM": "ftm", "FANTOM": "ftm",
	"GNOSIS": "gnosis", "XDAI": "gnosis",
	"LINEA":  "linea",
	"ZKSYNC": "zksync", "ZKSYNCERA": "zksync",
	"SCROLL": "scroll",
	"BLAST":  "blast",
	"MNT":    "mantle", "MANTLE": "mantle",
	"CELO": "celo",
}

// ChainOf maps a currency or network code used by label sources to a chain
// id: BTC and XBT to btc, ETH and ERC20 to eth, TRX and TRC20 to trx, BSC,
// BNB and BEP20 to bsc, MATIC, POL and Polygon to polygon, OP to optimism,
// and so on; chain ids map to themselves. Case, spaces, hyphens and
// underscores are ignored ("bep-20", "Bitcoin Cash"). Token codes such as
// USDT and USDC name no chain and yield ok == false: use Guess on the
// address for them.
func ChainOf(currency string) (chain string, ok bool) {
	chain, ok = currencyChains[codeKey(currency)]
	return chain, ok
}

// codeKey upper-cases a currency code and drops spaces, hyphens and
// underscores from it.
func codeKey(code string) string {
	var b strings.Builder
	b.Grow(len(code))
	for _, r := range code {
		switch {
		case r == '-' || r == '_' || isTrimmed(r):
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
