package api_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// TestLabelImport imports a TagPack over the API: a write key is needed,
// the screening index sees the label at once, and the import is in the
// audit log.
func TestLabelImport(t *testing.T) {
	data := t.TempDir()
	live, err := labels.OpenLive(t.Context(), workspace.LabelsDir(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, write, err := auth.Create(t.Context(), data, auth.RoleWrite, "importer", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := auth.OpenKeyring(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := testServer(t, newWorld(t), false, func(c *api.Config) {
		c.Keys, c.Anonymous, c.AuditData, c.LabelData, c.LabelSource = kr, auth.RoleRead, data, data, live
	})
	h := srv.Handler()
	pack, err := os.ReadFile("testdata/import-tagpack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const addr = "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak"
	const target = "/api/v1/labels/imports?format=tagpack&name=exchanges.yaml"
	problem(t, do(h, "POST", target, string(pack), "Content-Type", "application/yaml"), 401, "urn:chaintrace:problem:unauthorized")
	rec := do(h, "POST", target, string(pack), "Content-Type", "application/yaml", "X-API-Key", write)
	if rec.Code != 200 {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}
	var sum workspace.ImportSummary
	decode(t, rec, &sum)
	if sum.Format != "tagpack" || sum.Total.Added != 1 || len(sum.Datasets) != 1 || !strings.Contains(sum.Datasets[0].Dataset, "exchanges.yaml") {
		t.Errorf("summary %s", rec.Body)
	}
	if got := srv.Screener().Index().Len(); got != 1 {
		t.Errorf("the index holds %d addresses after the import, want 1", got)
	}
	if ls, err := live.Labels(t.Context(), "btc", addr); err != nil || len(ls) != 1 || ls[0].Label != "Imported exchange" {
		t.Errorf("label store: %+v, %v", ls, err)
	}
	problem(t, do(h, "POST", "/api/v1/labels/imports?format=nope", "x: 1", "X-API-Key", write), 422, "urn:chaintrace:problem:invalid-label-source")
	problem(t, do(h, "POST", "/api/v1/labels/imports", "", "X-API-Key", write), 400, "urn:chaintrace:problem:invalid-body")
	f, err := os.Open(api.AuditPath(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var statuses []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e api.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Path != "/api/v1/labels/imports" {
			t.Errorf("audit path %q", e.Path)
		}
		statuses = append(statuses, e.Status)
	}
	if len(statuses) != 4 || statuses[0] != 401 || statuses[1] != 200 {
		t.Errorf("audited statuses %v, want 401, 200, 422, 400", statuses)
	}
}

// TestLabelImportUnavailable checks the route of a server without a
// label store.
func TestLabelImportUnavailable(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), false, nil)
	problem(t, do(srv.Handler(), "POST", "/api/v1/labels/imports", "x"), 404, "urn:chaintrace:problem:imports-unavailable")
}
