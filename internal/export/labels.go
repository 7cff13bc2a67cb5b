package export

import (
	"context"
	"path/filepath"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// LabelRow is a row of the labels table: one active attribution of an
// address (or a transaction) by one source, with its provenance.
type LabelRow struct {
	Chain            string   `parquet:"chain,dict"`
	Address          string   `parquet:"address,optional"`
	TransactionHash  string   `parquet:"transaction_hash,optional"`
	Label            string   `parquet:"label"`
	Category         string   `parquet:"category,optional,dict"`
	Abuse            string   `parquet:"abuse,optional,dict"`
	Actor            string   `parquet:"actor,optional,dict"`
	Confidence       string   `parquet:"confidence,optional,dict"`
	ConfidenceLevel  int32    `parquet:"confidence_level"`
	Source           string   `parquet:"source,optional"`
	Dataset          string   `parquet:"dataset,dict"`
	LastModified     *int64   `parquet:"last_modified,optional,timestamp(microsecond)"`
	IsClusterDefiner bool     `parquet:"is_cluster_definer"`
	Context          string   `parquet:"context,optional"`
	Entity           string   `parquet:"entity,optional"`
	EntityUID        string   `parquet:"entity_uid,optional"`
	Programs         []string `parquet:"programs,list"`
	FirstImported    *int64   `parquet:"first_imported,optional,timestamp(microsecond)"`
	LastImported     *int64   `parquet:"last_imported,optional,timestamp(microsecond)"`
}

// ActorRow is a row of the actors table.
type ActorRow struct {
	ActorID       string   `parquet:"actor_id"`
	Label         string   `parquet:"label"`
	Aliases       []string `parquet:"aliases,list"`
	SubGroups     []string `parquet:"sub_groups,list"`
	Parent        string   `parquet:"parent,optional"`
	Categories    []string `parquet:"categories,list"`
	Jurisdictions []string `parquet:"jurisdictions,list"`
	URI           string   `parquet:"uri,optional"`
	References    []string `parquet:"references,list"`
	Context       string   `parquet:"context,optional"`
	Dataset       string   `parquet:"dataset,dict"`
}

// Labels exports the label database's active labels (retired ones, which
// a later import of their dataset no longer listed, are left out) and its
// actors into out/labels and out/actors.
func Labels(ctx context.Context, st *labels.Store, out string, opts Options) ([]TableStats, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	stats := make([]TableStats, 2)
	lt, err := newTable[LabelRow]("labels", filepath.Join(out, "labels"), &opts, &stats[0])
	if err != nil {
		return nil, err
	}
	at, err := newTable[ActorRow]("actors", filepath.Join(out, "actors"), &opts, &stats[1])
	if err != nil {
		return nil, err
	}
	var werr error
	err = st.All(ctx, func(l labels.Label) bool {
		if l.Retired != nil {
			return true
		}
		werr = lt.add(LabelRow{Chain: l.Chain, Address: l.Address, TransactionHash: l.TxHash, Label: l.Label,
			Category: l.Category, Abuse: l.Abuse, Actor: l.Actor, Confidence: l.Confidence,
			ConfidenceLevel: int32(l.ConfidenceLevel), Source: l.Source, Dataset: l.Dataset,
			LastModified: timeMicros(l.LastMod), IsClusterDefiner: l.IsClusterDefiner, Context: l.Context,
			Entity: l.Entity, EntityUID: l.EntityUID, Programs: l.Programs,
			FirstImported: timeMicros(l.FirstImported), LastImported: timeMicros(l.LastImported)})
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = st.Actors(ctx, func(a labels.Actor) bool {
			werr = at.add(ActorRow{ActorID: a.ID, Label: a.Label, Aliases: a.Aliases, SubGroups: a.SubGroups,
				Parent: a.Parent, Categories: a.Categories, Jurisdictions: a.Jurisdictions, URI: a.URI,
				References: a.References, Context: a.Context, Dataset: a.Dataset})
			return werr == nil
		})
		if err == nil {
			err = werr
		}
	}
	err = closeAll(err, lt, at)
	if err != nil {
		return stats, err
	}
	logTables(opts.Logger, stats)
	return stats, nil
}

// timeMicros is t as TIMESTAMP microseconds, nil when t is unset.
func timeMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	return ptr(t.UnixMicro())
}
