package rpc

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/chaintrace/chaintrace/internal/btc"
)

func TestTipHashAtBlocks(t *testing.T) {
	const height = 50
	f := newFakeNode(t, height, func(f *fakeNode) {
		f.reverse = true
		f.delay = 2 * time.Millisecond
	})
	c, logs := newTestClient(t, f.url(), func(cfg *Config) {
		cfg.Concurrency = 3
		cfg.BatchSize = 7
		cfg.BlockBatchSize = 2
	})
	ctx := t.Context()
	tipHeight, tipHash, err := c.Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tipHeight != height || tipHash != f.hashAt(height) {
		t.Errorf("Tip = %d %s, want %d %s", tipHeight, tipHash, height, f.hashAt(height))
	}
	if h, err := c.HashAt(ctx, 10); err != nil || h != f.hashAt(10) {
		t.Errorf("HashAt(10) = %s, %v; want %s", h, err, f.hashAt(10))
	}
	heights, hashes, err := collect(t, c, 0, height)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range heights {
		if h != uint64(i) || hashes[i] != f.hashAt(i) {
			t.Fatalf("delivery %d: height %d hash %s, want %d %s", i, h, hashes[i], i, f.hashAt(i))
		}
	}
	if len(heights) != height+1 {
		t.Errorf("delivered %d blocks, want %d", len(heights), height+1)
	}
	if f.batches.Load() == 0 {
		t.Error("no batch requests were sent")
	}
	if m := f.maxInflight.Load(); m > 3 {
		t.Errorf("%d requests in flight at once, Concurrency is 3", m)
	}
	if strings.Contains(logs.String(), "does not support") {
		t.Errorf("fell back from batches against a batching node: %s", logs)
	}
}

