package eth

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDecodeErrors checks that malformed blocks are rejected with errors
// that name the block and the position at fault.
func TestDecodeErrors(t *testing.T) {
	good := block483920(t)
	mod := func(f func(r *RawBlock)) *RawBlock {
		r := *good
		f(&r)
		return &r
	}
	cases := []struct {
		name string
		raw  *RawBlock
		want string
	}{
		{"nil", nil, "eth: nil raw block"},
		{"null block", mod(func(r *RawBlock) { r.Block = json.RawMessage("null") }), "eth: block 483920: block JSON is absent"},
		{"wrong number", mod(func(r *RawBlock) { r.Number = 7 }), "eth: block 7 header: number is 483920"},
		{"wrong hash", mod(func(r *RawBlock) { r.Hash = "0x" + strings.Repeat("11", 32) }), "eth: block 483920: hash"},
		{"missing receipts", mod(func(r *RawBlock) { r.Receipts = nil }), "eth: block 483920 receipts: absent for 4 transactions"},
		{"receipt count", mod(func(r *RawBlock) { r.Receipts = json.RawMessage("[]") }), "eth: block 483920 receipts: 0 receipts for 4 transactions"},
		{"receipt order", mod(func(r *RawBlock) {
			var l []json.RawMessage
			_ = json.Unmarshal(r.Receipts, &l)
			l[2], l[3] = l[3], l[2]
			r.Receipts, _ = json.Marshal(l)
		}), "eth: block 483920 tx 2 receipt: transactionHash"},
		{"receipt field", mod(func(r *RawBlock) {
			r.Receipts = editArray(t, r.Receipts, 3, func(m map[string]any) { delete(m, "gasUsed") })
		}), "eth: block 483920 tx 3 receipt: missing required field 'gasUsed'"},
		{"tx field", mod(func(r *RawBlock) {
			var m map[string]any
			_ = json.Unmarshal(r.Block, &m)
			delete(m["transactions"].([]any)[1].(map[string]any), "from")
			r.Block, _ = json.Marshal(m)
		}), "eth: block 483920 tx 1: missing from"},
		{"hash-only txs", mod(func(r *RawBlock) {
			var m map[string]any
			_ = json.Unmarshal(r.Block, &m)
			m["transactions"] = []any{"0x01"}
			r.Block, _ = json.Marshal(m)
		}), "eth: block 483920 tx 0: not a transaction object"},
		{"trace kind", mod(func(r *RawBlock) { r.Trace = "vm"; r.Traces = json.RawMessage("[]") }), `eth: block 483920 traces: unknown trace kind "vm"`},
		{"trace count", mod(func(r *RawBlock) { r.Trace = TraceGethCall; r.Traces = json.RawMessage("[]") }), "eth: block 483920 traces: 0 traced transactions for 4"},
		{"absent traces", mod(func(r *RawBlock) { r.Trace = TraceParity }), "eth: block 483920 traces: absent"},
		{"frame type", mod(func(r *RawBlock) {
			r.Trace = TraceGethCall
			r.Traces = json.RawMessage(`[{"result":{"type":"JUMP"}}]`)
		}), `eth: block 483920 traces: tx 0: trace []: unknown frame type "JUMP"`},
		{"tracer error", mod(func(r *RawBlock) {
			r.Trace = TraceGethCall
			r.Traces = json.RawMessage(`[{"txHash":"0x` + strings.Repeat("00", 32) + `","error":"timeout"}]`)
		}), "eth: block 483920 traces: tx 0: tracer error: timeout"},
		{"parity order", mod(func(r *RawBlock) {
			r.Trace = TraceParity
			r.Traces = json.RawMessage(`[{"action":{},"type":"call","traceAddress":[0],"transactionPosition":0}]`)
		}), "eth: block 483920 traces: trace 0: traceAddress [0] of transaction 0 out of order"},
	}
	for _, c := range cases {
		_, err := Decode(c.raw)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v, want prefix %q", c.name, err, c.want)
		}
	}
}

// FuzzDecode mutates the JSON pieces of real blocks; Decode and Extract
// must never panic.
func FuzzDecode(f *testing.F) {
	raw := block1755635(f)
	b, err := Decode(raw)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(raw.Block), []byte(raw.Receipts), []byte(gethTraces(b)), uint8(1))
	f.Add([]byte(raw.Block), []byte(raw.Receipts), []byte(parityTraces(b)), uint8(2))
	r2 := block483920(f)
	f.Add([]byte(r2.Block), []byte(r2.Receipts), []byte(nil), uint8(0))
	f.Fuzz(func(t *testing.T, block, receipts, traces []byte, kind uint8) {
		var n struct {
			Number string `json:"number"`
		}
		_ = json.Unmarshal(block, &n)
		num, _ := parseUintHex(n.Number)
		r := &RawBlock{Number: num, Block: block, Receipts: receipts, Traces: traces,
			Trace: []TraceKind{TraceNone, TraceGethCall, TraceParity, "other"}[kind%4]}
		b, err := Decode(r)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "eth:") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		trs, st := Extract(b)
		total := 0
		for _, c := range st.PerKind {
			total += c
		}
		if total != len(trs) {
			t.Fatalf("PerKind sums to %d for %d transfers", total, len(trs))
		}
	})
}

// BenchmarkExtract extracts the transfers of the recorded blocks (with
// synthetic traces on 1755635) and reports transfers per second.
func BenchmarkExtract(b *testing.B) {
	raws := []*RawBlock{block483920(b), block1755635(b)}
	traced := block1755635(b)
	base, err := Decode(traced)
	if err != nil {
		b.Fatal(err)
	}
	traced.Trace, traced.Traces = TraceGethCall, json.RawMessage(gethTraces(base))
	raws = append(raws, traced)
	var blocks []*Block
	for _, r := range raws {
		blk, err := Decode(r)
		if err != nil {
			b.Fatal(err)
		}
		blocks = append(blocks, blk)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, blk := range blocks {
			trs, _ := Extract(blk)
			n += len(trs)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "transfers/s")
}

// BenchmarkDecode decodes the recorded blocks.
func BenchmarkDecode(b *testing.B) {
	raws := []*RawBlock{block483920(b), block1755635(b)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, r := range raws {
			if _, err := Decode(r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestExtractDegenerate checks that hand-built, incomplete blocks do not
// panic Extract.
func TestExtractDegenerate(t *testing.T) {
	if trs, _ := Extract(nil); trs != nil {
		t.Errorf("nil block gave %v", trs)
	}
	raw := block1755635(t)
	b, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.Header = nil
	b.Txs = append(b.Txs, Tx{})
	b.Withdrawals = append(b.Withdrawals, nil)
	trs, st := Extract(b)
	if st.PerKind[FeeTip] != 0 || len(trs) == 0 {
		t.Errorf("headerless block: %d transfers, stats %+v", len(trs), st)
	}
}
