package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden pins the exact responses of every endpoint: status, the
// headers clients rely on, and the indented body. Run with -update after
// an intended change and review the diff.
func TestGolden(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	h := srv.Handler()
	cases := []struct{ name, method, target, body string }{
		{"screen_sanctioned", "GET", "/api/v1/screen/eth/" + strings.ToLower(w.sanctioned), ""},
		{"screen_exposure", "GET", "/api/v1/screen/btc/" + w.payee, ""},
		{"screen_direct_only", "GET", "/api/v1/screen/btc/" + w.mixer + "?exposure=false", ""},
		{"screen_unknown", "GET", "/api/v1/screen/eth/" + w.unknownEth, ""},
		{"screen_invalid_address", "GET", "/api/v1/screen/eth/0x1234", ""},
		{"screen_unknown_chain", "GET", "/api/v1/screen/nochain/abc", ""},
		{"screen_bad_hops", "GET", "/api/v1/screen/btc/" + w.payee + "?hops=zero", ""},
		{"batch", "POST", "/api/v1/screen", fmt.Sprintf(`{"addresses":[{"chain":"eth","address":%q},{"chain":"btc","address":%q},{"chain":"eth","address":"0x12"}],"hops":2}`, w.sanctioned, w.payee)},
		{"batch_too_large", "POST", "/api/v1/screen", `{"addresses":[` + strings.Repeat(`{"chain":"eth","address":"0x0"},`, 1000) + `{"chain":"eth","address":"0x0"}]}`},
		{"labels", "GET", "/api/v1/labels/eth/" + w.delisted, ""},
		{"actor", "GET", "/api/v1/actors/lazarusgroup", ""},
		{"actor_not_found", "GET", "/api/v1/actors/nobody", ""},
		{"route_not_found", "GET", "/api/v1/nothing", ""},
		{"method_not_allowed", "PUT", "/api/v1/actors/lazarusgroup", ""},
		{"healthz", "GET", "/healthz", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, tc.method, tc.target, tc.body, "X-Request-Id", "golden-"+tc.name)
			var got bytes.Buffer
			fmt.Fprintf(&got, "%s %s\n", tc.method, tc.target)
			fmt.Fprintf(&got, "status: %d\n", rec.Code)
			for _, k := range []string{"Content-Type", "Allow", "X-Request-Id"} {
				if v := rec.Header().Get(k); v != "" {
					fmt.Fprintf(&got, "%s: %s\n", k, v)
				}
			}
			got.WriteString("\n")
			if err := json.Indent(&got, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
			}
			got.WriteString("\n")
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("response differs from %s (rerun with -update if intended)\n--- got\n%s\n--- want\n%s", path, got.Bytes(), want)
			}
		})
	}
}
