package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// etlDir is the ethereum-etl recordings, relative to this package.
const etlDir = "../../../../shared/data/eth/ethereum-etl"

// answer is what the fake node replies to one call: a result or an error
// object, both raw JSON.
type answer struct {
	result json.RawMessage
	err    json.RawMessage
}

// request is one decoded JSON-RPC request.
type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params []any           `json:"params"`
}

// fakeNode is a JSON-RPC server answering from recorded responses, keyed
// the way ethereum-etl names its recordings. Unknown methods get -32601;
// known methods with unrecorded params get a null result, as a node does
// for a block it does not have.
type fakeNode struct {
	mu      sync.Mutex
	answers map[string]answer
	methods map[string]bool
	// hook, when set, may take over a whole HTTP exchange; it returns true
	// when it wrote the reply.
	hook    func(w http.ResponseWriter, r *http.Request, body []byte, reqs []request) bool
	srv     *httptest.Server
	bytes   atomic.Int64
	posts   atomic.Int64
	callsBy sync.Map // method → *atomic.Int64
}

// newFakeNode starts an empty fake node closed at test end.
func newFakeNode(tb testing.TB) *fakeNode {
	f := &fakeNode{answers: map[string]answer{}, methods: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// paramKey renders params the way ethereum-etl builds recording names:
// each value joined by '_', objects as sorted key_value pairs, lower case.
func paramKey(method string, params []any) string {
	parts := []string{method}
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				parts = append(parts, k)
				add(x[k])
			}
		case []any:
			for _, e := range x {
				add(e)
			}
		case float64:
			parts = append(parts, fmt.Sprintf("%v", x))
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	for _, p := range params {
		add(p)
	}
	return strings.ToLower(strings.Join(parts, "_"))
}

// set records the answer for a key and marks its method known.
func (f *fakeNode) set(key, method string, a answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[strings.ToLower(key)] = a
	f.methods[strings.ToLower(method)] = true
}

// setResult records a result for method with params.
func (f *fakeNode) setResult(method string, result string, params ...any) {
	f.set(paramKey(method, params), method, answer{result: json.RawMessage(result)})
}

// get returns the recorded answer for key.
func (f *fakeNode) get(key string) (answer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.answers[strings.ToLower(key)]
	return a, ok
}

// knownMethods lists the methods the recordings cover.
var knownMethods = []string{"eth_getBlockByNumber", "eth_getTransactionReceipt", "eth_getBlockReceipts",
	"trace_block", "debug_traceBlockByNumber", "eth_chainId", "eth_getFilterLogs", "eth_newFilter", "eth_uninstallFilter"}

// loadDir loads every web3_response.*.json of an ethereum-etl recording
// directory (relative to etlDir), skipping the test if it is absent.
func (f *fakeNode) loadDir(tb testing.TB, dir string) {
	tb.Helper()
	full := filepath.Join(etlDir, dir)
	files, err := filepath.Glob(filepath.Join(full, "web3_response.*.json"))
	if err != nil || len(files) == 0 {
		tb.Skipf("ethereum-etl recordings not found in %s (shared data absent)", full)
	}
	for _, path := range files {
		key := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "web3_response."), ".json")
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		method := ""
		for _, m := range knownMethods {
			if strings.HasPrefix(strings.ToLower(key), strings.ToLower(m)+"_") {
				method = m
			}
		}
		if method == "" {
			tb.Fatalf("recording %s: unknown method", path)
		}
		f.set(key, method, parseRecording(tb, path, data))
	}
}

// parseRecording accepts either a full JSON-RPC response (with "result" or
// "error") or a bare result.
func parseRecording(tb testing.TB, path string, data []byte) answer {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) == nil {
		if e, ok := obj["error"]; ok {
			return answer{err: e}
		}
		if r, ok := obj["result"]; ok {
			_, hasHash := obj["hash"]
			if !hasHash {
				return answer{result: r}
			}
		}
	}
	if !json.Valid(data) {
		tb.Fatalf("recording %s is not JSON", path)
	}
	return answer{result: json.RawMessage(bytes.TrimSpace(data))}
}

// count returns how many calls of method the node received.
func (f *fakeNode) count(method string) int64 {
	v, _ := f.callsBy.LoadOrStore(method, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

// serve handles one HTTP exchange: a single request or a batch.
func (f *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	f.posts.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	trimmed := bytes.TrimSpace(body)
	batch := len(trimmed) > 0 && trimmed[0] == '['
	var reqs []request
	if batch {
		err = json.Unmarshal(trimmed, &reqs)
	} else {
		var one request
		err = json.Unmarshal(trimmed, &one)
		reqs = []request{one}
	}
	if err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, q := range reqs {
		v, _ := f.callsBy.LoadOrStore(q.Method, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	if f.hook != nil && f.hook(w, r, body, reqs) {
		return
	}
	resps := make([]json.RawMessage, len(reqs))
	for i, q := range reqs {
		resps[i] = f.respond(q)
	}
	var out []byte
	if batch {
		out, _ = json.Marshal(resps)
	} else {
		out = resps[0]
	}
	f.bytes.Add(int64(len(out)))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// respond builds the response to one request.
func (f *fakeNode) respond(q request) json.RawMessage {
	id := q.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	a, ok := f.get(paramKey(q.Method, q.Params))
	if !ok {
		f.mu.Lock()
		known := f.methods[strings.ToLower(q.Method)]
		f.mu.Unlock()
		if known {
			a = answer{result: json.RawMessage("null")}
		} else {
			a = answer{err: json.RawMessage(fmt.Sprintf(`{"code":-32601,"message":"the method %s does not exist/is not available"}`, q.Method))}
		}
	}
	if a.err != nil {
		return json.RawMessage(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":%s}`, id, a.err))
	}
	return json.RawMessage(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, id, a.result))
}
