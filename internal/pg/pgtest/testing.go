package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// shared is the package-wide server Main registers; New starts it on first
// use so that a package whose tests all skip never runs initdb.
var shared struct {
	mu      sync.Mutex
	enabled bool
	srv     *Server
	err     error
}

var dbSeq atomic.Int64

// Main runs a package's tests with one shared server, started on the first
// New and stopped after the last test. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Require skips t when the PostgreSQL binaries are missing, or fails it
// when the environment variable CI is set: CI installs them, so their
// absence there is a broken environment, not a reason to skip.
func Require(t testing.TB) {
	t.Helper()
	if _, err := FindBinaries(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so this fails rather than skips)", err)
		}
		t.Skip(err)
	}
}

// StartT starts a server of t's own, stopped at t's cleanup; tests that
// restart or kill their server use it rather than the shared one.
func StartT(t testing.TB) *Server {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// server returns the shared server when Main is in use, or one for t alone.
func server(t testing.TB) *Server {
	t.Helper()
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.enabled {
		return StartT(t)
	}
	if shared.srv == nil && shared.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		shared.srv, shared.err = Start(ctx)
		cancel()
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// NewDSN creates a fresh, empty database for t and returns its connection
// string; the database is dropped at t's cleanup.
func NewDSN(t testing.TB) string {
	t.Helper()
	return NewDSNOn(t, server(t))
}

// NewDSNOn is NewDSN on a given server (one from StartT).
func NewDSNOn(t testing.TB, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := s.exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends sessions a test left open; a restarted or stopped
		// server has none, and its database goes with its directory.
		if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// New returns a pool on a fresh database for t, closed and dropped at t's
// cleanup.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return NewPool(t, NewDSN(t))
}

// NewPool opens a pool on dsn, closed at t's cleanup.
func NewPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// exec runs one statement in the maintenance database.
func (s *Server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", sql, err)
	}
	return nil
}
