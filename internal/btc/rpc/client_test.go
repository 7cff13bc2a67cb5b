package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestClient returns a client with fast retries and a captured log.
func newTestClient(t *testing.T, url string, edit func(*Config)) (*Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := Config{
		URL:        url,
		Timeout:    5 * time.Second,
		MaxRetries: 2,
		Backoff:    time.Millisecond,
		MaxBackoff: 5 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c, logs
}

// requestID extracts the id of a single JSON-RPC request for hooks that
// answer by hand.
func requestID(t *testing.T, body []byte) json.RawMessage {
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Errorf("hook: %v", err)
	}
	return req.ID
}

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URL: "ftp://host:1"},
		{URL: "http://"},
		{URL: "http://h:1", Concurrency: -1},
		{URL: "http://h:1", Timeout: -time.Second},
		{URL: "http://h:1", RateLimit: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want error", cfg)
		}
	}
	c, err := New(Config{URL: "bob:pw@127.0.0.1:8332"})
	if err != nil {
		t.Fatal(err)
	}
	if c.URL() != "http://127.0.0.1:8332" || c.user != "bob" || c.pass != "pw" {
		t.Errorf("bare host:port with credentials: URL %q user %q pass %q", c.URL(), c.user, c.pass)
	}
	_, err = New(Config{URL: "http://u:topsecret@bad host:1"})
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("invalid URL error %v must exist and hide the password", err)
	}
}