func TestTipRetriesWhenBestBlockMovesAway(t *testing.T) {
	var once sync.Once
	f := newFakeNode(t, 10, func(f *fakeNode) {
		f.onCall = func(method string, _ []json.RawMessage) {
			if method == "getblockheader" {
				once.Do(func() { f.reorg(8, 4) })
			}
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	height, hash, err := c.Tip(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if height != 11 || hash != f.hashAt(11) {
		t.Errorf("Tip = %d %s, want the new branch's tip 11 %s", height, hash, f.hashAt(11))
	}
}

func TestTipReportsHeaderErrors(t *testing.T) {
	f := newFakeNode(t, 10, func(f *fakeNode) {
		f.mangle = func(method string, _ []json.RawMessage, result any) any {
			if method == "getblockheader" {
				return map[string]any{"hash": "ab"}
			}
			return result
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	_, _, err := c.Tip(t.Context())
	mustContain(t, err, "getblockheader", "no valid height")
}

func TestHashAtBeyondTipIsNotFound(t *testing.T) {
	f := newFakeNode(t, 5)
	c, _ := newTestClient(t, f.url(), nil)
	_, err := c.HashAt(t.Context(), 6)
	if !errors.Is(err, btc.ErrNotFound) {
		t.Fatalf("err = %v, want btc.ErrNotFound", err)
	}
	mustContain(t, err, "height 6", "getblockhash [6]", f.srv.URL, "-8", "out of range")
	if f.requests.Load() != 1 {
		t.Errorf("%d requests, want 1", f.requests.Load())
	}
}

func TestBlocksPastTipDeliversThenNotFound(t *testing.T) {
	f := newFakeNode(t, 12)
	c, _ := newTestClient(t, f.url(), func(cfg *Config) { cfg.BlockBatchSize = 2; cfg.Concurrency = 2 })
	heights, _, err := collect(t, c, 9, 20)
	if !errors.Is(err, btc.ErrNotFound) {
		t.Fatalf("err = %v, want btc.ErrNotFound", err)
	}
	mustContain(t, err, "height 13")
	if !slices.Equal(heights, []uint64{9, 10, 11, 12}) {
		t.Errorf("delivered %v, want 9..12", heights)
	}
}

func TestBlocksEmptyRangeAndSingle(t *testing.T) {
	f := newFakeNode(t, 3)
	c, _ := newTestClient(t, f.url(), nil)
	heights, _, err := collect(t, c, 3, 2)
	if err != nil || len(heights) != 0 || f.requests.Load() != 0 {
		t.Errorf("from > to: %v %v, %d requests", heights, err, f.requests.Load())
	}
	heights, _, err = collect(t, c, 3, 3)
	if err != nil || !slices.Equal(heights, []uint64{3}) {
		t.Errorf("single block: %v %v", heights, err)
	}
}

func TestBlocksReturnsFnErrorUnchanged(t *testing.T) {
	f := newFakeNode(t, 40)
	c, _ := newTestClient(t, f.url(), func(cfg *Config) { cfg.BlockBatchSize = 2; cfg.Concurrency = 2 })
	stop := errors.New("stop here")
	var got []uint64
	err := c.Blocks(t.Context(), 0, 40, func(h uint64, _ chainhash.Hash, _ []byte) error {
		got = append(got, h)
		if h == 5 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("err = %v, want the callback's error unchanged", err)
	}
	if !slices.Equal(got, []uint64{0, 1, 2, 3, 4, 5}) {
		t.Errorf("delivered %v", got)
	}
}

func TestBatchUnsupportedFallsBack(t *testing.T) {
	f := newFakeNode(t, 20, func(f *fakeNode) { f.noBatch = true })
	c, logs := newTestClient(t, f.url(), nil)
	heights, hashes, err := collect(t, c, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(heights) != 21 || hashes[20] != f.hashAt(20) {
		t.Errorf("delivered %d blocks, last %s", len(heights), hashes[len(hashes)-1])
	}
	if !strings.Contains(logs.String(), "does not support JSON-RPC batches; falling back to concurrent single calls") {
		t.Errorf("fallback not logged: %s", logs)
	}
	if n := f.batches.Load(); n != 1 {
		t.Errorf("%d batch requests, want exactly the one that detected the lack of support", n)
	}
}

func TestGetBlockBooleanVerbose(t *testing.T) {
	f := newFakeNode(t, 9, func(f *fakeNode) { f.boolVerbose = true })
	c, logs := newTestClient(t, f.url(), nil)
	heights, _, err := collect(t, c, 0, 9)
	if err != nil || len(heights) != 10 {
		t.Fatalf("delivered %v, err %v", heights, err)
	}
	if c.blockMode.Load() != blockModeBool || !strings.Contains(logs.String(), "verbose=false") {
		t.Errorf("boolean getblock not detected or not logged: %s", logs)
	}
}

func TestBlocksInvalidHex(t *testing.T) {
	f := newFakeNode(t, 5, func(f *fakeNode) {
		f.mangle = func(method string, _ []json.RawMessage, result any) any {
			if method == "getblock" {
				return "zz" + result.(string)[2:]
			}
			return result
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	_, _, err := collect(t, c, 2, 3)
	mustContain(t, err, "getblock", "height 2", "not valid hex", f.srv.URL)
}

func TestBlocksHeaderMismatch(t *testing.T) {
	var other string
	f := newFakeNode(t, 5, func(f *fakeNode) {
		other = hex.EncodeToString(f.blocks[f.chain[0]])
		f.mangle = func(method string, params []json.RawMessage, result any) any {
			if method == "getblock" && string(params[0]) == `"`+f.chain[3].String()+`"` {
				return other
			}
			return result
		}
	})
	c, _ := newTestClient(t, f.url(), nil)
	heights, _, err := collect(t, c, 1, 5)
	mustContain(t, err, "height 3", "hashes to "+f.hashAt(0).String(), "listed "+f.hashAt(3).String())
	if !slices.Equal(heights, []uint64{1, 2}) {
		t.Errorf("delivered %v, want the blocks before the bad one", heights)
	}
}

func TestBlocksReorgBetweenListAndFetch(t *testing.T) {
	var once sync.Once
	f := newFakeNode(t, 30, func(f *fakeNode) {
		f.onCall = func(method string, _ []json.RawMessage) {
			if method == "getblock" {
				once.Do(func() { f.reorg(3, 30) })
			}
		}
	})
	c, _ := newTestClient(t, f.url(), func(cfg *Config) { cfg.BlockBatchSize = 4; cfg.Concurrency = 2 })
	heights, _, err := collect(t, c, 0, 30)
	if !errors.Is(err, btc.ErrReorg) {
		t.Fatalf("err = %v, want btc.ErrReorg", err)
	}
	mustContain(t, err, "height 3", f.srv.URL)
	if len(heights) != 0 {
		t.Errorf("delivered %v before noticing the change in the first window", heights)
	}
	// Resuming after the reorganisation sees the new branch.
	_, hashes, err := collect(t, c, 0, 31)
	if err != nil || hashes[31] != f.hashAt(31) || hashes[3] != f.hashAt(3) {
		t.Errorf("after reorg: %v", err)
	}
}

func TestBlocksBrokenLinkIsReorg(t *testing.T) {
	f := newFakeNode(t, 15, func(f *fakeNode) { f.chain[9] = f.orphan() })
	c, _ := newTestClient(t, f.url(), func(cfg *Config) { cfg.BlockBatchSize = 2; cfg.Concurrency = 2 })
	heights, _, err := collect(t, c, 0, 15)
	if !errors.Is(err, btc.ErrReorg) {
		t.Fatalf("err = %v, want btc.ErrReorg", err)
	}
	mustContain(t, err, "height 9", "has parent")
	if len(heights) != 9 {
		t.Errorf("delivered %v, want 0..8", heights)
	}
}
