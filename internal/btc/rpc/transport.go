package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/chaintrace/chaintrace/internal/retry"
)

// request is one JSON-RPC call. Version "1.0" is what both bitcoind and btcd
// accept everywhere, including inside batches.
type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

// response is one JSON-RPC answer. Fields stay raw so an absent key (nil)
// can be told from a JSON null, and large results are decoded only once.
type response struct {
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	ID     json.RawMessage `json:"id"`
}

// rpcError returns the node's error object, or nil when the call succeeded.
// A bare string error, which some proxies send, becomes code 0.
func (r *response) rpcError() *RPCError {
	e := bytes.TrimSpace(r.Error)
	if len(e) == 0 || bytes.Equal(e, []byte("null")) {
		return nil
	}
	var re RPCError
	if err := json.Unmarshal(e, &re); err != nil {
		var s string
		if json.Unmarshal(e, &s) == nil {
			return &RPCError{Message: s}
		}
		return &RPCError{Message: "unparseable error " + excerpt(e)}
	}
	return &re
}

// call is one method invocation inside a batch.
type call struct {
	method string
	params []any
}

// describe renders params for error messages, truncated so a long batch
// does not swamp the log line.
func describe(params []any) string {
	if len(params) == 0 {
		return ""
	}
	b, err := json.Marshal(params)
	if err != nil {
		return fmt.Sprintf("%v", params)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

// parseResponses decodes a body as one JSON-RPC response or an array of
// them. Every element must have a result or an error key, so arbitrary JSON
// (a proxy's {"message": ...}) is not mistaken for an answer.
func parseResponses(body []byte) ([]response, bool, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, false, errors.New("empty body")
	}
	isArray := body[0] == '['
	var resps []response
	if isArray {
		if err := json.Unmarshal(body, &resps); err != nil {
			return nil, true, err
		}
	} else {
		var r response
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, false, err
		}
		resps = []response{r}
	}
	for i := range resps {
		if resps[i].Result == nil && resps[i].Error == nil {
			return nil, isArray, errors.New("object has neither result nor error")
		}
	}
	return resps, isArray, nil
}

// parseID reads a response id, accepting a number or a numeric string.
func parseID(raw json.RawMessage) (uint64, bool) {
	s := string(bytes.TrimSpace(raw))
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil
}

// idText renders a response id for an error message; an absent id reads
// as "missing".
func idText(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	switch {
	case s == "":
		return "missing"
	case len(s) > 40:
		return s[:40] + "..."
	}
	return s
}

