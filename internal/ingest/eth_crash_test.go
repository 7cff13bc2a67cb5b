package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
			checkSurvivesSIGKILL(t, "TestEthCrashChild", 6,
				func(dir string) []string {
					return []string{ethCrashStoreEnv + "=" + dir, ethCrashModeEnv + "=" + mode, ethCrashChainEnv + "=" + chain}
				},
				func(t *testing.T, dir string) string { return fmt.Sprintf("%x", ethDigestOf(t, dir)) },
				ethProgressOf)
		})
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
