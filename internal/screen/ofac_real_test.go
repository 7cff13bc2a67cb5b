package screen_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/labels/importers"
	"github.com/chaintrace/chaintrace/internal/screen"
)

// TestEveryOFACListAddressIsSevere imports the real 0xB10C OFAC lists
// through the importer and the label store, and screens every address of
// every list: each must come back SEVERE by the sanctions rule, apart from
// the two list entries that are not addresses of their chain (a TRON
// address in the XBT list, a 64-hex-digit value in the XMR list), which
// the importer rejects.
func TestEveryOFACListAddressIsSevere(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "labels", "ofac", "0xB10C-lists"))
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared OFAC lists absent (%v)", err)
	}
	ctx := context.Background()
	imp, err := importers.Detect(dir)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := imp.Import(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := labels.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rejected := map[string]bool{}
	for _, d := range sets {
		if _, err := st.Apply(ctx, d); err != nil {
			t.Fatal(err)
		}
		for _, r := range d.Rejected {
			rejected[r.Value] = true
		}
	}
	ix, err := st.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := screen.New(ix, nil, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "sanctioned_addresses_*.txt"))
	screened := 0
	for _, f := range files {
		asset := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "sanctioned_addresses_"), ".txt")
		for _, a := range readList(t, f) {
			if rejected[a] {
				continue
			}
			chains := []string{}
			if c, ok := addrs.ChainOf(asset); ok {
				chains = append(chains, c)
			} else {
				chains = addrs.Guess(a)
			}
			ok := false
			for _, c := range chains {
				r, err := s.Screen(ctx, c, a, screen.Options{NoExposure: true})
				if err == nil && r.Risk.Level == screen.Severe {
					ok = true
					break
				}
			}
			if !ok {
				t.Errorf("%s address %s (chains %v) is not screened SEVERE", asset, a, chains)
			}
			screened++
		}
	}
	if screened < 600 || len(rejected) != 2 {
		t.Fatalf("screened %d list addresses with %d rejected; the lists hold about 650 with 2 bad entries", screened, len(rejected))
	}
	t.Logf("%d OFAC list addresses screened SEVERE; %d list entries rejected at import", screened, len(rejected))
}

func readList(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