// once performs one HTTP exchange and classifies the outcome. A JSON-RPC
// body is returned whatever the status, because bitcoind reports call errors
// with HTTP 500 or 404 and a normal JSON-RPC body.
func (c *Client) once(ctx context.Context, body []byte) ([]response, bool, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, false, err
	}
	defer c.release()
	if err := c.limit.Wait(ctx); err != nil {
		return nil, false, err
	}
	user, pass, err := c.credentials()
	if err != nil {
		return nil, false, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, false, c.transportFailure(ctx, rctx, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	resp.Body.Close()
	if err != nil {
		return nil, false, c.transportFailure(ctx, rctx, fmt.Errorf("reading response: %w", err))
	}
	if len(data) > maxResponseBytes {
		return nil, false, protocolErrorf("response larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, false, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	resps, isArray, perr := parseResponses(data)
	if perr == nil {
		return resps, isArray, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Body: excerpt(data)}
	}
	return nil, false, protocolErrorf("response is not JSON-RPC (%v); body %s", perr, excerpt(data))
}

// transportFailure tells a cancelled caller (not retried) from a per-request
// timeout or a network error (both retried).
func (c *Client) transportFailure(ctx, rctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return &timeoutError{after: c.cfg.Timeout}
	}
	// url.Error repeats the URL, which CallError already names.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &transportError{err: err}
}

// withRetry runs op until it succeeds, fails permanently, or MaxRetries
// retries are spent, and returns the number of attempts made. A 401 with a
// cookie file gets one free retry if the cookie changed (node restarted).
func (c *Client) withRetry(ctx context.Context, what string, op func() error) (int, error) {
	attempts, retries := 0, 0
	cookieRetried := false
	for {
		attempts++
		err := op()
		if err == nil {
			return attempts, nil
		}
		if ctx.Err() != nil {
			return attempts, err
		}
		if isAuthFailure(err) && c.cfg.CookieFile != "" && !cookieRetried {
			cookieRetried = true
			if changed, rerr := c.reloadCookie(); rerr == nil && changed {
				c.log.Info("rpc: authentication failed; cookie file changed, retrying with new credentials",
					"call", what, "cookie", c.cfg.CookieFile)
				continue
			}
		}
		if !transient(err) || retries >= c.maxRetries {
			return attempts, err
		}
		retries++
		d := c.backoff(retries)
		c.log.Warn("rpc: transient failure, retrying", "call", what, "retry", retries,
			"of", c.maxRetries, "in", d, "err", err)
		if serr := retry.Sleep(ctx, d); serr != nil {
			return attempts, fmt.Errorf("%w (while waiting to retry after: %v)", serr, err)
		}
	}
}

// Call invokes method with params and decodes the result into result, which
// may be nil to discard it. Errors are *CallError wrapping *RPCError,
// *HTTPError, context errors or protocol failures.
func (c *Client) Call(ctx context.Context, method string, params []any, result any) error {
	raw, err := c.call(ctx, method, params)
	if err != nil {
		return err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return c.callError(method, params, 1, protocolErrorf("decoding result %s: %v", excerpt(raw), err))
	}
	return nil
}

// call performs one non-batched call with retries and returns the raw
// result.
func (c *Client) call(ctx context.Context, method string, params []any) (json.RawMessage, error) {
	if params == nil {
		params = []any{} // btcd rejects a request whose params are null.
	}
	id := c.nextID.Add(1)
	body, err := json.Marshal(request{JSONRPC: "1.0", ID: id, Method: method, Params: params})
	if err != nil {
		return nil, c.callError(method, params, 0, fmt.Errorf("encoding request: %w", err))
	}
	var result json.RawMessage
	attempts, err := c.withRetry(ctx, method, func() error {
		resps, isArray, err := c.once(ctx, body)
		if err != nil {
			return err
		}
		if isArray {
			return protocolErrorf("node answered a single call with an array of %d responses", len(resps))
		}
		r := &resps[0]
		got, ok := parseID(r.ID)
		rerr := r.rpcError()
		if !ok && rerr != nil {
			return rerr // Parse errors come back with a null id.
		}
		if !ok || got != id {
			return protocolErrorf("response id %s does not match request id %d", idText(r.ID), id)
		}
		if rerr != nil {
			return rerr
		}
		result = r.Result
		return nil
	})
	if err != nil {
		return nil, c.callError(method, params, attempts, err)
	}
	return result, nil
}

// callError wraps err with the method, params and node URL.
func (c *Client) callError(method string, params []any, attempts int, err error) *CallError {
	return &CallError{Method: method, Params: describe(params), URL: c.endpoint, Attempts: attempts, Err: err}
}

// batch runs calls and returns each call's raw result or error, in call
// order. The error return is for a failure of the whole exchange. Nodes
// without batch support are detected once and served by concurrent single
// calls from then on.
func (c *Client) batch(ctx context.Context, calls []call) ([]json.RawMessage, []error, error) {
	if len(calls) == 1 || c.noBatch.Load() {
		return c.singles(ctx, calls)
	}
	n := uint64(len(calls))
	first := c.nextID.Add(n) - n + 1
	reqs := make([]request, len(calls))
	for i, cl := range calls {
		params := cl.params
		if params == nil {
			params = []any{}
		}
		reqs[i] = request{JSONRPC: "1.0", ID: first + uint64(i), Method: cl.method, Params: params}
	}
	body, err := json.Marshal(reqs)
	if err != nil {
		return nil, nil, fmt.Errorf("rpc: encoding batch: %w", err)
	}
	what := fmt.Sprintf("%s (batch of %d)", calls[0].method, len(calls))
	results := make([]json.RawMessage, len(calls))
	errs := make([]error, len(calls))
	attempts, err := c.withRetry(ctx, what, func() error {
		resps, isArray, err := c.once(ctx, body)
		if err != nil {
			var he *HTTPError
			if errors.As(err, &he) && batchRejectedStatus(he.StatusCode) {
				return &batchUnsupportedError{cause: err}
			}
			return err
		}
		if !isArray {
			if rerr := resps[0].rpcError(); rerr != nil {
				return &batchUnsupportedError{cause: rerr}
			}
			return protocolErrorf("node answered a batch of %d calls with a single result", len(calls))
		}
		return matchBatch(resps, first, results, errs)
	})
	if err != nil {
		var bu *batchUnsupportedError
		if errors.As(err, &bu) {
			if c.noBatch.CompareAndSwap(false, true) {
				c.log.Warn("rpc: node does not support JSON-RPC batches; falling back to concurrent single calls",
					"reason", bu.cause.Error())
			}
			return c.singles(ctx, calls)
		}
		return nil, nil, &CallError{Method: calls[0].method, Params: fmt.Sprintf("(batch of %d, first %s)",
			len(calls), describe(calls[0].params)), URL: c.endpoint, Attempts: attempts, Err: err}
	}
	for i, e := range errs {
		if e != nil {
			errs[i] = c.callError(calls[i].method, calls[i].params, attempts, e)
		}
	}
	return results, errs, nil
}

// batchRejectedStatus lists HTTP statuses with which a server or proxy may
// refuse an array body it does not understand.
func batchRejectedStatus(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusUnsupportedMediaType, http.StatusNotImplemented:
		return true
	}
	return false
}

// matchBatch pairs batch responses with requests by id, since servers may
// answer out of order. A transient per-call error (node warming up) fails the
// whole exchange so it is retried.
func matchBatch(resps []response, first uint64, results []json.RawMessage, errs []error) error {
	n := uint64(len(results))
	seen := make([]bool, n)
	for i := range resps {
		r := &resps[i]
		id, ok := parseID(r.ID)
		if !ok || id < first || id-first >= n {
			msg := ""
			if rerr := r.rpcError(); rerr != nil {
				msg = " (" + rerr.Error() + ")"
			}
			return protocolErrorf("batch response has unknown id %s%s", idText(r.ID), msg)
		}
		k := id - first
		if seen[k] {
			return protocolErrorf("batch response repeats id %d", id)
		}
		seen[k] = true
		if rerr := r.rpcError(); rerr != nil {
			if rerr.Code == codeInWarmup {
				return rerr
			}
			results[k], errs[k] = nil, rerr
			continue
		}
		results[k], errs[k] = r.Result, nil
	}
	for k, ok := range seen {
		if !ok {
			return protocolErrorf("batch response lacks id %d (got %d of %d answers)", first+uint64(k), len(resps), n)
		}
	}
	return nil
}

// singles runs calls as concurrent single calls; the in-flight bound still
// holds because every call takes a slot in once.
func (c *Client) singles(ctx context.Context, calls []call) ([]json.RawMessage, []error, error) {
	results := make([]json.RawMessage, len(calls))
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			results[i], errs[i] = c.call(ctx, calls[i].method, calls[i].params)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	return results, errs, nil
}
