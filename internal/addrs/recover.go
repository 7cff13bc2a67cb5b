package addrs

import (
	"fmt"
	"strings"
)

// RecoverCase restores the letter case of an address that a source
// published in lower case, which breaks case-sensitive formats such as
// base58. known looks up correctly-cased addresses by their lower-case
// form (it is called with strings.ToLower of the trimmed input); the
// caller builds it from other lists. It may be nil.
//
// The candidates are the addresses known returns whose lower-case form is
// the input's and which are valid for chain, plus the input itself when it
// is valid as given (lowering changes nothing in an address of digits and
// lower-case letters, and in case-insensitive formats such as EVM and
// bech32 it is harmless). For Solana, whose addresses have no checksum,
// the input counts as a candidate only when it holds no lower-case letter
// or some upper-case one, since a lowered Solana address often still has a
// valid shape. Candidates are compared in normalised form.
//
// RecoverCase returns the single candidate, normalised. With none it
// returns an *Error wrapping ErrInvalid; with several, one wrapping
// ErrAmbiguous that lists them. An unsupported chain gives ErrUnknownChain.
func RecoverCase(chain, lowered string, known func(lower string) []string) (string, error) {
	s := trim(lowered)
	c, ok := lookup(chain)
	if !ok {
		return "", &Error{Chain: chain, Input: s, Reason: "unknown chain", Err: ErrUnknownChain}
	}
	var cands []string
	asIs, asIsErr := c.check(s)
	if asIsErr == nil && (!c.unchecked || !plausiblyLowered(s)) {
		cands = append(cands, asIs)
	}
	if known != nil && s != "" {
		key := strings.ToLower(s)
		for _, k := range known(key) {
			k = trim(k)
			if strings.ToLower(k) != key {
				continue
			}
			if out, err := c.check(k); err == nil && !contains(cands, out) {
				cands = append(cands, out)
			}
		}
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		reason := "no known address matches it ignoring case"
		switch {
		case asIsErr != nil:
			reason = asIsErr.Error() + ", and " + reason
		case c.unchecked:
			reason = c.id + " addresses have no checksum, so the case of a lower-case one cannot be verified, and " + reason
		}
		return "", &Error{Chain: c.id, Input: s, Reason: reason, Err: ErrInvalid}
	}
	return "", &Error{Chain: c.id, Input: s, Err: ErrAmbiguous,
		Reason: fmt.Sprintf("%d addresses match it ignoring case: %s", len(cands), strings.Join(cands, ", "))}
}

// plausiblyLowered reports whether s could be the result of lower-casing
// an address: it has a lower-case letter and no upper-case one.
func plausiblyLowered(s string) bool {
	lower := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			return false
		case c >= 'a' && c <= 'z':
			lower = true
		}
	}
	return lower
}
