package tracebench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// PGInfo describes the copy of a chain's graph in PostgreSQL.
type PGInfo struct {
	// Schema holds the tables outputs, spends and txs.
	Schema string
	// Outputs, Spends and Txs are the rows loaded.
	Outputs, Spends, Txs int64
	// CopySeconds is the time the COPYs took, IndexSeconds the time the
	// indexes and statistics took, Bytes the size of tables and indexes.
	CopySeconds, IndexSeconds float64
	Bytes                     int64
	// Reused is set when an earlier run had loaded the schema.
	Reused bool
}

// PGSchema returns the schema name of a chain's tables.
func PGSchema(cfg ChainConfig) string {
	return "tb_" + strings.ReplaceAll(cfg.Key(), "-", "_")
}

// The tables mirror the store's graph: every output with the first
// address it pays (0 for none: OP_RETURN) and its value; every spend of an
// output; and every transaction's input value, raised to at least its
// output value as the trace engine does, which is the denominator of the
// haircut shares. Loading writes only rows; the keys and indexes are built
// afterwards.
const pgTablesSQL = `
CREATE UNLOGGED TABLE %[1]s.outputs (txnum bigint NOT NULL, vout integer NOT NULL, addr bigint NOT NULL, value bigint NOT NULL);
CREATE UNLOGGED TABLE %[1]s.spends (prev_txnum bigint NOT NULL, prev_vout integer NOT NULL, txnum bigint NOT NULL);
CREATE UNLOGGED TABLE %[1]s.txs (txnum bigint NOT NULL, in_value bigint NOT NULL);
`

// pgIndexSQL builds the look-ups the trace needs: outputs by transaction
// (and their key), outputs by address (the sources), spends by the output
// they spend, and transactions by ordinal.
var pgIndexSQL = []string{
	`ALTER TABLE %[1]s.outputs ADD PRIMARY KEY (txnum, vout)`,
	`CREATE INDEX ON %[1]s.outputs (addr)`,
	`ALTER TABLE %[1]s.spends ADD PRIMARY KEY (prev_txnum, prev_vout)`,
	`ALTER TABLE %[1]s.txs ADD PRIMARY KEY (txnum)`,
	`VACUUM (ANALYZE) %[1]s.outputs`,
	`VACUUM (ANALYZE) %[1]s.spends`,
	`VACUUM (ANALYZE) %[1]s.txs`,
}

// pgCatalogSQL records which schemas are completely loaded.
const pgCatalogSQL = `CREATE TABLE IF NOT EXISTS public.tracebench_loaded (
	schema_name text PRIMARY KEY, outputs bigint, spends bigint, txs bigint,
	copy_seconds float8, index_seconds float8)`

