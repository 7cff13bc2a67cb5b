package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDialChainMismatch(t *testing.T) {
	f := newFakeNode(t)
	f.setResult("eth_chainId", `"0xaa36a7"`)
	_, err := Dial(context.Background(), Config{URL: f.srv.URL, ChainID: 1})
	want := "ethrpc: node is chain 11155111 (sepolia), expected 1 (ethereum)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	f.setResult("eth_chainId", `"0x38"`)
	if _, err := Dial(context.Background(), Config{URL: f.srv.URL, ChainID: 56}); err != nil {
		t.Fatalf("bsc: %v", err)
	}
}

func TestDialConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{URL: "ftp://x"}, {URL: "http://x", Traces: "erigon"}} {
		if _, err := Dial(context.Background(), cfg); err == nil || !strings.HasPrefix(err.Error(), "ethrpc: ") {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
}

func TestTipAndHashAt(t *testing.T) {
	f := newFakeNode(t)
	f.loadDir(t, "test_stream/blocks_1755634_1755635")
	f.setResult("eth_getBlockByNumber", `{"number":"0x1ac9f3","hash":"`+hash1755635+`"}`, "0x1ac9f3", false)
	c := dialFake(t, f, nil, nil)
	n, h, err := c.Tip(context.Background())
	if err != nil || n != 7444794 || h != "0x7af5ba284473186783cef5ca9b5c6312e01864c5242f91a3d6c10b83358e149f" {
		t.Fatalf("Tip = %d %s %v", n, h, err)
	}
	h, err = c.HashAt(context.Background(), 1755635)
	if err != nil || h != hash1755635 {
		t.Fatalf("HashAt = %s %v", h, err)
	}
	_, err = c.HashAt(context.Background(), 99999999)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("HashAt past tip: %v", err)
	}
}

// faultCase sets up one fault and checks the error it causes.
type faultCase struct {
	name  string
	hook  func(calls int64, w http.ResponseWriter, r *http.Request, reqs []request) bool
	cfg   func(*Config)
	check func(t *testing.T, err error, posts int64)
}

