package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/chaintrace/chaintrace/internal/eth"
)

// fetched is one block of a window with the parent hash the consumer links.
type fetched struct {
	raw    *eth.RawBlock
	parent string
}

// windowResult is the outcome of fetching one window of blocks.
type windowResult struct {
	blocks []fetched
	err    error
}

// Blocks fetches heights from through to (inclusive) and calls fn with each
// block in height order. Windows of Config.BlocksPerWindow blocks are
// fetched Config.Concurrency at a time with batch requests. Each block's
// number and hash are checked, its receipts must match its transactions
// and name its hash, and consecutive blocks must link by parentHash;
// violations return an error wrapping ErrReorg. A height the node does not
// have yet returns an error wrapping ErrNotFound after the blocks below it
// were delivered. An error from fn stops the fetch and is returned as is.
func (c *Client) Blocks(ctx context.Context, from, to uint64, fn func(*eth.RawBlock) error) error {
	if to < from {
		return fmt.Errorf("ethrpc: Blocks range %d..%d is empty (to below from)", from, to)
	}
	// The probe needs a block with transactions to trace: geth refuses to
	// trace the genesis block, which would otherwise settle the choice on
	// "none" for good. Genesis alone needs no traces at all.
	if probe := max(from, 1); probe <= to {
		if err := c.decideTraces(ctx, probe); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	order := make(chan chan windowResult, c.cfg.Concurrency)
	sem := make(chan struct{}, c.cfg.Concurrency)
	window := uint64(c.cfg.BlocksPerWindow)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		for start := from; ; {
			end := to
			if to-start >= window {
				end = start + window - 1
			}
			ch := make(chan windowResult, 1)
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case order <- ch:
			case <-ctx.Done():
				<-sem
				return
			}
			wg.Add(1)
			go func(s, e uint64) {
				defer wg.Done()
				blocks, err := c.fetchWindow(ctx, s, e)
				<-sem
				ch <- windowResult{blocks, err}
			}(start, end)
			if end == to {
				return
			}
			start = end + 1
		}
	}()

	prev := ""
	for ch := range order {
		var r windowResult
		select {
		case r = <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, b := range r.blocks {
			if prev != "" && !strings.EqualFold(b.parent, prev) {
				return fmt.Errorf("ethrpc: block %d at %s has parentHash %s but block %d is %s: %w",
					b.raw.Number, c.url, b.parent, b.raw.Number-1, prev, ErrReorg)
			}
			prev = b.raw.Hash
			if err := fn(b.raw); err != nil {
				return err
			}
		}
		if r.err != nil {
			return r.err
		}
	}
	return ctx.Err()
}

// decideTraces runs the trace API probe once, on block n, under "auto".
func (c *Client) decideTraces(ctx context.Context, n uint64) error {
	c.traceMu.Lock()
	defer c.traceMu.Unlock()
	if c.traceDecided {
		return nil
	}
	kind, err := c.probeTraces(ctx, n)
	if err != nil {
		return err
	}
	c.trace, c.traceDecided = kind, true
	api := string(kind)
	if kind == eth.TraceNone {
		api = "none (internal transfers unknown)"
	}
	c.log.Info("ethrpc: trace API selected", "api", api, "url", c.url, "probe_block", n)
	return nil
}

// probeTraces tries trace_block, then debug_traceBlockByNumber with the
// callTracer, on block n and returns the first that answers non-null.
// Error objects and null results count as refusals; transport failures are
// returned.
func (c *Client) probeTraces(ctx context.Context, n uint64) (eth.TraceKind, error) {
	for _, kind := range []eth.TraceKind{eth.TraceParity, eth.TraceGethCall} {
		cl := traceCall(kind, n)
		if err := c.batch(ctx, []*call{cl}); err != nil {
			return eth.TraceNone, err
		}
		if cl.err == nil && !cl.isNull() {
			return kind, nil
		}
		c.log.Debug("ethrpc: trace API refused", "method", cl.method, "url", c.url, "err", cl.err)
	}
	return eth.TraceNone, nil
}

