package eth

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
)

// traceFixture is one recorded trace answer with etl's export of it.
type traceFixture struct {
	name, response, expected string
	kind                     TraceKind
}

func traceFixtures() []traceFixture {
	return []traceFixture{
		{"parity/1000895-error", "test_export_traces_job/block_with_error/web3_response.trace_block_0xf45bf.json",
			"test_export_traces_job/block_with_error/expected_traces.csv", TraceParity},
		{"parity/1000000-subtraces", "test_export_traces_job/block_with_subtraces/web3_response.trace_block_0xf4240.json",
			"test_export_traces_job/block_with_subtraces/expected_traces.csv", TraceParity},
		{"parity/508110-create", "test_stream/blocks_508110_508110/web3_response.trace_block_0x7c0ce.json",
			"test_stream/blocks_508110_508110/expected_traces.json", TraceParity},
		{"geth/1000895-error", "test_extract_geth_traces_job/block_with_error/web3_response.debug_traceBlockByNumber_0xf45bf_tracer_calltracer.json",
			"test_extract_geth_traces_job/block_with_error/expected_traces.csv", TraceGethCall},
		{"geth/1000000-subtraces", "test_extract_geth_traces_job/block_with_subtraces/web3_response.debug_traceBlockByNumber_0xf4240_tracer_calltracer.json",
			"test_extract_geth_traces_job/block_with_subtraces/expected_traces.csv", TraceGethCall},
	}
}

// parseFixtureTraces decodes a recorded trace answer.
func parseFixtureTraces(t *testing.T, fx traceFixture) []txTraces {
	t.Helper()
	msg := readResult(t, etlDir(t, fx.response))
	var per []txTraces
	var err error
	if fx.kind == TraceParity {
		per, err = parseParityTraces(msg, 0)
	} else {
		per, err = parseGethTraces(msg)
	}
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return per
}

// traceAddressText renders a trace address as etl's CSV ("0,1") or JSON
// ("[0, 1]") export does.
func traceAddressText(a []int, jsonStyle bool) string {
	parts := make([]string, len(a))
	for i, x := range a {
		parts[i] = strconv.Itoa(x)
	}
	if jsonStyle {
		return "[" + strings.Join(parts, ",") + "]"
	}
	return strings.Join(parts, ",")
}

// TestETLTraces compares decoded traces with etl's exports row by row.
// Explained differences: etl also exports block and uncle reward traces
// (trace_type "reward", no transaction), which we drop as they are not
// transaction frames; etl's geth export leaves status empty and writes
// gas_used 0 where parity omits it, so those columns are compared only when
// etl filled them.
func TestETLTraces(t *testing.T) {
	for _, fx := range traceFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			per := parseFixtureTraces(t, fx)
			rows := loadRows(t, etlDir(t, fx.expected))
			jsonStyle := strings.HasSuffix(fx.expected, ".json")
			var want []map[string]string
			rewards := 0
			for _, r := range rows {
				if r["trace_type"] == "reward" {
					rewards++
					continue
				}
				want = append(want, r)
			}
			k := 0
			for txi, tt := range per {
				for _, tr := range tt.Traces {
					if k >= len(want) {
						t.Fatalf("more traces than the %d expected", len(want))
					}
					w, what := want[k], fmt.Sprintf("trace %d (tx %d %v)", k, txi, tr.TraceAddress)
					k++
					check(t, what, "transaction_index", strconv.Itoa(txi), w["transaction_index"])
					check(t, what, "from", hexAddr(tr.From), w["from_address"])
					check(t, what, "to", hexAddr(tr.To), w["to_address"])
					check(t, what, "value", tr.Value.String(), w["value"])
					check(t, what, "trace_type", tr.Type, w["trace_type"])
					check(t, what, "call_type", tr.CallType, w["call_type"])
					check(t, what, "error", tr.Error, w["error"])
					check(t, what, "trace_address", traceAddressText(tr.TraceAddress, jsonStyle), strings.ReplaceAll(w["trace_address"], " ", ""))
					check(t, what, "subtraces", strconv.Itoa(tr.Subtraces), w["subtraces"])
					check(t, what, "gas", strconv.FormatUint(tr.Gas, 10), w["gas"])
					if w["gas_used"] != "" {
						check(t, what, "gas_used", strconv.FormatUint(tr.GasUsed, 10), w["gas_used"])
					}
					if w["status"] != "" {
						status := "1"
						if tr.Failed {
							status = "0"
						}
						check(t, what, "status", status, w["status"])
					}
				}
			}
			if k != len(want) {
				t.Errorf("%d traces, want %d", k, len(want))
			}
			t.Logf("%s: %d/%d trace rows matched; %d reward rows explained (dropped)", fx.name, k, len(want), rewards)
		})
	}
}

// TestETLTraceTransfers extracts trace transfers from the recorded traces
// and checks them against the value-carrying rows of etl's export.
func TestETLTraceTransfers(t *testing.T) {
	for _, fx := range traceFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			per := parseFixtureTraces(t, fx)
			b := &Block{Header: &types.Header{}, Trace: fx.kind}
			wantNative, wantNested, wantCallCode, wantReverted := 0, 0, 0, 0
			for _, tt := range per {
				if top := tt.Traces[0]; !top.Failed && !top.Value.IsZero() && top.CallType == "call" {
					wantNative++
				}
				tx := types.NewTx(&types.LegacyTx{})
				if len(tt.Traces) > 0 && tt.Traces[0].Type == TraceTypeCall {
					to := tt.Traces[0].To
					v := tt.Traces[0].Value.Bytes32()
					tx = types.NewTx(&types.LegacyTx{To: &to, Value: new(big.Int).SetBytes(v[:])})
				}
				b.Txs = append(b.Txs, Tx{Hash: tt.Hash, From: tt.Traces[0].From, Tx: tx, Traces: tt.Traces})
				for _, tr := range tt.Traces[1:] {
					switch {
					case tr.Value.IsZero():
					case tr.Failed:
						wantReverted++
					case tr.CallType == "callcode":
						wantCallCode++
					case tr.CallType == "call" || tr.Type != TraceTypeCall:
						wantNested++
					}
				}
			}
			trs, st := Extract(b)
			native, nested := 0, 0
			for _, tr := range trs {
				switch tr.Kind {
				case Native:
					native++
				case Internal, Create, SelfDestruct:
					if len(tr.TraceAddress) > 0 {
						nested++
					}
				}
			}
			if native != wantNative {
				t.Errorf("native %d, want %d", native, wantNative)
			}
			if st.RevertedValueFrames != wantReverted {
				t.Errorf("reverted frames %d, want %d", st.RevertedValueFrames, wantReverted)
			}
			if nested != wantNested || st.CallCodeValueFrames != wantCallCode {
				t.Errorf("nested %d callcode %d, want %d %d", nested, st.CallCodeValueFrames, wantNested, wantCallCode)
			}
			if !st.InternalKnown {
				t.Error("InternalKnown false with traces")
			}
			t.Logf("%s: %d native, %d nested, %d callcode skipped, %d failed txs, %d reverted frames (want %d)",
				fx.name, native, nested, st.CallCodeValueFrames, st.FailedTxs, st.RevertedValueFrames, wantReverted)
		})
	}
}
