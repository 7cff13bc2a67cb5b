package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/tracestore"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// traceFixture is a workspace over stores of its own, built by the real
// ingesters like the chain fixture's (mainnet's first blocks and the
// simulated EVM chain) and labelled with its labels, opened once for
// the package's trace tests.
var (
	traceWSOnce sync.Once
	traceWS     *workspace.Workspace
	traceWSErr  error
)

// tracerWS returns the shared trace workspace.
func tracerWS(t testing.TB) *workspace.Workspace {
	t.Helper()
	f := chains(t)
	traceWSOnce.Do(func() {
		// Under the chain fixture's directory, which TestMain removes.
		dir := filepath.Join(f.dir, "trace-workspace")
		querytest.BTC(t, dir)
		querytest.ETH(t, dir)
		traceWS, traceWSErr = workspace.Open(context.Background(), dir, workspace.Options{Labels: f.labels})
		if traceWSErr == nil {
			f.close = append(f.close, traceWS.Close)
		}
	})
	if traceWSErr != nil {
		t.Fatal(traceWSErr)
	}
	return traceWS
}

// gatedTracer holds every trace until released or cancelled, then runs
// it on the workspace, so that a test sees jobs queued and running.
type gatedTracer struct {
	api.Tracer
	started chan struct{}
	release chan struct{}
}

func newGatedTracer(t testing.TB) *gatedTracer {
	return &gatedTracer{Tracer: tracerWS(t), started: make(chan struct{}, 16), release: make(chan struct{})}
}

// Trace waits for the gate, then traces.
func (g *gatedTracer) Trace(ctx context.Context, p trace.Params) (*trace.Result, error) {
	g.started <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, fmt.Errorf("trace: %w", ctx.Err())
	}
	return g.Tracer.Trace(ctx, p)
}

// traceServer returns a test server tracing with tr and saving under
// data.
func traceServer(t *testing.T, tr api.Tracer, data string, mod func(*api.TraceConfig)) (*api.Server, *httptest.Server) {
	t.Helper()
	srv, _ := testServer(t, newWorld(t), false, func(c *api.Config) {
		c.Traces = api.TraceConfig{Tracer: tr, Data: data}
		if mod != nil {
			mod(&c.Traces)
		}
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(srv.CloseTraces)
	return srv, ts
}

// call sends a request with a JSON body (when not empty) and decodes a
// JSON answer into v (when not nil).
func call(t *testing.T, method, target, body string, v any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, target, resp.StatusCode, b, err)
		}
	}
	return resp
}

