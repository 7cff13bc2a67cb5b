package rpc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// ErrNotFound is wrapped by errors for blocks, receipts or hashes the node
// does not have (a null result), typically a height above its tip.
var ErrNotFound = errors.New("ethrpc: not found")

// ErrReorg is wrapped by errors that show the chain changed while it was
// being read: a receipt naming another block hash, a vanished receipt, or
// consecutive blocks that do not link by parentHash.
var ErrReorg = errors.New("ethrpc: chain reorganised during fetch")

// errMissingResponse is wrapped when a batch reply lacks the id of a call.
var errMissingResponse = errors.New("batch response has no answer with this call's id (wrong or missing id)")

// JSON-RPC error codes the client treats specially.
const (
	codeMethodNotFound = -32601 // The node does not implement the method.
)

// CallError wraps every failure of one JSON-RPC call with what was asked of
// which node, so a log line is actionable on its own. URL never contains
// credentials.
type CallError struct {
	Method   string
	Params   string
	URL      string
	Attempts int
	Err      error
}

// Error renders "ethrpc: METHOD PARAMS at URL: cause", adding the attempt
// count when retries happened.
func (e *CallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ethrpc: %s %s at %s", e.Method, e.Params, e.URL)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap exposes the cause so callers can test for ErrNotFound, context
// errors or the node's error object.
func (e *CallError) Unwrap() error { return e.Err }

// Code returns the JSON-RPC error code the node answered with, or 0 when
// the failure was not an error object.
func (e *CallError) Code() int {
	var re gethrpc.Error
	if errors.As(e.Err, &re) {
		return re.ErrorCode()
	}
	return 0
}

// nodeError describes an error object from the node with its code, which
// the go-ethereum error types leave out of their message.
type nodeError struct{ err gethrpc.Error }

// Error renders "node returned error CODE: MESSAGE".
func (e *nodeError) Error() string {
	return fmt.Sprintf("node returned error %d: %s", e.err.ErrorCode(), e.err.Error())
}

// Unwrap exposes the go-ethereum error so its code stays reachable.
func (e *nodeError) Unwrap() error { return e.err }

// methodMissing reports whether err says the node does not offer the method
// at all, as opposed to failing for these parameters. Nodes disagree on the
// code, so a message naming the method as unsupported also counts.
func methodMissing(err error) bool {
	var re gethrpc.Error
	if !errors.As(err, &re) {
		return false
	}
	if re.ErrorCode() == codeMethodNotFound {
		return true
	}
	msg := strings.ToLower(re.Error())
	if !strings.Contains(msg, "method") && !strings.Contains(msg, "namespace") {
		return false
	}
	for _, s := range []string{"not found", "does not exist", "not supported", "unsupported", "not available", "not enabled"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// transient reports whether a transport failure is worth retrying:
// connection trouble, timeouts, HTTP 5xx, 408 and 429. Malformed replies and
// node error objects are not, because the same request fails the same way.
func transient(err error) bool {
	var he gethrpc.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500 || he.StatusCode == 429 || he.StatusCode == 408
	}
	var re gethrpc.Error
	if errors.As(err, &re) {
		return false
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// redactURL removes user info, the query string and key-like path segments
// (API keys of hosted providers) so a URL can appear in errors and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	u.Fragment = ""
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if keyLike(s) {
			segs[i] = "REDACTED"
		}
	}
	u.Path = strings.Join(segs, "/")
	u.RawPath = ""
	return u.String()
}

// keyLike reports whether a path segment looks like an API key: long and
// made only of letters, digits, '-' and '_'.
func keyLike(s string) bool {
	if len(s) < 20 {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}
