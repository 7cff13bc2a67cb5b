package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/getkin/kin-openapi/openapi3"
)

// exampleAdminKey is the admin key of the example server: the document's
// examples of operations that need a key are sent with it, those named
// no-key without.
const exampleAdminKey = "ct_0123456789ab_exampleadminsecret"

// exampleSecurity gives the example server what the document's
// security examples describe: a keyring holding exampleAdminKey,
// anonymous read access, an audit log holding exampleAuditEntries and a
// label store for imports (without an index reload, so that the
// screening examples keep the test world's labels).
func exampleSecurity(t *testing.T, c *api.Config) {
	t.Helper()
	data := t.TempDir()
	sum := sha256.Sum256([]byte("exampleadminsecret"))
	keys := map[string]any{"keys": []map[string]any{{
		"id": "0123456789ab", "name": "examples", "role": "admin",
		"created": "2025-07-01T12:00:00Z", "hash": hex.EncodeToString(sum[:]),
	}}}
	writeJSONFile(t, auth.KeysPath(data), keys)
	kr, err := auth.OpenKeyring(data, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var audit []byte
	for _, e := range exampleAuditEntries() {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		audit = append(append(audit, b...), '\n')
	}
	if err := os.MkdirAll(filepath.Dir(api.AuditPath(data)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(api.AuditPath(data), audit, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := labels.OpenLive(t.Context(), workspace.LabelsDir(data), 0); err != nil {
		t.Fatal(err)
	}
	c.Keys, c.Anonymous, c.AuditData, c.LabelData = kr, auth.RoleRead, data, data
}

// exampleAuditEntries are the audit log the audit example pages through:
// a label import, a registration refused for a read key, and one refused
// for want of a key.
func exampleAuditEntries() []api.AuditEntry {
	at := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	return []api.AuditEntry{
		{Time: at, RequestID: "3f9c1a7be2d4-17", Key: "0123456789ab", Role: "admin", Method: "POST", Path: "/api/v1/labels/imports",
			Query: "format=tagpack&name=exchanges.yaml", Status: 200, Remote: "192.0.2.10:51234", BodySHA256: "9f2c4e1a7b3d5f60", BodyBytes: 1843},
		{Time: at.Add(time.Minute), RequestID: "3f9c1a7be2d4-18", Key: "anonymous", Claimed: "a1b2c3d4e5f6", Role: "read", Method: "POST", Path: "/api/v1/transfers",
			Status: 403, Remote: "192.0.2.11:40110", BodySHA256: "0c7d2e9b4a1f6e38", BodyBytes: 112},
		{Time: at.Add(2 * time.Minute), RequestID: "3f9c1a7be2d4-19", Key: "anonymous", Role: "read", Method: "POST", Path: "/api/v1/transfers",
			Status: 401, Remote: "192.0.2.12:40111", BodySHA256: "0c7d2e9b4a1f6e38", BodyBytes: 112},
	}
}

// writeJSONFile writes v as JSON to path, creating its directory.
func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// needsKey reports whether an operation's security leaves out
// anonymous access (the empty requirement).
func needsKey(op *openapi3.Operation) bool {
	if op.Security == nil {
		return false
	}
	for _, req := range *op.Security {
		if len(req) == 0 {
			return false
		}
	}
	return true
}

// TestOpenAPISecurity checks each operation's security and its 401, 403
// and 429 responses against the role the server gives its route: open
// routes accept anonymous callers alone, read routes anonymous callers
// or a key, the others a key; a route that needs a key can answer 401
// and 429, one above read 403 too.
func TestOpenAPISecurity(t *testing.T) {
	srv, ts := exampleServer(t)
	doc, _ := servedDocument(t, ts.URL)
	for _, p := range srv.RoutePatterns() {
		method, path, _ := strings.Cut(strings.ReplaceAll(p, "...}", "}"), " ")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			continue // TestOpenAPIDescribesEveryRoute reports it
		}
		op := item.GetOperation(method)
		role := api.RouteRole(p)
		var got []string
		if op.Security != nil {
			for _, req := range *op.Security {
				names := slices.Sorted(maps.Keys(req))
				got = append(got, "{"+strings.Join(names, ",")+"}")
			}
		}
		want := map[string][]string{
			"none": {"{}"}, "read": {"{}", "{bearer}", "{apiKey}"},
			"write": {"{bearer}", "{apiKey}"}, "admin": {"{bearer}", "{apiKey}"},
		}[role]
		if !slices.Equal(got, want) {
			t.Errorf("%s (role %s): security %v, want %v", p, role, got, want)
		}
		for code, need := range map[string]bool{"401": role != "none", "429": role != "none", "403": role == "write" || role == "admin"} {
			if has := op.Responses.Value(code) != nil; has != need {
				t.Errorf("%s (role %s): response %s declared %v, want %v", p, role, code, has, need)
			}
		}
	}
}
