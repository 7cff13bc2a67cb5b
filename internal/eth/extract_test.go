package eth

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// block1755635 returns the recorded block 1755635 (two pre-Byzantium
// transactions: a token transfer and a plain payment) with its receipts.
func block1755635(t testing.TB) *RawBlock {
	t.Helper()
	return rawFromFiles(t, etlDir(t, "test_stream/blocks_1755634_1755635/web3_response.eth_getBlockByNumber_0x1ac9f3_true.json"),
		etlDir(t, "test_stream/blocks_1755634_1755635"))
}

// block483920 returns the recorded block 483920 (four transactions, two
// token transfers) with its receipts.
func block483920(t testing.TB) *RawBlock {
	t.Helper()
	return rawFromFiles(t, etlDir(t, "test_export_blocks_job/block_with_logs/web3_response.eth_getBlockByNumber_0x76250_true.json"),
		etlDir(t, "test_export_receipts_job/receipts_with_logs"))
}

// editArray decodes a JSON array of objects, lets edit change element i and
// re-encodes it.
func editArray(t testing.TB, msg json.RawMessage, i int, edit func(map[string]any)) json.RawMessage {
	t.Helper()
	var arr []map[string]any
	if err := json.Unmarshal(msg, &arr); err != nil {
		t.Fatal(err)
	}
	edit(arr[i])
	out, err := json.Marshal(arr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	addrA = "0x00000000000000000000000000000000000000aa"
	addrB = "0x00000000000000000000000000000000000000bb"
	addrC = "0x00000000000000000000000000000000000000cc"
	addrD = "0x00000000000000000000000000000000000000dd"
)

// gethTraces builds callTracer traces for block 1755635: transaction 0 gets
// a tree with every frame kind, transaction 1 a plain call.
func gethTraces(b *Block) string {
	tx0, tx1 := b.Txs[0], b.Txs[1]
	return fmt.Sprintf(`[{"txHash":%[1]q,"result":{"type":"CALL","from":%[2]q,"to":%[3]q,"value":"0x0","gas":"0x10","gasUsed":"0x5","input":"0x","calls":[
		{"type":"CALL","from":%[3]q,"to":%[4]q,"value":"0x2"},
		{"type":"CALL","from":%[3]q,"to":%[5]q,"value":"0x3","error":"execution reverted","revertReason":"no","calls":[
			{"type":"CALL","from":%[5]q,"to":%[4]q,"value":"0x1"}]},
		{"type":"CREATE2","from":%[3]q,"to":%[6]q,"value":"0x4"},
		{"type":"DELEGATECALL","from":%[3]q,"to":%[4]q,"value":"0x9"},
		{"type":"STATICCALL","from":%[3]q,"to":%[4]q},
		{"type":"CALLCODE","from":%[3]q,"to":%[4]q,"value":"0x7"},
		{"type":"SELFDESTRUCT","from":%[6]q,"to":%[4]q,"value":"0x6"}]}},
	{"txHash":%[7]q,"result":{"type":"CALL","from":%[8]q,"to":%[9]q,"value":%[10]q,"gas":"0x5208","gasUsed":"0x5208"}}]`,
		tx0.Hash.Hex(), tx0.From.Hex(), tx0.Tx.To().Hex(), addrB, addrC, addrD,
		tx1.Hash.Hex(), tx1.From.Hex(), tx1.Tx.To().Hex(), "0x"+tx1.Tx.Value().Text(16))
}

// parityTraces builds the trace_block equivalent of gethTraces, with a
// block reward trace at the end.
func parityTraces(b *Block) string {
	tx0, tx1 := b.Txs[0], b.Txs[1]
	h0, h1 := tx0.Hash.Hex(), tx1.Hash.Hex()
	c := tx0.Tx.To().Hex()
	call := func(callType, from, to, value, errText string, addr string, sub int, hash string, pos int) string {
		e := ""
		if errText != "" {
			e = fmt.Sprintf(`"error":%q,`, errText)
		}
		return fmt.Sprintf(`{"action":{"callType":%q,"from":%q,"to":%q,"value":%q,"gas":"0x0","input":"0x"},"result":{"gasUsed":"0x0","output":"0x"},%s"subtraces":%d,"traceAddress":%s,"type":"call","transactionHash":%q,"transactionPosition":%d}`,
			callType, from, to, value, e, sub, addr, hash, pos)
	}
	parts := []string{
		call("call", tx0.From.Hex(), c, "0x0", "", "[]", 7, h0, 0),
		call("call", c, addrB, "0x2", "", "[0]", 0, h0, 0),
		call("call", c, addrC, "0x3", "Reverted", "[1]", 1, h0, 0),
		call("call", addrC, addrB, "0x1", "", "[1,0]", 0, h0, 0),
		fmt.Sprintf(`{"action":{"from":%q,"value":"0x4","gas":"0x0","init":"0x"},"result":{"gasUsed":"0x0","address":%q,"code":"0x"},"subtraces":0,"traceAddress":[2],"type":"create","transactionHash":%q,"transactionPosition":0}`, c, addrD, h0),
		call("delegatecall", c, addrB, "0x9", "", "[3]", 0, h0, 0),
		call("staticcall", c, addrB, "0x0", "", "[4]", 0, h0, 0),
		call("callcode", c, addrB, "0x7", "", "[5]", 0, h0, 0),
		fmt.Sprintf(`{"action":{"address":%q,"refundAddress":%q,"balance":"0x6"},"result":null,"subtraces":0,"traceAddress":[6],"type":"suicide","transactionHash":%q,"transactionPosition":0}`, addrD, addrB, h0),
		call("call", tx1.From.Hex(), tx1.Tx.To().Hex(), "0x"+tx1.Tx.Value().Text(16), "", "[]", 0, h1, 1),
		fmt.Sprintf(`{"action":{"author":%q,"rewardType":"block","value":"0x1"},"result":null,"subtraces":0,"traceAddress":[],"type":"reward"}`, addrA),
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestExtractWithTraces runs both trace kinds over the same synthetic call
// tree on a real block and checks kinds, amounts, order and statistics.
func TestExtractWithTraces(t *testing.T) {
	base, err := Decode(block1755635(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []TraceKind{TraceGethCall, TraceParity} {
		t.Run(string(kind), func(t *testing.T) {
			raw := block1755635(t)
			raw.Trace = kind
			if kind == TraceGethCall {
				raw.Traces = json.RawMessage(gethTraces(base))
			} else {
				raw.Traces = json.RawMessage(parityTraces(base))
			}
			b, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			trs, st := Extract(b)
			var got []string
			for _, tr := range trs {
				got = append(got, fmt.Sprintf("%d/%d %s %v %s", tr.TxIndex, tr.Index, tr.Kind, tr.TraceAddress, tr.Amount))
			}
			v1 := b.Txs[1].Tx.Value().String()
			want := []string{
				"0/0 internal [0] 2", "0/1 create [2] 4", "0/2 selfdestruct [6] 6",
				"0/3 erc20 [] 5000000000000000000", "0/4 fee-tip [] 728360000000000",
				"1/0 native [] " + v1, "1/1 fee-tip [] 420000000000000",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("transfers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if st.RevertedValueFrames != 2 || st.CallCodeValueFrames != 1 || !st.InternalKnown || st.UnknownStatusTxs != 0 {
				t.Errorf("stats %+v", st)
			}
			if trs[1].To != common.HexToAddress(addrD) || trs[2].From != common.HexToAddress(addrD) || trs[2].To != common.HexToAddress(addrB) {
				t.Errorf("create/selfdestruct addresses: %+v %+v", trs[1], trs[2])
			}
		})
	}
}

// TestExtractFailedTx marks one recorded receipt as failed: its token
// transfer disappears, its fee stays.
func TestExtractFailedTx(t *testing.T) {
	raw := block483920(t)
	raw.Receipts = editArray(t, raw.Receipts, 0, func(m map[string]any) {
		m["status"] = "0x0"
		delete(m, "root")
		m["logs"] = []any{}
	})
	raw.Receipts = editArray(t, raw.Receipts, 1, func(m map[string]any) { m["status"] = "0x1"; delete(m, "root") })
	b, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	trs, st := Extract(b)
	if st.FailedTxs != 1 || st.UnknownStatusTxs != 2 || st.TokenLogs != 1 {
		t.Errorf("stats %+v", st)
	}
	for _, tr := range trs {
		if tr.TxIndex == 0 && tr.Kind != FeeTip {
			t.Errorf("failed tx has %s transfer", tr.Kind)
		}
	}
	if st.PerKind[FeeTip] != 4 || st.PerKind[FeeBurnt] != 0 {
		t.Errorf("pre-London fees: %v", st.PerKind)
	}
	checkFeeIdentity(t, b, trs)
}

// TestExtractWithdrawals decodes the Shanghai-fork block of the
// execution-apis chain (transactions stripped, since it was fetched without
// them) and checks the Gwei-to-wei withdrawal.
func TestExtractWithdrawals(t *testing.T) {
	var block json.RawMessage
	for _, ex := range loadAPIFixtures(t, "eth_getBlockByNumber") {
		if ex.file == "get-block-shanghai-fork.io" {
			block = ex.response
		}
	}
	var m map[string]any
	if err := json.Unmarshal(block, &m); err != nil {
		t.Fatal(err)
	}
	m["transactions"] = []any{}
	block, _ = json.Marshal(m)
	b, err := Decode(&RawBlock{Number: 0x27, Block: block, Receipts: json.RawMessage("[]")})
	if err != nil {
		t.Fatal(err)
	}
	trs, st := Extract(b)
	if len(trs) != 1 || st.PerKind[Withdrawal] != 1 {
		t.Fatalf("transfers %+v", trs)
	}
	w := trs[0]
	if w.Amount.String() != "100000000000" || w.To != common.HexToAddress("0x3ae75c08b4c907eb63a8960c45b86e1e9ab6123c") ||
		w.From != (common.Address{}) || w.TxIndex != -1 || w.Block != 0x27 {
		t.Errorf("withdrawal %+v", w)
	}
}

// tokenLog builds a log for the token decoder tests.
func tokenLog(topics []common.Hash, data []byte) *types.Log {
	return &types.Log{Address: common.HexToAddress(addrA), Topics: topics, Data: data, Index: 7}
}

// word returns v as a 32-byte ABI word.
func word(v uint64) []byte {
	b := make([]byte, 32)
	for i := 0; i < 8; i++ {
		b[31-i] = byte(v >> (8 * i))
	}
	return b
}

func TestTokenEvents(t *testing.T) {
	zero, a, b := common.Hash{}, common.BytesToHash(common.HexToAddress(addrB).Bytes()), common.BytesToHash(common.HexToAddress(addrC).Bytes())
	id := common.HexToHash("0x2a")
	cat := func(ws ...[]byte) []byte {
		var out []byte
		for _, w := range ws {
			out = append(out, w...)
		}
		return out
	}
	cases := []struct {
		name      string
		log       *types.Log
		want      []string // kind from to tokenID amount mint burn
		malformed int
	}{
		{"erc20 mint", tokenLog([]common.Hash{topicTransfer, zero, a}, word(5)), []string{"erc20 0x0 bb - 5 mint"}, 0},
		{"erc20 burn", tokenLog([]common.Hash{topicTransfer, a, zero}, word(5)), []string{"erc20 bb 0x0 - 5 burn"}, 0},
		{"erc721", tokenLog([]common.Hash{topicTransfer, a, b, id}, nil), []string{"erc721 bb cc 42 1 -"}, 0},
		{"short data", tokenLog([]common.Hash{topicTransfer, a, b}, word(5)[:31]), nil, 1},
		{"two topics", tokenLog([]common.Hash{topicTransfer, a}, word(5)), nil, 1},
		{"1155 single", tokenLog([]common.Hash{topicTransferSingle, a, a, b}, cat(word(42), word(9))), []string{"erc1155-single bb cc 42 9 -"}, 0},
		{"1155 single short", tokenLog([]common.Hash{topicTransferSingle, a, a, b}, word(42)), nil, 1},
		{"1155 batch", tokenLog([]common.Hash{topicTransferBatch, a, zero, b}, cat(word(64), word(160), word(2), word(1), word(2), word(2), word(10), word(20))),
			[]string{"erc1155-batch 0x0 cc 1 10 mint", "erc1155-batch 0x0 cc 2 20 mint"}, 0},
		{"1155 batch length mismatch", tokenLog([]common.Hash{topicTransferBatch, a, a, b}, cat(word(64), word(128), word(1), word(1), word(0))), nil, 1},
		{"1155 batch bad offset", tokenLog([]common.Hash{topicTransferBatch, a, a, b}, cat(word(1<<40), word(64))), nil, 1},
		{"1155 batch huge count", tokenLog([]common.Hash{topicTransferBatch, a, a, b}, cat(word(64), word(64), word(1<<62))), nil, 1},
		{"other event", tokenLog([]common.Hash{common.HexToHash("0x01"), a, b}, word(1)), nil, 0},
		{"no topics", tokenLog(nil, nil), nil, 0},
	}
	short := func(x common.Address) string {
		if x == (common.Address{}) {
			return "0x0"
		}
		return strings.TrimLeft(strings.ToLower(x.Hex()[2:]), "0")
	}
	for _, c := range cases {
		var st Stats
		out := appendTokenTransfers(nil, c.log, Transfer{LogIndex: -1}, &st)
		var got []string
		for _, tr := range out {
			tid, flag := "-", "-"
			if tr.TokenID != nil {
				tid = tr.TokenID.String()
			}
			if tr.IsMint() {
				flag = "mint"
			} else if tr.IsBurn() {
				flag = "burn"
			}
			if tr.Token != common.HexToAddress(addrA) || tr.LogIndex != 7 {
				t.Errorf("%s: token %s log index %d", c.name, tr.Token.Hex(), tr.LogIndex)
			}
			got = append(got, fmt.Sprintf("%s %s %s %s %s %s", tr.Kind, short(tr.From), short(tr.To), tid, tr.Amount, flag))
		}
		if strings.Join(got, ";") != strings.Join(c.want, ";") || st.MalformedTokenLogs != c.malformed {
			t.Errorf("%s: got %q (malformed %d), want %q (%d)", c.name, got, st.MalformedTokenLogs, c.want, c.malformed)
		}
	}
}
