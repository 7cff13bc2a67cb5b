package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/monitor"
	"github.com/getkin/kin-openapi/openapi3"
)

// openAPIPath is where the server serves its OpenAPI document.
const openAPIPath = "/api/v1/openapi.json"

// exampleAlerts are the alert journal the document's alert examples
// read: a Bitcoin alert with a labelled counterparty, a token transfer
// on Ethereum and a KYT rating change, so that every field of Alert
// appears in some example.
func exampleAlerts(w *world) []monitor.Alert {
	return []monitor.Alert{
		{ID: "9c1e5b2a7f40d3e8a61b0c4f", Seq: 17, Kind: monitor.KindAlert, Watch: "bybit-2025", WatchName: "Bybit theft proceeds", Rule: "any",
			Chain: "btc", Tx: "5f2d8c0e4b7a19c3d6e8f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1", Height: 884213,
			Block: "00000000000000000001c4a8e2f6b0d3a5c7e9f1b3d5a7c9e1f3b5d7a9c1e3f5", Time: time.Date(2025, 2, 23, 14, 7, 31, 0, time.UTC),
			Direction: monitor.DirOut, Amount: 150000000, TxValue: 151990000, Asset: "BTC", Hop: 1,
			Counterparties: []monitor.Counterparty{
				{Address: w.payee, Value: 150000000, Tainted: 150000000},
				{Address: w.mixer, Value: 1990000, Labels: []monitor.Label{{Label: "Mixer", Category: "mixing_service", Dataset: "tagpack:mixers.yaml"}}},
			}},
		{ID: "4d7a0c9e2b5f8136a0e4c7d2", Seq: 18, Kind: monitor.KindAlert, Watch: "bybit-2025", WatchName: "Bybit theft proceeds", Rule: "any",
			Chain: "eth", Tx: "0x8e3b1f6a2d9c4e7b0a5f3d8c1e6b9a4f7d2c5e8b1a6f9d3c7e0b4a8f2d5c9e1b", Height: 21895512,
			Block: "0x1a7c4e9b2f5d8a3c6e1b4f7a0d3c9e2b5f8a1d4c7e0b3f6a9d2c5e8b1f4a7d0c", Time: time.Date(2025, 2, 23, 14, 9, 11, 0, time.UTC),
			Direction: monitor.DirIn, Asset: "USDT", Token: "0xdAC17F958D2ee523a2206206994597C13D831ec7", Value: "250000000000", Hop: 0,
			Counterparties: []monitor.Counterparty{
				{Address: w.sanctioned, Value: 0, Labels: []monitor.Label{{Label: "TraderTraitor wallet", Actor: "tradertraitor", Entity: "TraderTraitor", Dataset: "ofac-sdn"}}},
			}},
		{ID: "e08b3f6c1a9d4e7b2c5f0a83", Seq: 19, Kind: monitor.KindRatingChange, Watch: "kyt", Rule: monitor.KindRatingChange,
			Chain: "kyt", Tx: "b7c2e9f4a1d6b3e8c5f0a7d2e9b4c1f6a3d8e5b0c7f2a9d4e1b6c3f8a5d0e7b2", Time: time.Date(2025, 2, 23, 15, 0, 0, 0, time.UTC),
			Direction: monitor.DirIn, Amount: 2500000, Asset: "BTC", Value: "2500000", Hop: 0,
			Reason:   "rating LOW to SEVERE: new label on sender " + w.sender + ": Sanctioned sender (sanction) from ofac-sdn",
			Transfer: "tr_5b1e0c7a9d2f4e6b8a3c1d0e", UserID: "u-1042", OldRating: "LOW", NewRating: "SEVERE"},
	}
}