func TestRPCErrorIsNotRetried(t *testing.T) {
	f := newFakeNode(t, 3)
	c, _ := newTestClient(t, f.url(), nil)
	err := c.Call(t.Context(), "nosuchmethod", []any{1}, nil)
	mustContain(t, err, "rpc nosuchmethod [1] at "+f.srv.URL, "-32601", "Method not found")
	var re *RPCError
	if !errors.As(err, &re) || re.Code != -32601 {
		t.Errorf("errors.As RPCError: %v", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (RPC errors are final)", n)
	}
	if strings.Contains(err.Error(), f.pass) {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestGarbageBody(t *testing.T) {
	f := newFakeNode(t, 3, func(f *fakeNode) {
		f.hook = func(w http.ResponseWriter, _ []byte) bool {
			fmt.Fprint(w, "<html><body>It works!</body></html>")
			return true
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	_, _, err := c.Tip(t.Context())
	mustContain(t, err, "getbestblockhash", "not JSON-RPC", `"<html><body>It works!</body></html>"`)
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (garbage is not retried)", n)
	}
}

func TestHTTPErrorRetriedThenGivesUp(t *testing.T) {
	page := "<html>" + strings.Repeat("bad gateway ", 40) + "</html>"
	f := newFakeNode(t, 3, func(f *fakeNode) {
		f.hook = func(w http.ResponseWriter, _ []byte) bool {
			http.Error(w, page, http.StatusBadGateway)
			return true
		}
	})
	c, logs := newTestClient(t, f.url(), nil)
	_, err := c.HashAt(t.Context(), 1)
	mustContain(t, err, "getblockhash [1]", "after 3 attempts", "HTTP 502 Bad Gateway", "<html>bad gateway", "bytes)")
	if n := f.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 1 + MaxRetries = 3", n)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no retry logged: %s", logs)
	}
}

func TestRetry500ThenSuccess(t *testing.T) {
	var failures atomic.Int32
	f := newFakeNode(t, 3, func(f *fakeNode) {
		f.hook = func(w http.ResponseWriter, _ []byte) bool {
			if failures.Add(1) <= 2 {
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
				return true
			}
			return false
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	h, err := c.HashAt(t.Context(), 2)
	if err != nil {
		t.Fatalf("HashAt after two 500s: %v", err)
	}
	if h != f.hashAt(2) {
		t.Errorf("HashAt(2) = %s, want %s", h, f.hashAt(2))
	}
	if n := f.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestWarmupRetried(t *testing.T) {
	var first atomic.Bool
	f := newFakeNode(t, 3, func(f *fakeNode) {
		f.hook = func(w http.ResponseWriter, body []byte) bool {
			if first.CompareAndSwap(false, true) {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, `{"result":null,"error":{"code":-28,"message":"Loading block index..."},"id":%s}`, requestID(t, body))
				return true
			}
			return false
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	if _, err := c.HashAt(t.Context(), 1); err != nil {
		t.Fatalf("HashAt after warm-up error: %v", err)
	}
}

func TestPerRequestTimeout(t *testing.T) {
	stop := make(chan struct{})
	f := newFakeNode(t, 3, func(f *fakeNode) {
		f.hook = func(http.ResponseWriter, []byte) bool {
			select {
			case <-stop:
			case <-time.After(10 * time.Second):
			}
			return false
		}
	})
	t.Cleanup(func() { close(stop) }) // Runs before the server closes.
	c, _ := newTestClient(t, f.url(), func(cfg *Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.MaxRetries = 1
	})
	start := time.Now()
	_, _, err := c.Tip(t.Context())
	mustContain(t, err, "getbestblockhash", "no response within 50ms", "after 2 attempts")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestContextCancelStopsAtOnce(t *testing.T) {
	stop := make(chan struct{})
	f := newFakeNode(t, 3, func(f *fakeNode) {
		f.hook = func(http.ResponseWriter, []byte) bool {
			<-stop
			return false
		}
	})
	t.Cleanup(func() { close(stop) })
	c, _ := newTestClient(t, f.url(), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.HashAt(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (a cancelled caller is not retried)", n)
	}
}

func TestWrongAuth(t *testing.T) {
	f := newFakeNode(t, 3)
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) {
		cfg.User, cfg.Password = "alice", "wrong-password"
	})
	_, _, err := c.Tip(t.Context())
	mustContain(t, err, "401", "authentication failed", f.srv.URL)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
		t.Errorf("errors.As HTTPError 401: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error leaks the password: %v", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (auth failures are final)", n)
	}
}

func TestCookieFileReadAndRotated(t *testing.T) {
	f := newFakeNode(t, 3, func(f *fakeNode) { f.user, f.pass = "__cookie__", "first" })
	cookie := filepath.Join(t.TempDir(), ".cookie")
	if err := os.WriteFile(cookie, []byte("__cookie__:first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, logs := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.CookieFile = cookie })
	if _, err := c.HashAt(t.Context(), 1); err != nil {
		t.Fatalf("with cookie: %v", err)
	}

	// The node restarts: new cookie on disk and on the server.
	f.mu.Lock()
	f.pass = "second"
	f.mu.Unlock()
	if err := os.WriteFile(cookie, []byte("__cookie__:second"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HashAt(t.Context(), 1); err != nil {
		t.Fatalf("after cookie rotation: %v", err)
	}
	if !strings.Contains(logs.String(), "cookie file changed") {
		t.Errorf("cookie re-read not logged: %s", logs)
	}

	// The server changes credentials but the file does not: a clear 401.
	f.mu.Lock()
	f.pass = "third"
	f.mu.Unlock()
	_, err := c.HashAt(t.Context(), 1)
	mustContain(t, err, "authentication failed")
}

func TestCookieFileMissing(t *testing.T) {
	f := newFakeNode(t, 3)
	missing := filepath.Join(t.TempDir(), "nope", ".cookie")
	c, _ := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.CookieFile = missing })
	_, err := c.HashAt(t.Context(), 1)
	mustContain(t, err, "cookie file", missing)
}

func TestWrongResponseID(t *testing.T) {
	f := newFakeNode(t, 3, func(f *fakeNode) {
		f.hook = func(w http.ResponseWriter, _ []byte) bool {
			fmt.Fprint(w, `{"result":"00","error":null,"id":999999}`)
			return true
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	_, err := c.HashAt(t.Context(), 1)
	mustContain(t, err, "getblockhash [1]", "response id 999999 does not match request id")
}

func TestBatchMissingAnswer(t *testing.T) {
	f := newFakeNode(t, 10, func(f *fakeNode) {
		f.hook = func(w http.ResponseWriter, body []byte) bool {
			if body[0] != '[' {
				return false
			}
			var reqs []struct {
				ID uint64 `json:"id"`
			}
			_ = json.Unmarshal(body, &reqs)
			fmt.Fprintf(w, `[{"result":"%s","error":null,"id":%d}]`, strings.Repeat("0", 64), reqs[0].ID)
			return true
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	_, err := c.listHashes(t.Context(), 0, 3)
	mustContain(t, err, "getblockhash", "batch of 3", "lacks id")
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, _ := newTestClient(t, "http://u:pw@"+addr, nil)
	_, _, err = c.Tip(t.Context())
	mustContain(t, err, "rpc getbestblockhash at http://"+addr, "connection refused", "after 3 attempts")
}

func TestRateLimit(t *testing.T) {
	f := newFakeNode(t, 3)
	c, _ := newTestClient(t, f.url(), func(cfg *Config) { cfg.RateLimit = 100 })
	start := time.Now()
	for range 11 {
		if _, err := c.HashAt(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("11 requests at 100/s took %v, want about 100ms", d)
	}
}
