package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

// crashChildEnv tells a re-executed test binary to act as the ingest child
// of TestIngestSurvivesSIGKILL.
const (
	crashChildEnv = "CHAINTRACE_CRASH_CHILD_STORE"
	crashModeEnv  = "CHAINTRACE_CRASH_CHILD_MODE"
)

// TestCrashChild is the child process: it ingests into the store named by
// the environment and exits. It does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestIngestSurvivesSIGKILL")
	}
	// Bulk mode runs without a WAL and depends on whole-batch flushes; a
	// small memtable makes flushes happen mid-run. WAL mode depends on
	// the log.
	opts := store.Options{Bulk: true, MemTableBytes: 1 << 20}
	if os.Getenv(crashModeEnv) == "wal" {
		opts = store.Options{}
	}
	db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "btc", Network: "mainnet"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Small batches: many commits, so kills land between and inside them.
	ingestFiles(t, db, mainnetBlk(t), wire.MainNet, ingest.Options{BatchBytes: 32 << 10})
}

// TestIngestSurvivesSIGKILL kills a child ingest at random moments, starts
// it again until it finishes, and checks the store is byte-for-byte the
// store of an uninterrupted run of the same child.
func TestIngestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	mainnetBlk(t) // skip early when the data is absent
	for _, mode := range []string{"bulk", "wal"} {
		t.Run(mode, func(t *testing.T) { testSIGKILL(t, mode) })
	}
}

func testSIGKILL(t *testing.T, mode string) {
	checkSurvivesSIGKILL(t, "TestCrashChild", 8,
		func(dir string) []string { return []string{crashChildEnv + "=" + dir, crashModeEnv + "=" + mode} },
		func(t *testing.T, dir string) string {
			d, n, err := digestOf(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%d entries %x", n, d[:8])
		},
		progressOf)
}

// checkSurvivesSIGKILL runs the child test once uninterrupted into a
// reference store, which also tells how long a run takes here (the race
// detector slows it several times); then, in another store, it kills the
// child at random moments (at most maxKills times) and starts it again
// until it finishes on its own, and requires the two stores' digests to be
// equal. env names a child's store; digest and tip read a store.
func checkSurvivesSIGKILL(t *testing.T, child string, maxKills int, env func(dir string) []string,
	digest func(t *testing.T, dir string) string, tip func(t *testing.T, dir string) int64) {
	t.Helper()
	refDir := t.TempDir()
	began := time.Now()
	if out, err := runChild(child, env(refDir), nil); err != nil {
		t.Fatalf("uninterrupted child: %v\n%s", err, out)
	}
	full := time.Since(began)
	want := digest(t, refDir)

	dir := t.TempDir()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	var heights []int64
	for kills := 0; ; {
		var kill <-chan time.Time
		if kills < maxKills {
			// Anywhere from process start-up to most of a full run: kills
			// land during open, mid-batch and mid-commit.
			kill = time.After(time.Duration(rng.Int63n(int64(full) * 7 / 10)))
		}
		out, err := runChild(child, env(dir), kill)
		if errors.Is(err, errKilled) {
			kills++
			heights = append(heights, tip(t, dir))
			continue
		}
		if err != nil {
			t.Fatalf("child failed on its own after %d kills: %v\n%s", kills, err, out)
		}
		if kills == 0 {
			t.Fatal("the child finished before any kill landed: the test checked nothing")
		}
		if got := digest(t, dir); got != want {
			t.Fatalf("after %d SIGKILLs the store differs: %s, uninterrupted %s", kills, got, want)
		}
		t.Logf("store identical to an uninterrupted run (%v) after %d SIGKILLs; stored tip after each kill: %v", full.Round(time.Millisecond), kills, heights)
		return
	}
}

var errKilled = errors.New("killed")

// runChild runs the test binary's test named child with env added,
// sending SIGKILL when kill fires.
func runChild(child string, env []string, kill <-chan time.Time) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out := &limitedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-kill:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return out.String(), errKilled
	}
}

// progressOf returns the stored tip height, -1 when none.
func progressOf(t *testing.T, dir string) int64 {
	db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		t.Fatalf("store unreadable after a kill: %v", err)
	}
	defer db.Close()
	p, ok, err := db.Progress(context.Background(), "blocks")
	if err != nil {
		t.Fatalf("progress unreadable after a kill: %v", err)
	}
	if !ok {
		return -1
	}
	return int64(p.Height)
}

func digestOf(t *testing.T, dir string) ([32]byte, int, error) {
	db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer db.Close()
	return db.Digest(context.Background())
}

// limitedBuffer keeps the first 64 KiB a child prints.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		l.b = append(l.b, p[:room]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
