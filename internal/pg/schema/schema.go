// Package schema holds the PostgreSQL schema of chaintrace's server
// backend as migrations for package migrate: the Bitcoin transaction
// graph, chain metadata and stage progress, and the reference data.
//
// The schema is designed for distribution (Citus) and written so that
// plain PostgreSQL gets the same logical tables as native hash partitions:
//
//   - Per-address tables (addresses, addr_events) are distributed on
//     addr_id and co-located: an address's key and its whole history sit
//     on one shard, so the look-ups an investigation makes most (an
//     address's events, its balance, a trace hop's frontier filtered to
//     one shard's ids) are single-shard or, for a frontier, one query per
//     shard that holds part of it.
//   - Per-transaction tables (txs, outputs, inputs, spends, cluster_links)
//     are distributed on tx_num and co-located with each other: a
//     transaction, its inputs, outputs and spends are read together by
//     one shard. They are not co-located with the address tables, because
//     a transaction touches many addresses and an address many
//     transactions; no one key keeps both sides together, and the address
//     index (addr_events) already carries what a hop needs (tx_num,
//     direction, value), so a trace joins only within the address side
//     and fetches transactions by tx_num.
//   - Look-up tables by external key (tx_ids by txid, address_keys by
//     the address's compact key) are distributed on that key, so resolving
//     what a user typed is single-shard.
//   - Small tables every shard reads (chains, chain_meta, stage_progress,
//     blocks, assets, labels, actors, incidents) are reference tables.
//
// Every primary key includes its table's distribution column (Citus and
// native partitioning both require it), and there are no foreign keys
// between distributed tables: a spend's input and its output, or an event
// and its transaction, are on different shards in general. Integrity
// comes from the ingest stages, which write a block's rows and the stage
// progress in one transaction.
//
// The columns carry the information of the embedded store's records
// (internal/store: BlockRec, TxRec with InRec and OutRec, SpendRec,
// Event, the link log), one table per key prefix; docs/postgres.md lists
// the correspondence and the DDL.
package schema

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/chaintrace/chaintrace/internal/pg/migrate"
)

//go:embed migrations/*.sql
var files embed.FS

// Migrations returns the schema's migration files.
func Migrations() (fs.FS, error) {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return sub, nil
}

// NewRunner returns a migration runner for the schema.
func NewRunner(opts migrate.Options) (*migrate.Runner, error) {
	fsys, err := Migrations()
	if err != nil {
		return nil, err
	}
	return migrate.New(fsys, opts)
}
