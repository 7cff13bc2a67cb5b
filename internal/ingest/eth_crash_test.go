package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

const (
	ethCrashStoreEnv = "CHAINTRACE_ETH_CRASH_CHILD_STORE"
	ethCrashModeEnv  = "CHAINTRACE_ETH_CRASH_CHILD_MODE"
	ethCrashChainEnv = "CHAINTRACE_ETH_CRASH_CHILD_CHAIN"
)

// TestEthCrashChild is the child of TestEthIngestSurvivesSIGKILL: it
// ingests a fixed synthetic chain into the store the environment names.
func TestEthCrashChild(t *testing.T) {
	dir := os.Getenv(ethCrashStoreEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestEthIngestSurvivesSIGKILL")
	}
	opts := store.Options{Bulk: true, MemTableBytes: 1 << 20}
	if os.Getenv(ethCrashModeEnv) == "wal" {
		opts = store.Options{}
	}
	db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "eth", Network: "ethereum"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data, err := os.ReadFile(os.Getenv(ethCrashChainEnv))
	if err != nil {
		t.Fatal(err)
	}
	var raws []*eth.RawBlock
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.NewEth(db, newMemEthSource(raws), ingest.Options{BatchBytes: 32 << 10}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestEthIngestSurvivesSIGKILL kills the child at random moments and
// restarts it until it finishes; the store must equal an uninterrupted
// run's.
func TestEthIngestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	// The chain is made once and read by every child, so that a child's
	// run is mostly ingest.
	raws := synthChain(t, 0, common.Hash{}, 100, synthConfig{txs: 20, logs: 4, seed: 1, pool: 400})
	data, err := json.Marshal(raws)
	if err != nil {
		t.Fatal(err)
	}
	chain := filepath.Join(t.TempDir(), "chain.json")
	if err := os.WriteFile(chain, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"bulk", "wal"} {
		t.Run(mode, func(t *testing.T) {
			refDir := t.TempDir()
			began := time.Now()
			if out, err := runEthChild(refDir, mode, chain, nil); err != nil {
				t.Fatalf("uninterrupted child: %v\n%s", err, out)
			}
			full := time.Since(began)
			want := ethDigestOf(t, refDir)
			dir := t.TempDir()
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			const maxKills = 6
			var heights []int64
			for kills := 0; ; {
				var kill <-chan time.Time
				if kills < maxKills {
					kill = time.After(time.Duration(rng.Int63n(int64(full) * 7 / 10)))
				}
				out, err := runEthChild(dir, mode, chain, kill)
				if errors.Is(err, errKilled) {
					kills++
					heights = append(heights, ethProgressOf(t, dir))
					continue
				}
				if err != nil {
					t.Fatalf("child failed on its own after %d kills: %v\n%s", kills, err, out)
				}
				if got := ethDigestOf(t, dir); got != want {
					t.Fatalf("after %d SIGKILLs the store differs from an uninterrupted run", kills)
				}
				t.Logf("identical to an uninterrupted run (%v) after %d SIGKILLs; stored tip after each: %v", full.Round(time.Millisecond), kills, heights)
				return
			}
		})
	}
}

func runEthChild(dir, mode, chain string, kill <-chan time.Time) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestEthCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), ethCrashStoreEnv+"="+dir, ethCrashModeEnv+"="+mode, ethCrashChainEnv+"="+chain)
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

func ethDigestOf(t *testing.T, dir string) [32]byte {
	t.Helper()
	db := openEthStore(t, dir)
	defer db.Close()
	return ethDigest(t, db)
}

// ethProgressOf returns the stored tip height, -1 when none.
func ethProgressOf(t *testing.T, dir string) int64 {
	t.Helper()
	db := openEthStore(t, dir)
	defer db.Close()
	p, ok, err := db.Progress(context.Background(), "eth-blocks")
	if err != nil {
		t.Fatalf("progress unreadable after a kill: %v", err)
	}
	if !ok {
		return -1
	}
	return int64(p.Height)
}
