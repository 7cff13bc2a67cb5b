package rpc

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// JSON-RPC error codes the client treats specially. Bitcoin Core and btcd
// share the application codes; the -32xxx ones come from JSON-RPC 2.0.
const (
	codeMisc          = -1     // btcd: "Block number out of range" and other generic failures.
	codeBlockNotFound = -5     // RPC_INVALID_ADDRESS_OR_KEY: unknown block hash.
	codeInvalidParam  = -8     // Core: "Block height out of range".
	codeInWarmup      = -28    // Core is still loading its indexes; worth retrying.
	codeParseError    = -32700 // The node could not parse the request body.
	codeInvalidReq    = -32600 // The request was not a valid JSON-RPC request.
)

// RPCError is an error object returned by the node for one call. It is never
// retried (except the warm-up code -28) because the same call would fail the
// same way.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error reports the node's code and message verbatim so operators can look
// them up in the node's documentation.
func (e *RPCError) Error() string {
	return fmt.Sprintf("node returned error %d: %s", e.Code, e.Message)
}

// HTTPError is a reply whose status was not 200 and whose body was not a
// JSON-RPC response. Body holds a quoted excerpt so a proxy's HTML error page
// is recognisable in logs.
type HTTPError struct {
	StatusCode int
	Status     string
	Body       string
}

// Error names the status and, for 401 and 403, the likely cause, because a
// bare status code sends people looking in the wrong place.
func (e *HTTPError) Error() string {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return "HTTP 401 Unauthorized: authentication failed (check the RPC user and password or the cookie file)"
	case http.StatusForbidden:
		return "HTTP 403 Forbidden: the node refused this client (check rpcallowip or the RPC whitelist)"
	}
	msg := "HTTP " + e.Status
	if e.Status == "" {
		msg = "HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Body != "" {
		msg += ": body " + e.Body
	}
	return msg
}

// CallError wraps every failure of a call with what was asked of which node,
// so an error in a log line is actionable on its own. URL never contains the
// password.
type CallError struct {
	Method   string
	Params   string
	URL      string
	Attempts int
	Err      error
}

// Error renders "rpc METHOD PARAMS at URL: cause", adding the attempt count
// when retries happened so a slow failure is explained.
func (e *CallError) Error() string {
	var b strings.Builder
	b.WriteString("rpc ")
	b.WriteString(e.Method)
	if e.Params != "" {
		b.WriteByte(' ')
		b.WriteString(e.Params)
	}
	b.WriteString(" at ")
	b.WriteString(e.URL)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap exposes the cause so callers can use errors.As on *RPCError or
// *HTTPError and errors.Is on context errors.
func (e *CallError) Unwrap() error { return e.Err }

// timeoutError means one HTTP exchange exceeded Config.Timeout while the
// caller's context was still live; the node may be hung, so it is retried.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no response within %v (per-request timeout)", e.after)
}

// transportError is a failure to connect, send or read: connection refused,
// reset, unexpected EOF. These are usually transient (node restarting).
type transportError struct{ err error }

func (e *transportError) Error() string { return "connection failed: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// protocolError is a reply that is not valid JSON-RPC for the request: a
// garbage body, a mismatched id, a malformed result. Retrying would not help.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func protocolErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// cookieError is a failure to read the node's cookie file. It is retried
// because bitcoind deletes and rewrites the file while restarting.
type cookieError struct{ err error }

func (e *cookieError) Error() string { return "cookie file: " + e.err.Error() }
func (e *cookieError) Unwrap() error { return e.err }

// batchUnsupportedError signals that the node answered an array request with
// something other than an array, which is how servers without batch support
// fail. It makes the client fall back to single calls instead of failing.
type batchUnsupportedError struct{ cause error }

func (e *batchUnsupportedError) Error() string {
	return "node does not support JSON-RPC batches: " + e.cause.Error()
}

// transient reports whether err is worth another attempt after a pause.
// Authentication failures, node error objects and garbage are permanent: the
// same request would get the same answer.
func transient(err error) bool {
	var (
		te  *timeoutError
		tre *transportError
		ce  *cookieError
		he  *HTTPError
		re  *RPCError
	)
	switch {
	case errors.As(err, &te), errors.As(err, &tre), errors.As(err, &ce):
		return true
	case errors.As(err, &he):
		return he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests ||
			he.StatusCode == http.StatusRequestTimeout
	case errors.As(err, &re):
		return re.Code == codeInWarmup
	}
	return false
}

// isAuthFailure reports a 401, which with a cookie file may mean the node
// restarted and rotated its cookie.
func isAuthFailure(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.StatusCode == http.StatusUnauthorized
}

// isOutOfRange reports whether a getblockhash error means "no block at this
// height": Core answers -8 "Block height out of range", btcd -1 "Block number
// out of range".
func isOutOfRange(err error) bool {
	var re *RPCError
	if !errors.As(err, &re) {
		return false
	}
	return re.Code == codeInvalidParam || strings.Contains(strings.ToLower(re.Message), "out of range")
}

// excerpt quotes the first bytes of a body for an error message, marking
// truncation, so garbage is shown without flooding logs.
func excerpt(b []byte) string {
	const n = 100
	if len(b) <= n {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:n], len(b))
}
