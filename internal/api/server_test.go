package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

func TestScreenEndpoint(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	h := srv.Handler()

	rec := do(h, "GET", "/api/v1/screen/eth/"+strings.ToLower(w.sanctioned), "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var res screen.Result
	decode(t, rec, &res)
	if res.Address != w.sanctioned || res.Risk.Level != screen.Severe || len(res.Identifications) != 1 ||
		res.Identifications[0].Actor.Root != "lazarusgroup" || res.Exposure != nil || len(res.Notes) != 1 {
		t.Fatalf("result %+v", res)
	}

	// The payee received half its value from a sanctioned sender.
	rec = do(h, "GET", "/api/v1/screen/btc/"+w.payee+"?hops=2", "")
	res = screen.Result{}
	decode(t, rec, &res)
	if rec.Code != 200 || res.Exposure == nil || res.Exposure.Hops != 2 || res.Risk.Level != screen.High {
		t.Fatalf("payee: %d %s", rec.Code, rec.Body)
	}
	if len(res.Exposure.Indirect) != 1 || res.Exposure.Indirect[0].Value != 32 || res.Exposure.Indirect[0].Share != 0.4 {
		t.Fatalf("payee exposure %+v", res.Exposure.Indirect)
	}

	// exposure=false: identification only.
	rec = do(h, "GET", "/api/v1/screen/btc/"+w.payee+"?exposure=false", "")
	res = screen.Result{}
	decode(t, rec, &res)
	if rec.Code != 200 || res.Exposure != nil || res.Risk.Level != screen.Low || len(res.Identifications) != 0 {
		t.Fatalf("direct only: %d %s", rec.Code, rec.Body)
	}

	// An unknown address is a quick LOW, not an error; identifications
	// are an empty array, not null.
	rec = do(h, "GET", "/api/v1/screen/eth/"+w.unknownEth, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"identifications":[]`) || !strings.Contains(rec.Body.String(), `"level":"LOW"`) {
		t.Fatalf("unknown: %d %s", rec.Code, rec.Body)
	}
}

// problem checks that rec is a problem details response of status and
// type, and returns it.
func problem(t *testing.T, rec interface {
	Result() *http.Response
}, status int, typ string) api.Problem {
	t.Helper()
	resp := rec.Result()
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d", resp.StatusCode, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "title", "status", "detail", "instance", "request_id"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("problem %v lacks %q", raw, k)
		}
	}
	p := api.Problem{Type: fmt.Sprint(raw["type"]), Title: fmt.Sprint(raw["title"]), Detail: fmt.Sprint(raw["detail"]),
		Instance: fmt.Sprint(raw["instance"]), RequestID: fmt.Sprint(raw["request_id"])}
	if s, _ := raw["status"].(float64); int(s) != status {
		t.Errorf("problem status %v, want %d", raw["status"], status)
	}
	p.Status = status
	if p.Type != typ {
		t.Errorf("problem type %q, want %q", p.Type, typ)
	}
	if p.RequestID != resp.Header.Get("X-Request-Id") {
		t.Errorf("problem request id %q, header %q", p.RequestID, resp.Header.Get("X-Request-Id"))
	}
	return p
}

func TestProblemShapes(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, func(c *api.Config) { c.MaxBodyBytes = 4096; c.MaxBatch = 3 })
	h := srv.Handler()
	const urn = "urn:chaintrace:problem:"
	bigBatch := `{"addresses":[` + strings.Repeat(`{"chain":"eth","address":"0x0"},`, 3) + `{"chain":"eth","address":"0x0"}]}`
	for _, tc := range []struct {
		name, method, target, body, ctype string
		status                            int
		typ, detail                       string
	}{
		{"invalid address", "GET", "/api/v1/screen/eth/0x1234", "", "", 400, urn + "invalid-address", "invalid eth address"},
		{"address for another chain", "GET", "/api/v1/screen/btc/" + w.sanctioned, "", "", 400, urn + "invalid-address", "valid as eth"},
		{"bad hops", "GET", "/api/v1/screen/eth/" + w.sanctioned + "?hops=0", "", "", 400, urn + "invalid-parameter", "hops must be"},
		{"too many hops", "GET", "/api/v1/screen/eth/" + w.sanctioned + "?hops=11", "", "", 400, urn + "invalid-parameter", "hops must be"},
		{"bad exposure", "GET", "/api/v1/screen/eth/" + w.sanctioned + "?exposure=maybe", "", "", 400, urn + "invalid-parameter", "exposure must be"},
		{"unknown parameter", "GET", "/api/v1/screen/eth/" + w.sanctioned + "?depth=2", "", "", 400, urn + "invalid-parameter", `"depth"`},
		{"malformed batch", "POST", "/api/v1/screen", `{"addresses":[`, "", 400, urn + "invalid-body", "not a valid request"},
		{"unknown batch field", "POST", "/api/v1/screen", `{"addrs":[]}`, "", 400, urn + "invalid-body", "unknown field"},
		{"trailing data", "POST", "/api/v1/screen", `{"addresses":[{"chain":"eth","address":"x"}]} {}`, "", 400, urn + "invalid-body", "after the JSON value"},
		{"empty body", "POST", "/api/v1/screen", ``, "", 400, urn + "invalid-body", "empty"},
		{"empty batch", "POST", "/api/v1/screen", `{"addresses":[]}`, "", 400, urn + "invalid-body", "no addresses"},
		{"batch hops", "POST", "/api/v1/screen", `{"addresses":[{"chain":"eth","address":"x"}],"hops":99}`, "", 400, urn + "invalid-parameter", "hops must be"},
		{"unknown chain", "GET", "/api/v1/screen/doge2/abc", "", "", 404, urn + "unknown-chain", "unknown chain"},
		{"unknown actor", "GET", "/api/v1/actors/nobody", "", "", 404, urn + "actor-not-found", `"nobody"`},
		{"unknown route", "GET", "/api/v2/screen", "", "", 404, "about:blank", "no resource at /api/v2/screen"},
		{"labels of unknown chain", "GET", "/api/v1/labels/xyz/abc", "", "", 404, urn + "unknown-chain", "unknown chain"},
		{"wrong method", "DELETE", "/api/v1/screen/eth/" + w.sanctioned, "", "", 405, "about:blank", "allowed: GET, HEAD"},
		{"post to labels", "POST", "/api/v1/labels/eth/x", "{}", "", 405, "about:blank", "method POST is not allowed"},
		{"get batch", "GET", "/api/v1/screen", "", "", 405, "about:blank", "allowed: POST"},
		{"batch too large", "POST", "/api/v1/screen", bigBatch, "", 413, urn + "batch-too-large", "holds 4 addresses; the limit is 3"},
		{"body too large", "POST", "/api/v1/screen", `{"addresses":[` + strings.Repeat(" ", 5000) + `]}`, "", 413, urn + "body-too-large", "limit"},
		{"not json", "POST", "/api/v1/screen", `{"addresses":[]}`, "text/plain", 415, urn + "unsupported-media-type", "text/plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if tc.ctype != "" {
				hdr = append(hdr, "Content-Type", tc.ctype)
			}
			rec := do(h, tc.method, tc.target, tc.body, hdr...)
			p := problem(t, rec, tc.status, tc.typ)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
			if want := strings.SplitN(tc.target, "?", 2)[0]; p.Instance != want {
				t.Errorf("instance %q, want %q", p.Instance, want)
			}
			if tc.status == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if tc.typ == "about:blank" && p.Title != http.StatusText(tc.status) {
				t.Errorf("about:blank title %q", p.Title)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	w := newWorld(t)
	srv, logs := testServer(t, w, true, nil)
	h := srv.Handler()
	rec := do(h, "GET", "/healthz", "", "X-Request-Id", "client-id-42")
	if got := rec.Header().Get("X-Request-Id"); got != "client-id-42" {
		t.Fatalf("echoed %q", got)
	}
	if !strings.Contains(logs.String(), `"request_id":"client-id-42"`) {
		t.Fatalf("access log lacks the request id: %s", logs)
	}
	seen := map[string]bool{}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 129), "quote\"d"} {
		rec := do(h, "GET", "/healthz", "", "X-Request-Id", bad)
		id := rec.Header().Get("X-Request-Id")
		if id == "" || id == bad || seen[id] {
			t.Fatalf("for %q got id %q", bad, id)
		}
		seen[id] = true
	}
	// Problems carry the id too.
	rec = do(h, "GET", "/nowhere", "", "X-Request-Id", "abc")
	if p := problem(t, rec, 404, "about:blank"); p.RequestID != "abc" {
		t.Fatalf("problem request id %q", p.RequestID)
	}
}

func TestAccessLog(t *testing.T) {
	w := newWorld(t)
	srv, logs := testServer(t, w, true, nil)
	do(srv.Handler(), "GET", "/api/v1/screen/eth/"+w.sanctioned, "", "X-Request-Id", "log-me")
	var entry map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"log-me"`) {
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatal(err)
			}
		}
	}
	if entry["msg"] != "http request" || entry["route"] != "GET /api/v1/screen/{chain}/{address}" || entry["status"] != float64(200) ||
		entry["method"] != "GET" || entry["bytes"].(float64) <= 0 || entry["duration"] == nil {
		t.Fatalf("access log entry %v", entry)
	}
}

func TestBatch(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	h := srv.Handler()
	body := fmt.Sprintf(`{"addresses":[{"chain":"eth","address":%q},{"chain":"btc","address":%q},{"chain":"eth","address":"0xnope"},{"chain":"nochain","address":"x"},{"chain":"btc","address":%q}],"hops":1}`,
		strings.ToLower(w.sanctioned), w.payee, w.mixer)
	rec := do(h, "POST", "/api/v1/screen", body, "Content-Type", "application/json; charset=utf-8")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var resp api.BatchResponse
	decode(t, rec, &resp)
	if resp.Count != 5 || resp.Errors != 2 || len(resp.Results) != 5 {
		t.Fatalf("batch %+v", resp)
	}
	r := resp.Results
	if r[0].Result == nil || r[0].Result.Risk.Level != screen.Severe || r[0].Address != strings.ToLower(w.sanctioned) || r[0].Result.Address != w.sanctioned {
		t.Errorf("item 0 %+v", r[0])
	}
	if r[1].Result == nil || r[1].Result.Exposure == nil || r[1].Result.Exposure.Hops != 1 {
		t.Errorf("item 1 %+v", r[1])
	}
	if r[2].Error == nil || r[2].Error.Status != 400 || r[2].Error.Type != "urn:chaintrace:problem:invalid-address" || r[2].Error.Instance != "" {
		t.Errorf("item 2 %+v", r[2])
	}
	if r[3].Error == nil || r[3].Error.Status != 404 {
		t.Errorf("item 3 %+v", r[3])
	}
	if r[4].Result == nil || r[4].Result.Risk.Rule != "mixer" {
		t.Errorf("item 4 %+v", r[4])
	}

	// Exactly the limit is fine; query parameters apply when the body
	// does not override them.
	var sb strings.Builder
	sb.WriteString(`{"addresses":[`)
	for i := 0; i < api.DefaultMaxBatch; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"chain":"btc","address":%q}`, w.payee)
	}
	sb.WriteString("]}")
	rec = do(h, "POST", "/api/v1/screen?exposure=false", sb.String())
	resp = api.BatchResponse{}
	decode(t, rec, &resp)
	if rec.Code != 200 || resp.Count != api.DefaultMaxBatch || resp.Errors != 0 || resp.Results[999].Result.Exposure != nil {
		t.Fatalf("full batch: %d, count %d errors %d", rec.Code, resp.Count, resp.Errors)
	}
	big := strings.Replace(sb.String(), "[", fmt.Sprintf(`[{"chain":"btc","address":%q},`, w.payee), 1)
	rec = do(h, "POST", "/api/v1/screen", big)
	if p := problem(t, rec, 413, "urn:chaintrace:problem:batch-too-large"); !strings.Contains(p.Detail, "1001") {
		t.Fatalf("detail %q", p.Detail)
	}
}

func TestLabelsEndpoint(t *testing.T) {
	w := newWorld(t)
	for _, withStore := range []bool{true, false} {
		srv, _ := testServer(t, w, withStore, nil)
		rec := do(srv.Handler(), "GET", "/api/v1/labels/ETH/"+strings.ToLower(w.delisted), "")
		var resp api.LabelsResponse
		decode(t, rec, &resp)
		if rec.Code != 200 || resp.Chain != "eth" || resp.Address != w.delisted {
			t.Fatalf("store %v: %d %s", withStore, rec.Code, rec.Body)
		}
		if withStore {
			if len(resp.Labels) != 1 || resp.Labels[0].Retired == nil || !resp.Labels[0].Retired.Equal(retiredAt) || resp.ActiveOnly {
				t.Fatalf("with a store: %+v", resp)
			}
		} else if len(resp.Labels) != 0 || !resp.ActiveOnly || !strings.Contains(rec.Body.String(), `"labels":[]`) {
			t.Fatalf("from the index: %s", rec.Body)
		}
	}
}

func TestActorEndpoint(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	rec := do(srv.Handler(), "GET", "/api/v1/actors/tradertraitor", "")
	var resp api.ActorResponse
	decode(t, rec, &resp)
	if rec.Code != 200 || resp.ID != "tradertraitor" || resp.Label != "TraderTraitor" || resp.Root != "lazarusgroup" || resp.RootLabel != "Lazarus Group" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestHealthz(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	rec := do(srv.Handler(), "GET", "/healthz", "")
	var hl api.Health
	decode(t, rec, &hl)
	if rec.Code != 200 || hl.Status != "ok" || hl.Labels != 3 || hl.Addresses != 3 || len(hl.Graphs) != 1 || hl.Graphs[0] != "btc" || hl.Version != "test" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// HEAD is served by GET routes.
	if rec := do(srv.Handler(), "HEAD", "/healthz", ""); rec.Code != 200 {
		t.Fatalf("HEAD: %d", rec.Code)
	}
}

func TestMetrics(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	h := srv.Handler()
	do(h, "GET", "/healthz", "")
	do(h, "GET", "/healthz", "")
	do(h, "GET", "/api/v1/screen/eth/0x12", "")
	do(h, "GET", "/nope", "")
	rec := do(h, "GET", "/metrics", "")
	body := rec.Body.String()
	for _, want := range []string{
		`chaintrace_http_requests_total{code="200",route="GET /healthz"} 2`,
		`chaintrace_http_requests_total{code="400",route="GET /api/v1/screen/{chain}/{address}"} 1`,
		`chaintrace_http_requests_total{code="404",route="unmatched"} 1`,
		`chaintrace_http_request_duration_seconds_bucket{code="200",route="GET /healthz",le="+Inf"} 2`,
		`chaintrace_http_requests_in_flight 1`,
		`chaintrace_labels_index_labels 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestPanicRecovered(t *testing.T) {
	w := newWorld(t)
	srv, logs := testServer(t, w, true, nil)
	h := srv.Handler()
	rec := do(h, "GET", "/api/v1/labels/btc/"+w.payee, "", "X-Request-Id", "boom-1")
	p := problem(t, rec, 500, "urn:chaintrace:problem:internal")
	if !strings.Contains(p.Detail, "boom-1") || strings.Contains(p.Detail, "exploded") {
		t.Fatalf("detail %q", p.Detail)
	}
	if !strings.Contains(logs.String(), "label store exploded") || !strings.Contains(logs.String(), `"stack"`) {
		t.Fatalf("panic not logged: %s", logs)
	}
	if rec := do(h, "GET", "/healthz", ""); rec.Code != 200 {
		t.Fatalf("after the panic: %d", rec.Code)
	}
}

// indexSource is an api.IndexSource.
type indexSource struct {
	ix  *labels.Index
	err error
}

// Index returns the source's index or error.
func (s indexSource) Index(context.Context) (*labels.Index, error) { return s.ix, s.err }

func TestIndexSwap(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	h := srv.Handler()
	level := func() string {
		var res screen.Result
		decode(t, do(h, "GET", "/api/v1/screen/eth/"+w.sanctioned, ""), &res)
		return res.Risk.Level.String()
	}
	if got := level(); got != "SEVERE" {
		t.Fatal(got)
	}
	srv.SetIndex(labels.NewIndex(nil, nil))
	if got := level(); got != "LOW" {
		t.Fatal(got)
	}
	if err := srv.Reload(context.Background(), indexSource{err: errors.New("disk on fire")}); err == nil || !strings.HasPrefix(err.Error(), "api: ") {
		t.Fatalf("failed reload: %v", err)
	}
	if err := srv.Reload(context.Background(), indexSource{ix: w.index()}); err != nil {
		t.Fatal(err)
	}
	if got := level(); got != "SEVERE" {
		t.Fatal(got)
	}
}

// TestConcurrentRequests runs every endpoint from many goroutines while
// the index is swapped; run with -race.
func TestConcurrentRequests(t *testing.T) {
	w := newWorld(t)
	srv, _ := testServer(t, w, true, nil)
	h := srv.Handler()
	targets := []struct{ method, path, body string }{
		{"GET", "/api/v1/screen/eth/" + w.sanctioned, ""},
		{"GET", "/api/v1/screen/btc/" + w.payee, ""},
		{"GET", "/api/v1/screen/eth/0xbad", ""},
		{"POST", "/api/v1/screen", fmt.Sprintf(`{"addresses":[{"chain":"btc","address":%q},{"chain":"btc","address":%q}]}`, w.payee, w.mixer)},
		{"GET", "/api/v1/labels/eth/" + w.delisted, ""},
		{"GET", "/api/v1/actors/lazarusgroup", ""},
		{"GET", "/healthz", ""},
		{"GET", "/metrics", ""},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var swaps sync.WaitGroup
	swaps.Go(func() {
		for ctx.Err() == nil {
			srv.SetIndex(w.index())
		}
	})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 100; i++ {
				tg := targets[(g+i)%len(targets)]
				rec := do(h, tg.method, tg.path, tg.body)
				if rec.Code >= 500 {
					select {
					case errs <- fmt.Sprintf("%s %s: %d %s", tg.method, tg.path, rec.Code, rec.Body):
					default:
					}
				}
			}
		})
	}
	wg.Wait()
	cancel()
	swaps.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// brokenGraph fails every read after Lookup.
type brokenGraph struct{ *fakeGraph }

// Activity fails.
func (brokenGraph) Activity(context.Context, uint64, func(screen.TxRef, int64, int64) bool) error {
	return errors.New("graph store unreadable")
}

func TestGraphFailureIs500(t *testing.T) {
	w := newWorld(t)
	sc, err := screen.New(w.index(), map[string]screen.Graph{"btc": brokenGraph{w.graph}}, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	srv, logs := testServer(t, w, true, func(c *api.Config) { c.Screener = sc })
	rec := do(srv.Handler(), "GET", "/api/v1/screen/btc/"+w.payee, "", "X-Request-Id", "broken-1")
	p := problem(t, rec, 500, "urn:chaintrace:problem:internal")
	if strings.Contains(p.Detail, "unreadable") || !strings.Contains(p.Detail, "broken-1") {
		t.Fatalf("detail %q", p.Detail)
	}
	if !strings.Contains(logs.String(), "graph store unreadable") {
		t.Fatalf("failure not logged: %s", logs)
	}
}

func TestScreenTimeoutIs504(t *testing.T) {
	w := newWorld(t)
	w.graph.block, w.graph.entered = make(chan struct{}), make(chan struct{}, 1)
	defer close(w.graph.block)
	srv, _ := testServer(t, w, true, func(c *api.Config) { c.RequestTimeout = 20 * time.Millisecond })
	rec := do(srv.Handler(), "GET", "/api/v1/screen/btc/"+w.payee, "")
	if p := problem(t, rec, 504, "urn:chaintrace:problem:timeout"); !strings.Contains(p.Detail, "20ms") {
		t.Fatalf("detail %q", p.Detail)
	}
}