func TestFaults(t *testing.T) {
	batchOnly := func(reqs []request) bool { return len(reqs) > 1 }
	cases := []faultCase{
		{
			name: "garbage body",
			hook: func(_ int64, w http.ResponseWriter, _ *http.Request, reqs []request) bool {
				if !batchOnly(reqs) {
					return false
				}
				_, _ = w.Write([]byte("<html>oops</html>"))
				return true
			},
			check: func(t *testing.T, err error, posts int64) {
				wantIn(t, err, "eth_getBlockByNumber", `["0x1ac9f2",true]`, "batch of", "malformed JSON")
			},
		},
		{
			name: "wrong batch ids",
			hook: func(_ int64, w http.ResponseWriter, _ *http.Request, reqs []request) bool {
				if !batchOnly(reqs) {
					return false
				}
				out := make([]string, len(reqs))
				for i := range reqs {
					out[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":null}`, 1000+i)
				}
				_, _ = w.Write([]byte("[" + strings.Join(out, ",") + "]"))
				return true
			},
			check: func(t *testing.T, err error, _ int64) {
				wantIn(t, err, "wrong or missing id", "eth_getBlockByNumber")
			},
		},
		{
			name: "rpc error object",
			hook: func(_ int64, w http.ResponseWriter, _ *http.Request, reqs []request) bool {
				if !batchOnly(reqs) {
					return false
				}
				out := make([]string, len(reqs))
				for i, q := range reqs {
					out[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32000,"message":"header not found"}}`, q.ID)
				}
				_, _ = w.Write([]byte("[" + strings.Join(out, ",") + "]"))
				return true
			},
			check: func(t *testing.T, err error, _ int64) {
				wantIn(t, err, "-32000", "header not found", `["0x1ac9f2",true]`)
				var ce *CallError
				if !errors.As(err, &ce) || ce.Code() != -32000 {
					t.Errorf("no CallError with code: %v", err)
				}
			},
		},
		{
			name: "500 then success",
			hook: func(calls int64, w http.ResponseWriter, _ *http.Request, reqs []request) bool {
				if !batchOnly(reqs) || calls > 2 {
					return false
				}
				http.Error(w, "upstream sad", http.StatusBadGateway)
				return true
			},
			check: func(t *testing.T, err error, posts int64) {
				if err != nil || posts < 4 {
					t.Errorf("retries did not recover: %v after %d posts", err, posts)
				}
			},
		},
		{
			name: "429 exhausts retries",
			cfg:  func(c *Config) { c.MaxRetries = 2 },
			hook: func(_ int64, w http.ResponseWriter, _ *http.Request, reqs []request) bool {
				if !batchOnly(reqs) {
					return false
				}
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return true
			},
			check: func(t *testing.T, err error, _ int64) {
				wantIn(t, err, "429", "after 3 attempts")
			},
		},
		{
			name: "400 is not retried",
			hook: func(_ int64, w http.ResponseWriter, _ *http.Request, reqs []request) bool {
				if !batchOnly(reqs) {
					return false
				}
				http.Error(w, "no", http.StatusBadRequest)
				return true
			},
			check: func(t *testing.T, err error, _ int64) {
				wantIn(t, err, "400")
				if strings.Contains(err.Error(), "attempts") {
					t.Errorf("retried a 400: %v", err)
				}
			},
		},
		{
			name: "hang",
			cfg:  func(c *Config) { c.Timeout = 100 * time.Millisecond; c.MaxRetries = 1 },
			hook: func(_ int64, _ http.ResponseWriter, r *http.Request, reqs []request) bool {
				if !batchOnly(reqs) {
					return false
				}
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			},
			check: func(t *testing.T, err error, _ int64) {
				wantIn(t, err, "100ms request timeout", "after 2 attempts")
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("not a deadline error: %v", err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNode(t)
			f.loadDir(t, "test_stream/blocks_1755634_1755635")
			var n atomic.Int64
			f.hook = func(w http.ResponseWriter, r *http.Request, _ []byte, reqs []request) bool {
				return tc.hook(n.Add(1), w, r, reqs)
			}
			c := dialFake(t, f, nil, func(cfg *Config) {
				cfg.Traces = TracesNone
				if tc.cfg != nil {
					tc.cfg(cfg)
				}
			})
			start := time.Now()
			_, err := collect(c, 1755634, 1755635)
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			t.Logf("error: %v", err)
			tc.check(t, err, f.posts.Load())
		})
	}
}

// wantIn fails unless err's message contains every part and the node URL.
func wantIn(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "ethrpc: ") || !strings.Contains(msg, "http://127.0.0.1:") {
		t.Errorf("error lacks prefix or URL: %s", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q lacks %q", msg, p)
		}
	}
}

func TestCallNullAndCredentials(t *testing.T) {
	f := newFakeNode(t)
	f.setResult("eth_chainId", `"0x1"`)
	f.methods["eth_getblockbynumber"] = true
	u := strings.Replace(f.srv.URL, "http://", "http://alice:s3cret@", 1) + "/v3/0123456789abcdef0123456789abcdef?apikey=zzz"
	c, err := Dial(context.Background(), Config{URL: u, ChainID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Call(context.Background(), "eth_getBlockByNumber", "0x5", true)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("null result: %v", err)
	}
	for _, secret := range []string{"alice", "s3cret", "0123456789abcdef", "zzz"} {
		if strings.Contains(err.Error(), secret) || strings.Contains(c.URL(), secret) {
			t.Errorf("credential %q leaked: %v / %s", secret, err, c.URL())
		}
	}
}

func TestBackoffCapped(t *testing.T) {
	c := &Client{cfg: Config{RetryBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for attempt := 1; attempt < 10; attempt++ {
		d := c.backoff(attempt)
		if d <= 0 || d > time.Second {
			t.Errorf("backoff(%d) = %v", attempt, d)
		}
	}
	if d := c.backoff(8); d < 500*time.Millisecond {
		t.Errorf("backoff not capped with jitter: %v", d)
	}
}
