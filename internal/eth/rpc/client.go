// Package rpc is an EVM JSON-RPC block source: it reads blocks with full
// transactions, their receipts and their call traces from an Ethereum-style
// node over HTTP(S) or WebSocket and delivers them undecoded as
// eth.RawBlock values, in height order, checked for consistency.
//
// Trace API selection (Config.Traces "auto"): on the first block fetched the
// client calls trace_block (parity style: Erigon, Nethermind, Reth,
// OpenEthereum); if that answers with a non-null result it is used for every
// block. Otherwise, if the node refused it with an error object or a null
// result, it calls debug_traceBlockByNumber with {"tracer":"callTracer"}
// (geth style) and uses that if it answers. If neither does, blocks are
// delivered without traces (eth.TraceNone) and internal transfers are
// unknown. Transport failures during the probe are returned, not taken as
// refusals, so a flaky network never silently disables tracing. The choice
// is made once per Client and logged.
//
// Receipts come from eth_getBlockReceipts, one call per block. When the node
// says it does not have that method (-32601 or a message naming the method
// as unsupported), the client switches for good to one
// eth_getTransactionReceipt per transaction, batched, assembled into a JSON
// array in transaction order, and logs the switch.
package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/retry"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// Trace API settings for Config.Traces.
const (
	TracesAuto   = "auto"
	TracesGeth   = "geth"
	TracesParity = "parity"
	TracesNone   = "none"
)

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// URL is the node endpoint: http://, https:// or ws(s)://. Credentials
	// in it are used but never appear in errors or logs.
	URL string
	// ChainID is the expected chain; Dial fails when eth_chainId differs.
	// Zero skips the check.
	ChainID uint64
	// Concurrency is how many block windows are fetched at once (default 4).
	Concurrency int
	// BatchSize is the most calls in one batch request (default 100).
	BatchSize int
	// BlocksPerWindow is how many blocks one window fetches together
	// (default 10).
	BlocksPerWindow int
	// MaxRetries is how many times a transiently failed request is retried
	// (default 5; negative means none).
	MaxRetries int
	// RetryBackoff is the first retry's wait, doubled each retry (default
	// 250ms), and MaxBackoff caps it (default 10s).
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// RateLimit caps requests per second (0: unlimited).
	RateLimit float64
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
	// Traces selects the trace API: "auto" (default), "geth", "parity" or
	// "none".
	Traces string
	// HTTPClient replaces the default HTTP client for http(s) URLs.
	HTTPClient *http.Client
	// Logger receives the trace choice, the receipts fallback and retries
	// (default slog.Default()).
	Logger *slog.Logger
}

// chainNames names the chains people mostly run, for messages.
var chainNames = map[uint64]string{
	1:        "ethereum",
	11155111: "sepolia",
	56:       "bsc",
	137:      "polygon",
	42161:    "arbitrum",
	10:       "optimism",
	8453:     "base",
	43114:    "avalanche",
}

// ChainName returns the common name of chain id, or "unknown chain".
func ChainName(id uint64) string {
	if n, ok := chainNames[id]; ok {
		return n
	}
	return "unknown chain"
}

// Client reads blocks from one node. It is safe for concurrent use.
type Client struct {
	cfg     Config
	rc      *gethrpc.Client
	url     string
	log     *slog.Logger
	limiter *retry.Limiter

	traceMu      sync.Mutex
	traceDecided bool
	trace        eth.TraceKind

	perTxReceipts atomic.Bool
}

// Dial connects to cfg.URL and, when cfg.ChainID is set, checks the node's
// chain with eth_chainId.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, url: redactURL(cfg.URL), log: cfg.Logger, limiter: retry.NewLimiter(cfg.RateLimit)}
	var opts []gethrpc.ClientOption
	if cfg.HTTPClient != nil {
		opts = append(opts, gethrpc.WithHTTPClient(cfg.HTTPClient))
	}
	rc, err := gethrpc.DialOptions(ctx, cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("ethrpc: dial %s: %w", c.url, err)
	}
	c.rc = rc
	switch cfg.Traces {
	case TracesGeth:
		c.trace, c.traceDecided = eth.TraceGethCall, true
	case TracesParity:
		c.trace, c.traceDecided = eth.TraceParity, true
	case TracesNone:
		c.trace, c.traceDecided = eth.TraceNone, true
	}
	if cfg.ChainID != 0 {
		if err := c.checkChain(ctx); err != nil {
			rc.Close()
			return nil, err
		}
	}
	return c, nil
}

