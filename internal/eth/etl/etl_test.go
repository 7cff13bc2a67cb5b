package etl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/eth"
)

const (
	h1 = "0x1111111111111111111111111111111111111111111111111111111111111111"
	h2 = "0x2222222222222222222222222222222222222222222222222222222222222222"
	h0 = "0x0000000000000000000000000000000000000000000000000000000000000abc"
	t1 = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	t2 = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	a1 = "0x00000000000000000000000000000000000000a1"
	a2 = "0x00000000000000000000000000000000000000a2"
	c1 = "0x00000000000000000000000000000000000000c1"
	c2 = "0x00000000000000000000000000000000000000c2"
	mn = "0x00000000000000000000000000000000000000ee"
)

// writeExport writes an ethereum-etl style export of two blocks: a plain
// payment (with a reverted inner call carrying value) and a contract call
// whose failing frame has a child that also carries value.
func writeExport(t *testing.T, traces string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"blocks.csv": "number,hash,parent_hash,miner,gas_limit,gas_used,timestamp,transaction_count,base_fee_per_gas\n" +
			"100," + h1 + "," + h0 + "," + mn + ",30000000,42000,1700000000,1,10\n" +
			"101," + h2 + "," + h1 + "," + mn + ",30000000,50000,1700000012,1,10\n",
		"transactions.csv": "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type,receipt_gas_used,receipt_status,receipt_effective_gas_price\n" +
			t1 + ",0," + h1 + ",100,0," + a1 + "," + c1 + ",5000,100000,12,0x,1700000000,,,0,42000,1,12\n" +
			t2 + ",1," + h2 + ",101,0," + a1 + "," + c2 + ",7000,100000,11,0x,1700000012,,,0,50000,1,11\n",
		"traces.csv": traces,
	}
	for name, body := range files {
		if body == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const traceHeader = "block_number,transaction_hash,transaction_index,from_address,to_address,value,input,output,trace_type,call_type,reward_type,gas,gas_used,subtraces,trace_address,error,status\n"

// TestTracesToTransfers imports an export with traces and checks the
// internal transfers Extract finds: value in a frame under a failed frame
// moves nothing, value in a successful inner call does, and reward rows
// are skipped.
func TestTracesToTransfers(t *testing.T) {
	traces := traceHeader +
		"100," + t1 + ",0," + a1 + "," + c1 + ",5000,0x,0x,call,call,,100000,40000,2,,,1\n" +
		"100," + t1 + ",0," + c1 + "," + a2 + ",300,0x,0x,call,call,,5000,100,0,0,,1\n" +
		"100," + t1 + ",0," + c1 + "," + a2 + ",400,0x,0x,call,call,,5000,100,0,1,Reverted,0\n" +
		"101," + t2 + ",0," + a1 + "," + c2 + ",7000,0x,0x,call,call,,100000,48000,1,,,1\n" +
		"101," + t2 + ",0," + c2 + "," + c1 + ",600,0x,0x,call,call,,9000,9000,1,0,out of gas,0\n" +
		"101," + t2 + ",0," + c1 + "," + a2 + ",50,0x,0x,call,call,,100,100,0,\"0,0\",,1\n" +
		"101,,,,," + "2000000000000000000,,,reward,,block,,,0,,,1\n"
	src, err := Open(writeExport(t, traces))
	if err != nil {
		t.Fatal(err)
	}
	var internal []string
	err = src.Blocks(context.Background(), 100, 101, func(b *eth.Block) error {
		trs, st := eth.Extract(b)
		if !st.InternalKnown {
			t.Errorf("block %d: internal transfers unknown despite traces", b.Number())
		}
		for _, tr := range trs {
			if tr.Kind == eth.Internal {
				internal = append(internal, strings.ToLower(tr.From.Hex()[40:]+"->"+tr.To.Hex()[40:])+":"+tr.Amount.String())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Only c1 -> a2 of 300 in block 100 moved: the 400 frame reverted, and
	// in block 101 the 50 sits under a frame that ran out of gas.
	if strings.Join(internal, " ") != "c1->a2:300" {
		t.Fatalf("internal transfers %v, want [c1->a2:300]", internal)
	}
}

func TestBadExportRows(t *testing.T) {
	cases := map[string]string{
		"bad trace address": traceHeader + "100," + t1 + ",0," + a1 + "," + c1 + ",1,0x,0x,call,call,,1,1,0,x,,1\n",
		"unknown tx":        traceHeader + "100," + t2 + ",0," + a1 + "," + c1 + ",1,0x,0x,call,call,,1,1,0,,,1\n",
	}
	for name, traces := range cases {
		_, err := Open(writeExport(t, traces))
		if err == nil || !strings.Contains(err.Error(), "traces.csv") || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v (want an error naming traces.csv line 2)", name, err)
		}
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "blocks") {
		t.Errorf("export without blocks: %v", err)
	}
}
