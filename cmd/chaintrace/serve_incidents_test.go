package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chaintrace/chaintrace/internal/incident"
)

// TestServeIncidents checks the registry serve picks: the shipped one
// for a data directory without its own, and the directory's own records
// and figures when <data>/incidents holds them.
func TestServeIncidents(t *testing.T) {
	ctx := t.Context()
	builtin, err := incident.Builtin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := serveIncidents(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Records) != len(builtin) || len(reg.Published) == 0 {
		t.Errorf("without a registry of its own: %d records, %d figures; want the %d shipped", len(reg.Records), len(reg.Published), len(builtin))
	}

	data := t.TempDir()
	dir := filepath.Join(data, "incidents")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"registry.yaml", "published.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "api", "testdata", "incidents", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg, err = serveIncidents(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Records) != 5 || len(reg.Published) != 1 || reg.Published[0].ID != "example-2021-2023" {
		t.Errorf("with a registry of its own: %d records, %d figures", len(reg.Records), len(reg.Published))
	}

	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("format: chaintrace-incidents/1\nincidents:\n  - id: nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := serveIncidents(ctx, data); err == nil {
		t.Error("an invalid registry of its own: no error")
	}
}
