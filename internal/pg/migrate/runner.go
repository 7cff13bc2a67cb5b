package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey is the session advisory lock every migration run holds: the
// bytes of "chainmig" as a bigint, unlikely to meet another user's key.
const lockKey int64 = 0x636861696e6d6967

// DefaultPartitions is the number of hash partitions per distributed table
// on plain PostgreSQL: enough to keep each partition's indexes small at
// full-chain sizes, few enough that planning a fan-out stays cheap.
const DefaultPartitions = 16

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    bigint PRIMARY KEY,
	name       text NOT NULL,
	checksum   text NOT NULL,
	variant    text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Runner applies one set of migrations.
type Runner struct {
	migs       []Migration
	partitions int
}

// Options configure a Runner.
type Options struct {
	// Partitions is the hash partition count on plain PostgreSQL;
	// DefaultPartitions when zero.
	Partitions int
}

// New loads the migrations of fsys (see Load).
func New(fsys fs.FS, opts Options) (*Runner, error) {
	migs, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	if opts.Partitions == 0 {
		opts.Partitions = DefaultPartitions
	}
	if opts.Partitions < 1 {
		return nil, fmt.Errorf("migrate: %d partitions", opts.Partitions)
	}
	return &Runner{migs: migs, partitions: opts.Partitions}, nil
}

// Migrations returns the loaded migrations in version order.
func (r *Runner) Migrations() []Migration { return append([]Migration(nil), r.migs...) }

// Latest returns the highest version, 0 when there are none.
func (r *Runner) Latest() int64 {
	if len(r.migs) == 0 {
		return 0
	}
	return r.migs[len(r.migs)-1].Version
}

// State is one migration's state in a database.
type State struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when not applied
	Variant   string    // as applied: "citus" or "native:N"
	Changed   bool      // applied, and its up file has changed since
}

type applied struct {
	name, checksum, variant string
	at                      time.Time
}

// Status reports every known migration and whether it is applied. It
// returns ErrUnknown when the database holds a version no file describes.
func (r *Runner) Status(ctx context.Context, pool *pgxpool.Pool) ([]State, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	done, err := readApplied(ctx, conn.Conn(), false)
	if err != nil {
		return nil, err
	}
	return r.states(done)
}

func (r *Runner) states(done map[int64]applied) ([]State, error) {
	known := map[int64]bool{}
	out := make([]State, 0, len(r.migs))
	for _, m := range r.migs {
		known[m.Version] = true
		st := State{Version: m.Version, Name: m.Name}
		if a, ok := done[m.Version]; ok {
			st.Applied, st.AppliedAt, st.Variant = true, a.at, a.variant
			st.Changed = a.checksum != m.Checksum
		}
		out = append(out, st)
	}
	for v, a := range done {
		if !known[v] {
			return out, fmt.Errorf("%w: version %d (%s)", ErrUnknown, v, a.name)
		}
	}
	return out, nil
}

// verify refuses a database whose applied migrations differ from the
// files: a changed up file, or a version the files do not have.
func (r *Runner) verify(done map[int64]applied) error {
	states, err := r.states(done)
	if err != nil {
		return err
	}
	for _, st := range states {
		if st.Changed {
			return fmt.Errorf("%w: version %d (%s) was applied from a different file; restore the file or write a new migration", ErrChanged, st.Version, st.Name)
		}
	}
	return nil
}

// readApplied returns the applied migrations; a missing table means none,
// unless create is set, when it is created.
func readApplied(ctx context.Context, conn *pgx.Conn, create bool) (map[int64]applied, error) {
	if create {
		if _, err := conn.Exec(ctx, createTable); err != nil {
			return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
		}
	}
	rows, err := conn.Query(ctx, `SELECT version, name, checksum, variant, applied_at FROM schema_migrations`)
	if err != nil {
		var pgErr *pgconn.PgError
		if !create && errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
			return map[int64]applied{}, nil
		}
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int64]applied{}
	for rows.Next() {
		var v int64
		var a applied
		if err := rows.Scan(&v, &a.name, &a.checksum, &a.variant, &a.at); err != nil {
			return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
		}
		done[v] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	return done, nil
}

