// Package incident is chaintrace's registry of thefts attributed to state
// actors (DPRK first): one record per incident with its sources, loaded
// from YAML, validated, summed into statistics, reconciled with published
// figures and turned into trace starting points and labels.
//
// # Format (chaintrace-incidents/1)
//
// A registry file is a YAML mapping; the shipped registry is
// data/incidents/<year>.yaml, compiled into the binary. Field names are
// lower_snake and are the same in the JSON that "chaintrace incidents
// list --json" prints.
//
//	format: chaintrace-incidents/1   mandatory; identifies the file
//	refs: {name: source}             optional YAML anchors (&name) for
//	                                 sources cited many times; not read
//	incidents:                       mandatory list; each record has
//	  - id: 2022-03-ronin-bridge     mandatory, unique across all files:
//	                                 the date's year and month, then a
//	                                 lower-case slug ([a-z0-9-])
//	    status: draft                optional; "draft" marks importer
//	                                 output awaiting review (curated
//	                                 records have no status)
//	    date: 2022-03-23             mandatory: YYYY-MM-DD, YYYY-MM or YYYY
//	    date_precision: day          optional: day, month or year; must
//	                                 match the date's form, which implies it
//	    victim:                      mandatory
//	      name: Ronin Bridge         mandatory
//	      type: bridge               mandatory: centralized_exchange,
//	                                 bridge, defi_protocol, wallet_provider,
//	                                 payment_processor, gaming, individual,
//	                                 campaign, other
//	      country: VN                optional ISO 3166-1 alpha-2
//	      aliases: [Ronin Network]   optional names other sources use; the
//	                                 draft importers match on them
//	    chains: [eth]                chaintrace chain ids (package addrs,
//	                                 plus ids of chains it cannot
//	                                 validate, see OtherChains)
//	    assets: [ETH, USDC]          asset symbols
//	    amounts:                     optional, one per asset stolen
//	      - asset: ETH               mandatory
//	        native: "173600"         mandatory decimal string in whole units
//	        usd: 594600000           optional USD at the time
//	        source: text or URL      valuation source of usd
//	    usd: 625000000               the USD value we count; null when
//	                                 unknown (counted as 0, reported apart)
//	    usd_source: text             where usd comes from
//	    usd_alternatives:            other published values of the same
//	      - usd: 624000000           theft, each with its source
//	        source: text or URL
//	        note: text
//	    vector: private_key_compromise   mandatory: see Vectors
//	    sources: [source]            mandatory, at least one: where the
//	                                 facts (date, amount) come from
//	    attribution:                 mandatory
//	      actor: lazarusgroup        mandatory actor id of data/actors.yaml
//	      confidence: confirmed_by_government   or attributed_by_industry,
//	                                 suspected
//	      sources: [source]          mandatory, at least one
//	    alternatives: [attribution]  other attributions when disputed
//	    addresses:                   public addresses of the incident
//	      - chain: eth
//	        address: "0x098B…"       must pass addrs.Normalize(chain, …)
//	        role: attacker           attacker, victim, exploit_contract,
//	                                 laundering
//	        source: text or URL      mandatory
//	    transactions:
//	      - chain: eth
//	        hash: "0xc28f…"          0x + 64 hex (EVM), 64 hex (Bitcoin family)
//	        what: text               e.g. "theft of 173,600 ETH"
//	        source: text or URL      mandatory
//	    frozen_usd: 0                optional, with frozen_source
//	    recovered_usd: 0             optional, with recovered_source
//	    notes: text
//
// A source is {publisher, title, url, date}; url is mandatory, date is
// YYYY-MM-DD when given. Where the public record disagrees on an amount
// or an attribution the record keeps both: usd_alternatives and
// alternatives.
//
// Validate lists every rule; errors name the file and line of the field.
package incident

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// Format is the value of the format key of a registry file.
const Format = "chaintrace-incidents/1"

// Record is one incident of the registry.
type Record struct {
	ID              string        `yaml:"id" json:"id"`
	Status          string        `yaml:"status,omitempty" json:"status,omitempty"`
	Date            string        `yaml:"date" json:"date"`
	DatePrecision   string        `yaml:"date_precision,omitempty" json:"date_precision"`
	Victim          Victim        `yaml:"victim" json:"victim"`
	Chains          []string      `yaml:"chains,omitempty" json:"chains"`
	Assets          []string      `yaml:"assets,omitempty" json:"assets"`
	Amounts         []Amount      `yaml:"amounts,omitempty" json:"amounts,omitempty"`
	USD             *float64      `yaml:"usd" json:"usd"`
	USDSource       string        `yaml:"usd_source,omitempty" json:"usd_source,omitempty"`
	USDAlternatives []USDValue    `yaml:"usd_alternatives,omitempty" json:"usd_alternatives,omitempty"`
	Vector          string        `yaml:"vector" json:"vector"`
	Sources         []Source      `yaml:"sources" json:"sources"`
	Attribution     Attribution   `yaml:"attribution" json:"attribution"`
	Alternatives    []Attribution `yaml:"alternatives,omitempty" json:"alternatives,omitempty"`
	Addresses       []Address     `yaml:"addresses,omitempty" json:"addresses,omitempty"`
	Transactions    []Transaction `yaml:"transactions,omitempty" json:"transactions,omitempty"`
	FrozenUSD       *float64      `yaml:"frozen_usd,omitempty" json:"frozen_usd,omitempty"`
	FrozenSource    string        `yaml:"frozen_source,omitempty" json:"frozen_source,omitempty"`
	RecoveredUSD    *float64      `yaml:"recovered_usd,omitempty" json:"recovered_usd,omitempty"`
	RecoveredSource string        `yaml:"recovered_source,omitempty" json:"recovered_source,omitempty"`
	Notes           string        `yaml:"notes,omitempty" json:"notes,omitempty"`
	// Pos is where the record starts; node is its YAML node, which
	// Validate uses to name the line of a bad field.
	Pos  Pos        `yaml:"-" json:"-"`
	node *yaml.Node `yaml:"-"`
}

