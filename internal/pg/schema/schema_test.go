package schema

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/pg/migrate"
	"github.com/chaintrace/chaintrace/internal/pg/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// describe returns the schema as information_schema and the catalogue see
// it: every column with its type and nullability, every constraint and
// index definition.
func describe(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	q := func(sql string) {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT table_name, ordinal_position, column_name, data_type, is_nullable, coalesce(column_default, '')
		FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`)
	q(`SELECT table_name, constraint_name, constraint_type
		FROM information_schema.table_constraints WHERE table_schema = 'public' AND constraint_type <> 'CHECK' ORDER BY 1, 2`)
	q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)
	return out
}

// TestRoundTrip migrates up, down to nothing and up again: the second Up
// applies everything again and yields the same schema.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	r, err := NewRunner(migrate.Options{Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	n := len(r.Migrations())
	if did, err := r.Up(ctx, pool, 0); err != nil || len(did) != n {
		t.Fatalf("up: %v, %v", did, err)
	}
	first := describe(t, pool)
	if len(first) < 100 {
		t.Fatalf("schema described in only %d rows", len(first))
	}
	if did, err := r.Up(ctx, pool, 0); err != nil || len(did) != 0 {
		t.Fatalf("second up applied %v, %v; want nothing", did, err)
	}
	if did, err := r.Down(ctx, pool, n); err != nil || len(did) != n {
		t.Fatalf("down: %v, %v", did, err)
	}
	var tables []string
	rows, _ := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	for rows.Next() {
		var s string
		rows.Scan(&s)
		tables = append(tables, s)
	}
	if rows.Err() != nil || !reflect.DeepEqual(tables, []string{"schema_migrations"}) {
		t.Fatalf("after down to zero: tables %v, %v", tables, rows.Err())
	}
	if did, err := r.Up(ctx, pool, 0); err != nil || len(did) != n {
		t.Fatalf("up again: %v, %v", did, err)
	}
	if again := describe(t, pool); !reflect.DeepEqual(first, again) {
		t.Fatalf("schema differs after the round trip:\nfirst %d rows, again %d rows", len(first), len(again))
	}
}

// TestPartitioned checks that on plain PostgreSQL every distributed table
// is hash-partitioned on its distribution column with the configured
// number of partitions, and that every primary key includes that column.
func TestPartitioned(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	r, _ := NewRunner(migrate.Options{Partitions: 8})
	if _, err := r.Up(ctx, pool, 0); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"txs": "tx_num", "tx_ids": "txid", "outputs": "tx_num", "inputs": "tx_num", "spends": "tx_num",
		"addresses": "addr_id", "address_keys": "addr_key", "addr_events": "addr_id", "cluster_links": "tx_num",
	}
	rows, err := pool.Query(ctx, `
		SELECT c.relname, p.partstrat, a.attname,
			(SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid),
			(SELECT bool_or(a.attnum = ANY (x.indkey)) FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary)
		FROM pg_partitioned_table p
		JOIN pg_class c ON c.oid = p.partrelid
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
		WHERE c.relispartition = false`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var table, strat, col string
		var parts int
		var inPK bool
		if err := rows.Scan(&table, &strat, &col, &parts, &inPK); err != nil {
			t.Fatal(err)
		}
		if strat != "h" || parts != 8 || !inPK {
			t.Errorf("%s: strategy %q, %d partitions, key column in primary key %v; want hash, 8, true", table, strat, parts, inPK)
		}
		got[table] = col
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("partitioned tables %v, want %v", got, want)
	}
}

// TestCitusRendering checks the Citus variant's statements without a
// Citus server: every distributed table gets create_distributed_table in
// its colocation group, every reference table create_reference_table, and
// nothing is partitioned natively.
func TestCitusRendering(t *testing.T) {
	r, _ := NewRunner(migrate.Options{})
	var all strings.Builder
	for _, m := range r.Migrations() {
		sql, err := migrate.Render(m.Name, m.Up, migrate.Variant{Citus: true})
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(sql)
	}
	sql := all.String()
	if strings.Contains(sql, "PARTITION") {
		t.Error("Citus rendering partitions natively")
	}
	var dist, ref []string
	for _, line := range strings.Split(sql, "\n") {
		switch {
		case strings.HasPrefix(line, "SELECT create_distributed_table"):
			dist = append(dist, line)
		case strings.HasPrefix(line, "SELECT create_reference_table"):
			ref = append(ref, line)
		}
	}
	sort.Strings(ref)
	if len(dist) != 9 || len(ref) != 8 {
		t.Fatalf("%d distributed and %d reference tables:\n%s\n%s", len(dist), len(ref), strings.Join(dist, "\n"), strings.Join(ref, "\n"))
	}
	if !strings.Contains(sql, "create_distributed_table('addr_events', 'addr_id', colocate_with => 'addresses')") {
		t.Error("addr_events is not co-located with addresses")
	}
}
