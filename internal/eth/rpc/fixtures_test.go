package rpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// apisDir is the execution-apis conformance fixtures, relative to this
// package.
const apisDir = "../../../../shared/data/eth/execution-apis-tests/tests"

// exchange is one request/response pair of an execution-apis .io file.
type exchange struct {
	file string
	req  request
	resp struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
}

// loadExchanges reads every exchange of the .io files of the given
// methods, skipping the test when the fixtures are absent.
func loadExchanges(t *testing.T, methods ...string) []exchange {
	t.Helper()
	var out []exchange
	for _, m := range methods {
		files, _ := filepath.Glob(filepath.Join(apisDir, m, "*.io"))
		if len(files) == 0 {
			t.Skipf("execution-apis fixtures not found in %s (shared data absent)", filepath.Join(apisDir, m))
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var cur *exchange
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, ">>"):
					out = append(out, exchange{file: filepath.Base(path)})
					cur = &out[len(out)-1]
					dec := json.NewDecoder(strings.NewReader(line[2:]))
					if err := dec.Decode(&cur.req); err != nil {
						t.Fatalf("%s: request: %v", path, err)
					}
				case strings.HasPrefix(line, "<<"):
					if cur == nil {
						t.Fatalf("%s: response without request", path)
					}
					if err := json.Unmarshal([]byte(line[2:]), &cur.resp); err != nil {
						t.Fatalf("%s: response: %v", path, err)
					}
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func TestExecutionAPIsFixtures(t *testing.T) {
	exs := loadExchanges(t, "eth_getBlockByNumber", "eth_getBlockReceipts")
	f := newFakeNode(t)
	for _, ex := range exs {
		a := answer{result: ex.resp.Result, err: ex.resp.Error}
		if a.err == nil && a.result == nil {
			a.result = json.RawMessage("null")
		}
		f.set(paramKey(ex.req.Method, ex.req.Params), ex.req.Method, a)
	}
	c := dialFake(t, f, nil, nil)
	for _, ex := range exs {
		t.Run(ex.file, func(t *testing.T) {
			got, err := c.Call(context.Background(), ex.req.Method, ex.req.Params...)
			switch {
			case ex.resp.Error != nil:
				var want struct {
					Code int `json:"code"`
				}
				_ = json.Unmarshal(ex.resp.Error, &want)
				var ce *CallError
				if !errors.As(err, &ce) || ce.Code() != want.Code {
					t.Fatalf("err = %v, want node error %d", err, want.Code)
				}
			case bytes.Equal(bytes.TrimSpace(ex.resp.Result), []byte("null")):
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				var a, b any
				if json.Unmarshal(got, &a) != nil || json.Unmarshal(ex.resp.Result, &b) != nil || !reflect.DeepEqual(a, b) {
					t.Fatalf("result differs from fixture:\n got %.300s\nwant %.300s", got, ex.resp.Result)
				}
			}
		})
	}
	// Genesis (full transactions) and its receipts form a whole block.
	blocks, err := collect(c, 0, 0)
	if err != nil || len(blocks) != 1 || string(blocks[0].Receipts) != "[]" {
		t.Fatalf("Blocks(0,0): %v", err)
	}
}