// waitJob polls a job until its status is final.
func waitJob(t *testing.T, base, id string) api.TraceJob {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var j api.TraceJob
		if resp := call(t, "GET", base+"/api/v1/traces/"+id, "", &j); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET job %s: %d", id, resp.StatusCode)
		}
		switch j.Status {
		case "done", "failed", "cancelled":
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTraceJobLifecycle starts a trace over mainnet's first blocks from
// Satoshi's block 9 address, follows the job from queued to done, reads
// the result in the three formats, and after a restart of the server
// still finds the job (from the journal) and its saved trace.
func TestTraceJobLifecycle(t *testing.T) {
	data := t.TempDir()
	g := newGatedTracer(t)
	_, ts := traceServer(t, g, data, nil)
	var j api.TraceJob
	resp := call(t, "POST", ts.URL+"/api/v1/traces", `{"chain":"btc","from":["`+querytest.Satoshi+`"],"hops":3,"model":"fifo"}`, &j)
	if resp.StatusCode != http.StatusAccepted || j.ID == "" || (j.Status != "queued" && j.Status != "running") || j.Links.Self != "/api/v1/traces/"+j.ID {
		t.Fatalf("POST: %d %+v", resp.StatusCode, j)
	}
	if loc := resp.Header.Get("Location"); loc != j.Links.Self {
		t.Errorf("Location %q", loc)
	}
	if j.Params.Hops != 3 || j.Params.Model != trace.FIFO || j.Params.Direction != trace.Forward || j.Timeout != "5m0s" {
		t.Errorf("params %+v, timeout %s", j.Params, j.Timeout)
	}
	<-g.started
	var running api.TraceJob
	call(t, "GET", ts.URL+j.Links.Self, "", &running)
	if running.Status != "running" || running.Started == nil || running.Finished != nil {
		t.Errorf("while the trace runs: %+v", running)
	}
	close(g.release)
	done := waitJob(t, ts.URL, j.ID)
	if done.Status != "done" || !tracestore.ValidID(done.TraceID) || done.Summary == nil || done.Error != nil || done.Links.Result != j.Links.Self+"/result" {
		t.Fatalf("done job: %+v", done)
	}
	if done.Summary.Edges == 0 || len(done.Summary.Totals) == 0 || done.Summary.Heights["btc"] != querytest.MainnetTip {
		t.Errorf("summary: %+v", done.Summary)
	}
	saved, _, err := tracestore.Load(t.Context(), data, done.TraceID)
	if err != nil || len(saved.Edges) != done.Summary.Edges {
		t.Fatalf("saved trace: %v", err)
	}

	for _, tc := range []struct{ query, contentType, starts string }{
		{"", "application/json", "{"},
		{"?format=json", "application/json", "{"},
		{"?format=csv", "text/csv; charset=utf-8", "hop,"},
		{"?format=csv&table=totals", "text/csv; charset=utf-8", "chain,"},
		{"?format=dot", "text/vnd.graphviz; charset=utf-8", "digraph"},
	} {
		resp, err := http.Get(ts.URL + done.Links.Result + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.contentType || !strings.HasPrefix(string(b), tc.starts) {
			t.Errorf("result%s: %d %s %.40q", tc.query, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		if tc.query == "" {
			r, err := tracestore.Decode("result", b)
			if err != nil || len(r.Edges) != len(saved.Edges) {
				t.Errorf("JSON result: %v", err)
			}
		}
	}
	var list api.TraceJobList
	call(t, "GET", ts.URL+"/api/v1/traces", "", &list)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != j.ID || list.Jobs[0].Summary != nil {
		t.Errorf("list: %+v", list)
	}
	if resp := call(t, "DELETE", ts.URL+j.Links.Self, "", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("cancelling a done job: %d", resp.StatusCode)
	}

	// A server started afresh over the same data directory.
	_, ts2 := traceServer(t, tracerWS(t), data, nil)
	var again api.TraceJob
	if resp := call(t, "GET", ts2.URL+j.Links.Self, "", &again); resp.StatusCode != 200 || again.Status != "done" || again.TraceID != done.TraceID || again.Summary == nil || again.Summary.Edges != done.Summary.Edges {
		t.Fatalf("after a restart: %d %+v", resp.StatusCode, again)
	}
	call(t, "GET", ts2.URL+"/api/v1/traces", "", &list)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != j.ID {
		t.Errorf("list after a restart: %+v", list)
	}
	if resp, err := http.Get(ts2.URL + done.Links.Result + "?format=csv&table=endpoints"); err != nil || resp.StatusCode != 200 {
		t.Errorf("result after a restart: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	var byTrace api.TraceJob
	if resp := call(t, "GET", ts2.URL+"/api/v1/traces/"+done.TraceID, "", &byTrace); resp.StatusCode != 200 || byTrace.Status != "done" || byTrace.TraceID != done.TraceID {
		t.Errorf("a saved trace by its id: %d %+v", resp.StatusCode, byTrace)
	}
	var p api.Problem
	if resp := call(t, "GET", ts2.URL+"/api/v1/traces/job-0000000000000000", "", &p); resp.StatusCode != 404 || p.Type != "urn:chaintrace:problem:trace-not-found" {
		t.Errorf("an unknown job: %d %+v", resp.StatusCode, p)
	}
}

// TestTraceJobFailures covers a trace that passes validation and fails
// in the engine, a timeout, cancellation of a running and of a queued
// job, and a full queue.
func TestTraceJobFailures(t *testing.T) {
	g := newGatedTracer(t)
	_, ts := traceServer(t, g, t.TempDir(), func(c *api.TraceConfig) { c.Workers, c.Queue = 1, 1 })
	post := func(body string) (api.TraceJob, *http.Response) {
		var j api.TraceJob
		return j, call(t, "POST", ts.URL+"/api/v1/traces", body, &j)
	}

	// An address of the right form that the store never saw.
	idle := btcAddr("never-used")
	close(g.release)
	j, _ := post(`{"chain":"btc","from":["` + idle + `"]}`)
	f := waitJob(t, ts.URL, j.ID)
	if f.Status != "failed" || f.Error == nil || f.Error.Type != "urn:chaintrace:problem:trace-failed" || !strings.Contains(f.Error.Detail, "no activity") {
		t.Errorf("a failing trace: %+v %+v", f, f.Error)
	}
	if resp := call(t, "GET", ts.URL+f.Links.Self+"/result", "", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("result of a failed job: %d", resp.StatusCode)
	}

	g2 := newGatedTracer(t)
	_, ts = traceServer(t, g2, t.TempDir(), func(c *api.TraceConfig) { c.Workers, c.Queue = 1, 1 })
	slow, _ := post(`{"chain":"btc","from":["` + querytest.Satoshi + `"],"timeout":"50ms"}`)
	if slow.Timeout != "50ms" {
		t.Errorf("timeout %s", slow.Timeout)
	}
	<-g2.started
	f = waitJob(t, ts.URL, slow.ID)
	if f.Status != "failed" || f.Error == nil || f.Error.Type != "urn:chaintrace:problem:trace-timeout" || f.Error.Status != 504 {
		t.Errorf("a timed-out trace: %+v %+v", f, f.Error)
	}

	// The engine itself notices its deadline.
	_, real := traceServer(t, tracerWS(t), t.TempDir(), nil)
	var quick api.TraceJob
	call(t, "POST", real.URL+"/api/v1/traces", `{"chain":"btc","from":["`+querytest.Satoshi+`"],"hops":20,"timeout":"1ns"}`, &quick)
	if f := waitJob(t, real.URL, quick.ID); f.Status != "failed" || f.Error == nil || f.Error.Type != "urn:chaintrace:problem:trace-timeout" {
		t.Errorf("a trace past its deadline in the engine: %+v %+v", f, f.Error)
	}

	running, _ := post(`{"chain":"btc","from":["` + querytest.Satoshi + `"]}`)
	<-g2.started
	queued, _ := post(`{"chain":"btc","from":["` + querytest.Hal + `"]}`)
	if queued.Status != "queued" {
		t.Errorf("second job: %+v", queued)
	}
	var p api.Problem
	resp := call(t, "POST", ts.URL+"/api/v1/traces", `{"chain":"btc","from":["`+querytest.Hal+`"]}`, &p)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || p.Type != "urn:chaintrace:problem:trace-queue-full" {
		t.Errorf("a full queue: %d %v %+v", resp.StatusCode, resp.Header, p)
	}
	var c api.TraceJob
	if resp := call(t, "DELETE", ts.URL+queued.Links.Self, "", &c); resp.StatusCode != 200 || c.Status != "cancelled" {
		t.Errorf("cancelling a queued job: %d %+v", resp.StatusCode, c)
	}
	if resp := call(t, "DELETE", ts.URL+running.Links.Self, "", &c); resp.StatusCode != 200 || c.Status != "cancelled" || c.Error == nil || c.Error.Type != "urn:chaintrace:problem:trace-cancelled" {
		t.Errorf("cancelling a running job: %d %+v", resp.StatusCode, c)
	}
	var list api.TraceJobList
	call(t, "GET", ts.URL+"/api/v1/traces?status=cancelled", "", &list)
	if len(list.Jobs) != 2 {
		t.Errorf("cancelled jobs: %+v", list)
	}
}

// TestTraceWaitDisconnect waits for a small trace (200 with the done
// job), then closes a waiting request mid-trace: the job is cancelled.
func TestTraceWaitDisconnect(t *testing.T) {
	_, ts := traceServer(t, tracerWS(t), t.TempDir(), nil)
	var j api.TraceJob
	resp := call(t, "POST", ts.URL+"/api/v1/traces?wait=30s", `{"chain":"eth-sim","from":["`+chains(t).eth.Alice.Hex()+`"],"hops":2}`, &j)
	if resp.StatusCode != 200 || j.Status != "done" || j.Summary == nil {
		t.Fatalf("a waited trace: %d %+v", resp.StatusCode, j)
	}

	g := newGatedTracer(t)
	_, ts = traceServer(t, g, t.TempDir(), nil)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/v1/traces?wait=30s", strings.NewReader(`{"chain":"btc","from":["`+querytest.Satoshi+`"]}`))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-g.started
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the request was not cut short")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list api.TraceJobList
		call(t, "GET", ts.URL+"/api/v1/traces", "", &list)
		if len(list.Jobs) == 1 && list.Jobs[0].Status == "cancelled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the client went away: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTraceValidation refuses requests with the field at fault.
func TestTraceValidation(t *testing.T) {
	_, ts := traceServer(t, tracerWS(t), "", nil)
	for _, tc := range []struct{ body, query, field string }{
		{`{"chain":"doge","from":["x"]}`, "", "chain"},
		{`{"from":["x"]}`, "", "chain"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `","0x12"]}`, "", "from[1]"},
		{`{"chain":"btc","from_txs":["abc"]}`, "", "from_txs[0]"},
		{`{"chain":"btc"}`, "", "from"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"hops":101}`, "", "hops"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"model":"lifo"}`, "", "model"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"direction":"up"}`, "", "direction"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"since":"yesterday"}`, "", "since"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"since":"2010-01-02","until":"2009-01-01"}`, "", "until"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"timeout":"2h"}`, "", "timeout"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"incident":"x"}`, "", "incident"},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"],"hopz":1}`, "", ""},
		{`{"chain":"btc","from":["` + querytest.Satoshi + `"]}`, "?wait=1h", ""},
	} {
		var p api.Problem
		resp := call(t, "POST", ts.URL+"/api/v1/traces"+tc.query, tc.body, &p)
		if resp.StatusCode != 400 || p.Field != tc.field || (tc.field != "" && !strings.HasPrefix(p.Detail, tc.field+": ")) {
			t.Errorf("%s%s: %d %+v", tc.body, tc.query, resp.StatusCode, p)
		}
	}
	for _, q := range []string{"?format=xml", "?table=nodes", "?x=1"} {
		if resp := call(t, "GET", ts.URL+"/api/v1/traces/job-1/result"+q, "", nil); resp.StatusCode != 400 {
			t.Errorf("result%s: %d", q, resp.StatusCode)
		}
	}
	if resp := call(t, "GET", ts.URL+"/api/v1/traces?status=lost", "", nil); resp.StatusCode != 400 {
		t.Errorf("list of a bad status: %d", resp.StatusCode)
	}
	// Without a tracer the routes say so.
	srv, _ := testServer(t, newWorld(t), false, nil)
	if rec := do(srv.Handler(), "GET", "/api/v1/traces", ""); rec.Code != 404 || !strings.Contains(rec.Body.String(), "traces-unavailable") {
		t.Errorf("without a tracer: %d %s", rec.Code, rec.Body)
	}
}

// exampleClock is the time of every example: fixed, so that the
// examples' times do not drift.
var exampleClock = time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)

// sequence returns ids made of prefix and a counter in 16 hex digits
// starting at first, for examples whose ids must not drift.
func sequence(prefix string, first uint64) func() string {
	var mu sync.Mutex
	n := first
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%s%016x", prefix, n-1)
	}
}

// steadyTracer traces on the workspace and reports no elapsed time, so
// that a result, and the id of the trace saved from it, are the same
// on every run.
type steadyTracer struct{ api.Tracer }

// Trace traces and zeroes the elapsed time.
func (s steadyTracer) Trace(ctx context.Context, p trace.Params) (*trace.Result, error) {
	res, err := s.Tracer.Trace(ctx, p)
	if res != nil {
		res.Stats.Elapsed = 0
	}
	return res, err
}

// Example trace jobs of the OpenAPI document: one done (its trace
// saved) and one failed, as the journal of a server that ran them
// before a restart holds them.
const (
	exampleDoneJob   = "job-00000000000000d1"
	exampleFailedJob = "job-00000000000000f1"
)

// exampleTraceParams are those of the example done job: Hal Finney's
// address backward, one hop, which finds Satoshi's coinbase.
var exampleTraceParams = trace.Params{Chain: "btc", From: []string{querytest.Hal}, Direction: trace.Backward, Model: trace.Haircut, Hops: 1}

// exampleTraces returns the trace configuration of the example server:
// a steady tracer over the trace workspace, ids and times fixed, and a
// data directory holding the example jobs.
func exampleTraces(t *testing.T) api.TraceConfig {
	t.Helper()
	data := t.TempDir()
	tr := steadyTracer{tracerWS(t)}
	res, err := tr.Trace(t.Context(), exampleTraceParams)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := tracestore.Save(t.Context(), data, res)
	if err != nil {
		t.Fatal(err)
	}
	started, finished := exampleClock.Add(-time.Minute), exampleClock.Add(-time.Minute+2*time.Second)
	failedParams := trace.Params{Chain: "btc", From: []string{btcAddr("never-used")}, Direction: trace.Forward, Model: trace.Haircut, Hops: 6, ChangeConfidence: 0.7}
	recs := []api.TraceJob{
		{ID: exampleDoneJob, Status: "done", Params: res.Params, Timeout: "5m0s", Created: started, Started: &started, Finished: &finished, TraceID: sum.ID},
		{ID: exampleFailedJob, Status: "failed", Params: failedParams, Timeout: "5m0s", Created: started, Started: &started, Finished: &started,
			Error: &api.Problem{Type: "urn:chaintrace:problem:trace-failed", Title: "Trace failed", Status: 422,
				Detail: "source address " + failedParams.From[0] + " has no activity in the store: store: not found"}},
	}
	var lines []byte
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(append(lines, b...), '\n')
	}
	if err := os.MkdirAll(filepath.Dir(api.TraceJournalPath(data)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(api.TraceJournalPath(data), lines, 0o600); err != nil {
		t.Fatal(err)
	}
	return api.TraceConfig{Tracer: tr, Data: data, Now: func() time.Time { return exampleClock }, NewID: sequence("job-", 0xa1)}
}
