package rpc

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/chaintrace/chaintrace/internal/btc"
)

// headerSize is the serialized size of a block header, the part whose double
// SHA-256 is the block hash.
const headerSize = 80

// getblock's second parameter: Core and btcd take an integer verbosity now,
// but older releases of both took a boolean "verbose". The client learns
// which from the first getblock answer.
const (
	blockModeUnknown int32 = iota
	blockModeInt
	blockModeBool
)

// tipAttempts bounds how often Tip starts over because the best block
// changed between its two calls.
const tipAttempts = 5

// Tip returns the height and hash of the node's best block. The height comes
// from the header of that very hash, so a block arriving between the two
// calls cannot pair a hash with the wrong height. btcd refuses a verbose
// header for a block that was reorganised away in between ("not in the main
// chain"); Tip then starts over with the new best block.
func (c *Client) Tip(ctx context.Context) (uint64, chainhash.Hash, error) {
	var lastErr error
	for range tipAttempts {
		hash, err := c.bestHash(ctx)
		if err != nil {
			return 0, chainhash.Hash{}, err
		}
		height, err := c.headerHeight(ctx, hash)
		if err == nil {
			return height, hash, nil
		}
		var re *RPCError
		if !errors.As(err, &re) {
			return 0, chainhash.Hash{}, err
		}
		now, err2 := c.bestHash(ctx)
		if err2 != nil {
			return 0, chainhash.Hash{}, err2
		}
		if now == hash {
			return 0, chainhash.Hash{}, err // Not a race: the node really refuses.
		}
		lastErr = err
	}
	return 0, chainhash.Hash{}, fmt.Errorf("rpc: best block at %s kept changing under Tip: %w", c.endpoint, lastErr)
}

// bestHash returns the node's best block hash.
func (c *Client) bestHash(ctx context.Context) (chainhash.Hash, error) {
	raw, err := c.call(ctx, "getbestblockhash", nil)
	if err != nil {
		return chainhash.Hash{}, err
	}
	hash, err := parseHash(raw)
	if err != nil {
		return chainhash.Hash{}, c.callError("getbestblockhash", nil, 1, err)
	}
	return hash, nil
}

// headerHeight returns the height of block hash from its verbose header.
func (c *Client) headerHeight(ctx context.Context, hash chainhash.Hash) (uint64, error) {
	params := []any{hash.String(), true}
	var hdr struct {
		Hash   string `json:"hash"`
		Height *int64 `json:"height"`
	}
	if err := c.Call(ctx, "getblockheader", params, &hdr); err != nil {
		return 0, err
	}
	if hdr.Height == nil || *hdr.Height < 0 || hdr.Hash != hash.String() {
		return 0, c.callError("getblockheader", params, 1,
			protocolErrorf("header for %s has hash %q and no valid height", hash, hdr.Hash))
	}
	return uint64(*hdr.Height), nil
}

// HashAt returns the hash of the best-chain block at height, or an error
// wrapping btc.ErrNotFound when the best chain is shorter.
func (c *Client) HashAt(ctx context.Context, height uint64) (chainhash.Hash, error) {
	hashes, err := c.listHashes(ctx, height, 1)
	if err != nil {
		return chainhash.Hash{}, err
	}
	return hashes[0], nil
}

// listHashes returns the best-chain hashes of n heights from start, using
// batches of BatchSize. On failure it returns the hashes before the failing
// height along with an error naming it; an absent height wraps
// btc.ErrNotFound.
func (c *Client) listHashes(ctx context.Context, start uint64, n int) ([]chainhash.Hash, error) {
	hashes := make([]chainhash.Hash, 0, n)
	for off := 0; off < n; off += c.cfg.BatchSize {
		end := min(off+c.cfg.BatchSize, n)
		calls := make([]call, end-off)
		for i := range calls {
			calls[i] = call{method: "getblockhash", params: []any{start + uint64(off+i)}}
		}
		results, errs, err := c.batch(ctx, calls)
		if err != nil {
			return hashes, err
		}
		for i := range calls {
			height := start + uint64(off+i)
			if errs[i] != nil {
				if isOutOfRange(errs[i]) {
					return hashes, fmt.Errorf("height %d: %w: %w", height, btc.ErrNotFound, errs[i])
				}
				return hashes, fmt.Errorf("height %d: %w", height, errs[i])
			}
			h, err := parseHash(results[i])
			if err != nil {
				return hashes, fmt.Errorf("height %d: %w", height,
					c.callError("getblockhash", calls[i].params, 1, err))
			}
			hashes = append(hashes, h)
		}
	}
	return hashes, nil
}

