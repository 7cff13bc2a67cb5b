package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/cases"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
	"github.com/chaintrace/chaintrace/internal/tracestore"
)

// TestServeTraces serves a data directory with a Bitcoin and an EVM
// store, as chaintrace serve does, and traces over the stores the
// server opened for its chain routes (no labels: Satoshi's coinbase is
// an origin): a trace waited for is saved where
// chaintrace traces finds it, and a case saved over the API is read
// back.
func TestServeTraces(t *testing.T) {
	data := t.TempDir()
	querytest.BTC(t, data)
	w := querytest.ETH(t, data)
	_, token, err := auth.Create(t.Context(), data, auth.RoleWrite, "tests", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startServe(t, data, 0)
	send := func(method, path, body string, v any) int {
		t.Helper()
		for i := 0; ; i++ {
			req, err := http.NewRequest(method, base+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if i == 200 {
					t.Fatalf("the server did not come up: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
				continue
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
			}
			return resp.StatusCode
		}
	}
	var j api.TraceJob
	if code := send("POST", "/api/v1/traces?wait=30s", `{"chain":"btc","from":["`+querytest.Hal+`"],"direction":"backward","hops":1}`, &j); code != 200 || j.Status != "done" {
		t.Fatalf("btc trace: %d %+v", code, j)
	}
	res, _, err := tracestore.Load(t.Context(), data, j.TraceID)
	if err != nil || len(res.Holdings) != 1 || res.Holdings[0].Address != querytest.Satoshi {
		t.Fatalf("the saved trace: %v %+v", err, res)
	}
	if code := send("POST", "/api/v1/traces?wait=30s", `{"chain":"eth-sim","from":["`+w.Alice.Hex()+`"],"hops":2}`, &j); code != 200 || j.Status != "done" || j.Summary.Edges == 0 {
		t.Fatalf("eth trace: %d %+v", code, j)
	}
	var p api.Problem
	if code := send("POST", "/api/v1/traces", `{"chain":"btc","incident":"no-such-incident"}`, &p); code != 400 || p.Field != "incident" || !strings.Contains(p.Detail, "no incident") {
		t.Errorf("an unknown incident: %d %+v", code, p)
	}
	// An incident's attacker addresses, which the store of 2009 never
	// saw: the job starts from them and fails in the engine.
	if code := send("POST", "/api/v1/traces?wait=30s", `{"chain":"btc","incident":"2018-09-zaif"}`, &j); code != 200 || j.Status != "failed" ||
		j.Params.Incident != "2018-09-zaif" || len(j.Params.From) != 2 || j.Error == nil || !strings.Contains(j.Error.Detail, "no activity") {
		t.Errorf("an incident's trace: %d %+v %+v", code, j, j.Error)
	}
	var c cases.Case
	body := `{"name":"First payment","graph":{"nodes":[{"id":"a","chain":"btc","address":"` + querytest.Hal + `"}]},"traces":["` + j.TraceID + `"]}`
	if code := send("POST", "/api/v1/cases", body, &c); code != 201 || c.Version != 1 {
		t.Fatalf("case: %d %+v", code, c)
	}
	if code := send("POST", "/api/v1/cases", `{"name":"x","graph":{"nodes":[{"id":"a","chain":"btc","address":"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm4"}]}}`, &p); code != 400 || p.Field != "graph.nodes[0].address" {
		t.Errorf("a case with a bad address: %d %+v", code, p)
	}
	if _, err := cases.New(data, cases.Options{}).Get(t.Context(), c.ID); err != nil {
		t.Errorf("the case on disk: %v", err)
	}
}
