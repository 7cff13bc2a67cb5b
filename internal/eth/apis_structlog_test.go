package eth

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/eth/tracers/logger"
)

// blockStructTrace is one entry of a struct-logger block trace.
type blockStructTrace struct {
	TxHash common.Hash             `json:"txHash"`
	Result *logger.ExecutionResult `json:"result"`
}

// TestAPIStructLogTraces decodes every trace answer of the execution-apis
// fixtures (debug_traceBlockByNumber, debug_traceBlockByHash and
// debug_traceTransaction, all with the default struct logger) into
// go-ethereum's logger types and round-trips it. chaintrace extracts
// internal transfers from callTracer or trace_block output, not from
// struct logs, but a node's answers must still decode cleanly; answers
// that are errors (a bad block number, an unknown transaction, genesis)
// carry no result and are counted.
func TestAPIStructLogTraces(t *testing.T) {
	decoded, errs := 0, 0
	for _, method := range []string{"debug_traceBlockByNumber", "debug_traceBlockByHash", "debug_traceTransaction"} {
		for _, ex := range loadAPIFixtures(t, method) {
			if ex.response == nil || isNull(ex.response) {
				errs++
				continue
			}
			if method == "debug_traceTransaction" {
				var r logger.ExecutionResult
				structLogRoundTrip(t, ex.file, ex.response, &r, new(logger.ExecutionResult))
			} else {
				var r []blockStructTrace
				structLogRoundTrip(t, ex.file, ex.response, &r, new([]blockStructTrace))
				for i, e := range r {
					if e.Result == nil || e.TxHash == (common.Hash{}) {
						t.Errorf("%s: entry %d has no txHash or result", ex.file, i)
					}
				}
			}
			decoded++
		}
	}
	if decoded == 0 {
		t.Fatal("no trace answer decoded")
	}
	t.Logf("%d trace answers decoded and round-tripped, %d error answers", decoded, errs)
}

// structLogRoundTrip decodes data into v, marshals v, decodes that into
// fresh and compares the two decoded values.
func structLogRoundTrip(t *testing.T, file string, data json.RawMessage, v, fresh any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: marshal: %v", file, err)
	}
	if err := json.Unmarshal(out, fresh); err != nil {
		t.Fatalf("%s: re-decode: %v", file, err)
	}
	if !reflect.DeepEqual(reflect.ValueOf(v).Elem().Interface(), reflect.ValueOf(fresh).Elem().Interface()) {
		t.Errorf("%s: round trip changed the trace", file)
	}
}
