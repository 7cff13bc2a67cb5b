package tracebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/chaintrace/chaintrace/internal/trace/graphidx"
)

// IndexInfo describes how a chain's in-memory graph index was obtained.
type IndexInfo struct {
	graphidx.Stats
	// BuildSeconds is the time of the build from the store, which the
	// first run pays (0 when the index was loaded); SaveSeconds the time
	// of writing it to its file; LoadSeconds the time of loading it in a
	// later run (0 when it was built).
	BuildSeconds, SaveSeconds, LoadSeconds float64
}

// Index returns the in-memory graph index of the chain: loaded from
// graph.idx beside the store when an earlier run saved it, else built from
// the store and saved there (with the build's figures in graph.idx.json).
func (c *Chain) Index(ctx context.Context, logf Logf) (*graphidx.Index, IndexInfo, error) {
	var info IndexInfo
	path := filepath.Join(c.Dir, "graph.idx")
	start := time.Now()
	x, err := graphidx.Load(path)
	switch {
	case err == nil:
		info.LoadSeconds = time.Since(start).Seconds()
		// The build's figures survive in graph.json from the run that
		// built the index.
		if b, err := os.ReadFile(path + ".json"); err == nil {
			var built IndexInfo
			if json.Unmarshal(b, &built) == nil {
				info.BuildSeconds, info.SaveSeconds = built.BuildSeconds, built.SaveSeconds
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		logf("tracebench: building the graph index")
		if x, err = graphidx.Build(ctx, c.DB); err != nil {
			return nil, info, fmt.Errorf("tracebench: %w", err)
		}
		info.BuildSeconds = time.Since(start).Seconds()
		start = time.Now()
		tmp := path + ".tmp"
		if err := x.Save(tmp); err != nil {
			return nil, info, fmt.Errorf("tracebench: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, info, fmt.Errorf("tracebench: %w", err)
		}
		info.SaveSeconds = time.Since(start).Seconds()
		info.Stats = x.Stats()
		b, err := json.Marshal(info)
		if err == nil {
			err = os.WriteFile(path+".json", b, 0o644)
		}
		if err != nil {
			return nil, info, fmt.Errorf("tracebench: %w", err)
		}
	default:
		return nil, info, fmt.Errorf("tracebench: %w", err)
	}
	info.Stats = x.Stats()
	return x, info, nil
}
