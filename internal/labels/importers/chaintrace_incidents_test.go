package importers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/labels/importers"
)

// TestBuiltinIncidents imports the shipped registry's addresses through
// "builtin:incidents" and checks that they become service_hack labels of
// the attributed actor, with a source, and that the Ronin exploiter is
// among them. The test is an external package because package incident
// imports package importers.
func TestBuiltinIncidents(t *testing.T) {
	ctx := context.Background()
	importers.RegisterIncidents(nil)
	imp, err := importers.Detect(importers.BuiltinIncidents)
	if err != nil || imp.Name() != "chaintrace-incidents" {
		t.Fatalf("Detect(builtin:incidents): %v %v", imp, err)
	}
	if _, err := imp.Import(ctx, importers.BuiltinIncidents); err == nil || !strings.Contains(err.Error(), "no incident registry") {
		t.Fatalf("import without a registry: %v", err)
	}
	importers.RegisterIncidents(func(ctx context.Context) ([]labels.Label, error) {
		recs, err := incident.Builtin(ctx)
		if err != nil {
			return nil, err
		}
		return incident.Labels(recs), nil
	})
	defer importers.RegisterIncidents(nil)
	dss, err := imp.Import(ctx, importers.BuiltinIncidents)
	if err != nil {
		t.Fatal(err)
	}
	if len(dss) != 1 {
		t.Fatalf("%d datasets", len(dss))
	}
	ds := dss[0]
	if want := importers.IncidentsDataset; want != incident.LabelsDataset {
		t.Fatalf("importers.IncidentsDataset %q differs from incident.LabelsDataset %q", want, incident.LabelsDataset)
	}
	if ds.Name != incident.LabelsDataset || len(ds.Rejected) != 0 || len(ds.Labels) < 10 {
		t.Fatalf("dataset %s: %d labels, rejected %+v", ds.Name, len(ds.Labels), ds.Rejected)
	}
	ronin := false
	for _, l := range ds.Labels {
		if l.Abuse != "service_hack" || l.Actor == "" || l.Source == "" || l.Dataset != ds.Name || !strings.Contains(l.Context, "incident ") {
			t.Errorf("label %+v incomplete", l)
		}
		if l.Chain == "eth" && strings.EqualFold(l.Address, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96") {
			ronin = l.Actor == "lazarusgroup" && strings.Contains(l.Context, "2022-03-ronin-bridge")
		}
	}
	if !ronin {
		t.Error("the Ronin exploiter 0x098B…2f96 is not labelled lazarusgroup for 2022-03-ronin-bridge")
	}
	if _, err := imp.Import(ctx, "incidents.yaml"); err == nil {
		t.Error("a file path was accepted")
	}
}