// Pos is where a record starts in its file; File is empty for records
// built in code.
type Pos struct {
	File string
	Line int
}

// String formats the position as file:line, or "(record)" when unknown.
func (p Pos) String() string {
	if p.File == "" {
		return "(record)"
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Victim is who the funds were stolen from.
type Victim struct {
	Name    string   `yaml:"name" json:"name"`
	Type    string   `yaml:"type" json:"type"`
	Country string   `yaml:"country,omitempty" json:"country,omitempty"`
	Aliases []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
}

// Amount is what was stolen of one asset, in native units and in USD at
// the time with the valuation's source.
type Amount struct {
	Asset  string   `yaml:"asset" json:"asset"`
	Native string   `yaml:"native" json:"native"`
	USD    *float64 `yaml:"usd,omitempty" json:"usd,omitempty"`
	Source string   `yaml:"source,omitempty" json:"source,omitempty"`
}

// USDValue is another published USD value of the same theft.
type USDValue struct {
	USD    float64 `yaml:"usd" json:"usd"`
	Source string  `yaml:"source" json:"source"`
	Note   string  `yaml:"note,omitempty" json:"note,omitempty"`
}

// Source is a publication the record relies on.
type Source struct {
	Publisher string `yaml:"publisher,omitempty" json:"publisher,omitempty"`
	Title     string `yaml:"title,omitempty" json:"title,omitempty"`
	URL       string `yaml:"url" json:"url"`
	Date      string `yaml:"date,omitempty" json:"date,omitempty"`
}

// Attribution names the actor held responsible, how firmly and by whom.
type Attribution struct {
	Actor      string   `yaml:"actor" json:"actor"`
	Confidence string   `yaml:"confidence" json:"confidence"`
	Sources    []Source `yaml:"sources" json:"sources"`
}

// Address is a public address of the incident with its role.
type Address struct {
	Chain   string `yaml:"chain" json:"chain"`
	Address string `yaml:"address" json:"address"`
	Role    string `yaml:"role" json:"role"`
	Source  string `yaml:"source" json:"source"`
}

// Transaction is a public transaction of the incident.
type Transaction struct {
	Chain  string `yaml:"chain" json:"chain"`
	Hash   string `yaml:"hash" json:"hash"`
	What   string `yaml:"what,omitempty" json:"what,omitempty"`
	Source string `yaml:"source" json:"source"`
}

// VictimTypes are the allowed victim.type values.
var VictimTypes = []string{"centralized_exchange", "bridge", "defi_protocol", "wallet_provider",
	"payment_processor", "gaming", "individual", "campaign", "other"}

// Vectors are the allowed vector values.
var Vectors = []string{"private_key_compromise", "social_engineering", "supply_chain",
	"smart_contract_exploit", "insider", "malware", "ransomware", "cryptojacking", "unknown"}

// Confidences are the allowed attribution.confidence values, firmest
// first.
var Confidences = []string{"confirmed_by_government", "attributed_by_industry", "suspected"}

// Roles are the allowed address roles.
var Roles = []string{"attacker", "victim", "exploit_contract", "laundering"}

// OtherChains are chain ids a record may name although package addrs
// cannot validate their addresses (a record that lists an address on one
// of them is rejected).
var OtherChains = []string{"ronin", "harmony", "heco", "klaytn", "near", "eos", "xlm", "ada", "ton", "sui", "aptos", "other"}

// Year is the record's year, from its date.
func (r *Record) Year() int {
	if len(r.Date) < 4 {
		return 0
	}
	y, _ := strconv.Atoi(r.Date[:4])
	return y
}

// USDOr0 is the USD value counted for the record: usd, or 0 when
// unknown.
func (r *Record) USDOr0() float64 {
	if r.USD == nil {
		return 0
	}
	return *r.USD
}

// AllSources returns the record's sources followed by its attribution's,
// without repeating a URL.
func (r *Record) AllSources() []Source {
	seen := map[string]bool{}
	var out []Source
	for _, list := range [][]Source{r.Sources, r.Attribution.Sources} {
		for _, s := range list {
			if !seen[s.URL] {
				seen[s.URL] = true
				out = append(out, s)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
