// Package stages gives one ingester at a time ownership of a chain's
// ingest stage on a shared PostgreSQL database, through a session advisory
// lock keyed by hashtext(chain || '/' || stage) and held on a dedicated
// connection for as long as the ingester runs the stage.
//
// A session lock, rather than a transaction lock, is held across the many
// batches a stage commits, and PostgreSQL releases it when the session
// ends, so an ingester that dies or loses its connection frees its stage
// without anyone cleaning up. The other side of that is that a lease can
// be lost (a server restart, a dropped connection): Check tells, and an
// ingester checks before each commit.
package stages

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrHeld reports that another session holds the stage; the error is a
// *HeldError naming the holder.
var ErrHeld = errors.New("stages: stage held by another ingester")

// ErrLost reports that a lease's lock is no longer held: its session
// ended (a server restart, a dropped connection) and another ingester may
// have taken the stage since.
var ErrLost = errors.New("stages: stage lease lost")

// Holder describes the session holding a stage, from pg_stat_activity.
type Holder struct {
	PID             int32
	ApplicationName string
	ClientAddr      string // empty for a unix socket
	BackendStart    time.Time
}

// HeldError is ErrHeld with the stage and, when it could be read, the
// session holding it.
type HeldError struct {
	Chain, Stage string
	Waited       time.Duration
	Holder       *Holder // nil when the holder ended before it could be named
}

func (e *HeldError) Error() string {
	msg := fmt.Sprintf("stages: stage %s/%s is held by another ingester", e.Chain, e.Stage)
	if h := e.Holder; h != nil {
		name := h.ApplicationName
		if name == "" {
			name = "(no application_name)"
		}
		msg = fmt.Sprintf("stages: stage %s/%s is held by %s, pid %d", e.Chain, e.Stage, name, h.PID)
		if h.ClientAddr != "" {
			msg += " from " + h.ClientAddr
		}
		if !h.BackendStart.IsZero() {
			msg += ", connected since " + h.BackendStart.UTC().Format(time.RFC3339)
		}
	}
	if e.Waited > 0 {
		msg += fmt.Sprintf(" (waited %s)", e.Waited.Round(time.Millisecond))
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Unwrap() error { return ErrHeld }

// Options choose between failing at once and waiting for the stage.
type Options struct {
	// Wait is how long Acquire waits for a held stage before it returns a
	// *HeldError; zero fails at once.
	Wait time.Duration
	// Poll is the interval between attempts while waiting; 200ms when
	// zero. Polling pg_try_advisory_lock, rather than blocking in
	// pg_advisory_lock, lets the error name the holder at the end and
	// keeps no query outstanding that a cancelled ctx must interrupt.
	Poll time.Duration
}

// Lease is one held stage. It owns a connection taken out of the pool;
// Release returns it.
type Lease struct {
	Chain, Stage string

	mu   sync.Mutex
	conn *pgxpool.Conn // nil after Release
	key  string
}

// Acquire takes ownership of chain's stage for this process.
func Acquire(ctx context.Context, pool *pgxpool.Pool, chain, stage string, opts Options) (*Lease, error) {
	if chain == "" || stage == "" {
		return nil, errors.New("stages: chain and stage must be named")
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	key := chain + "/" + stage
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	start := time.Now()
	retried := false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1)::bigint)`, key).Scan(&ok); err != nil {
			// A pooled connection can be dead from a server restart the
			// pool has not noticed yet; one fresh connection is worth a
			// try before giving up.
			closed := conn.Conn().IsClosed()
			conn.Release()
			if closed && !retried && ctx.Err() == nil {
				retried = true
				if conn, err = pool.Acquire(ctx); err == nil {
					continue
				}
			}
			return nil, fmt.Errorf("stages: lock %s: %w", key, err)
		}
		if ok {
			return &Lease{Chain: chain, Stage: stage, conn: conn, key: key}, nil
		}
		waited := time.Since(start)
		if waited >= opts.Wait {
			holder, err := holderOf(ctx, conn.Conn(), key)
			conn.Release()
			if err != nil {
				return nil, err
			}
			return nil, &HeldError{Chain: chain, Stage: stage, Waited: opts.Wait, Holder: holder}
		}
		select {
		case <-ctx.Done():
			conn.Release()
			return nil, fmt.Errorf("stages: waiting for %s: %w", key, ctx.Err())
		case <-time.After(min(opts.Poll, opts.Wait-waited)):
		}
	}
}

// holderOf names the session holding key's lock. A single-bigint advisory
// lock shows in pg_locks as classid (high 32 bits) and objid (low 32
// bits) with objsubid 1.
func holderOf(ctx context.Context, conn *pgx.Conn, key string) (*Holder, error) {
	var h Holder
	var start *time.Time
	err := conn.QueryRow(ctx, `
		SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), ''), a.backend_start
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext($1)::bigint
		LIMIT 1`, key).Scan(&h.PID, &h.ApplicationName, &h.ClientAddr, &start)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stages: name holder of %s: %w", key, err)
	}
	if start != nil {
		h.BackendStart = *start
	}
	return &h, nil
}

// Check returns ErrLost when the lease's session no longer holds the lock
// (or was released), and nil while it does.
func (l *Lease) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return fmt.Errorf("%w: %s released", ErrLost, l.key)
	}
	var held bool
	err := l.conn.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM pg_locks l
			WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid = pg_backend_pid()
			  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext($1)::bigint)`, l.key).Scan(&held)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLost, l.key, err)
	}
	if !held {
		return fmt.Errorf("%w: %s", ErrLost, l.key)
	}
	return nil
}

// Release gives the stage up and returns the connection to its pool. A
// connection whose unlock failed is closed instead, so that a lock it
// might still hold ends with its session rather than staying in the pool.
// Releasing twice is a no-op.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	conn := l.conn
	l.conn = nil
	var ok bool
	err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock(hashtext($1)::bigint)`, l.key).Scan(&ok)
	if err != nil || !ok {
		conn.Conn().Close(ctx)
		conn.Release()
		if err != nil {
			return fmt.Errorf("%w: unlock %s: %w", ErrLost, l.key, err)
		}
		return fmt.Errorf("%w: %s was not held at release", ErrLost, l.key)
	}
	conn.Release()
	return nil
}
