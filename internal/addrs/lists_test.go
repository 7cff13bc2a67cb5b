package addrs

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ofacDir holds the OFAC-derived lists in the shared data folder, relative
// to this package's directory.
const ofacDir = "../../../shared/data/labels/ofac"

// listAnomalies are list entries that are not addresses of the list's
// chain. The test asserts that each is still rejected for that chain (and,
// when validAs is set, accepted for the chain it belongs to), so a change
// in validation or in the data shows up.
var listAnomalies = []struct {
	file, addr, validAs, why string
}{
	{"sanctioned_addresses_XBT.json", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "trx",
		"a TRON address filed under XBT"},
	{"sanctioned_addresses_XMR.json", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320", "",
		"64 hex digits that OFAC lists as an XMR address; no Monero address has this form"},
}

// needDir skips the test when dir is missing (a checkout without shared/).
func needDir(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared data not available (%v): run from a checkout with shared/ beside main/", err)
	}
}

// readList reads a JSON array of strings.
func readList(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// listChain returns the chain of a 0xB10C list from its currency suffix,
// or "" for token lists (USDT, USDC) whose entries span chains.
func listChain(t *testing.T, file string) string {
	cur := strings.TrimSuffix(strings.TrimPrefix(file, "sanctioned_addresses_"), ".json")
	if cur == "USDT" || cur == "USDC" {
		return ""
	}
	chain, ok := ChainOf(cur)
	if !ok {
		t.Fatalf("%s: no chain for currency %q", file, cur)
	}
	return chain
}

// TestOFACLists normalises every address of every 0xB10C list for its
// chain. Token lists are checked against the chains Guess finds.
func TestOFACLists(t *testing.T) {
	dir := filepath.Join(ofacDir, "0xB10C-lists")
	needDir(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "sanctioned_addresses_*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no lists in %s: %v", dir, err)
	}
	total, anomalies := 0, 0
	for _, path := range files {
		file := filepath.Base(path)
		chain := listChain(t, file)
		list := readList(t, path)
		if len(list) == 0 {
			t.Errorf("%s is empty", file)
		}
		perChain := map[string]int{}
		fileAnomalies := 0
		for _, a := range list {
			if i := slices.IndexFunc(listAnomalies, func(x struct{ file, addr, validAs, why string }) bool {
				return x.file == file && x.addr == a
			}); i >= 0 {
				checkAnomaly(t, chain, listAnomalies[i].addr, listAnomalies[i].validAs, listAnomalies[i].why)
				fileAnomalies++
				continue
			}
			c := chain
			if c == "" {
				g := Guess(a)
				if len(g) == 0 {
					t.Errorf("%s: %q fits no chain", file, a)
					continue
				}
				c = g[0]
			}
			out, err := Normalize(c, a)
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			if again, err := Normalize(c, out); err != nil || again != out {
				t.Errorf("%s: %q normalises to %q, then to %q, %v", file, a, out, again, err)
			}
			perChain[c]++
		}
		var parts []string
		for c, n := range perChain {
			parts = append(parts, itoa(n)+" "+c)
			total += n
		}
		sort.Strings(parts)
		t.Logf("%s: %d entries, valid: %s; known anomalies rejected: %d",
			file, len(list), strings.Join(parts, ", "), fileAnomalies)
		anomalies += fileAnomalies
	}
	t.Logf("validated %d list addresses; %d known anomalies rejected", total, anomalies)
}

// checkAnomaly asserts that a known non-address of chain is rejected for
// it and, when validAs is set, is valid there.
func checkAnomaly(t *testing.T, chain, addr, validAs, why string) {
	t.Helper()
	if _, err := Normalize(chain, addr); !errors.Is(err, ErrInvalid) {
		t.Errorf("anomaly %q (%s) is not rejected for %s: %v", addr, why, chain, err)
	}
	if validAs != "" {
		if _, err := Normalize(validAs, addr); err != nil {
			t.Errorf("anomaly %q (%s): %v", addr, why, err)
		}
	}
}

// TestUltrasoundList normalises every address of the ultrasound.money
// OFAC export, a CSV of EIP-55 Ethereum addresses.
func TestUltrasoundList(t *testing.T) {
	path := filepath.Join(ofacDir, "ultrasoundmoney", "data.csv")
	needDir(t, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, row := range rows[1:] {
		out, err := Normalize("eth", row[0])
		if err != nil {
			t.Error(err)
			continue
		}
		if strings.ContainsAny(row[0][2:], "ABCDEF") && strings.ContainsAny(row[0][2:], "abcdef") && out != row[0] {
			t.Errorf("checksummed %q normalised to %q", row[0], out)
		}
		n++
	}
	t.Logf("validated %d eth addresses", n)
}

// TestRecoverCaseOFAC restores the case of the thomasgregg OFAC export,
// which lower-cases every address, from the 0xB10C lists. Every address
// the lists know must be restored to their form, and none may be
// ambiguous.
func TestRecoverCaseOFAC(t *testing.T) {
	path := filepath.Join(ofacDir, "thomasgregg", "sanctioned-addresses.json")
	needDir(t, path)
	needDir(t, filepath.Join(ofacDir, "0xB10C-lists"))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Addresses map[string]struct {
			Type string `json:"type"`
		} `json:"addresses"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(ofacDir, "0xB10C-lists", "sanctioned_addresses_*.json"))
	byLower := map[string][]string{}
	for _, p := range files {
		for _, a := range readList(t, p) {
			k := strings.ToLower(a)
			if !slices.Contains(byLower[k], a) {
				byLower[k] = append(byLower[k], a)
			}
		}
	}
	known := func(lower string) []string { return byLower[lower] }
	var recovered, unknown, failed int
	for addr, e := range doc.Addresses {
		cur := strings.TrimPrefix(e.Type, "Digital Currency Address - ")
		chain, ok := ChainOf(cur)
		if !ok {
			// A token: take the chain from the known form, else from
			// the address itself.
			cands := append(known(strings.ToLower(addr)), addr)
			for _, c := range cands {
				if g := Guess(c); len(g) > 0 {
					chain = g[0]
					break
				}
			}
			if chain == "" {
				unknown++
				continue
			}
		}
		got, err := RecoverCase(chain, addr, known)
		if errors.Is(err, ErrAmbiguous) {
			t.Errorf("%s: %v", cur, err)
			continue
		}
		listed := known(strings.ToLower(addr))
		if err != nil {
			if len(listed) > 0 && !isAnomaly(listed[0]) {
				t.Errorf("%s %q is in the 0xB10C lists as %v but not recovered: %v", cur, addr, listed, err)
			}
			failed++
			continue
		}
		if len(listed) == 1 {
			if want, _ := Normalize(chain, listed[0]); got != want {
				t.Errorf("%s %q recovered as %q, lists have %q", cur, addr, got, listed[0])
			}
		}
		recovered++
	}
	t.Logf("thomasgregg: %d addresses recovered or valid as given, %d not recoverable from the 0xB10C lists, %d token entries of undetermined chain",
		recovered, failed, unknown)
}

// isAnomaly reports whether addr is one of listAnomalies.
func isAnomaly(addr string) bool {
	for _, a := range listAnomalies {
		if a.addr == addr {
			return true
		}
	}
	return false
}

// itoa formats a small non-negative integer.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