// exampleServer is a real HTTP server over the test world, with its label
// store, the example alert journal, the example transfer registry, the
// chain stores of chains_test.go, the test incident registry, the
// example trace jobs and cases: what the document's examples describe.
func exampleServer(t *testing.T) (*api.Server, *httptest.Server) {
	t.Helper()
	w := newWorld(t)
	data := t.TempDir()
	if err := monitor.AppendJournal(t.Context(), data, exampleAlerts(w)); err != nil {
		t.Fatal(err)
	}
	srv, _ := testServer(t, w, true, func(c *api.Config) {
		c.AlertData, c.Transfers = data, exampleTransfers(t)
		c.Chains, c.ChainLabels = exampleChains(t)
		exampleSecurity(t, c)
		c.Incidents = testIncidents(t)
		c.Traces, c.Cases = exampleTraces(t), exampleCases(t)
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts
}

// servedDocument fetches the document from a server and loads it.
func servedDocument(t *testing.T, base string) (*openapi3.T, []byte) {
	t.Helper()
	resp, err := http.Get(base + openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", openAPIPath, resp.StatusCode, body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	return doc, body
}

// operation is one operation of the document with its path.
type operation struct {
	method, path string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// operations lists the document's operations in path and method order.
func operations(doc *openapi3.T) []operation {
	var out []operation
	for _, p := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(p)
		for m, op := range item.Operations() {
			out = append(out, operation{m, p, item, op})
		}
	}
	slices.SortFunc(out, func(a, b operation) int { return strings.Compare(a.path+" "+a.method, b.path+" "+b.method) })
	return out
}

// parameters returns the path item's parameters overridden by the
// operation's.
func (o operation) parameters() []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, ps := range []openapi3.Parameters{o.item.Parameters, o.op.Parameters} {
		for _, pr := range ps {
			out = slices.DeleteFunc(out, func(p *openapi3.Parameter) bool { return p.Name == pr.Value.Name && p.In == pr.Value.In })
			out = append(out, pr.Value)
		}
	}
	return out
}

// TestOpenAPIDocumentIsValid loads the served document with kin-openapi
// and validates it as OpenAPI 3.1, so that tools reading it (client
// generators, documentation viewers) accept it.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	_, ts := exampleServer(t)
	doc, _ := servedDocument(t, ts.URL)
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	// TestOpenAPIExamples validates the examples instead of the loader,
	// which would reject the requests of error examples that the schemas
	// forbid on purpose.
	if err := doc.Validate(t.Context(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	// The loader checks operation ids for uniqueness; that each
	// operation has one, documents every response's X-Request-Id and
	// declares each path parameter are this API's own rules.
	for _, o := range operations(doc) {
		name := o.method + " " + o.path
		if o.op.OperationID == "" {
			t.Errorf("%s has no operationId", name)
		}
		if o.op.Responses.Len() == 0 {
			t.Errorf("%s has no responses", name)
		}
		for code, rr := range o.op.Responses.Map() {
			if _, ok := rr.Value.Headers["X-Request-Id"]; !ok {
				t.Errorf("%s: response %s does not declare X-Request-Id", name, code)
			}
		}
		declared := map[string]bool{}
		for _, p := range o.parameters() {
			if p.In == openapi3.ParameterInPath {
				declared[p.Name] = true
			}
		}
		for seg := range strings.SplitSeq(o.path, "/") {
			if strings.HasPrefix(seg, "{") && !declared[strings.Trim(seg, "{}")] {
				t.Errorf("%s: path parameter %s is not declared", name, seg)
			}
		}
	}
}

// TestOpenAPIDescribesEveryRoute compares the document's operations with
// the server's route table, so that a route cannot be added or removed
// without the document following.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	srv, ts := exampleServer(t)
	doc, _ := servedDocument(t, ts.URL)
	var registered, documented []string
	for _, p := range srv.RoutePatterns() {
		// A ServeMux wildcard {name...} is the path parameter {name}.
		registered = append(registered, strings.ReplaceAll(p, "...}", "}"))
	}
	for _, o := range operations(doc) {
		documented = append(documented, o.method+" "+o.path)
	}
	slices.Sort(registered)
	slices.Sort(documented)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s has no operation in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.json describes %s, which the server does not register", d)
		}
	}
}

// exchange is one example of an operation: the request its parameter and
// body examples of one name make, and the response example of that name.
type exchange struct {
	name, status, mediaType string
	req                     *http.Request
	response                *openapi3.Response
	schema                  *openapi3.Schema
	want                    any
}

