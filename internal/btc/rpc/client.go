// Package rpc reads a Bitcoin node's best chain over JSON-RPC. It works with
// Bitcoin Core (bitcoind) and btcd, and satisfies ingest.BlockSource without
// importing package ingest, which sits above it.
//
// The client batches calls when the node supports it, bounds the number of
// HTTP requests in flight, retries transient failures with capped
// exponential backoff, and verifies every block it returns against the hash
// the node listed for its height.
package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/internal/retry"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultConcurrency    = 4
	DefaultBatchSize      = 100
	DefaultBlockBatchSize = 4
	DefaultMaxRetries     = 5
	DefaultBackoff        = 200 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
)

// maxResponseBytes caps one HTTP response body. A batch of a few large
// blocks is tens of MiB of hex; anything near this is a broken server.
const maxResponseBytes = 1 << 30

// Config configures a Client. Only URL is required.
type Config struct {
	// URL is the node's RPC endpoint, "http://host:port". It may carry
	// "user:pass@"; User and Password, then CookieFile, take precedence. A
	// bare "host:port" is taken as http.
	URL string
	// User and Password are the RPC credentials (rpcuser/rpcpassword).
	User, Password string
	// CookieFile is bitcoind's ".cookie" ("user:pass"). It is read lazily
	// and re-read after a 401, because bitcoind writes a new one each start.
	CookieFile string
	// Timeout bounds one HTTP exchange, including reading the body.
	Timeout time.Duration
	// Concurrency bounds the HTTP requests (single calls or batches) this
	// client has in flight at once.
	Concurrency int
	// BatchSize is the number of cheap calls (getblockhash) per batch.
	BatchSize int
	// BlockBatchSize is the number of getblock calls per batch; blocks are
	// large, so it is kept small to bound memory.
	BlockBatchSize int
	// MaxRetries is how many times a transient failure is retried; zero
	// means DefaultMaxRetries and a negative value disables retries.
	MaxRetries int
	// Backoff is the first retry delay; it doubles per attempt, with jitter,
	// up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// RateLimit caps HTTP requests per second; zero means unlimited.
	RateLimit float64
	// Logger receives retries, fallbacks and detections; nil discards them.
	Logger *slog.Logger
}

// Client talks JSON-RPC to one node. It is safe for concurrent use.
type Client struct {
	cfg        Config
	endpoint   string // URL without credentials: used for requests and errors.
	maxRetries int
	http       *http.Client
	sem        chan struct{}
	limit      *retry.Limiter
	log        *slog.Logger

	nextID    atomic.Uint64
	noBatch   atomic.Bool
	blockMode atomic.Int32

	authMu     sync.Mutex
	user, pass string
	cookieRead bool
}

// New checks cfg, applies defaults and returns a Client. It does not contact
// the node, so a node that is still starting is not an error here.
func New(cfg Config) (*Client, error) {
	raw := strings.TrimSpace(cfg.URL)
	if raw == "" {
		return nil, errors.New("rpc: Config.URL is empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse echoes the input, which may contain a password.
		return nil, errors.New("rpc: Config.URL is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("rpc: Config.URL scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("rpc: Config.URL has no host")
	}
	switch {
	case cfg.Concurrency < 0, cfg.BatchSize < 0, cfg.BlockBatchSize < 0:
		return nil, errors.New("rpc: Concurrency, BatchSize and BlockBatchSize must not be negative")
	case cfg.Timeout < 0, cfg.Backoff < 0, cfg.MaxBackoff < 0:
		return nil, errors.New("rpc: Timeout, Backoff and MaxBackoff must not be negative")
	case cfg.RateLimit < 0:
		return nil, errors.New("rpc: RateLimit must not be negative")
	}
	user, pass := cfg.User, cfg.Password
	if u.User != nil && user == "" && pass == "" {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User = nil
	setDefault(&cfg.Timeout, DefaultTimeout)
	setDefault(&cfg.Concurrency, DefaultConcurrency)
	setDefault(&cfg.BatchSize, DefaultBatchSize)
	setDefault(&cfg.BlockBatchSize, DefaultBlockBatchSize)
	setDefault(&cfg.Backoff, DefaultBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	maxRetries := cfg.MaxRetries
	switch {
	case maxRetries == 0:
		maxRetries = DefaultMaxRetries
	case maxRetries < 0:
		maxRetries = 0
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.Concurrency
	c := &Client{
		cfg:        cfg,
		endpoint:   u.String(),
		maxRetries: maxRetries,
		http:       &http.Client{Transport: transport},
		sem:        make(chan struct{}, cfg.Concurrency),
		log:        log.With("node", u.String()),
		user:       user,
		pass:       pass,
	}
	if cfg.RateLimit > 0 {
		c.limit = retry.NewLimiter(cfg.RateLimit)
	}
	return c, nil
}

// setDefault fills a zero Config field, so the zero Config is usable.
func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// URL returns the node's endpoint without credentials, as used in errors.
func (c *Client) URL() string { return c.endpoint }

// Close releases idle connections. The Client must not be used afterwards.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// credentials returns the user and password for the next request, reading
// the cookie file the first time it is needed.
func (c *Client) credentials() (string, string, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.cfg.CookieFile != "" && !c.cookieRead {
		user, pass, err := readCookie(c.cfg.CookieFile)
		if err != nil {
			return "", "", err
		}
		c.user, c.pass, c.cookieRead = user, pass, true
	}
	return c.user, c.pass, nil
}

// reloadCookie re-reads the cookie file after a 401 and reports whether the
// credentials changed, which is the only case where retrying can succeed.
func (c *Client) reloadCookie() (bool, error) {
	user, pass, err := readCookie(c.cfg.CookieFile)
	if err != nil {
		return false, err
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	changed := !c.cookieRead || user != c.user || pass != c.pass
	c.user, c.pass, c.cookieRead = user, pass, true
	return changed, nil
}

// readCookie parses bitcoind's cookie file, a single "user:password" line.
func readCookie(path string) (string, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", &cookieError{err: err}
	}
	user, pass, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
	if !ok || user == "" {
		return "", "", &cookieError{err: fmt.Errorf("%s: want one line \"user:password\"", path)}
	}
	return user, pass, nil
}

// acquire takes an in-flight slot, so at most Concurrency requests run.
func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) release() { <-c.sem }

// backoff returns the pause before retry number n (from 1).
func (c *Client) backoff(n int) time.Duration {
	return retry.Backoff(n, c.cfg.Backoff, c.cfg.MaxBackoff)
}
