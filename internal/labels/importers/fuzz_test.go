package importers

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chaintrace/chaintrace/data"
)

// FuzzYAMLPacks feeds arbitrary bytes to the three YAML readers: they
// must return an error or a dataset, never panic.
func FuzzYAMLPacks(f *testing.F) {
	f.Add([]byte(goodPack))
	f.Add([]byte(data.ActorsYAML))
	f.Add([]byte("title: x\ncreator: y\nactors:\n- id: a\n  label: b\n  uri: c\n  categories: [exchange]\n  context: {refs: [r]}\n"))
	f.Add([]byte("title: &a x\ncreator: *a\ntags:\n- &t {address: 1, label: *a}\n- *t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readTagPack("f.yaml", b)
		_, _ = readActorPack("f.yaml", b)
		_, _ = readChaintraceActors("f.yaml", "f", b)
	})
}

// FuzzFiles writes arbitrary bytes to a file and imports it with every
// format: errors are fine, panics are not.
func FuzzFiles(f *testing.F) {
	for _, name := range []string{"SDN.XML", "SDN_ADVANCED.XML", "sdn_unexpected.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("27307,\"LAZARUS GROUP\",-0- ,DPRK3,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Digital Currency Address - ETH 0x098B716B8Aaf21512996dC57EB0615e2383E2f96.\"\n"))
	f.Add([]byte("{\"metadata\": {\"source\": \"OFAC SDN List\"}, \"addresses\": {\"abc\": {\"type\": \"Digital Currency Address - XBT\", \"entries\": [{}]}}}"))
	f.Add([]byte("[\"0x098B716B8Aaf21512996dC57EB0615e2383E2f96\"]"))
	f.Add([]byte(",Address,Name Tag,Balance,Txn Count\n0,0x098b716b8aaf21512996dc57eb0615e2383e2f96,x,0 ETH,1\n"))
	csvImp, err := NewCSV("address=0,label=1,currency=2")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		for _, name := range []string{"sanctioned_addresses_XBT.json", "sanctioned_addresses_USDT.txt", "in.csv"} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, imp := range formats() {
				_, _ = imp.importFiles(context.Background(), []string{p})
			}
			_, _ = csvImp.Import(context.Background(), p)
		}
	})
}