// traceCall builds the call fetching block n's traces with kind's API.
func traceCall(kind eth.TraceKind, n uint64) *call {
	if kind == eth.TraceParity {
		return newCall("trace_block", hexUint(n))
	}
	return newCall("debug_traceBlockByNumber", hexUint(n), map[string]any{"tracer": "callTracer"})
}

// fetchWindow fetches blocks s..e with their receipts and traces and checks
// each block on its own; linking is left to the consumer. When a height is
// missing it returns the blocks below it with an error wrapping ErrNotFound.
func (c *Client) fetchWindow(ctx context.Context, s, e uint64) ([]fetched, error) {
	n := int(e - s + 1)
	trace := c.Traces()
	perTx := c.perTxReceipts.Load()
	blockCalls := make([]*call, n)
	var receiptCalls, traceCalls []*call
	all := make([]*call, 0, 3*n)
	for i := range n {
		h := s + uint64(i)
		blockCalls[i] = newCall("eth_getBlockByNumber", hexUint(h), true)
		all = append(all, blockCalls[i])
		if !perTx {
			receiptCalls = append(receiptCalls, newCall("eth_getBlockReceipts", hexUint(h)))
			all = append(all, receiptCalls[i])
		}
		if trace != eth.TraceNone {
			traceCalls = append(traceCalls, traceCall(trace, h))
			all = append(all, traceCalls[i])
		}
	}
	if err := c.batch(ctx, all); err != nil {
		return nil, err
	}

	out := make([]fetched, n)
	txHashes := make([][]string, n)
	var missing error
	for i, bc := range blockCalls {
		h := s + uint64(i)
		if bc.err != nil {
			return nil, bc.err
		}
		if bc.isNull() {
			missing = bc.wrap(c.url, 1, fmt.Errorf("block %d does not exist yet: %w", h, ErrNotFound))
			out, txHashes = out[:i], txHashes[:i]
			if receiptCalls != nil {
				receiptCalls = receiptCalls[:i]
			}
			if traceCalls != nil {
				traceCalls = traceCalls[:i]
			}
			break
		}
		var hd header
		if err := json.Unmarshal(bc.result, &hd); err != nil {
			return nil, bc.wrap(c.url, 1, fmt.Errorf("malformed block: %w", err))
		}
		if got, err := parseQuantity(hd.Number); err != nil || got != h {
			return nil, bc.wrap(c.url, 1, fmt.Errorf("node answered block number %q for height %d", hd.Number, h))
		}
		if !isHash(hd.Hash) || !isHash(hd.ParentHash) {
			return nil, bc.wrap(c.url, 1, fmt.Errorf("block %d has bad hash %q or parentHash %q", h, hd.Hash, hd.ParentHash))
		}
		hashes, err := txHashList(hd.Transactions)
		if err != nil {
			return nil, bc.wrap(c.url, 1, fmt.Errorf("block %d: %w", h, err))
		}
		txHashes[i] = hashes
		out[i] = fetched{
			raw:    &eth.RawBlock{Number: h, Hash: strings.ToLower(hd.Hash), Block: bc.result, Trace: trace},
			parent: strings.ToLower(hd.ParentHash),
		}
	}

	if !perTx {
		for i, rc := range receiptCalls {
			if rc.err != nil && methodMissing(rc.err) {
				if c.perTxReceipts.CompareAndSwap(false, true) {
					c.log.Warn("ethrpc: eth_getBlockReceipts unavailable; fetching receipts per transaction", "url", c.url, "err", rc.err)
				}
				perTx = true
				break
			}
			if rc.err != nil {
				return nil, rc.err
			}
			if rc.isNull() {
				return nil, rc.wrap(c.url, 1, fmt.Errorf("no receipts for existing block %d: %w", out[i].raw.Number, ErrNotFound))
			}
			out[i].raw.Receipts = rc.result
		}
	}
	if perTx {
		if err := c.fetchTxReceipts(ctx, out, txHashes); err != nil {
			return nil, err
		}
	}
	for i := range out {
		if err := c.checkReceipts(out[i].raw, txHashes[i]); err != nil {
			return nil, err
		}
	}
	for i, tc := range traceCalls {
		if tc.err != nil && out[i].raw.Number == 0 {
			// Geth refuses to trace the genesis block, which has no
			// transactions to trace anyway.
			out[i].raw.Trace = eth.TraceNone
			continue
		}
		if tc.err != nil {
			return nil, tc.err
		}
		if tc.isNull() {
			return nil, tc.wrap(c.url, 1, fmt.Errorf("no traces for existing block %d: %w", out[i].raw.Number, ErrNotFound))
		}
		out[i].raw.Traces = tc.result
	}
	return out, missing
}