// LoadPG loads the graph of chain into PostgreSQL at dsn, in the schema
// PGSchema(chain.Info.Config), unless an earlier run loaded it completely.
// The store is read once, and the three tables are filled at the same time
// by COPY on three connections.
func LoadPG(ctx context.Context, dsn string, chain *Chain, logf Logf) (PGInfo, error) {
	schema := PGSchema(chain.Info.Config)
	info := PGInfo{Schema: schema}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return info, fmt.Errorf("tracebench: connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, pgCatalogSQL); err != nil {
		return info, fmt.Errorf("tracebench: catalog: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT outputs, spends, txs, copy_seconds, index_seconds FROM public.tracebench_loaded WHERE schema_name = $1`, schema).
		Scan(&info.Outputs, &info.Spends, &info.Txs, &info.CopySeconds, &info.IndexSeconds)
	switch {
	case err == nil:
		info.Reused = true
	case errors.Is(err, pgx.ErrNoRows):
		if err := loadPG(ctx, dsn, conn, chain, &info, logf); err != nil {
			return info, fmt.Errorf("tracebench: load %s into PostgreSQL: %w", schema, err)
		}
	default:
		return info, fmt.Errorf("tracebench: catalog: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, schema).Scan(&info.Bytes)
	if err != nil {
		return info, fmt.Errorf("tracebench: size of %s: %w", schema, err)
	}
	return info, nil
}

func loadPG(ctx context.Context, dsn string, conn *pgx.Conn, chain *Chain, info *PGInfo, logf Logf) error {
	s := info.Schema
	for _, q := range []string{`DROP SCHEMA IF EXISTS ` + s + ` CASCADE`, `CREATE SCHEMA ` + s, fmt.Sprintf(pgTablesSQL, s)} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("create tables: %w", err)
		}
	}
	logf("tracebench: copying %d txs into PostgreSQL schema %s", chain.Info.Txs, s)
	start := time.Now()
	if err := copyGraph(ctx, dsn, chain.DB, info); err != nil {
		return err
	}
	info.CopySeconds = time.Since(start).Seconds()
	logf("tracebench: copied %d outputs, %d spends, %d txs in %.0fs; indexing", info.Outputs, info.Spends, info.Txs, info.CopySeconds)
	start = time.Now()
	for _, q := range pgIndexSQL {
		if _, err := conn.Exec(ctx, fmt.Sprintf(q, s)); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	info.IndexSeconds = time.Since(start).Seconds()
	logf("tracebench: indexed in %.0fs", info.IndexSeconds)
	_, err := conn.Exec(ctx, `INSERT INTO public.tracebench_loaded VALUES ($1, $2, $3, $4, $5, $6)`,
		s, info.Outputs, info.Spends, info.Txs, info.CopySeconds, info.IndexSeconds)
	if err != nil {
		return fmt.Errorf("record load: %w", err)
	}
	return nil
}

// copyBatch is the number of rows sent to a COPY at a time.
const copyBatch = 8192

// copyGraph reads every transaction of db once and streams its rows to
// three concurrent COPYs.
func copyGraph(ctx context.Context, dsn string, db *store.DB, info *PGInfo) error {
	g, ctx := errgroup.WithContext(ctx)
	outs := make(chan [][]any, 16)
	spends := make(chan [][]any, 16)
	txs := make(chan [][]any, 16)
	copyTo := func(table string, cols []string, ch <-chan [][]any, n *int64) {
		g.Go(func() error {
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			defer c.Close(context.WithoutCancel(ctx))
			var batch [][]any
			src := pgx.CopyFromFunc(func() ([]any, error) {
				for len(batch) == 0 {
					b, ok := <-ch
					if !ok {
						return nil, nil
					}
					batch = b
				}
				row := batch[0]
				batch = batch[1:]
				return row, nil
			})
			*n, err = c.CopyFrom(ctx, pgx.Identifier{info.Schema, table}, cols, src)
			if err != nil {
				// Drain so that the reader never blocks on a failed COPY.
				for range ch {
				}
				return fmt.Errorf("copy %s: %w", table, err)
			}
			return nil
		})
	}
	copyTo("outputs", []string{"txnum", "vout", "addr", "value"}, outs, &info.Outputs)
	copyTo("spends", []string{"prev_txnum", "prev_vout", "txnum"}, spends, &info.Spends)
	copyTo("txs", []string{"txnum", "in_value"}, txs, &info.Txs)
	g.Go(func() error {
		defer close(outs)
		defer close(spends)
		defer close(txs)
		var ob, sb, tb [][]any
		send := func(ch chan<- [][]any, b *[][]any, force bool) error {
			if len(*b) < copyBatch && !(force && len(*b) > 0) {
				return nil
			}
			select {
			case ch <- *b:
			case <-ctx.Done():
				return ctx.Err()
			}
			*b = make([][]any, 0, copyBatch)
			return nil
		}
		err := ScanTxs(ctx, db, func(t *store.TxRec) error {
			var vIn, vOut int64
			for i := range t.Ins {
				in := &t.Ins[i]
				vIn += in.Value
				if !t.Coinbase && !in.External {
					sb = append(sb, []any{int64(in.PrevTxNum), int32(in.PrevVout), int64(t.TxNum)})
				}
			}
			for j := range t.Outs {
				o := &t.Outs[j]
				vOut += o.Value
				var addr int64
				if len(o.AddrIDs) > 0 {
					addr = int64(o.AddrIDs[0])
				}
				ob = append(ob, []any{int64(t.TxNum), int32(j), addr, o.Value})
			}
			if t.Coinbase {
				vIn = 0
			}
			tb = append(tb, []any{int64(t.TxNum), max(vIn, vOut)})
			if err := send(outs, &ob, false); err != nil {
				return err
			}
			if err := send(spends, &sb, false); err != nil {
				return err
			}
			return send(txs, &tb, false)
		})
		if err != nil {
			return err
		}
		if err := send(outs, &ob, true); err != nil {
			return err
		}
		if err := send(spends, &sb, true); err != nil {
			return err
		}
		return send(txs, &tb, true)
	})
	return g.Wait()
}

// WarmPG reads the tables and indexes of schema once with pg_prewarm, so
// that the queries that follow find them in the operating system's page
// cache, as a database in regular use would be. It returns the blocks
// read.
func WarmPG(ctx context.Context, conn *pgx.Conn, schema string) (int64, error) {
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_prewarm`); err != nil {
		return 0, fmt.Errorf("tracebench: warm PostgreSQL: %w", err)
	}
	var n int64
	err := conn.QueryRow(ctx, `SELECT coalesce(sum(pg_prewarm(c.oid::regclass, 'read')), 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'i')`, schema).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("tracebench: warm PostgreSQL: %w", err)
	}
	return n, nil
}

// TraceSQL is the forward haircut trace as one recursive query, over the
// tables of LoadPG (schema substituted for %[1]s). Haircut is linear: the
// taint of an output is the sum, over the paths from the source outputs
// to it, of the source value times the share each transaction on the path
// gives the next output (output value / input value). The recursion walks
// those paths a hop at a time: $1 are the source address ids, whose every
// output is a source at full value and hop 0 and is never re-entered; $2
// is the hop limit; $3 the dust threshold. Each step takes the outputs of
// the transactions spending the outputs reached so far; a window sum adds
// up the taint a transaction receives in the same step (the paths of the
// same length that meet there), so each output reached appears once per
// step, with its share of that sum, and is not followed when that is under
// $3. Each row carries the transaction spending its output, if any, so the
// next step goes straight to it. The result is the unspent outputs reached,
// with their taint summed over the steps that reached them and their least
// hop; outputs with no address (OP_RETURN) burn their taint and are left
// out, as are outputs whose summed taint is dust.
//
// The engine walks transactions in chain order with all the taint they
// receive, whatever the hop it comes from, and counts hops from the
// nearest tainted input; the query sums paths of the same length only.
// Where taint arrives at one transaction by paths of different lengths,
// the engine may follow what the query leaves at the hop limit or as
// dust, never less: the query's taint of an output is at most the
// engine's (up to rounding).
const TraceSQL = `
WITH RECURSIVE taint (txnum, vout, addr, amt, hop, spent_by) AS (
	SELECT o.txnum, o.vout, o.addr, o.value::float8, 0, s.txnum
	FROM %[1]s.outputs o
	LEFT JOIN %[1]s.spends s ON s.prev_txnum = o.txnum AND s.prev_vout = o.vout
	WHERE o.addr = ANY ($1::bigint[])
UNION ALL
	SELECT txnum, vout, addr, amt, hop, spent_by FROM (
		SELECT o.txnum, o.vout, o.addr,
			sum(t.amt) OVER (PARTITION BY o.txnum, o.vout) * o.value / x.in_value AS amt,
			t.hop + 1 AS hop, s.txnum AS spent_by,
			row_number() OVER (PARTITION BY o.txnum, o.vout) AS rn
		FROM taint t
		JOIN %[1]s.txs x ON x.txnum = t.spent_by
		JOIN %[1]s.outputs o ON o.txnum = t.spent_by
		LEFT JOIN %[1]s.spends s ON s.prev_txnum = o.txnum AND s.prev_vout = o.vout
		WHERE t.hop < $2 AND t.amt >= $3 AND o.addr <> ALL ($1::bigint[])
	) step
	WHERE rn = 1
)
SELECT txnum, vout, min(addr), sum(amt), min(hop)
FROM taint
WHERE spent_by IS NULL AND addr <> 0
GROUP BY txnum, vout
HAVING sum(amt) >= $3
`

// PGHolding is a tainted unspent output found by TraceSQL.
type PGHolding struct {
	TxNum int64
	Vout  int32
	Addr  int64
	Taint float64
	Hop   int32
}

// TracePG runs TraceSQL on conn for one source set and returns the
// holdings it found.
func TracePG(ctx context.Context, conn *pgx.Conn, schema string, ids []int64, hops int, minValue int64) ([]PGHolding, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf(TraceSQL, schema), ids, hops, float64(minValue))
	if err != nil {
		return nil, fmt.Errorf("tracebench: trace query: %w", err)
	}
	var hs []PGHolding
	var h PGHolding
	_, err = pgx.ForEachRow(rows, []any{&h.TxNum, &h.Vout, &h.Addr, &h.Taint, &h.Hop}, func() error {
		hs = append(hs, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tracebench: trace query: %w", err)
	}
	return hs, nil
}
