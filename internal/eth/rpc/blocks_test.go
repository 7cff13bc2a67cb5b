package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dialFake dials f as chain 1 with fast retries; mod adjusts the config.
func dialFake(tb testing.TB, f *fakeNode, logs io.Writer, mod func(*Config)) *Client {
	tb.Helper()
	f.setResult("eth_chainId", `"0x1"`)
	if logs == nil {
		logs = io.Discard
	}
	cfg := Config{
		URL:          f.srv.URL,
		ChainID:      1,
		RetryBackoff: time.Millisecond,
		MaxBackoff:   5 * time.Millisecond,
		Timeout:      5 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// collect runs Blocks and returns what it delivered.
func collect(c *Client, from, to uint64) ([]*eth.RawBlock, error) {
	var got []*eth.RawBlock
	err := c.Blocks(context.Background(), from, to, func(b *eth.RawBlock) error {
		got = append(got, b)
		return nil
	})
	return got, err
}

const (
	// tx0 and tx1 are the transactions of block 1755635 in block order.
	tx0         = "0x2e3dcd051a91d3a694f6b8de2ac4b5fe7acdba55f58bcf8471ff00d4a430074d"
	tx1         = "0x9a5437ec71b74ecf5930b406908ac6999966d38a86d1534b7190ece7599095eb"
	hash1755634 = "0xa06fc36a7144c4bbb1f7ab13b541144414fa7808c119e8a4635e392ea544c178"
	hash1755635 = "0x1dec87ec1ba8e65b7773bb6f62249468948a28a427efd3d896a2ff7d7c591a67"
)

func TestBlocksRecordedPerTxFallback(t *testing.T) {
	f := newFakeNode(t)
	f.loadDir(t, "test_stream/blocks_1755634_1755635")
	var logs syncBuffer
	c := dialFake(t, f, &logs, nil)
	got, err := collect(c, 1755634, 1755635)
	if err != nil {
		t.Fatalf("Blocks: %v", err)
	}
	if len(got) != 2 || got[0].Number != 1755634 || got[1].Number != 1755635 ||
		got[0].Hash != hash1755634 || got[1].Hash != hash1755635 {
		t.Fatalf("got %+v", got)
	}
	if string(got[0].Receipts) != "[]" {
		t.Errorf("block 1755634 receipts = %s, want []", got[0].Receipts)
	}
	var rs []map[string]any
	if err := json.Unmarshal(got[1].Receipts, &rs); err != nil || len(rs) != 2 {
		t.Fatalf("block 1755635 receipts: %v, %d", err, len(rs))
	}
	if rs[0]["transactionHash"] != tx0 || rs[1]["transactionHash"] != tx1 {
		t.Errorf("receipts out of order: %v %v", rs[0]["transactionHash"], rs[1]["transactionHash"])
	}
	if got[0].Trace != eth.TraceNone || got[0].Traces != nil {
		t.Errorf("traces = %q %s, want none", got[0].Trace, got[0].Traces)
	}
	if !strings.Contains(logs.String(), "per transaction") || !strings.Contains(logs.String(), "trace API selected") {
		t.Errorf("fallback or trace choice not logged:\n%s", logs.String())
	}
	// The fallback is permanent: a second run asks for no block receipts.
	before := f.count("eth_getBlockReceipts")
	if _, err := collect(c, 1755634, 1755635); err != nil {
		t.Fatal(err)
	}
	if n := f.count("eth_getBlockReceipts"); n != before {
		t.Errorf("eth_getBlockReceipts called again after fallback (%d → %d)", before, n)
	}
	// Beyond the recording the node has no block: ErrNotFound after the
	// recorded ones were delivered.
	got, err = collect(c, 1755634, 1755636)
	if !errors.Is(err, ErrNotFound) || len(got) != 2 {
		t.Fatalf("past tip: %d blocks, err %v; want 2 and ErrNotFound", len(got), err)
	}
	if !strings.Contains(err.Error(), `eth_getBlockByNumber ["0x1ac9f4",true]`) {
		t.Errorf("error does not name method and params: %v", err)
	}
}

func TestBlocksSmallWindowsAndBatches(t *testing.T) {
	f := newFakeNode(t)
	f.loadDir(t, "test_stream/blocks_1755634_1755635")
	c := dialFake(t, f, nil, func(cfg *Config) { cfg.BlocksPerWindow = 1; cfg.BatchSize = 1; cfg.Concurrency = 2 })
	got, err := collect(c, 1755634, 1755635)
	if err != nil || len(got) != 2 || got[1].Hash != hash1755635 {
		t.Fatalf("got %d blocks, err %v", len(got), err)
	}
}

func TestBlocksWithBlockReceiptsAndParityTraces(t *testing.T) {
	f := newFakeNode(t)
	f.loadDir(t, "test_stream/blocks_1755634_1755635")
	// Serve eth_getBlockReceipts and trace_block from the per-tx recordings.
	r1, _ := f.get("eth_getTransactionReceipt_" + tx0)
	r2, _ := f.get("eth_getTransactionReceipt_" + tx1)
	f.setResult("eth_getBlockReceipts", `[]`, "0x1ac9f2")
	f.setResult("eth_getBlockReceipts", "["+string(r1.result)+","+string(r2.result)+"]", "0x1ac9f3")
	f.setResult("trace_block", `[]`, "0x1ac9f2")
	f.setResult("trace_block", `[{"type":"call"}]`, "0x1ac9f3")
	c := dialFake(t, f, nil, nil)
	got, err := collect(c, 1755634, 1755635)
	if err != nil {
		t.Fatal(err)
	}
	if c.Traces() != eth.TraceParity || got[1].Trace != eth.TraceParity || string(got[1].Traces) != `[{"type":"call"}]` {
		t.Errorf("traces: %q %q %s", c.Traces(), got[1].Trace, got[1].Traces)
	}
	if f.count("eth_getTransactionReceipt") != 0 {
		t.Errorf("per-tx receipts used although eth_getBlockReceipts answered")
	}
}

func TestTraceDetection(t *testing.T) {
	cases := []struct {
		dir   string
		block uint64
		want  eth.TraceKind
	}{
		{"test_stream/blocks_508110_508110", 508110, eth.TraceParity},
		{"test_extract_geth_traces_job/block_with_subtraces", 0xf4240, eth.TraceGethCall},
		{"test_extract_geth_traces_job/block_with_error", 0xf45bf, eth.TraceGethCall},
		{"test_stream/blocks_1755634_1755635", 1755634, eth.TraceNone},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			f := newFakeNode(t)
			f.loadDir(t, tc.dir)
			c := dialFake(t, f, nil, nil)
			if err := c.decideTraces(context.Background(), tc.block); err != nil {
				t.Fatal(err)
			}
			if c.Traces() != tc.want {
				t.Errorf("trace API %q, want %q", c.Traces(), tc.want)
			}
			// The probe runs once.
			n := f.count("trace_block")
			_ = c.decideTraces(context.Background(), tc.block)
			if f.count("trace_block") != n {
				t.Error("probe repeated")
			}
		})
	}
}

