package incident

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels/importers"
)

// BuiltinActors returns the ids of the actors compiled into chaintrace
// (data/actors.yaml), read by the chaintrace-actors importer so that the
// registry and the label database agree on what an actor is.
func BuiltinActors(ctx context.Context) ([]string, error) {
	imp, err := importers.ByName("chaintrace-actors")
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	dss, err := imp.Import(ctx, importers.BuiltinActors)
	if err != nil {
		return nil, fmt.Errorf("incident: actors: %w", err)
	}
	var ids []string
	for _, ds := range dss {
		for _, a := range ds.Actors {
			ids = append(ids, a.ID)
		}
	}
	return ids, nil
}

var (
	idPattern     = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2})?-[a-z0-9]+(-[a-z0-9]+)*$`)
	nativePattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	evmTxPattern  = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)
	hexTxPattern  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	countryCode   = regexp.MustCompile(`^[A-Z]{2}$`)
)

// sumTolerance is how far, as a fraction of usd, the per-asset USD values
// may sum away from usd before the record must explain the difference
// with usd_alternatives.
const sumTolerance = 0.01

// Validate checks records against the format's rules and returns every
// violation as Errors (nil when there is none). actors are the actor ids
// an attribution may name.
//
// Validate also fills in date_precision from the date's form where it is
// missing. The rules:
//
//   - id: present, unique, a year (and month) then a lower-case slug, and
//     its year equal to the date's;
//   - status: empty or "draft";
//   - date: YYYY-MM-DD, YYYY-MM or YYYY, a real date no later than today;
//     date_precision, when given, matches the form;
//   - victim: a name and a type of VictimTypes; country two capital
//     letters;
//   - chains: ids known to package addrs or listed in OtherChains;
//   - vector of Vectors; attribution and each alternative: an actor of
//     actors, a confidence of Confidences and at least one source;
//   - sources: at least one; every source has an absolute http(s) URL and
//     a YYYY-MM-DD date when dated;
//   - amounts: an asset and a native amount that is a non-negative
//     decimal number; no USD value (usd, amounts, alternatives, frozen,
//     recovered) is negative; when every amount has a usd, their sum is
//     within 1% of usd unless usd_alternatives is given;
//   - addresses: a chain, a role of Roles, a source, and an address that
//     addrs.Normalize accepts on the chain, written in its normal form;
//   - transactions: a chain, a source and a hash of the chain's form
//     (0x and 64 hex digits on EVM chains, 64 hex digits otherwise).
func Validate(records []Record, actors []string) error {
	known := map[string]bool{}
	for _, a := range actors {
		known[a] = true
	}
	var errs Errors
	seen := map[string]Pos{}
	for i := range records {
		v := validator{r: &records[i], actors: known}
		v.check()
		if id := records[i].ID; id != "" {
			if p, dup := seen[id]; dup {
				v.fail([]any{"id"}, "duplicate id, first at %s", p)
			} else {
				seen[id] = records[i].Pos
			}
		}
		errs = append(errs, v.errs...)
	}
	if len(errs) == 0 {
		return nil
	}
	errs.sort()
	return errs
}

// validator collects the errors of one record.
type validator struct {
	r      *Record
	actors map[string]bool
	errs   Errors
}

// fail records an error at the line of the field at path.
func (v *validator) fail(path []any, format string, args ...any) {
	v.failErr(path, nil, format, args...)
}

func (v *validator) failErr(path []any, err error, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.r.Pos.File, Line: lineAt(v.r.node, path...), ID: v.r.ID,
		Msg: fmt.Sprintf(format, args...), Err: err})
}

func (v *validator) check() {
	r := v.r
	switch {
	case r.ID == "":
		v.fail([]any{"id"}, "lacks id")
	case !idPattern.MatchString(r.ID):
		v.fail([]any{"id"}, "id %q is not YEAR[-MONTH]-slug in lower case", r.ID)
	case len(r.Date) >= 4 && r.ID[:4] != r.Date[:4]:
		v.fail([]any{"id"}, "id %q does not start with the date's year %s", r.ID, r.Date[:4])
	}
	if r.Status != "" && r.Status != "draft" {
		v.fail([]any{"status"}, "status %q is not draft", r.Status)
	}
	v.checkDate()
	if r.Victim.Name == "" {
		v.fail([]any{"victim", "name"}, "lacks victim.name")
	}
	if !contains(VictimTypes, r.Victim.Type) {
		v.fail([]any{"victim", "type"}, "unknown victim type %q (want one of %s)", r.Victim.Type, strings.Join(VictimTypes, ", "))
	}
	if r.Victim.Country != "" && !countryCode.MatchString(r.Victim.Country) {
		v.fail([]any{"victim", "country"}, "country %q is not an ISO 3166-1 alpha-2 code", r.Victim.Country)
	}
	for i, c := range r.Chains {
		if !knownChain(c) {
			v.fail([]any{"chains", i}, "unknown chain %q", c)
		}
	}
	if !contains(Vectors, r.Vector) {
		v.fail([]any{"vector"}, "unknown vector %q (want one of %s)", r.Vector, strings.Join(Vectors, ", "))
	}
	if len(r.Sources) == 0 {
		v.fail([]any{"sources"}, "has no source")
	}
	v.checkSources([]any{"sources"}, r.Sources)
	v.checkAttribution([]any{"attribution"}, r.Attribution)
	for i, a := range r.Alternatives {
		v.checkAttribution([]any{"alternatives", i}, a)
	}
	v.checkAmounts()
	v.checkAddresses()
	v.checkTransactions()
}

func (v *validator) checkDate() {
	r := v.r
	var layout, prec string
	switch len(r.Date) {
	case 10:
		layout, prec = "2006-01-02", "day"
	case 7:
		layout, prec = "2006-01", "month"
	case 4:
		layout, prec = "2006", "year"
	}
	t, err := time.Parse(layout, r.Date)
	switch {
	case layout == "" || err != nil:
		v.fail([]any{"date"}, "date %q is not YYYY-MM-DD, YYYY-MM or YYYY", r.Date)
		return
	case t.After(time.Now()):
		v.fail([]any{"date"}, "date %s is in the future", r.Date)
	}
	if r.DatePrecision != "" && r.DatePrecision != prec {
		v.fail([]any{"date_precision"}, "date_precision %q does not match date %s (%s)", r.DatePrecision, r.Date, prec)
	}
	if r.DatePrecision == "" {
		r.DatePrecision = prec
	}
}

func (v *validator) checkAttribution(path []any, a Attribution) {
	if a.Actor == "" {
		v.fail(append(path, "actor"), "lacks attribution actor")
	} else if !v.actors[a.Actor] {
		v.fail(append(path, "actor"), "unknown actor %q (not in data/actors.yaml)", a.Actor)
	}
	if !contains(Confidences, a.Confidence) {
		v.fail(append(path, "confidence"), "unknown confidence %q (want one of %s)", a.Confidence, strings.Join(Confidences, ", "))
	}
	if len(a.Sources) == 0 {
		v.fail(append(path, "sources"), "attribution has no source")
	}
	v.checkSources(append(path, "sources"), a.Sources)
}

func (v *validator) checkSources(path []any, ss []Source) {
	for i, s := range ss {
		p := append(append([]any(nil), path...), i)
		if s.URL == "" {
			v.fail(p, "source %q has no url", s.Title)
		} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.fail(append(p, "url"), "source url %q is not an absolute http(s) URL", s.URL)
		}
		if s.Date != "" {
			if _, err := time.Parse("2006-01-02", s.Date); err != nil {
				v.fail(append(p, "date"), "source date %q is not YYYY-MM-DD", s.Date)
			}
		}
	}
}

func (v *validator) checkAmounts() {
	r := v.r
	negative := func(path []any, what string, x *float64) {
		if x != nil && (*x < 0 || math.IsNaN(*x) || math.IsInf(*x, 0)) {
			v.fail(path, "%s %v is negative or not a number", what, *x)
		}
	}
	negative([]any{"usd"}, "usd", r.USD)
	negative([]any{"frozen_usd"}, "frozen_usd", r.FrozenUSD)
	negative([]any{"recovered_usd"}, "recovered_usd", r.RecoveredUSD)
	sum, all := 0.0, len(r.Amounts) > 0
	for i, a := range r.Amounts {
		if a.Asset == "" {
			v.fail([]any{"amounts", i}, "amount lacks asset")
		}
		if !nativePattern.MatchString(a.Native) {
			v.fail([]any{"amounts", i, "native"}, "native amount %q of %s is not a decimal number", a.Native, a.Asset)
		}
		negative([]any{"amounts", i, "usd"}, "usd of "+a.Asset, a.USD)
		if a.USD == nil {
			all = false
		} else {
			sum += *a.USD
		}
	}
	for i, alt := range r.USDAlternatives {
		if alt.USD < 0 {
			v.fail([]any{"usd_alternatives", i, "usd"}, "alternative usd %v is negative", alt.USD)
		}
		if alt.Source == "" {
			v.fail([]any{"usd_alternatives", i}, "alternative usd %v has no source", alt.USD)
		}
	}
	if all && r.USD != nil && len(r.USDAlternatives) == 0 {
		total := *r.USD
		if math.Abs(sum-total) > sumTolerance*math.Max(total, 1) {
			v.fail([]any{"usd"}, "usd %.0f differs from the sum of the amounts' usd %.0f by more than 1%% and no usd_alternatives explain it", total, sum)
		}
	}
}

func (v *validator) checkAddresses() {
	for i := range v.r.Addresses {
		a := &v.r.Addresses[i]
		p := []any{"addresses", i}
		if !contains(Roles, a.Role) {
			v.fail(append(p, "role"), "unknown address role %q (want one of %s)", a.Role, strings.Join(Roles, ", "))
		}
		if a.Source == "" {
			v.fail(p, "address %s has no source", a.Address)
		}
		norm, err := addrs.Normalize(a.Chain, a.Address)
		switch {
		case err != nil:
			v.failErr(append(p, "address"), err, "invalid address")
		case norm != a.Address:
			v.fail(append(p, "address"), "address %s is not in normal form %s", a.Address, norm)
		}
	}
}

func (v *validator) checkTransactions() {
	for i, t := range v.r.Transactions {
		p := []any{"transactions", i}
		if !knownChain(t.Chain) {
			v.fail(append(p, "chain"), "unknown chain %q", t.Chain)
		}
		if t.Source == "" {
			v.fail(p, "transaction %s has no source", t.Hash)
		}
		ok := hexTxPattern.MatchString(t.Hash)
		if addrs.IsEVM(t.Chain) {
			ok = evmTxPattern.MatchString(t.Hash)
		}
		if !ok {
			v.fail(append(p, "hash"), "transaction hash %q is not a %s transaction hash", t.Hash, t.Chain)
		}
	}
}

func knownChain(c string) bool {
	return contains(addrs.Chains(), c) || contains(OtherChains, c)
}
