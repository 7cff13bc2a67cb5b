package importers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
)

// tokens are asset codes that are not a chain but a token issued on
// several chains: their chain is told by the address (addrs.Guess).
var tokens = setOf("USDT", "USDC", "DAI", "BUSD", "TUSD", "USDP", "WBTC", "WETH")

// chainFor resolves a currency or network code (BTC, XBT, ETH, USDT, ...)
// to a chain id for address. A token code takes the chain its address
// belongs to (tokenChain); an unknown code is an error "unknown currency
// CODE".
func chainFor(code, address string) (string, error) {
	code = strings.TrimSpace(code)
	if chain, ok := addrs.ChainOf(code); ok {
		return chain, nil
	}
	if tokens[strings.ToUpper(code)] {
		return tokenChain(code, address)
	}
	return "", fmt.Errorf("%w %s", errUnknownCurrency, code)
}

// errUnknownCurrency is the error of chainFor for a code it cannot
// resolve.
var errUnknownCurrency = errors.New("unknown currency")

// tokenChain returns the chain of an address listed under a token code.
// addrs.Guess reports an EVM address as "eth" and puts Bitcoin first
// among the chains sharing its formats, so its first answer is taken: a
// USDT address is an Ethereum, TRON or Bitcoin (Omni) one.
func tokenChain(code, address string) (string, error) {
	cands := addrs.Guess(address)
	if len(cands) == 0 {
		return "", fmt.Errorf("%s address %q belongs to no supported chain", code, strings.TrimSpace(address))
	}
	return cands[0], nil
}

// guessChain returns the chain of an address given without currency or
// chain: the one chain addrs.Guess finds for it, or an error when it
// finds none or several.
func guessChain(address string) (string, error) {
	cands := addrs.Guess(address)
	switch len(cands) {
	case 0:
		return "", fmt.Errorf("address %q belongs to no supported chain", strings.TrimSpace(address))
	case 1:
		return cands[0], nil
	}
	return "", fmt.Errorf("address %q fits several chains (%s); map a chain or currency", strings.TrimSpace(address), strings.Join(cands, ", "))
}

// normalize returns the normalised address on chain, or an error from
// package addrs (ErrInvalid, ErrUnknownChain) as the reason to reject it.
func normalize(chain, address string) (string, error) {
	return addrs.Normalize(chain, strings.TrimSpace(address))
}

// resolveAddress resolves code and normalises address on the resulting
// chain: the chain, the address and, when either fails, the reason.
func resolveAddress(code, address string) (chain, norm string, err error) {
	chain, err = chainFor(code, address)
	if err != nil {
		return "", "", err
	}
	norm, err = normalize(chain, address)
	if err != nil {
		return "", "", err
	}
	return chain, norm, nil
}

// caseIndex finds the original spelling of lower-cased addresses among
// addresses seen in other lists.
type caseIndex struct {
	byLower map[string][]string
}

// newCaseIndex returns an empty index.
func newCaseIndex() *caseIndex { return &caseIndex{byLower: make(map[string][]string)} }

// add records one spelling of an address.
func (c *caseIndex) add(address string) {
	k := strings.ToLower(address)
	if !slices.Contains(c.byLower[k], address) {
		c.byLower[k] = append(c.byLower[k], address)
	}
}

// addLabels records the addresses of ls.
func (c *caseIndex) addLabels(ls []labels.Label) {
	for i := range ls {
		if ls[i].Address != "" {
			c.add(ls[i].Address)
		}
	}
}

// lookup returns the known spellings of a lower-cased address; it is the
// known function of addrs.RecoverCase. A nil index knows none.
func (c *caseIndex) lookup(lower string) []string {
	if c == nil {
		return nil
	}
	return c.byLower[lower]
}

// recoverCase returns the normalised address on chain whose lower-case
// form is lowered, using the spellings known.
func recoverCase(chain, lowered string, known *caseIndex) (string, error) {
	return addrs.RecoverCase(chain, lowered, known.lookup)
}