// exchanges builds the requests of o's response examples against base.
func exchanges(t *testing.T, base string, o operation) []exchange {
	t.Helper()
	used := map[string]bool{}
	var out []exchange
	for status, rr := range o.op.Responses.Map() {
		for mediaType, mt := range rr.Value.Content {
			for name, er := range mt.Examples {
				used[name] = true
				req := exampleRequest(t, base, o, name)
				out = append(out, exchange{name, status, mediaType, req, rr.Value, mt.Schema.Value, er.Value.Value})
			}
		}
	}
	// A request example no response example pairs with would never run.
	for _, p := range o.parameters() {
		for name := range p.Examples {
			if !used[name] {
				t.Errorf("%s %s: parameter %s has example %q, which no response example pairs with", o.method, o.path, p.Name, name)
			}
		}
	}
	if o.op.RequestBody != nil {
		for _, mt := range o.op.RequestBody.Value.Content {
			for name := range mt.Examples {
				if !used[name] {
					t.Errorf("%s %s: request body example %q has no response example", o.method, o.path, name)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b exchange) int { return strings.Compare(a.status+a.name, b.status+b.name) })
	return out
}

// exampleRequest makes the request of example name of o: each parameter
// takes its example of that name, else its single example, else is left
// out; the body is the request body's example of that name.
func exampleRequest(t *testing.T, base string, o operation, name string) *http.Request {
	t.Helper()
	path := o.path
	query := url.Values{}
	header := http.Header{}
	for _, p := range o.parameters() {
		v, ok := p.Example, p.Example != nil
		if ex, found := p.Examples[name]; found {
			v, ok = ex.Value.Value, true
		}
		if !ok {
			if p.Required {
				t.Fatalf("%s %s example %q: required parameter %s has no example", o.method, o.path, name, p.Name)
			}
			continue
		}
		s := paramString(v)
		switch p.In {
		case openapi3.ParameterInPath:
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(s))
		case openapi3.ParameterInQuery:
			query.Set(p.Name, s)
		case openapi3.ParameterInHeader:
			header.Set(p.Name, s)
		}
	}
	var body io.Reader
	if o.op.RequestBody != nil {
		for mediaType, mt := range o.op.RequestBody.Value.Content {
			if ex, ok := mt.Examples[name]; ok {
				b, err := json.Marshal(ex.Value.Value)
				if err != nil {
					t.Fatal(err)
				}
				// A text body (a TagPack's YAML) goes as it is.
				if text, ok := ex.Value.Value.(string); ok && !strings.Contains(mediaType, "json") {
					b = []byte(text)
				}
				body = bytes.NewReader(b)
				header.Set("Content-Type", mediaType)
			}
		}
	}
	target := base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequest(o.method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	// Operations that need a key get the example server's, except in
	// the examples that show what happens without one.
	if needsKey(o.op) && name != "no-key" {
		req.Header.Set("X-API-Key", exampleAdminKey)
	}
	return req
}

// paramString spells a parameter example as it goes into a URL or a
// header.
func paramString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// TestOpenAPIExamples replays every example pair of the document against
// a real server: the response must have the example's status and media
// type, validate against its schema and equal the example, so no example
// can drift from what the server says.
func TestOpenAPIExamples(t *testing.T) {
	_, ts := exampleServer(t)
	doc, _ := servedDocument(t, ts.URL)
	alertSchema := doc.Components.Schemas["Alert"].Value
	// The metrics change with every request and the document would have
	// to hold itself: these two operations alone go without examples.
	unexampled := []string{"metrics", "openAPIDocument"}
	for _, o := range operations(doc) {
		exs := exchanges(t, ts.URL, o)
		if len(exs) == 0 && !slices.Contains(unexampled, o.op.OperationID) {
			t.Errorf("%s has no example", o.op.OperationID)
		}
		for _, ex := range exs {
			t.Run(o.op.OperationID+"/"+ex.status+"/"+ex.name, func(t *testing.T) {
				if strings.HasPrefix(ex.status, "2") {
					checkRequestExamples(t, doc, o, ex.name)
				}
				checkExchange(t, doc, ex, alertSchema)
			})
		}
	}
}

// checkRequestExamples validates the parameter and body examples of a
// successful exchange against their schemas. Those of an error exchange
// may break the schemas: showing what the server answers then is their
// point.
func checkRequestExamples(t *testing.T, doc *openapi3.T, o operation, name string) {
	t.Helper()
	check := func(what string, s *openapi3.SchemaRef, v any) {
		if err := doc.ValidateSchemaJSON(s.Value, normalise(t, v), openapi3.EnableJSONSchema2020(), openapi3.VisitAsRequest()); err != nil {
			t.Errorf("%s example does not match its schema: %v", what, err)
		}
	}
	for _, p := range o.parameters() {
		if ex, ok := p.Examples[name]; ok {
			check("parameter "+p.Name, p.Schema, ex.Value.Value)
		} else if p.Example != nil {
			check("parameter "+p.Name, p.Schema, p.Example)
		}
	}
	if o.op.RequestBody != nil {
		for _, mt := range o.op.RequestBody.Value.Content {
			if ex, ok := mt.Examples[name]; ok {
				check("body", mt.Schema, ex.Value.Value)
			}
		}
	}
}

// checkExchange sends ex's request and compares the answer with ex.
func checkExchange(t *testing.T, doc *openapi3.T, ex exchange, alertSchema *openapi3.Schema) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(ex.req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if strconv.Itoa(resp.StatusCode) != ex.status {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want %s: %s", resp.StatusCode, ex.status, body)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != ex.mediaType {
		t.Errorf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), ex.mediaType)
	}
	for name, hr := range ex.response.Headers {
		if hr.Value.Required && resp.Header.Get(name) == "" {
			t.Errorf("no %s header", name)
		}
	}
	if got, sent := resp.Header.Get("X-Request-Id"), ex.req.Header.Get("X-Request-Id"); sent != "" && got != sent {
		t.Errorf("X-Request-Id %q, sent %q", got, sent)
	}
	if ex.mediaType == "text/event-stream" {
		checkStream(t, doc, resp.Body, ex, alertSchema)
		return
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	if err := doc.ValidateSchemaJSON(ex.schema, got, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()); err != nil {
		t.Errorf("the response does not match its schema: %v\n%s", err, body)
	}
	for _, f := range undeclared(ex.schema, got, "") {
		t.Errorf("the response has field %s, which its schema does not declare", f)
	}
	want := normalise(t, ex.want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("the response differs from the example\n--- got\n%s\n--- example\n%s", g, w)
	}
}

// checkStream reads as much of an event stream as the example holds
// (the stream itself never ends), compares the two, and validates each
// event's data as an Alert.
func checkStream(t *testing.T, doc *openapi3.T, body io.Reader, ex exchange, alertSchema *openapi3.Schema) {
	want, ok := ex.want.(string)
	if !ok {
		t.Fatalf("the example of an event stream is a %T, not a string", ex.want)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(body, got); err != nil {
		t.Fatalf("reading the stream: %v (read %q)", err, got)
	}
	if string(got) != want {
		t.Fatalf("the stream differs from the example\n--- got\n%s\n--- example\n%s", got, want)
	}
	events := 0
	sc := bufio.NewScanner(strings.NewReader(want))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		events++
		var v any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("event data is not JSON: %v", err)
		}
		if err := doc.ValidateSchemaJSON(alertSchema, v, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()); err != nil {
			t.Errorf("event data is not an Alert: %v\n%s", err, data)
		}
		for _, f := range undeclared(alertSchema, v, "") {
			t.Errorf("event data has field %s, which Alert does not declare", f)
		}
	}
	if events == 0 {
		t.Error("the stream example holds no event")
	}
}

