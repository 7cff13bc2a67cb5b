// Package labels is chaintrace's attribution database: labels on addresses
// (and clusters) with their provenance and confidence, and actors (groups
// such as the Lazarus Group, with aliases and sub-groups). Labels arrive
// from importers (GraphSense TagPacks and ActorPacks, OFAC lists, Etherscan
// exports, CSV) as whole datasets; applying a dataset is idempotent and
// atomic, and re-importing a newer version of a dataset retires entries it
// no longer lists instead of deleting them.
package labels

import (
	"context"
	"time"
)

// Label is one attribution of an address (or, with IsClusterDefiner, of
// the cluster the address belongs to) by one source. An address may carry
// many labels from many sources; the pair (Dataset, Key()) identifies a
// label across re-imports.
type Label struct {
	// Chain is chaintrace's chain id in lower case: "btc", "eth", "trx",
	// "ltc", "bch", "bsc", "arb", "etc", "xmr", "zec", "dash", ... (see
	// package addrs for the list and for how each is normalised).
	Chain string `json:"chain"`
	// Address is the normalised address (addrs.Normalize); empty for a
	// label on a transaction.
	Address string `json:"address,omitempty"`
	// TxHash is set for a label on a transaction instead of an address.
	TxHash string `json:"tx_hash,omitempty"`

	Label    string `json:"label"`
	Category string `json:"category,omitempty"` // GraphSense concepts taxonomy id (exchange, mixing_service, ...)
	Abuse    string `json:"abuse,omitempty"`    // concepts id of abuse (sanction, hack, ransomware, scam, ...)
	Actor    string `json:"actor,omitempty"`    // actor id (ActorPack id, e.g. "lazarusgroup")

	// Confidence is a confidence-level id from the TagPack taxonomy
	// (ownership, authority_data, forensic, web_crawl, ...) and
	// ConfidenceLevel its score 0-100.
	Confidence      string `json:"confidence"`
	ConfidenceLevel int    `json:"confidence_level"`

	// Source is where the attribution comes from (a URL or a citation);
	// Dataset is the imported dataset that carried it (e.g.
	// "tagpack:lazarus.yaml", "ofac-sdn", "0xb10c-lists").
	Source  string `json:"source"`
	Dataset string `json:"dataset"`

	LastMod          time.Time `json:"lastmod,omitzero"`
	IsClusterDefiner bool      `json:"is_cluster_definer,omitempty"`
	Context          string    `json:"context,omitempty"` // free text or JSON from the source

	// Sanctions fields (OFAC): the SDN entity's name and uid, and its
	// programmes (DPRK3, CYBER2, ...).
	Entity    string   `json:"entity,omitempty"`
	EntityUID string   `json:"entity_uid,omitempty"`
	Programs  []string `json:"programs,omitempty"`

	// Retired is set when a later import of the same dataset no longer
	// lists the label (a delisting); the label is kept, not deleted.
	Retired *time.Time `json:"retired,omitempty"`
	// FirstImported and LastImported are when the label was first and last
	// seen in an import of its dataset.
	FirstImported time.Time `json:"first_imported,omitzero"`
	LastImported  time.Time `json:"last_imported,omitzero"`
}

// Key identifies a label within its dataset: chain, address or tx hash,
// and the label text. Two rows of one dataset with the same key are the
// same label (the later row's fields win).
func (l *Label) Key() string {
	target := l.Address
	if target == "" {
		target = "tx:" + l.TxHash
	}
	return l.Chain + "|" + target + "|" + l.Label
}

// Actor is an entity labels can point to: a group, a company, a person.
// Aliases are other names of the same actor (Lazarus Group = Hidden Cobra);
// SubGroups are actors that are part of this one (APT38, BlueNoroff and
// TraderTraitor are reported as Lazarus sub-groups), each an actor id.
type Actor struct {
	ID            string   `json:"id"`
	Label         string   `json:"label"`
	Aliases       []string `json:"aliases,omitempty"`
	SubGroups     []string `json:"sub_groups,omitempty"`
	Parent        string   `json:"parent,omitempty"`
	Categories    []string `json:"categories,omitempty"`
	Jurisdictions []string `json:"jurisdictions,omitempty"`
	URI           string   `json:"uri,omitempty"`
	References    []string `json:"references,omitempty"`
	Context       string   `json:"context,omitempty"`
	Dataset       string   `json:"dataset"`
}

// Rejected is an input row an importer could not use, with where it was
// and why (invalid address, unknown currency, missing field, ...).
type Rejected struct {
	File   string `json:"file"`
	Line   int    `json:"line"` // 1-based; 0 when the format has no lines
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// Dataset is what one import produces: the complete current content of
// one dataset. Applying it adds new labels, updates changed ones, leaves
// identical ones alone and retires labels of the same dataset that it no
// longer contains.
type Dataset struct {
	// Name identifies the dataset across imports ("tagpack:lazarus.yaml").
	Name     string
	Format   string // importer name
	Path     string
	Labels   []Label
	Actors   []Actor
	Rejected []Rejected
}

// Counts reports what applying a Dataset did.
type Counts struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Retired   int `json:"retired"`
	Rejected  int `json:"rejected"`
	Actors    int `json:"actors"`
}

// Importer reads one source format. Implementations are stateless and
// safe for concurrent use.
type Importer interface {
	// Name is the format name used with --format ("tagpack", "ofac-sdn-xml").
	Name() string
	// Detect reports whether path (a file or directory) looks like this
	// format, reading as little as it needs.
	Detect(path string) bool
	// Import reads path into datasets (a directory may hold several
	// files, each its own dataset). A malformed file is an error naming
	// the file and line; rows that are merely unusable go to Rejected.
	Import(ctx context.Context, path string) ([]Dataset, error)
}
