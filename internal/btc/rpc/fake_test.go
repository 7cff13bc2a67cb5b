package rpc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// fakeNode is an in-process JSON-RPC server with a synthetic chain, used to
// inject faults the real node never produces on demand. By default it
// behaves like bitcoind: batches are supported and single-call errors come
// with HTTP 500 and a JSON-RPC body.
type fakeNode struct {
	t   testing.TB
	srv *httptest.Server

	mu     sync.Mutex
	chain  []chainhash.Hash
	blocks map[chainhash.Hash][]byte
	user   string
	pass   string

	noBatch     bool // answer arrays with a parse error, like btcd before batches
	boolVerbose bool // getblock takes verbose=false, like old nodes
	reverse     bool // answer batches in reverse order
	delay       time.Duration

	// hook, when set, sees every request first; returning true means it
	// wrote the answer.
	hook func(w http.ResponseWriter, body []byte) bool
	// onCall, when set, runs before each call is answered.
	onCall func(method string, params []json.RawMessage)
	// mangle, when set, replaces each successful result.
	mangle func(method string, params []json.RawMessage, result any) any

	requests    atomic.Int64
	batches     atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
}

// newFakeNode serves a chain of height+1 blocks. Options run before the
// server starts, so handler goroutines read them without a data race.
func newFakeNode(t testing.TB, height int, opts ...func(*fakeNode)) *fakeNode {
	f := &fakeNode{t: t, blocks: map[chainhash.Hash][]byte{}, user: "alice", pass: "s3cret"}
	f.extend(chainhash.Hash{}, height+1, 0)
	for _, o := range opts {
		o(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// url returns the server URL carrying the fake's credentials.
func (f *fakeNode) url() string {
	return strings.Replace(f.srv.URL, "http://", "http://"+f.user+":"+f.pass+"@", 1)
}

// extend appends n blocks on top of parent; salt makes a competing branch
// differ from the original.
func (f *fakeNode) extend(parent chainhash.Hash, n int, salt uint32) {
	for range n {
		hdr := wire.BlockHeader{
			Version:   1,
			PrevBlock: parent,
			Timestamp: time.Unix(1600000000+int64(len(f.chain)), 0),
			Bits:      0x207fffff,
			Nonce:     salt,
		}
		var buf bytes.Buffer
		if err := hdr.Serialize(&buf); err != nil {
			f.t.Fatal(err)
		}
		// A body of varying length stands in for transactions.
		fmt.Fprintf(&buf, "height=%d salt=%d %s", len(f.chain), salt, strings.Repeat("x", len(f.chain)%7))
		h := hdr.BlockHash()
		f.blocks[h] = buf.Bytes()
		f.chain = append(f.chain, h)
		parent = h
	}
}

// orphan makes a block whose parent is on no chain the fake knows.
func (f *fakeNode) orphan() chainhash.Hash {
	hdr := wire.BlockHeader{Version: 1, PrevBlock: chainhash.HashH([]byte("nowhere")), Bits: 0x207fffff}
	var buf bytes.Buffer
	if err := hdr.Serialize(&buf); err != nil {
		f.t.Fatal(err)
	}
	h := hdr.BlockHash()
	f.blocks[h] = buf.Bytes()
	return h
}

// reorg replaces the chain from height on with a new branch of n blocks.
func (f *fakeNode) reorg(height, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chain = f.chain[:height]
	f.extend(f.chain[height-1], n, 7)
}

func (f *fakeNode) hashAt(h int) chainhash.Hash {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chain[h]
}

func (f *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxInflight.Load()
		if n <= m || f.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	user, pass := f.user, f.pass
	f.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="jsonrpc"`)
		http.Error(w, "", http.StatusUnauthorized)
		return
	}
	if f.hook != nil && f.hook(w, body) {
		return
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	w.Header().Set("Content-Type", "application/json")
	if bytes.HasPrefix(body, []byte("[")) {
		f.batches.Add(1)
		if f.noBatch {
			fmt.Fprint(w, `{"result":null,"error":{"code":-32700,"message":"Failed to parse request: json: cannot unmarshal array into Go value of type btcjson.Request"},"id":null}`)
			return
		}
		var reqs []json.RawMessage
		if err := json.Unmarshal(body, &reqs); err != nil {
			f.t.Errorf("fake: bad batch: %v", err)
			return
		}
		out := make([]map[string]any, len(reqs))
		for i, raw := range reqs {
			out[i] = f.answer(raw)
		}
		if f.reverse {
			slices.Reverse(out)
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	resp := f.answer(body)
	if resp["error"] != nil {
		w.WriteHeader(http.StatusInternalServerError)
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeNode) answer(raw []byte) map[string]any {
	var req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		f.t.Errorf("fake: bad request %s: %v", raw, err)
	}
	if f.onCall != nil {
		f.onCall(req.Method, req.Params)
	}
	result, rerr := f.dispatch(req.Method, req.Params)
	resp := map[string]any{"result": result, "error": nil, "id": req.ID}
	switch {
	case rerr != nil:
		resp["error"] = rerr
		resp["result"] = nil
	case f.mangle != nil:
		resp["result"] = f.mangle(req.Method, req.Params, result)
	}
	return resp
}

func (f *fakeNode) dispatch(method string, params []json.RawMessage) (any, *RPCError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hashParam := func() ([]byte, *RPCError) {
		var s string
		if len(params) == 0 || json.Unmarshal(params[0], &s) != nil {
			return nil, &RPCError{Code: -32602, Message: "missing hash"}
		}
		h, err := chainhash.NewHashFromStr(s)
		if err != nil || f.blocks[*h] == nil {
			return nil, &RPCError{Code: -5, Message: "Block not found"}
		}
		return f.blocks[*h], nil
	}
	switch method {
	case "getbestblockhash":
		return f.chain[len(f.chain)-1].String(), nil
	case "getblockhash":
		var h int
		if len(params) != 1 || json.Unmarshal(params[0], &h) != nil {
			return nil, &RPCError{Code: -32602, Message: "bad height"}
		}
		if h < 0 || h >= len(f.chain) {
			return nil, &RPCError{Code: -8, Message: "Block height out of range"}
		}
		return f.chain[h].String(), nil
	case "getblockheader":
		raw, rerr := hashParam()
		if rerr != nil {
			return nil, rerr
		}
		h := chainhash.DoubleHashH(raw[:80])
		for i, c := range f.chain {
			if c == h {
				return map[string]any{"hash": h.String(), "height": i}, nil
			}
		}
		// btcd fails like this for a block off the best chain.
		return nil, &RPCError{Code: -32603, Message: "block " + h.String() + " is not in the main chain"}
	case "getblock":
		raw, rerr := hashParam()
		if rerr != nil {
			return nil, rerr
		}
		second := ""
		if len(params) > 1 {
			second = string(params[1])
		}
		switch {
		case f.boolVerbose && second != "false":
			return nil, &RPCError{Code: -1, Message: "parameter #2 'verbose' must be type bool (got float64)"}
		case !f.boolVerbose && second != "0":
			return nil, &RPCError{Code: -32602, Message: "parameter #2 'verbosity' must be type int (got bool)"}
		}
		return hex.EncodeToString(raw), nil
	}
	return nil, &RPCError{Code: -32601, Message: "Method not found"}
}

// collect runs Blocks and returns the delivered heights and hashes.
func collect(t testing.TB, c *Client, from, to uint64) ([]uint64, []chainhash.Hash, error) {
	t.Helper()
	var heights []uint64
	var hashes []chainhash.Hash
	err := c.Blocks(t.Context(), from, to, func(h uint64, hash chainhash.Hash, raw []byte) error {
		if got := chainhash.DoubleHashH(raw[:80]); got != hash {
			t.Errorf("height %d: raw hashes to %s, delivered as %s", h, got, hash)
		}
		heights = append(heights, h)
		hashes = append(hashes, hash)
		return nil
	})
	return heights, hashes, err
}
