package workspace

import (
	"context"
	"fmt"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/labels/importers"
)

// ImportOptions configure ImportLabels.
type ImportOptions struct {
	// Format names the importer (importers.ByName); empty detects it from
	// the content, and "csv" or a CSVMap takes the generic CSV importer.
	Format string
	// CSVMap is the generic CSV importer's column mapping.
	CSVMap string
}

// DatasetCounts is what applying one dataset changed.
type DatasetCounts struct {
	Dataset  string            `json:"dataset"`
	Counts   labels.Counts     `json:"counts"`
	Rejected []labels.Rejected `json:"rejected,omitempty"`
}

// ImportSummary is what an import did.
type ImportSummary struct {
	// Format is the importer that read the source.
	Format   string          `json:"format"`
	Datasets []DatasetCounts `json:"datasets"`
	Total    labels.Counts   `json:"total"`
	Elapsed  time.Duration   `json:"-"`
}

// ImportLabels imports a label source (a file, a directory, or a builtin:
// name) into the label database under dataDir, creating it if needed.
// Each dataset is applied atomically and re-importing one is idempotent.
func ImportLabels(ctx context.Context, dataDir, path string, o ImportOptions) (ImportSummary, error) {
	var imp labels.Importer
	var err error
	switch {
	case o.Format == "csv" || o.CSVMap != "":
		imp, err = importers.NewCSV(o.CSVMap)
	case o.Format != "":
		imp, err = importers.ByName(o.Format)
	default:
		imp, err = importers.Detect(path)
	}
	if err != nil {
		return ImportSummary{}, err
	}
	began := time.Now()
	sets, err := imp.Import(ctx, path)
	if err != nil {
		return ImportSummary{}, err
	}
	st, err := labels.Open(ctx, LabelsDir(dataDir))
	if err != nil {
		return ImportSummary{}, err
	}
	defer st.Close()
	sum := ImportSummary{Format: imp.Name()}
	for _, d := range sets {
		c, err := st.Apply(ctx, d)
		if err != nil {
			return sum, fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		sum.Datasets = append(sum.Datasets, DatasetCounts{d.Name, c, d.Rejected})
		t := &sum.Total
		t.Added += c.Added
		t.Updated += c.Updated
		t.Unchanged += c.Unchanged
		t.Retired += c.Retired
		t.Rejected += c.Rejected
		t.Actors += c.Actors
	}
	sum.Elapsed = time.Since(began)
	return sum, nil
}
