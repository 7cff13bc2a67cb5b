package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestNewDatabases checks that two tests' databases are distinct and empty
// on the one shared server.
func TestNewDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := New(t), New(t)
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("table created in one test database is visible in another")
	}
	var enc string
	if err := a.QueryRow(ctx, "SHOW server_encoding").Scan(&enc); err != nil || enc != "UTF8" {
		t.Fatalf("server_encoding %q, %v; want UTF8", enc, err)
	}
}

// TestRestart checks that data survives a restart and that a pool's
// sessions are ended by it and replaced on the next query.
func TestRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := StartT(t)
	pool := NewPool(t, NewDSNOn(t, s))
	if _, err := pool.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// The session held across the restart is gone.
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a session survived the restart")
	}
	conn.Release()
	var x int
	if err := pool.QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 7 {
		t.Fatalf("after restart: x=%d, %v; want 7", x, err)
	}
}

func TestFindBinariesVersionOrder(t *testing.T) {
	if versionOf("/usr/lib/postgresql/16/bin") <= versionOf("/usr/lib/postgresql/9.6/bin") {
		t.Fatal("version 16 does not sort after 9.6")
	}
}

// TestFindBinariesDebian fakes Debian's layout with versions 9.6, 15 and
// 16 (16 lacking postgres) off PATH: the newest complete one wins, and
// with none the error says what to install.
func TestFindBinariesDebian(t *testing.T) {
	root := t.TempDir()
	for v, files := range map[string][]string{"9.6": {"initdb", "postgres"}, "15": {"initdb", "postgres"}, "16": {"initdb"}} {
		dir := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("PATH", t.TempDir())
	old := debianBinGlob
	t.Cleanup(func() { debianBinGlob = old })
	debianBinGlob = filepath.Join(root, "*", "bin")
	got, err := FindBinaries()
	if err != nil || got != filepath.Join(root, "15", "bin") {
		t.Fatalf("found %q, %v; want version 15", got, err)
	}
	debianBinGlob = filepath.Join(t.TempDir(), "*", "bin")
	if _, err := FindBinaries(); !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("no installation: %v, want ErrNoBinaries", err)
	}
}
