package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// Files of a world directory, as package world writes them.
const (
	TruthFile   = "truth.json"
	BridgesFile = "bridges.yaml"
	LabelsDir   = "labels"
)

// markerFile, in the data directory, records the world last prepared
// there and the store tips it left, so that preparing it again skips the
// ingest.
const markerFile = "eval-world.json"

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	// Logger gets the ingesters' notes; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called as blocks of a chain (by chain id)
	// are ingested.
	Progress func(chain string, s ingest.Status)
	// Force ingests even when the data directory says it already holds
	// this world.
	Force bool
}

// Prepared is what Prepare did.
type Prepared struct {
	World *truth.World
	// Bridges is the world's bridge rules file, empty when it has none.
	Bridges string
	// Skipped is set when the data directory already held the world at
	// the same tips and nothing was ingested.
	Skipped bool
	// Ingested is the ingest status per chain id (empty when skipped).
	Ingested map[string]ingest.Status
	Labels   workspace.ImportSummary
}

type marker struct {
	Truth string            `json:"truth_sha256"`
	Tips  map[string]uint64 `json:"tips"` // store directory -> height
}

// Prepare reads a world directory's truth and ingests its chains and
// imports its labels into the data directory, ready for tracing with
// workspace.Open (with Prepared.Bridges). A data directory already holding
// the same world (same truth file, stores at the tips the last Prepare
// left) is left alone.
func Prepare(ctx context.Context, worldDir, dataDir string, o PrepareOptions) (*Prepared, error) {
	raw, err := os.ReadFile(filepath.Join(worldDir, TruthFile))
	if err != nil {
		return nil, fmt.Errorf("eval: %s is not a world directory: %w", worldDir, err)
	}
	w, err := truth.Read(filepath.Join(worldDir, TruthFile))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	p := &Prepared{World: w, Ingested: map[string]ingest.Status{}}
	if _, err := os.Stat(filepath.Join(worldDir, BridgesFile)); err == nil {
		p.Bridges = filepath.Join(worldDir, BridgesFile)
	}
	want := marker{Truth: hex.EncodeToString(sum[:]), Tips: map[string]uint64{}}
	if !o.Force && upToDate(ctx, dataDir, want.Truth) {
		p.Skipped = true
		return p, nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	roles := make([]string, 0, len(w.Chains))
	for r := range w.Chains {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, role := range roles {
		c := w.Chains[role]
		iopts := workspace.IngestOptions{Options: ingest.Options{Logger: o.Logger}}
		if o.Progress != nil {
			iopts.Progress = func(s ingest.Status) { o.Progress(c.ID, s) }
		}
		dir := filepath.Join(worldDir, c.Dir)
		var st ingest.Status
		var storeDir string
		switch {
		case strings.HasPrefix(c.ID, "btc"):
			net, err := btc.Network(c.Network)
			if err != nil {
				return nil, fmt.Errorf("eval: chain %s: %w", c.ID, err)
			}
			st, err = workspace.IngestBlockFiles(ctx, dataDir, dir, net, iopts)
			if err != nil {
				return nil, fmt.Errorf("eval: ingesting %s: %w", c.ID, err)
			}
			storeDir = filepath.Base(workspace.BTCStoreDir(dataDir, btc.NetworkName(net)))
		case strings.HasPrefix(c.ID, "eth"):
			st, err = workspace.IngestETL(ctx, dataDir, dir, c.Network, iopts)
			if err != nil {
				return nil, fmt.Errorf("eval: ingesting %s: %w", c.ID, err)
			}
			storeDir = filepath.Base(workspace.ETHStoreDir(dataDir, c.Network))
		default:
			return nil, fmt.Errorf("eval: chain %s (%s): neither Bitcoin nor EVM", role, c.ID)
		}
		p.Ingested[c.ID] = st
		tip, ok, err := workspace.StoreTip(ctx, dataDir, storeDir)
		if err != nil {
			return nil, err
		}
		if ok {
			want.Tips[storeDir] = tip.Height
		}
	}
	if p.Labels, err = workspace.ImportLabels(ctx, dataDir, filepath.Join(worldDir, LabelsDir), workspace.ImportOptions{}); err != nil {
		return nil, fmt.Errorf("eval: importing the world's labels: %w", err)
	}
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, markerFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return p, nil
}

// upToDate reports whether the data directory's marker names the same
// truth and every store it lists is still at the recorded tip.
func upToDate(ctx context.Context, dataDir, truthSum string) bool {
	b, err := os.ReadFile(filepath.Join(dataDir, markerFile))
	if err != nil {
		return false
	}
	var m marker
	if err := json.Unmarshal(b, &m); err != nil || m.Truth != truthSum || len(m.Tips) == 0 {
		return false
	}
	if _, err := os.Stat(workspace.LabelsDir(dataDir)); errors.Is(err, os.ErrNotExist) {
		return false
	}
	for dir, h := range m.Tips {
		tip, ok, err := workspace.StoreTip(ctx, dataDir, dir)
		if err != nil || !ok || tip.Height != h {
			return false
		}
	}
	return true
}