func TestTracesFixedSetting(t *testing.T) {
	f := newFakeNode(t)
	f.loadDir(t, "test_stream/blocks_1755634_1755635")
	c := dialFake(t, f, nil, func(cfg *Config) { cfg.Traces = TracesGeth })
	_, err := collect(c, 1755634, 1755635)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Method != "debug_traceBlockByNumber" || ce.Code() != -32601 {
		t.Fatalf("forced geth traces on a node without them: %v", err)
	}
	if f.count("trace_block") != 0 {
		t.Error("probe ran although traces were configured")
	}
}

// mutate replaces a field of a recorded result.
func mutate(t *testing.T, f *fakeNode, key string, edit func(m map[string]any)) {
	t.Helper()
	a, ok := f.get(key)
	if !ok {
		t.Fatalf("no recording %s", key)
	}
	var m map[string]any
	if err := json.Unmarshal(a.result, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ := json.Marshal(m)
	f.set(key, strings.SplitN(key, "_0x", 2)[0], answer{result: b})
}

func TestBlocksReorg(t *testing.T) {
	cases := map[string]func(t *testing.T, f *fakeNode){
		"parentHash": func(t *testing.T, f *fakeNode) {
			mutate(t, f, "eth_getBlockByNumber_0x1ac9f3_true", func(m map[string]any) {
				m["parentHash"] = "0x" + strings.Repeat("ab", 32)
			})
		},
		"receipt blockHash": func(t *testing.T, f *fakeNode) {
			mutate(t, f, "eth_getTransactionReceipt_"+tx0, func(m map[string]any) {
				m["blockHash"] = "0x" + strings.Repeat("cd", 32)
			})
		},
		"receipt vanished": func(t *testing.T, f *fakeNode) {
			f.setResult("eth_getTransactionReceipt", "null", tx1)
		},
		"receipt count": func(t *testing.T, f *fakeNode) {
			f.setResult("eth_getBlockReceipts", `[]`, "0x1ac9f2")
			f.setResult("eth_getBlockReceipts", `[]`, "0x1ac9f3")
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeNode(t)
			f.loadDir(t, "test_stream/blocks_1755634_1755635")
			setup(t, f)
			c := dialFake(t, f, nil, nil)
			got, err := collect(c, 1755634, 1755635)
			if !errors.Is(err, ErrReorg) {
				t.Fatalf("err = %v, want ErrReorg", err)
			}
			if len(got) > 1 {
				t.Errorf("delivered %d blocks past the inconsistency", len(got))
			}
		})
	}
}

func TestBlocksCallbackErrorStops(t *testing.T) {
	f := newFakeNode(t)
	f.loadDir(t, "test_stream/blocks_1755634_1755635")
	c := dialFake(t, f, nil, func(cfg *Config) { cfg.BlocksPerWindow = 1 })
	stop := errors.New("stop")
	calls := 0
	err := c.Blocks(context.Background(), 1755634, 1755635, func(*eth.RawBlock) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	if err := c.Blocks(context.Background(), 5, 4, func(*eth.RawBlock) error { return nil }); err == nil {
		t.Error("inverted range accepted")
	}
}