// fetchTxReceipts fills each block's Receipts with one
// eth_getTransactionReceipt per transaction, in transaction order.
func (c *Client) fetchTxReceipts(ctx context.Context, out []fetched, txHashes [][]string) error {
	var calls []*call
	for _, hs := range txHashes {
		for _, h := range hs {
			calls = append(calls, newCall("eth_getTransactionReceipt", h))
		}
	}
	if len(calls) > 0 {
		if err := c.batch(ctx, calls); err != nil {
			return err
		}
	}
	k := 0
	for i, hs := range txHashes {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for j := range hs {
			cl := calls[k]
			k++
			if cl.err != nil {
				return cl.err
			}
			if cl.isNull() {
				return cl.wrap(c.url, 1, fmt.Errorf("receipt missing for a transaction of block %d %s: %w", out[i].raw.Number, out[i].raw.Hash, ErrReorg))
			}
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.Write(cl.result)
		}
		buf.WriteByte(']')
		out[i].raw.Receipts = buf.Bytes()
	}
	return nil
}

// receiptHead holds the receipt fields the client checks.
type receiptHead struct {
	BlockHash       string `json:"blockHash"`
	TransactionHash string `json:"transactionHash"`
}

// checkReceipts verifies that b's receipts match its transactions one to
// one and name its hash.
func (c *Client) checkReceipts(b *eth.RawBlock, txHashes []string) error {
	var rs []receiptHead
	if err := json.Unmarshal(b.Receipts, &rs); err != nil {
		return fmt.Errorf("ethrpc: receipts of block %d at %s are malformed: %w", b.Number, c.url, err)
	}
	if len(rs) != len(txHashes) {
		return fmt.Errorf("ethrpc: block %d %s at %s has %d transactions but %d receipts: %w",
			b.Number, b.Hash, c.url, len(txHashes), len(rs), ErrReorg)
	}
	for i, r := range rs {
		if !strings.EqualFold(r.BlockHash, b.Hash) {
			return fmt.Errorf("ethrpc: receipt %d of block %d at %s names block %s, not %s: %w",
				i, b.Number, c.url, r.BlockHash, b.Hash, ErrReorg)
		}
		if !strings.EqualFold(r.TransactionHash, txHashes[i]) {
			return fmt.Errorf("ethrpc: receipt %d of block %d at %s is for transaction %s, not %s: %w",
				i, b.Number, c.url, r.TransactionHash, txHashes[i], ErrReorg)
		}
	}
	return nil
}

// txHashList extracts the hashes of full transaction objects.
func txHashList(txs []json.RawMessage) ([]string, error) {
	out := make([]string, len(txs))
	for i, raw := range txs {
		var tx struct {
			Hash string `json:"hash"`
		}
		if err := json.Unmarshal(raw, &tx); err != nil {
			return nil, fmt.Errorf("transaction %d is not a full transaction object (%.80s)", i, raw)
		}
		if !isHash(tx.Hash) {
			return nil, fmt.Errorf("transaction %d has bad hash %q", i, tx.Hash)
		}
		out[i] = strings.ToLower(tx.Hash)
	}
	return out, nil
}
