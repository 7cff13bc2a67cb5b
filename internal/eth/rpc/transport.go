package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/chaintrace/chaintrace/internal/retry"
)

// call is one JSON-RPC request of a batch and, after batch returns, its raw
// result or its error (already a *CallError).
type call struct {
	method string
	params []any
	result json.RawMessage
	err    error
}

// newCall builds a call of method with params.
func newCall(method string, params ...any) *call {
	return &call{method: method, params: params}
}

// isNull reports whether the call succeeded with a JSON null result.
func (c *call) isNull() bool {
	return c.err == nil && (len(c.result) == 0 || bytes.Equal(bytes.TrimSpace(c.result), []byte("null")))
}

// paramString renders params as compact JSON for error messages.
func paramString(params []any) string {
	if params == nil {
		params = []any{}
	}
	b, err := json.Marshal(params)
	if err != nil {
		return "<unencodable params>"
	}
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// wrap returns err as a *CallError naming this call and the node.
func (c *call) wrap(url string, attempts int, err error) error {
	return &CallError{Method: c.method, Params: paramString(c.params), URL: url, Attempts: attempts, Err: err}
}

// batch sends calls in requests of at most BatchSize, each retried on
// transient failures. Per-call failures (error objects, missing ids,
// undecodable results) land in each call's err; the returned error is a
// failure of a whole request (transport, HTTP, malformed body, context)
// after retries, named after its first call.
func (c *Client) batch(ctx context.Context, calls []*call) error {
	for start := 0; start < len(calls); start += c.cfg.BatchSize {
		end := min(start+c.cfg.BatchSize, len(calls))
		if err := c.send(ctx, calls[start:end]); err != nil {
			return err
		}
	}
	return nil
}

// send performs one request for calls with retries and exponential backoff.
func (c *Client) send(ctx context.Context, calls []*call) error {
	elems := make([]gethrpc.BatchElem, len(calls))
	results := make([]json.RawMessage, len(calls))
	var err error
	attempt := 0
	for {
		attempt++
		if err = c.limiter.Wait(ctx); err != nil {
			break
		}
		for i, cl := range calls {
			results[i] = nil
			elems[i] = gethrpc.BatchElem{Method: cl.method, Args: cl.params, Result: &results[i]}
		}
		tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		if len(calls) == 1 {
			// A lone call goes out as a plain request: some proxies reject batches.
			err = c.rc.CallContext(tctx, &results[0], calls[0].method, calls[0].params...)
			var re gethrpc.Error
			if errors.Is(err, gethrpc.ErrNoResult) || errors.As(err, &re) {
				elems[0].Error, err = err, nil
			}
		} else {
			err = c.rc.BatchCallContext(tctx, elems)
		}
		timedOut := tctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		if timedOut {
			err = errTimeout{c.cfg.Timeout}
		}
		if !(timedOut || transient(err)) || attempt > c.cfg.MaxRetries {
			break
		}
		d := c.backoff(attempt)
		c.log.Debug("ethrpc: retrying", "method", calls[0].method, "calls", len(calls), "attempt", attempt, "wait", d, "err", err)
		if sleepErr := retry.Sleep(ctx, d); sleepErr != nil {
			err = sleepErr
			break
		}
	}
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &se) || errors.As(err, &te) {
			err = fmt.Errorf("malformed JSON response: %w", err)
		}
		if len(calls) > 1 {
			err = &batchError{n: len(calls), err: err}
		}
		return calls[0].wrap(c.url, attempt, err)
	}
	for i, cl := range calls {
		cl.result, cl.err = results[i], nil
		var re gethrpc.Error
		switch e := elems[i].Error; {
		case e == nil:
		case errors.Is(e, gethrpc.ErrNoResult):
			cl.result = nil // Treated as null by isNull.
		case errors.Is(e, gethrpc.ErrMissingBatchResponse):
			cl.err = cl.wrap(c.url, attempt, errMissingResponse)
		case errors.As(e, &re):
			cl.err = cl.wrap(c.url, attempt, &nodeError{re})
		default:
			cl.err = cl.wrap(c.url, attempt, e)
		}
	}
	return nil
}

// errTimeout is a request that got no answer within Config.Timeout.
type errTimeout struct{ d time.Duration }

// Error names the timeout so a hang is not mistaken for a refusal.
func (e errTimeout) Error() string {
	return "no answer within the " + e.d.String() + " request timeout"
}

// Timeout marks the error as a timeout for net.Error-style checks.
func (e errTimeout) Timeout() bool { return true }

// Is lets errors.Is(err, context.DeadlineExceeded) match a request timeout.
func (e errTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// batchError says a failure hit a whole batch request rather than one call.
type batchError struct {
	n   int
	err error
}

// Error prefixes the cause with the size of the batch it hit.
func (e *batchError) Error() string {
	return fmt.Sprintf("batch of %d calls: %v", e.n, e.err)
}

// Unwrap exposes the cause.
func (e *batchError) Unwrap() error { return e.err }

// backoff returns the wait before retry number attempt (from 1).
func (c *Client) backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, c.cfg.RetryBackoff, c.cfg.MaxBackoff)
}