// fill validates cfg and applies defaults.
func (cfg *Config) fill() error {
	switch {
	case strings.HasPrefix(cfg.URL, "http://"), strings.HasPrefix(cfg.URL, "https://"),
		strings.HasPrefix(cfg.URL, "ws://"), strings.HasPrefix(cfg.URL, "wss://"):
	default:
		return fmt.Errorf("ethrpc: URL %q must start with http://, https://, ws:// or wss://", redactURL(cfg.URL))
	}
	switch cfg.Traces {
	case "":
		cfg.Traces = TracesAuto
	case TracesAuto, TracesGeth, TracesParity, TracesNone:
	default:
		return fmt.Errorf("ethrpc: Traces %q must be auto, geth, parity or none", cfg.Traces)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Concurrency, 4)
	def(&cfg.BatchSize, 100)
	def(&cfg.BlocksPerWindow, 10)
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = 5
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// Close releases the connection.
func (c *Client) Close() { c.rc.Close() }

// URL returns the node URL without credentials.
func (c *Client) URL() string { return c.url }

// checkChain compares eth_chainId with the configured chain.
func (c *Client) checkChain(ctx context.Context) error {
	raw, err := c.Call(ctx, "eth_chainId")
	if err != nil {
		return err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("ethrpc: eth_chainId at %s: result %.100s is not a hex string", c.url, raw)
	}
	id, err := parseQuantity(s)
	if err != nil {
		return fmt.Errorf("ethrpc: eth_chainId at %s: %w", c.url, err)
	}
	if id != c.cfg.ChainID {
		return fmt.Errorf("ethrpc: node is chain %d (%s), expected %d (%s)", id, ChainName(id), c.cfg.ChainID, ChainName(c.cfg.ChainID))
	}
	return nil
}

// Call performs one JSON-RPC call with the client's retries, timeout and
// rate limit and returns its raw result. A null result is an error wrapping
// ErrNotFound; an error object is a *CallError whose Code is the node's.
func (c *Client) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	cl := newCall(method, params...)
	if err := c.batch(ctx, []*call{cl}); err != nil {
		return nil, err
	}
	if cl.err != nil {
		return nil, cl.err
	}
	if cl.isNull() {
		return nil, cl.wrap(c.url, 1, ErrNotFound)
	}
	return cl.result, nil
}

// header holds the fields of a block the client checks.
type header struct {
	Number       string            `json:"number"`
	Hash         string            `json:"hash"`
	ParentHash   string            `json:"parentHash"`
	Transactions []json.RawMessage `json:"transactions"`
}

// Tip returns the height and hash of the node's latest block, read in one
// call (eth_getBlockByNumber "latest") so the two always agree.
func (c *Client) Tip(ctx context.Context) (uint64, string, error) {
	raw, err := c.Call(ctx, "eth_getBlockByNumber", "latest", false)
	if err != nil {
		return 0, "", err
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return 0, "", newCall("eth_getBlockByNumber", "latest", false).wrap(c.url, 1, fmt.Errorf("malformed block: %w", err))
	}
	n, err := parseQuantity(h.Number)
	if err != nil || !isHash(h.Hash) {
		return 0, "", newCall("eth_getBlockByNumber", "latest", false).wrap(c.url, 1, fmt.Errorf("block has bad number %q or hash %q", h.Number, h.Hash))
	}
	return n, strings.ToLower(h.Hash), nil
}

// HashAt returns the hash of the block at height n; a block the node does
// not have yields an error wrapping ErrNotFound.
func (c *Client) HashAt(ctx context.Context, n uint64) (string, error) {
	cl := newCall("eth_getBlockByNumber", hexUint(n), false)
	raw, err := c.Call(ctx, cl.method, cl.params...)
	if err != nil {
		return "", err
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", cl.wrap(c.url, 1, fmt.Errorf("malformed block: %w", err))
	}
	if got, err := parseQuantity(h.Number); err != nil || got != n || !isHash(h.Hash) {
		return "", cl.wrap(c.url, 1, fmt.Errorf("block has number %q and hash %q, want height %d", h.Number, h.Hash, n))
	}
	return strings.ToLower(h.Hash), nil
}

// Traces returns the trace API in use; under "auto" it is TraceNone until
// the first block has been fetched.
func (c *Client) Traces() eth.TraceKind {
	c.traceMu.Lock()
	defer c.traceMu.Unlock()
	return c.trace
}

// hexUint renders n as a JSON-RPC quantity.
func hexUint(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

// parseQuantity parses a JSON-RPC quantity such as "0x1ac9f3".
func parseQuantity(s string) (uint64, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") || len(s) < 3 {
		return 0, fmt.Errorf("quantity %q is not 0x-prefixed hex", s)
	}
	n, err := strconv.ParseUint(s[2:], 16, 64)
	if err != nil {
		return 0, fmt.Errorf("quantity %q: %w", s, errors.Unwrap(err))
	}
	return n, nil
}

// isHash reports whether s is a 0x-prefixed 32-byte hex hash.
func isHash(s string) bool {
	if len(s) != 66 || s[:2] != "0x" {
		return false
	}
	for _, r := range s[2:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}