// locked runs fn on a dedicated connection holding the migration lock,
// after creating schema_migrations and reading it under the lock.
func (r *Runner) locked(ctx context.Context, pool *pgxpool.Pool, fn func(*pgx.Conn, map[int64]applied, Variant) error) error {
	pconn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer pconn.Release()
	conn := pconn.Conn()
	// The lock waits for another migrating process; a cancelled ctx
	// cancels the wait.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("migrate: take migration lock: %w", err)
	}
	defer func() {
		// A connection whose unlock failed may still hold the lock, so it
		// is closed rather than returned to the pool.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, lockKey); err != nil {
			conn.Close(uctx)
		}
	}()
	done, err := readApplied(ctx, conn, true)
	if err != nil {
		return err
	}
	if err := r.verify(done); err != nil {
		return err
	}
	v := Variant{Partitions: r.partitions}
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')`).Scan(&v.Citus); err != nil {
		return fmt.Errorf("migrate: detect citus: %w", err)
	}
	return fn(conn, done, v)
}

// Up applies every pending migration up to target (the latest when target
// is 0) in version order, each in its own transaction, and returns the
// versions it applied. A concurrent Up waits for this one and then applies
// nothing.
func (r *Runner) Up(ctx context.Context, pool *pgxpool.Pool, target int64) ([]int64, error) {
	if target == 0 {
		target = r.Latest()
	}
	var did []int64
	err := r.locked(ctx, pool, func(conn *pgx.Conn, done map[int64]applied, v Variant) error {
		for _, m := range r.migs {
			if m.Version > target {
				break
			}
			if _, ok := done[m.Version]; ok {
				continue
			}
			sql, err := Render(fmt.Sprintf("%04d_%s.up.sql", m.Version, m.Name), m.Up, v)
			if err != nil {
				return err
			}
			err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, sql); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum, variant) VALUES ($1, $2, $3, $4)`,
					m.Version, m.Name, m.Checksum, v.String())
				return err
			})
			if err != nil {
				return fmt.Errorf("migrate: up %04d_%s: %w", m.Version, m.Name, err)
			}
			did = append(did, m.Version)
		}
		return nil
	})
	return did, err
}

// Down reverts the n most recently applied migrations, newest first, each
// in its own transaction, and returns the versions it reverted. It renders
// each down file for the variant its up file was applied with.
func (r *Runner) Down(ctx context.Context, pool *pgxpool.Pool, n int) ([]int64, error) {
	var did []int64
	err := r.locked(ctx, pool, func(conn *pgx.Conn, done map[int64]applied, _ Variant) error {
		for i := len(r.migs) - 1; i >= 0 && len(did) < n; i-- {
			m := r.migs[i]
			a, ok := done[m.Version]
			if !ok {
				continue
			}
			v, err := parseVariant(a.variant)
			if err != nil {
				return err
			}
			sql, err := Render(fmt.Sprintf("%04d_%s.down.sql", m.Version, m.Name), m.Down, v)
			if err != nil {
				return err
			}
			err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, sql); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, m.Version)
				return err
			})
			if err != nil {
				return fmt.Errorf("migrate: down %04d_%s: %w", m.Version, m.Name, err)
			}
			did = append(did, m.Version)
		}
		return nil
	})
	return did, err
}

func parseVariant(s string) (Variant, error) {
	if s == "citus" {
		return Variant{Citus: true}, nil
	}
	var v Variant
	if _, err := fmt.Sscanf(s, "native:%d", &v.Partitions); err != nil || v.Partitions < 1 {
		return v, fmt.Errorf("migrate: schema_migrations holds unknown variant %q", s)
	}
	return v, nil
}