// undeclared returns the paths of the fields of v that s does not
// declare. The schemas leave objects open, so that clients accept fields
// added later, and JSON Schema passes such fields; this catches a
// response type that gained a field its schema lacks.
func undeclared(s *openapi3.Schema, v any, at string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if s.AdditionalProperties.Schema != nil || s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has {
			return nil
		}
		for _, k := range sortedKeys(v) {
			field := schemaField(s, k)
			if field == nil {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, undeclared(field, v[k], at+"."+k)...)
		}
	case []any:
		if s.Items != nil {
			for i, e := range v {
				out = append(out, undeclared(s.Items.Value, e, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	}
	return out
}

// schemaField returns the schema of field k of objects of s, looking
// through allOf; nil when s does not declare it.
func schemaField(s *openapi3.Schema, k string) *openapi3.Schema {
	if p, ok := s.Properties[k]; ok {
		return p.Value
	}
	for _, sub := range s.AllOf {
		if f := schemaField(sub.Value, k); f != nil {
			return f
		}
	}
	return nil
}

// normalise gives an example value the types encoding/json decodes a
// response into.
func normalise(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenAPIServing checks the caching headers: a client holding the
// current ETag gets a 304 and no body.
func TestOpenAPIServing(t *testing.T) {
	_, ts := exampleServer(t)
	get := func(method string, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+openAPIPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	first := get("GET")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || first.Header.Get("Content-Type") != "application/json" || etag == "" || first.Header.Get("Cache-Control") == "" {
		t.Fatalf("GET: %d %v", first.StatusCode, first.Header)
	}
	if r := get("GET", "If-None-Match", etag); r.StatusCode != http.StatusNotModified || r.Header.Get("ETag") != etag {
		t.Errorf("revalidation: %d %v", r.StatusCode, r.Header)
	}
	if r := get("GET", "If-None-Match", `"stale"`); r.StatusCode != http.StatusOK {
		t.Errorf("stale copy: %d", r.StatusCode)
	}
	if r := get("HEAD"); r.StatusCode != http.StatusOK || r.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %d %v", r.StatusCode, r.Header)
	}
}

// TestOpenAPIGolden pins the served document: its headers, among them
// the ETag, which is a hash of the exact bytes, and an outline of the
// contract (operations, their parameters and responses, the schemas and
// their fields), which is what a reviewer of a change to openapi.json
// wants to see in the diff. Run with -update after an intended change.
func TestOpenAPIGolden(t *testing.T) {
	_, ts := exampleServer(t)
	resp, err := http.Get(ts.URL + openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	doc, _ := servedDocument(t, ts.URL)
	var got bytes.Buffer
	fmt.Fprintf(&got, "GET %s\nstatus: %d\n", openAPIPath, resp.StatusCode)
	for _, k := range []string{"Content-Type", "Cache-Control", "ETag"} {
		fmt.Fprintf(&got, "%s: %s\n", k, resp.Header.Get(k))
	}
	got.WriteString("\n")
	outline(&got, doc)
	path := filepath.Join("testdata", "openapi.golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestOpenAPIGolden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("the served document differs from %s (rerun with -update if intended)\n--- got\n%s\n--- want\n%s", path, got.Bytes(), want)
	}
}

// outline writes the contract of doc, one line per operation, parameter,
// response and schema field.
func outline(w io.Writer, doc *openapi3.T) {
	for _, o := range operations(doc) {
		fmt.Fprintf(w, "%s %s %s\n", o.method, o.path, o.op.OperationID)
		for _, p := range o.parameters() {
			req := ""
			if p.Required {
				req = " required"
			}
			fmt.Fprintf(w, "  %s %s: %s%s\n", p.In, p.Name, schemaType(p.Schema), req)
		}
		if rb := o.op.RequestBody; rb != nil {
			for _, mt := range sortedKeys(rb.Value.Content) {
				fmt.Fprintf(w, "  body %s: %s\n", mt, schemaType(rb.Value.Content[mt].Schema))
			}
		}
		codes := o.op.Responses.Map()
		for _, code := range sortedKeys(codes) {
			r := codes[code].Value
			var media []string
			for _, mt := range sortedKeys(r.Content) {
				media = append(media, mt+" "+schemaType(r.Content[mt].Schema))
			}
			if len(media) == 0 {
				media = append(media, "no body")
			}
			fmt.Fprintf(w, "  %s %s\n", code, strings.Join(media, ", "))
		}
	}
	for _, name := range sortedKeys(doc.Components.Schemas) {
		s := doc.Components.Schemas[name].Value
		fmt.Fprintf(w, "schema %s: %s\n", name, schemaType(doc.Components.Schemas[name]))
		for _, sub := range append([]*openapi3.SchemaRef{{Value: s}}, s.AllOf...) {
			for _, f := range sortedKeys(sub.Value.Properties) {
				req := ""
				if slices.Contains(sub.Value.Required, f) {
					req = " required"
				}
				fmt.Fprintf(w, "  %s: %s%s\n", f, schemaType(sub.Value.Properties[f]), req)
			}
		}
	}
}

// schemaType spells a schema in a word or two: its reference, or its
// type with its items or enumeration.
func schemaType(s *openapi3.SchemaRef) string {
	switch {
	case s == nil:
		return "-"
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref, "#/components/schemas/")
	case len(s.Value.AllOf) > 0:
		var parts []string
		for _, a := range s.Value.AllOf {
			parts = append(parts, schemaType(a))
		}
		return "allOf(" + strings.Join(parts, ", ") + ")"
	}
	t := strings.Join(s.Value.Type.Slice(), "|")
	if s.Value.Items != nil {
		t += " of " + schemaType(s.Value.Items)
	}
	if len(s.Value.Enum) > 0 {
		t += fmt.Sprint(" ", s.Value.Enum)
	}
	return t
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
