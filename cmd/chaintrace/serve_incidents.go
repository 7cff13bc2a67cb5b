package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/incident"
)

// serveIncidents loads the incident registry chaintrace serve answers
// from: the data directory's own when <data>/incidents holds records
// (its *.yaml files, with its published.yaml when it has one, else the
// shipped figures), otherwise the registry compiled into chaintrace, as
// the incidents commands use. A registry that does not validate is an
// error, since every figure the routes give would rest on it.
func serveIncidents(ctx context.Context, data string) (*api.IncidentRegistry, error) {
	dir := filepath.Join(data, "incidents")
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		recs, err := incident.LoadFile(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("the incident registry in %s: %w", dir, err)
		}
		if len(recs) > 0 {
			figs, err := incident.LoadPublishedFS(ctx, os.DirFS(dir), "published.yaml")
			if errors.Is(err, fs.ErrNotExist) {
				figs, err = incident.LoadPublished(ctx)
			}
			if err != nil {
				return nil, err
			}
			return &api.IncidentRegistry{Records: recs, Published: figs}, nil
		}
	}
	recs, err := loadRegistry(ctx)
	if err != nil {
		return nil, err
	}
	figs, err := incident.LoadPublished(ctx)
	if err != nil {
		return nil, err
	}
	return &api.IncidentRegistry{Records: recs, Published: figs}, nil
}
