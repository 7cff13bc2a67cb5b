package importers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestRegistry checks All, Names and ByName.
func TestRegistry(t *testing.T) {
	want := []string{
		"tagpack", "actorpack", "chaintrace-actors", "ofac-sdn-xml", "ofac-sdn-advanced-xml", "ofac-sdn-csv",
		"ofac-0xb10c", "ofac-ultrasoundmoney", "ofac-thomasgregg", "etherscan", "chaintrace-incidents", "csv", "tree",
	}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range want {
		imp, err := ByName(name)
		if err != nil || imp.Name() != name {
			t.Errorf("ByName(%q) = %v, %v", name, imp, err)
		}
	}
	_, err := ByName("sdn")
	wantErr(t, err, "importers:", `unknown format "sdn"`, "ofac-sdn-csv", "tagpack")
	imp, err := ByName("csv:address=0,label=1")
	if err != nil || imp.Name() != "csv" {
		t.Errorf("ByName(csv:...) = %v, %v", imp, err)
	}
	_, err = ByName("csv:label=1")
	wantErr(t, err, "address (or tx_hash) is not mapped")
}

// TestDetectMixedFolder builds a folder of several formats: Detect gives
// the tree importer, which imports each file with its own importer and
// skips what it does not know.
func TestDetectMixedFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "packs/test.yaml", goodPack)
	writeFile(t, dir, "lists/sanctioned_addresses_ETH.txt", roninExploiter+"\n")
	writeFile(t, dir, "us/data.csv", "address,name\n"+roninExploiter+",LAZARUS GROUP\n")
	writeFile(t, dir, "notes.txt", "nothing to import\n")
	sdn, err := os.ReadFile(filepath.Join("testdata", "SDN.XML"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "ofac/SDN.XML", string(sdn))

	imp, err := Detect(dir)
	if err != nil || imp.Name() != "tree" {
		t.Fatalf("Detect(folder) = %v, %v", imp, err)
	}
	ds, err := imp.Import(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name+"/"+d.Format)
	}
	want := []string{"tagpack:test.yaml/tagpack", "ofac-sdn/ofac-sdn-xml", "ofac-0xb10c:ETH/ofac-0xb10c", "ofac-ultrasoundmoney/ofac-ultrasoundmoney"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("datasets %v, want %v", names, want)
	}
	// A folder of one format gets that format's importer.
	if imp, err := Detect(filepath.Join(dir, "packs")); err != nil || imp.Name() != "tagpack" {
		t.Errorf("Detect(packs) = %v, %v", imp, err)
	}
	// Nothing known: an error naming the formats.
	empty := t.TempDir()
	writeFile(t, empty, "README", "hello\n")
	_, err = Detect(empty)
	wantErr(t, err, "importers:", "no known label format recognised", "tagpack", "ofac-thomasgregg", "csv:MAPPING")
	_, err = Detect(filepath.Join(empty, "missing.yaml"))
	wantErr(t, err, "importers:", "missing.yaml")
	// An importer given a folder without its files says so.
	_, err = sdnCSVImporter{}.Import(context.Background(), empty)
	wantErr(t, err, "no ofac-sdn-csv file found")
}

// TestImportCancelled checks that a cancelled context stops imports.
func TestImportCancelled(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "test.yaml", goodPack)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (treeImporter{}).Import(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("tree: %v, want context.Canceled", err)
	}
	if _, err := (sdnXMLImporter{}).Import(ctx, filepath.Join("testdata", "SDN.XML")); !errors.Is(err, context.Canceled) {
		t.Errorf("sdn xml: %v, want context.Canceled", err)
	}
	if _, err := (chaintraceActorsImporter{}).Import(ctx, BuiltinActors); !errors.Is(err, context.Canceled) {
		t.Errorf("builtin actors: %v, want context.Canceled", err)
	}
}

// BenchmarkImportLabels imports the whole shared label folder and reports
// labels per second.
func BenchmarkImportLabels(b *testing.B) {
	root := sharedLabels(b)
	n := 0
	for b.Loop() {
		ds, err := treeImporter{}.Import(context.Background(), root)
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for _, d := range ds {
			n += len(d.Labels)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "labels/s")
	b.ReportMetric(float64(n), "labels/op")
}