// parseHash decodes a JSON string holding a 64-digit hex block hash.
// chainhash.NewHashFromStr alone would accept short strings.
func parseHash(raw json.RawMessage) (chainhash.Hash, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || len(s) != 2*chainhash.HashSize {
		return chainhash.Hash{}, protocolErrorf("result %s is not a 64-digit hex hash", excerpt(raw))
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, protocolErrorf("result %s is not a hex hash: %v", excerpt(raw), err)
	}
	return *h, nil
}

// fetched is one block of a window: its bytes, its parent's hash from the
// header, or why it could not be had.
type fetched struct {
	raw  []byte
	prev chainhash.Hash
	err  error
}

// window is a run of consecutive heights whose hashes were listed together
// and whose blocks are being fetched in parts of BlockBatchSize.
type window struct {
	from    uint64
	hashes  []chainhash.Hash
	blocks  []fetched
	parts   []chan struct{} // closed when the part's blocks are filled in
	listErr error           // why listing stopped short of the window's end
}

// wait blocks until every part of w is fetched and returns how many leading
// blocks are usable and the error of the first one that is not.
func (w *window) wait(ctx context.Context) (int, error) {
	for _, done := range w.parts {
		select {
		case <-done:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	for i := range w.blocks {
		if w.blocks[i].err != nil {
			return i, w.blocks[i].err
		}
	}
	return len(w.blocks), nil
}

// Blocks calls fn with every best-chain block from height from to height to
// inclusive, in height order. Blocks are fetched ahead concurrently, in
// windows of BlockBatchSize*Concurrency, but fn runs on the calling
// goroutine. Each block's header must hash to the listed hash and link to
// the block before it; the listed hashes are re-checked after fetching, and
// a change yields an error wrapping btc.ErrReorg. A height beyond the tip
// ends the iteration with an error wrapping btc.ErrNotFound after the blocks
// before it were delivered. An error from fn is returned unchanged. An empty
// range (from > to) does nothing.
func (c *Client) Blocks(ctx context.Context, from, to uint64, fn func(height uint64, hash chainhash.Hash, raw []byte) error) error {
	if from > to {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Cancel first, then wait, so no fetch outlives the call.
	defer wg.Wait()
	defer cancel()

	windows := make(chan *window)
	wg.Go(func() {
		defer close(windows)
		c.produce(ctx, &wg, from, to, windows)
	})

	var prev chainhash.Hash
	havePrev := false
	for w := range windows {
		n, fetchErr := w.wait(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if n > 0 {
			if err := c.recheck(ctx, w, n); err != nil {
				return err
			}
		}
		for i := range n {
			height, b := w.from+uint64(i), &w.blocks[i]
			if havePrev && b.prev != prev {
				return fmt.Errorf("rpc: block %s at height %d has parent %s, but height %d was %s at %s: %w",
					w.hashes[i], height, b.prev, height-1, prev, c.endpoint, btc.ErrReorg)
			}
			raw := b.raw
			b.raw = nil // fn owns raw now; drop our reference.
			if err := fn(height, w.hashes[i], raw); err != nil {
				return err
			}
			prev, havePrev = w.hashes[i], true
		}
		if fetchErr != nil {
			return fetchErr
		}
		if w.listErr != nil {
			return w.listErr
		}
	}
	return ctx.Err()
}

// recheck lists the first n heights of w again after their blocks arrived.
// getblock answers by hash even for a block that left the best chain, so
// this is what notices a reorganisation between listing and fetching.
func (c *Client) recheck(ctx context.Context, w *window, n int) error {
	now, err := c.listHashes(ctx, w.from, n)
	for i := range now {
		if now[i] != w.hashes[i] {
			return fmt.Errorf("rpc: best chain at %s changed during fetch: height %d was %s, now %s: %w",
				c.endpoint, w.from+uint64(i), w.hashes[i], now[i], btc.ErrReorg)
		}
	}
	if errors.Is(err, btc.ErrNotFound) {
		return fmt.Errorf("rpc: best chain at %s got shorter during fetch: %w (%w)", c.endpoint, btc.ErrReorg, err)
	}
	return err
}

// produce lists hashes window by window and starts the window's block
// fetches before handing it to the consumer. The unbuffered channel keeps it
// at most one window ahead, which bounds memory.
func (c *Client) produce(ctx context.Context, wg *sync.WaitGroup, from, to uint64, out chan<- *window) {
	step := uint64(c.cfg.BlockBatchSize * c.cfg.Concurrency)
	for start := from; ; {
		n := step
		if remaining := to - start; remaining < step {
			n = remaining + 1
		}
		hashes, err := c.listHashes(ctx, start, int(n))
		w := &window{from: start, hashes: hashes, blocks: make([]fetched, len(hashes)), listErr: err}
		for lo := 0; lo < len(hashes); lo += c.cfg.BlockBatchSize {
			hi := min(lo+c.cfg.BlockBatchSize, len(hashes))
			done := make(chan struct{})
			w.parts = append(w.parts, done)
			wg.Go(func() {
				defer close(done)
				c.fetchBlocks(ctx, w.from+uint64(lo), hashes[lo:hi], w.blocks[lo:hi])
			})
		}
		select {
		case out <- w:
		case <-ctx.Done():
			return
		}
		if err != nil || to-start < step {
			return
		}
		start += step
	}
}

// fetchBlocks gets the raw blocks for hashes (heights from start) in one
// batch and checks each against its listed hash. Decoding happens here, on
// the fetching goroutine, so large blocks are decoded in parallel.
func (c *Client) fetchBlocks(ctx context.Context, start uint64, hashes []chainhash.Hash, out []fetched) {
	results, errs, err := c.getBlocks(ctx, hashes)
	for i := range hashes {
		height := start + uint64(i)
		switch {
		case err != nil:
			out[i].err = fmt.Errorf("height %d: %w", height, err)
		case errs[i] != nil:
			out[i].err = fmt.Errorf("height %d: %w", height, errs[i])
		default:
			out[i] = c.checkBlock(height, hashes[i], results[i])
		}
	}
}

// checkBlock decodes one getblock result and verifies that its header
// hashes to the hash the node listed for height.
func (c *Client) checkBlock(height uint64, want chainhash.Hash, result json.RawMessage) fetched {
	raw, err := decodeHex(result)
	if err != nil {
		return fetched{err: fmt.Errorf("rpc getblock %s (height %d) at %s: %w", want, height, c.endpoint, err)}
	}
	if len(raw) < headerSize {
		return fetched{err: fmt.Errorf("rpc getblock %s (height %d) at %s: block is %d bytes, shorter than a header",
			want, height, c.endpoint, len(raw))}
	}
	if got := chainhash.DoubleHashH(raw[:headerSize]); got != want {
		return fetched{err: fmt.Errorf("rpc getblock at %s: block for height %d hashes to %s, but the node listed %s",
			c.endpoint, height, got, want)}
	}
	f := fetched{raw: raw}
	copy(f.prev[:], raw[4:36])
	return f
}

// decodeHex turns a JSON string of hex into bytes without an intermediate
// Go string, since block results can be megabytes.
func decodeHex(result json.RawMessage) ([]byte, error) {
	s := bytes.TrimSpace(result)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return nil, protocolErrorf("result is not a hex string: %s", excerpt(s))
	}
	s = s[1 : len(s)-1]
	if len(s)%2 != 0 {
		return nil, protocolErrorf("result has odd hex length %d", len(s))
	}
	raw := make([]byte, len(s)/2)
	if _, err := hex.Decode(raw, s); err != nil {
		return nil, protocolErrorf("result is not valid hex: %v", err)
	}
	return raw, nil
}

// getBlocks requests hashes with getblock verbosity 0. Until the node's
// parameter style is known, a batch in which every call failed with a
// parameter-type error is retried with the boolean form.
func (c *Client) getBlocks(ctx context.Context, hashes []chainhash.Hash) ([]json.RawMessage, []error, error) {
	mode := c.blockMode.Load()
	results, errs, err := c.batch(ctx, getblockCalls(hashes, mode == blockModeBool))
	if err != nil || mode != blockModeUnknown {
		return results, errs, err
	}
	if anyNil(errs) {
		c.blockMode.CompareAndSwap(blockModeUnknown, blockModeInt)
		return results, errs, nil
	}
	if !allParamErrors(errs) {
		return results, errs, nil
	}
	results2, errs2, err2 := c.batch(ctx, getblockCalls(hashes, true))
	if err2 != nil || !anyNil(errs2) {
		return results, errs, nil // Report the original, integer-form failure.
	}
	if c.blockMode.CompareAndSwap(blockModeUnknown, blockModeBool) {
		c.log.Info("rpc: node rejects getblock verbosity 0 but accepts verbose=false; using the boolean form",
			"reason", errs[0].Error())
	}
	return results2, errs2, nil
}

// getblockCalls builds raw-block requests in the integer or boolean style.
func getblockCalls(hashes []chainhash.Hash, boolForm bool) []call {
	var second any = 0
	if boolForm {
		second = false
	}
	calls := make([]call, len(hashes))
	for i := range hashes {
		calls[i] = call{method: "getblock", params: []any{hashes[i].String(), second}}
	}
	return calls
}

// anyNil reports whether at least one call of a batch succeeded.
func anyNil(errs []error) bool {
	for _, e := range errs {
		if e == nil {
			return true
		}
	}
	return false
}

// allParamErrors reports whether every call failed with a node error other
// than "block not found", i.e. plausibly a rejected parameter type.
func allParamErrors(errs []error) bool {
	for _, e := range errs {
		var re *RPCError
		if !errors.As(e, &re) || re.Code == codeBlockNotFound {
			return false
		}
	}
	return len(errs) > 0
}
