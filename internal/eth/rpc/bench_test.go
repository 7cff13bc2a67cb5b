package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth"
)

// BenchmarkBlocks fetches the two recorded blocks of height 1755634..1755635
// (receipts per transaction) from a local fake node, reporting blocks/s
// and the node's response bytes/s.
func BenchmarkBlocks(b *testing.B) {
	f := newFakeNode(b)
	f.loadDir(b, "test_stream/blocks_1755634_1755635")
	c := dialFake(b, f, nil, nil)
	ctx := context.Background()
	deliver := func(*eth.RawBlock) error { return nil }
	if err := c.Blocks(ctx, 1755634, 1755635, deliver); err != nil {
		b.Fatal(err)
	}
	f.bytes.Store(0)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		n++
		if err := c.Blocks(ctx, 1755634, 1755635, deliver); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(2*n)/el, "blocks/s")
	b.ReportMetric(float64(f.bytes.Load())/el, "bytes/s")
}
