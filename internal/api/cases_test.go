package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/cases"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
)

// caseBody is a case as the UI saves it: two nodes on mainnet's first
// blocks, the payment between them, a filter and a trace.
const caseBody = `{"name":"First payment","description":"Satoshi to Hal","graph":{"nodes":[` +
	`{"id":"n1","chain":"btc","address":"` + querytest.Satoshi + `","kind":"address","x":10,"y":20},` +
	`{"id":"n2","chain":"btc","address":"` + querytest.Hal + `","x":200,"y":20,"collapsed":true}],` +
	`"edges":[{"from":"n1","to":"n2","tx":"` + querytest.FirstPayment + `","asset":"BTC","value":"1000000000"}],` +
	`"filters":{"min_value":"1000"}},"notes":"the first payment","incidents":["2009-01-first-payment"],"traces":["tr-0123456789abcdef"]}`

// caseRequest sends a case request with optional headers and returns the
// response and its body.
func caseRequest(t *testing.T, h http.Handler, method, target, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	ct := []string{}
	if body != "" {
		ct = []string{"Content-Type", "application/json"}
	}
	rec := do(h, method, target, body, append(ct, hdr...)...)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

// TestCasesCRUD creates, lists, reads, updates, conflicts and deletes a
// case over the API.
func TestCasesCRUD(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), false, func(c *api.Config) { c.Cases = cases.New(t.TempDir(), cases.Options{}) })
	h := srv.Handler()
	code, hdr, body := caseRequest(t, h, "POST", "/api/v1/cases", caseBody)
	var c cases.Case
	if err := json.Unmarshal(body, &c); err != nil || code != 201 || c.Version != 1 || hdr.Get("ETag") != `"1"` || hdr.Get("Location") != "/api/v1/cases/"+c.ID {
		t.Fatalf("create: %d %v %s", code, hdr, body)
	}
	if len(c.Graph.Nodes) != 2 || !c.Graph.Nodes[1].Collapsed || c.Graph.Nodes[1].Kind != "address" || c.Graph.Filters["min_value"] != "1000" {
		t.Errorf("created case: %+v", c)
	}
	code, hdr, body = caseRequest(t, h, "GET", "/api/v1/cases/"+c.ID, "")
	if code != 200 || hdr.Get("ETag") != `"1"` || !strings.Contains(string(body), querytest.Hal) {
		t.Errorf("get: %d %v %s", code, hdr, body)
	}
	code, _, body = caseRequest(t, h, "GET", "/api/v1/cases?limit=200", "")
	var list api.CaseList
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || len(list.Cases) != 1 || list.Cases[0].Nodes != 2 {
		t.Errorf("list: %d %s", code, body)
	}
	changed := strings.Replace(caseBody, "First payment", "First payment, annotated", 1)
	code, hdr, body = caseRequest(t, h, "PUT", "/api/v1/cases/"+c.ID, changed, "If-Match", `"1"`)
	if code != 200 || hdr.Get("ETag") != `"2"` || !strings.Contains(string(body), "annotated") {
		t.Errorf("update: %d %v %s", code, hdr, body)
	}
	for _, tc := range []struct {
		method, ifMatch string
		status          int
		slug            string
	}{
		{"PUT", `"1"`, 412, "version-conflict"},
		{"PUT", "", 428, "version-required"},
		{"PUT", "yes", 400, "invalid-if-match"},
		{"DELETE", `"1"`, 412, "version-conflict"},
	} {
		hdrs := []string{}
		if tc.ifMatch != "" {
			hdrs = []string{"If-Match", tc.ifMatch}
		}
		b := ""
		if tc.method == "PUT" {
			b = changed
		}
		code, _, body := caseRequest(t, h, tc.method, "/api/v1/cases/"+c.ID, b, hdrs...)
		if code != tc.status || !strings.Contains(string(body), "urn:chaintrace:problem:"+tc.slug) {
			t.Errorf("%s If-Match %q: %d %s", tc.method, tc.ifMatch, code, body)
		}
	}
	if code, _, body := caseRequest(t, h, "DELETE", "/api/v1/cases/"+c.ID, "", "If-Match", `"2"`); code != 204 || len(body) != 0 {
		t.Errorf("delete: %d %s", code, body)
	}
	if code, _, body := caseRequest(t, h, "GET", "/api/v1/cases/"+c.ID, ""); code != 404 || !strings.Contains(string(body), "case-not-found") {
		t.Errorf("get after delete: %d %s", code, body)
	}
}

// TestCasesBadBodies refuses malformed and invalid cases, naming the
// field where there is one.
func TestCasesBadBodies(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), false, func(c *api.Config) { c.Cases = cases.New(t.TempDir(), cases.Options{}) })
	h := srv.Handler()
	for _, tc := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"name":""}`, 400, "name"},
		{`{"name":"x","graph":{"nodes":[{"id":"a","chain":"btc"}]}}`, 400, "graph.nodes[0].address"},
		{`{"name":"x","graph":{"nodes":[{"id":"a","chain":"btc","address":"b"}],"edges":[{"from":"a","to":"z"}]}}`, 400, "graph.edges[0].to"},
		{`{"name":"x","traces":["nope"]}`, 400, "traces[0]"},
		{`{"name":"x","graph":{"nodes":[{"id":"a","chain":"btc","address":"b","x":"left"}]}}`, 400, "graph.nodes.x"},
		{`{"name":"x","colour":"red"}`, 400, ""},
		{`{"name":"x"`, 400, ""},
		{`{"name":"` + strings.Repeat("x", api.MaxCaseBytes) + `"}`, 413, ""},
	} {
		code, _, body := caseRequest(t, h, "POST", "/api/v1/cases", tc.body)
		var p api.Problem
		if err := json.Unmarshal(body, &p); err != nil || code != tc.status || p.Field != tc.field {
			t.Errorf("%.80s: %d %s", tc.body, code, body)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?page=2"} {
		if code, _, _ := caseRequest(t, h, "GET", "/api/v1/cases"+q, ""); code != 400 {
			t.Errorf("list%s: %d", q, code)
		}
	}
	if code, _, _ := caseRequest(t, h, "POST", "/api/v1/cases", caseBody, "Content-Type", "text/plain"); code != 415 {
		t.Errorf("text/plain: %d", code)
	}
	// Without a store the routes say so.
	srv, _ = testServer(t, newWorld(t), false, nil)
	if code, _, body := caseRequest(t, srv.Handler(), "GET", "/api/v1/cases", ""); code != 404 || !strings.Contains(string(body), "cases-unavailable") {
		t.Errorf("without a store: %d %s", code, body)
	}
}

// exampleCases returns the case store of the example server: ids and
// times fixed, holding two cases (case-...c1 and case-...c2).
func exampleCases(t *testing.T) *cases.Store {
	t.Helper()
	st := cases.New(t.TempDir(), cases.Options{Now: func() time.Time { return exampleClock }, NewID: sequence("case-", 0xc1)})
	var in cases.Input
	if err := json.Unmarshal([]byte(caseBody), &in); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"First payment", "Early mining"} {
		in.Name = name
		if _, err := st.Create(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		in = cases.Input{Description: "Blocks 1 to 9", Notes: "who mined them?"}
	}
	return st
}
