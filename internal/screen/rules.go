package screen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/labels"
	"gopkg.in/yaml.v3"
)

// Level is a risk rating. Levels are ordered: Low < Medium < High < Severe.
type Level uint8

// Risk levels.
const (
	Low Level = iota
	Medium
	High
	Severe
)

var levelNames = [...]string{Low: "LOW", Medium: "MEDIUM", High: "HIGH", Severe: "SEVERE"}

// String returns the upper-case name of the level.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// MarshalText encodes the level as its name.
func (l Level) MarshalText() ([]byte, error) {
	if int(l) >= len(levelNames) {
		return nil, fmt.Errorf("screen: invalid risk level %d", uint8(l))
	}
	return []byte(levelNames[l]), nil
}

// UnmarshalText parses a level name in any case.
func (l *Level) UnmarshalText(b []byte) error {
	for i, n := range levelNames {
		if strings.EqualFold(n, string(b)) {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("screen: unknown risk level %q (want LOW, MEDIUM, HIGH or SEVERE)", b)
}

// Risk is the rating of a screened address and the rule that set it.
type Risk struct {
	Level Level `json:"level"`
	// Rule names the highest-rated rule that matched (the first such rule
	// in Rules order); empty when none did.
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason"`
	// Matched lists every rule that matched, in Rules order.
	Matched []string `json:"matched,omitempty"`
}

// Rules decide the risk level. Every matching rule proposes its Level and
// the highest wins; an address no rule matches is LOW. Rules load from
// JSON or YAML (LoadRules, ParseRules) with the field names of the json
// tags, levels by name.
type Rules struct {
	Identification []IdentificationRule `json:"identification" yaml:"identification"`
	Exposure       []ExposureRule       `json:"exposure" yaml:"exposure"`
}

// IdentificationRule matches an active label of the screened address
// itself. Each non-empty criterion must hold (lists match any member) and
// at least one list must be given.
type IdentificationRule struct {
	Name string `json:"name" yaml:"name"`
	// Abuse lists abuse ids (sanction, hack, ...); Categories category ids
	// (mixing_service, ...).
	Abuse      []string `json:"abuse,omitempty" yaml:"abuse,omitempty"`
	Categories []string `json:"categories,omitempty" yaml:"categories,omitempty"`
	// Actors lists actor ids; a label matches when its actor or that
	// actor's root is listed, so "lazarusgroup" covers its sub-groups.
	Actors []string `json:"actors,omitempty" yaml:"actors,omitempty"`
	// MinConfidence is the lowest label confidence level (0-100) counted.
	MinConfidence int   `json:"min_confidence,omitempty" yaml:"min_confidence,omitempty"`
	Level         Level `json:"level" yaml:"level"`
}

// Scope says which exposure an ExposureRule reads.
type Scope string

// Exposure scopes.
const (
	// Direct reads Exposure.Direct: value the address exchanged with
	// labelled counterparties, its share being of all value it sent and
	// received.
	Direct Scope = "direct"
	// Indirect reads Exposure.Indirect: value traced to labelled sources
	// within the screened number of hops, its share being of all value
	// the address received.
	Indirect Scope = "indirect"
)

// ExposureRule matches exposure to any of Classes (abuse or category ids,
// as in Exposure) in its Scope at or above both thresholds. Exposure of
// zero value never matches.
type ExposureRule struct {
	Name    string   `json:"name" yaml:"name"`
	Scope   Scope    `json:"scope" yaml:"scope"`
	Classes []string `json:"classes" yaml:"classes"`
	// MinPercent is the lowest share in percent (0-100) that matches.
	MinPercent float64 `json:"min_percent,omitempty" yaml:"min_percent,omitempty"`
	// MinValue is the lowest value in the chain's base unit that matches.
	MinValue int64 `json:"min_value,omitempty" yaml:"min_value,omitempty"`
	Level    Level `json:"level" yaml:"level"`
}

// DefaultRules returns the shipped rules:
//
//	identification sanctioned     abuse sanction                          SEVERE
//	identification illicit        abuse hacking and its kinds (service_hack,
//	                              account_hack, exploit, ...), ransomware,
//	                              terrorism, terrorism_financing          HIGH
//	identification fraud          abuse scam, phishing, ponzi_scheme,
//	                              sextortion, extortion                   HIGH
//	identification mixer          category mixing_service                 HIGH
//	direct   sanctions-counterparty  sanction, any value                 HIGH
//	indirect sanctions-high       sanction >= 10% of value received       HIGH
//	indirect sanctions-medium     sanction >= 1%                          MEDIUM
//	indirect illicit-high         the illicit abuse ids >= 10%            HIGH
//	indirect illicit-medium       same classes >= 1%                      MEDIUM
//	indirect mixer-medium         mixing_service >= 20%                   MEDIUM
//
// A direct identification outranks exposure: only a label on the address
// itself is SEVERE, and any exchange with a sanctioned counterparty is at
// least HIGH whatever its share.
func DefaultRules() Rules {
	// The abuse ids are the GraphSense concepts under hacking, plus
	// ransomware and terrorism; "hack" is kept for labels written before
	// the taxonomy had hacking.
	illicit := []string{"hacking", "service_hack", "account_hack", "exploit", "data_breach", "social_engineering", "malware",
		"hack", "ransomware", "terrorism", "terrorism_financing"}
	return Rules{
		Identification: []IdentificationRule{
			{Name: "sanctioned", Abuse: []string{"sanction"}, Level: Severe},
			{Name: "illicit", Abuse: illicit, Level: High},
			{Name: "fraud", Abuse: []string{"scam", "phishing", "ponzi_scheme", "sextortion", "extortion"}, Level: High},
			{Name: "mixer", Categories: []string{"mixing_service"}, Level: High},
		},
		Exposure: []ExposureRule{
			{Name: "sanctions-counterparty", Scope: Direct, Classes: []string{"sanction"}, MinValue: 1, Level: High},
			{Name: "sanctions-high", Scope: Indirect, Classes: []string{"sanction"}, MinPercent: 10, Level: High},
			{Name: "sanctions-medium", Scope: Indirect, Classes: []string{"sanction"}, MinPercent: 1, Level: Medium},
			{Name: "illicit-high", Scope: Indirect, Classes: illicit, MinPercent: 10, Level: High},
			{Name: "illicit-medium", Scope: Indirect, Classes: illicit, MinPercent: 1, Level: Medium},
			{Name: "mixer-medium", Scope: Indirect, Classes: []string{"mixing_service"}, MinPercent: 20, Level: Medium},
		},
	}
}

// Validate checks that every rule is named (uniquely), has a valid level,
// a criterion, and in-range thresholds.
func (r Rules) Validate() error {
	seen := map[string]bool{}
	name := func(n string) error {
		if strings.TrimSpace(n) == "" {
			return errors.New("screen: rule without a name")
		}
		if seen[n] {
			return fmt.Errorf("screen: rule name %q used twice", n)
		}
		seen[n] = true
		return nil
	}
	for _, ir := range r.Identification {
		if err := name(ir.Name); err != nil {
			return err
		}
		if ir.Level > Severe {
			return fmt.Errorf("screen: rule %q: invalid level %d", ir.Name, ir.Level)
		}
		if len(ir.Abuse)+len(ir.Categories)+len(ir.Actors) == 0 {
			return fmt.Errorf("screen: rule %q matches every label: give abuse, categories or actors", ir.Name)
		}
		if ir.MinConfidence < 0 || ir.MinConfidence > 100 {
			return fmt.Errorf("screen: rule %q: min_confidence %d is outside 0..100", ir.Name, ir.MinConfidence)
		}
	}
	for _, er := range r.Exposure {
		if err := name(er.Name); err != nil {
			return err
		}
		if er.Level > Severe {
			return fmt.Errorf("screen: rule %q: invalid level %d", er.Name, er.Level)
		}
		if er.Scope != Direct && er.Scope != Indirect {
			return fmt.Errorf("screen: rule %q: scope %q is neither %q nor %q", er.Name, er.Scope, Direct, Indirect)
		}
		if len(er.Classes) == 0 {
			return fmt.Errorf("screen: rule %q has no classes", er.Name)
		}
		if math.IsNaN(er.MinPercent) || er.MinPercent < 0 || er.MinPercent > 100 {
			return fmt.Errorf("screen: rule %q: min_percent %v is outside 0..100", er.Name, er.MinPercent)
		}
		if er.MinValue < 0 {
			return fmt.Errorf("screen: rule %q: negative min_value", er.Name)
		}
	}
	return nil
}

// LoadRules reads rules from a file: YAML for .yaml and .yml, JSON
// otherwise.
func LoadRules(path string) (Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, fmt.Errorf("screen: %w", err)
	}
	format := "json"
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
		format = "yaml"
	}
	r, err := ParseRules(data, format)
	if err != nil {
		return Rules{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return r, nil
}

// ParseRules decodes and validates rules in format "json" or "yaml".
// Unknown fields are errors, so a misspelt threshold is not silently
// ignored.
func ParseRules(data []byte, format string) (Rules, error) {
	var r Rules
	switch format {
	case "json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return Rules{}, fmt.Errorf("screen: rules: %w", err)
		}
	case "yaml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&r); err != nil {
			return Rules{}, fmt.Errorf("screen: rules: %w", err)
		}
	default:
		return Rules{}, fmt.Errorf("screen: unknown rules format %q (want json or yaml)", format)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

func (r Rules) clone() Rules {
	out := Rules{
		Identification: slices.Clone(r.Identification),
		Exposure:       slices.Clone(r.Exposure),
	}
	for i := range out.Identification {
		ir := &out.Identification[i]
		ir.Abuse, ir.Categories, ir.Actors = slices.Clone(ir.Abuse), slices.Clone(ir.Categories), slices.Clone(ir.Actors)
	}
	for i := range out.Exposure {
		out.Exposure[i].Classes = slices.Clone(out.Exposure[i].Classes)
	}
	return out
}

func (ir *IdentificationRule) match(ix *labels.Index, l *labels.Label) bool {
	if l.ConfidenceLevel < ir.MinConfidence {
		return false
	}
	if len(ir.Abuse) > 0 && !slices.Contains(ir.Abuse, l.Abuse) {
		return false
	}
	if len(ir.Categories) > 0 && !slices.Contains(ir.Categories, l.Category) {
		return false
	}
	if len(ir.Actors) > 0 {
		if l.Actor == "" {
			return false
		}
		if !slices.Contains(ir.Actors, l.Actor) && !slices.Contains(ir.Actors, ix.ActorRoot(l.Actor)) {
			return false
		}
	}
	return true
}

// match returns the matching exposure's value, share (0-1) and class.
func (er *ExposureRule) match(e *Exposure) (value int64, share float64, class string, ok bool) {
	if e == nil {
		return 0, 0, "", false
	}
	if er.Scope == Direct {
		for i := range e.Direct.ByCategory {
			c := &e.Direct.ByCategory[i]
			if slices.Contains(er.Classes, c.Category) && er.passes(c.Received+c.Sent, c.Share) {
				return c.Received + c.Sent, c.Share, c.Category, true
			}
		}
		return 0, 0, "", false
	}
	for i := range e.Indirect {
		c := &e.Indirect[i]
		if slices.Contains(er.Classes, c.Category) && er.passes(c.Value, c.Share) {
			return c.Value, c.Share, c.Category, true
		}
	}
	return 0, 0, "", false
}

func (er *ExposureRule) passes(value int64, share float64) bool {
	// The share is compared in percent with a little slack so that a
	// threshold of 10 matches an exact tenth despite rounding.
	return value > 0 && value >= er.MinValue && share*100 >= er.MinPercent-1e-9
}

// ruleSet is Rules prepared for rating: the reason each identification
// rule gives, and for every rule a one-name Matched slice shared by the
// results it alone matches, so that rating an identified address does not
// allocate.
type ruleSet struct {
	Rules
	identReasons []string
	single       [][]string // identification rules, then exposure rules
}

func compileRules(r Rules) ruleSet {
	rs := ruleSet{Rules: r.clone()}
	for _, ir := range rs.Identification {
		rs.identReasons = append(rs.identReasons, identReason(&ir))
		rs.single = append(rs.single, []string{ir.Name})
	}
	for _, er := range rs.Exposure {
		rs.single = append(rs.single, []string{er.Name})
	}
	return rs
}

// identReason describes what an identification rule matched.
func identReason(ir *IdentificationRule) string {
	var parts []string
	if len(ir.Abuse) > 0 {
		parts = append(parts, "abuse "+strings.Join(ir.Abuse, " or "))
	}
	if len(ir.Categories) > 0 {
		parts = append(parts, "category "+strings.Join(ir.Categories, " or "))
	}
	if len(ir.Actors) > 0 {
		parts = append(parts, "actor "+strings.Join(ir.Actors, " or ")+" (or a sub-group)")
	}
	s := "the address itself carries a label with " + strings.Join(parts, " and ")
	if ir.MinConfidence > 0 {
		s += " at confidence " + strconv.Itoa(ir.MinConfidence) + " or more"
	}
	return s
}

// rate applies the rules to an address's active labels and exposure.
// Risk.Matched may share memory with other results: it is read-only.
func (rs *ruleSet) rate(ix *labels.Index, found []labels.Label, e *Exposure) Risk {
	risk := Risk{Level: Low, Reason: "no rule matched"}
	fired := false
	match := func(i int, lv Level) bool {
		if !fired {
			risk.Matched = rs.single[i]
		} else {
			// The shared slice has no spare capacity, so this copies.
			risk.Matched = append(risk.Matched, rs.single[i][0])
		}
		better := !fired || lv > risk.Level
		fired = true
		return better
	}
	for i := range rs.Identification {
		ir := &rs.Identification[i]
		for j := range found {
			if ir.match(ix, &found[j]) {
				if match(i, ir.Level) {
					risk.Level, risk.Rule, risk.Reason = ir.Level, ir.Name, rs.identReasons[i]
				}
				break
			}
		}
	}
	if e == nil {
		return risk
	}
	for i := range rs.Exposure {
		er := &rs.Exposure[i]
		if v, share, class, ok := er.match(e); ok {
			if match(len(rs.Identification)+i, er.Level) {
				risk.Level, risk.Rule, risk.Reason = er.Level, er.Name, exposureReason(er.Scope, e, v, share, class)
			}
		}
	}
	return risk
}

func exposureReason(scope Scope, e *Exposure, v int64, share float64, class string) string {
	pct := strconv.FormatFloat(share*100, 'f', 2, 64)
	if scope == Direct {
		return fmt.Sprintf("the address exchanged %d (%s%% of its volume) directly with %s counterparties", v, pct, class)
	}
	return fmt.Sprintf("%d (%s%% of value received) traces to %s sources within %d hops", v, pct, class, e.Hops)
}
