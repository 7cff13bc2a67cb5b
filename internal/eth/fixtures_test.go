package eth

import (
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// etlBlock is one recorded block with the ethereum-etl exports made from it.
type etlBlock struct {
	name                   string
	raw                    func(t testing.TB) *RawBlock
	hasReceipts            bool
	blocks, txs, receipts  string // expected files, relative to the etl dir
	tokenTransfers         string
	txsCarryReceiptColumns bool // expected_transactions has receipt_* columns
}

// etlBlocks lists every recorded full block of the ethereum-etl fixtures.
func etlBlocks() []etlBlock {
	file := func(block, receipts string) func(t testing.TB) *RawBlock {
		return func(t testing.TB) *RawBlock {
			r := ""
			if receipts != "" {
				r = etlDir(t, receipts)
			}
			return rawFromFiles(t, etlDir(t, block), r)
		}
	}
	return []etlBlock{
		{name: "483920", raw: file("test_export_blocks_job/block_with_logs/web3_response.eth_getBlockByNumber_0x76250_true.json", "test_export_receipts_job/receipts_with_logs"),
			hasReceipts: true, blocks: "test_export_blocks_job/block_with_logs/expected_blocks.csv",
			txs: "test_export_blocks_job/block_with_logs/expected_transactions.csv", receipts: "test_export_receipts_job/receipts_with_logs/expected_receipts.csv",
			tokenTransfers: "test_export_token_transfers_job/block_with_transfers/expected_token_transfers.csv"},
		{name: "1755635", raw: file("test_stream/blocks_1755634_1755635/web3_response.eth_getBlockByNumber_0x1ac9f3_true.json", "test_stream/blocks_1755634_1755635"),
			hasReceipts: true, blocks: "test_stream/blocks_1755634_1755635/expected_blocks.json", txs: "test_stream/blocks_1755634_1755635/expected_transactions.json",
			txsCarryReceiptColumns: true, tokenTransfers: "test_stream/blocks_1755634_1755635/expected_token_transfers.json"},
		{name: "1755634", raw: file("test_stream/blocks_1755634_1755635/web3_response.eth_getBlockByNumber_0x1ac9f2_true.json", "test_stream/blocks_1755634_1755635"),
			hasReceipts: true, blocks: "test_stream/blocks_1755634_1755635/expected_blocks.json", txs: "test_stream/blocks_1755634_1755635/expected_transactions.json",
			tokenTransfers: "test_stream/blocks_1755634_1755635/expected_token_transfers.json"},
		{name: "0", raw: file("test_export_blocks_job/block_without_transactions/web3_response.eth_getBlockByNumber_0x0_true.json", ""),
			blocks: "test_export_blocks_job/block_without_transactions/expected_blocks.csv", txs: "test_export_blocks_job/block_without_transactions/expected_transactions.csv"},
		{name: "47218", raw: file("test_export_blocks_job/blocks_with_transactions/web3_response.eth_getBlockByNumber_0xb872_true.json", ""),
			blocks: "test_export_blocks_job/blocks_with_transactions/expected_blocks.csv", txs: "test_export_blocks_job/blocks_with_transactions/expected_transactions.csv"},
		{name: "47219", raw: file("test_export_blocks_job/blocks_with_transactions/web3_response.eth_getBlockByNumber_0xb873_true.json", ""),
			blocks: "test_export_blocks_job/blocks_with_transactions/expected_blocks.csv", txs: "test_export_blocks_job/blocks_with_transactions/expected_transactions.csv"},
	}
}

// decodeFixture decodes one recorded block; blocks recorded without
// receipts go through decode with receipts optional.
func decodeFixture(t *testing.T, fx etlBlock) *Block {
	t.Helper()
	raw := fx.raw(t)
	b, err := decode(raw, fx.hasReceipts)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !fx.hasReceipts && len(b.Txs) > 0 {
		if _, err := Decode(raw); err == nil {
			t.Errorf("Decode accepted %d transactions without receipts", len(b.Txs))
		}
	}
	return b
}

// rowsFor keeps the rows whose column col equals val.
func rowsFor(rows []map[string]string, col, val string) []map[string]string {
	var out []map[string]string
	for _, r := range rows {
		if r[col] == val {
			out = append(out, r)
		}
	}
	return out
}

// bigStr renders an optional big integer as etl does ("" for nil).
func bigStr(x *big.Int) string {
	if x == nil {
		return ""
	}
	return x.String()
}

func TestETLBlocks(t *testing.T) {
	for _, fx := range etlBlocks() {
		t.Run(fx.name, func(t *testing.T) {
			b := decodeFixture(t, fx)
			rows := rowsFor(loadRows(t, etlDir(t, fx.blocks)), "number", fx.name)
			if len(rows) != 1 {
				t.Fatalf("%d expected rows for block %s", len(rows), fx.name)
			}
			want, h := rows[0], b.Header
			what := "block " + fx.name
			check(t, what, "hash", b.Hash.Hex(), want["hash"])
			check(t, what, "computed hash", h.Hash().Hex(), want["hash"])
			check(t, what, "parent_hash", h.ParentHash.Hex(), want["parent_hash"])
			check(t, what, "miner", hexAddr(h.Coinbase), want["miner"])
			check(t, what, "gas_limit", strconv.FormatUint(h.GasLimit, 10), want["gas_limit"])
			check(t, what, "gas_used", strconv.FormatUint(h.GasUsed, 10), want["gas_used"])
			check(t, what, "timestamp", strconv.FormatUint(h.Time, 10), want["timestamp"])
			check(t, what, "base_fee_per_gas", bigStr(h.BaseFee), want["base_fee_per_gas"])
			check(t, what, "transaction_count", strconv.Itoa(len(b.Txs)), want["transaction_count"])
			// Pre-Shanghai: etl writes "" (CSV) or [] (JSON); we hold nil.
			if b.Withdrawals != nil || (want["withdrawals"] != "" && want["withdrawals"] != "[]") {
				t.Errorf("%s withdrawals: got %v, want %q", what, b.Withdrawals, want["withdrawals"])
			}
		})
	}
}

func TestETLTransactionsAndReceipts(t *testing.T) {
	for _, fx := range etlBlocks() {
		t.Run(fx.name, func(t *testing.T) {
			b := decodeFixture(t, fx)
			rows := rowsFor(loadRows(t, etlDir(t, fx.txs)), "block_number", fx.name)
			var receiptRows []map[string]string
			if fx.receipts != "" {
				receiptRows = loadRows(t, etlDir(t, fx.receipts))
			}
			matched := 0
			for i := range b.Txs {
				tx := &b.Txs[i]
				what := fmt.Sprintf("block %s tx %d", fx.name, i)
				rs := rowsFor(rows, "hash", tx.Hash.Hex())
				if len(rs) != 1 {
					t.Errorf("%s: %d expected rows for %s", what, len(rs), tx.Hash.Hex())
					continue
				}
				w := rs[0]
				ok := check(t, what, "computed hash", tx.Tx.Hash().Hex(), w["hash"])
				ok = check(t, what, "transaction_index", strconv.Itoa(i), w["transaction_index"]) && ok
				ok = check(t, what, "from", hexAddr(tx.From), w["from_address"]) && ok
				ok = check(t, what, "to", optAddr(tx.Tx.To()), w["to_address"]) && ok
				ok = check(t, what, "value", tx.Tx.Value().String(), w["value"]) && ok
				ok = check(t, what, "gas", strconv.FormatUint(tx.Tx.Gas(), 10), w["gas"]) && ok
				ok = check(t, what, "gas_price", tx.Tx.GasPrice().String(), w["gas_price"]) && ok
				ok = check(t, what, "nonce", strconv.FormatUint(tx.Tx.Nonce(), 10), w["nonce"]) && ok
				ok = check(t, what, "input", hexutil.Encode(tx.Tx.Data()), w["input"]) && ok
				ok = check(t, what, "transaction_type", strconv.Itoa(int(tx.Tx.Type())), w["transaction_type"]) && ok
				if fx.txsCarryReceiptColumns {
					ok = checkReceipt(t, what, tx, w, "receipt_") && ok
				}
				if fx.receipts != "" {
					rr := rowsFor(receiptRows, "transaction_hash", tx.Hash.Hex())
					if len(rr) != 1 {
						t.Errorf("%s: %d expected receipt rows", what, len(rr))
						ok = false
					} else {
						ok = checkReceipt(t, what, tx, rr[0], "") && ok
					}
				}
				if ok {
					matched++
				}
			}
			if len(rows) != len(b.Txs) {
				t.Errorf("expected %d transactions, decoded %d", len(rows), len(b.Txs))
			}
			t.Logf("block %s: %d/%d transactions matched (receipts: %v)", fx.name, matched, len(b.Txs), fx.hasReceipts)
		})
	}
}

// checkReceipt compares a receipt with an etl row whose columns carry the
// given prefix. Pre-Byzantium receipts have a root and no status; etl
// writes an empty status and we report StatusKnown false.
func checkReceipt(t *testing.T, what string, tx *Tx, w map[string]string, prefix string) bool {
	t.Helper()
	r := tx.Receipt
	if r == nil {
		t.Errorf("%s: no receipt", what)
		return false
	}
	status := ""
	if tx.StatusKnown {
		status = strconv.FormatUint(r.Status, 10)
	}
	contract := ""
	if r.ContractAddress != (common.Address{}) {
		contract = hexAddr(r.ContractAddress)
	}
	ok := check(t, what, "status", status, w[prefix+"status"])
	ok = check(t, what, "gas_used", strconv.FormatUint(r.GasUsed, 10), w[prefix+"gas_used"]) && ok
	ok = check(t, what, "cumulative_gas_used", strconv.FormatUint(r.CumulativeGasUsed, 10), w[prefix+"cumulative_gas_used"]) && ok
	ok = check(t, what, "contract_address", contract, w[prefix+"contract_address"]) && ok
	ok = check(t, what, "effective_gas_price", bigStr(r.EffectiveGasPrice), w[prefix+"effective_gas_price"]) && ok
	ok = check(t, what, "root", hexutil.Encode(r.PostState), w[prefix+"root"]) && ok
	return ok
}

func TestETLTokenTransfers(t *testing.T) {
	for _, fx := range etlBlocks() {
		if fx.tokenTransfers == "" {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			b := decodeFixture(t, fx)
			trs, st := Extract(b)
			want := rowsFor(loadRows(t, etlDir(t, fx.tokenTransfers)), "block_number", fx.name)
			var got []Transfer
			for _, tr := range trs {
				if tr.Kind.IsToken() {
					got = append(got, tr)
				}
			}
			if len(got) != len(want) || st.TokenLogs != len(want) {
				t.Fatalf("%d token transfers (stats %d), want %d", len(got), st.TokenLogs, len(want))
			}
			for i, w := range want {
				g, what := got[i], fmt.Sprintf("block %s token transfer %d", fx.name, i)
				check(t, what, "kind", g.Kind.String(), "erc20")
				check(t, what, "token", hexAddr(g.Token), w["token_address"])
				check(t, what, "from", hexAddr(g.From), w["from_address"])
				check(t, what, "to", hexAddr(g.To), w["to_address"])
				check(t, what, "value", g.Amount.String(), w["value"])
				check(t, what, "tx", g.TxHash.Hex(), w["transaction_hash"])
				check(t, what, "log_index", strconv.Itoa(g.LogIndex), w["log_index"])
			}
			t.Logf("block %s: %d/%d token transfers matched", fx.name, len(want), len(want))
		})
	}
}

// TestETLFeesAndNative checks the fee identity and the native transfers of
// every recorded block that has receipts.
func TestETLFeesAndNative(t *testing.T) {
	for _, fx := range etlBlocks() {
		if !fx.hasReceipts {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			b := decodeFixture(t, fx)
			trs, st := Extract(b)
			checkFeeIdentity(t, b, trs)
			if st.InternalKnown {
				t.Error("InternalKnown without traces")
			}
			for i := range b.Txs {
				tx := &b.Txs[i]
				var native []Transfer
				for _, tr := range trs {
					if tr.TxIndex == i && tr.Kind == Native {
						native = append(native, tr)
					}
				}
				wantNative := tx.Tx.Value().Sign() > 0 && tx.Tx.To() != nil
				if (len(native) == 1) != wantNative {
					t.Errorf("tx %d: %d native transfers, value %v", i, len(native), tx.Tx.Value())
				} else if wantNative && native[0].Amount.String() != tx.Tx.Value().String() {
					t.Errorf("tx %d: native amount %s, want %v", i, native[0].Amount, tx.Tx.Value())
				}
			}
		})
	}
}

// checkFeeIdentity asserts FeeBurnt+FeeTip = gasUsed × effectiveGasPrice
// for every transaction and that tips go to the coinbase.
func checkFeeIdentity(t *testing.T, b *Block, trs []Transfer) {
	t.Helper()
	for i := range b.Txs {
		tx := &b.Txs[i]
		sum := new(uint256.Int)
		for _, tr := range trs {
			if tr.TxIndex != i || (tr.Kind != FeeBurnt && tr.Kind != FeeTip) {
				continue
			}
			if tr.From != tx.From {
				t.Errorf("tx %d %s from %s, sender %s", i, tr.Kind, tr.From.Hex(), tx.From.Hex())
			}
			if tr.Kind == FeeTip && tr.To != b.Header.Coinbase {
				t.Errorf("tx %d tip to %s, coinbase %s", i, tr.To.Hex(), b.Header.Coinbase.Hex())
			}
			v := tr.Amount.Bytes32()
			sum.Add(sum, new(uint256.Int).SetBytes(v[:]))
		}
		price := tx.Receipt.EffectiveGasPrice
		if price == nil {
			price = tx.Tx.GasPrice()
		}
		want := new(big.Int).Mul(new(big.Int).SetUint64(tx.Receipt.GasUsed), price)
		if sum.ToBig().Cmp(want) != 0 {
			t.Errorf("tx %d: FeeBurnt+FeeTip = %s, gasUsed×effectiveGasPrice = %s", i, sum.Dec(), want)
		}
	}
}

// TestETLTokenLogs runs the token-event decoder on the logs export and
// compares with the token transfers etl extracted from them.
func TestETLTokenLogs(t *testing.T) {
	dir := etlDir(t, "test_extract_token_transfers_job", "logs")
	logs := loadRows(t, filepath.Join(dir, "logs.csv"))
	want := loadRows(t, filepath.Join(dir, "expected_token_transfers.csv"))
	var st Stats
	var got []Transfer
	for _, row := range logs {
		var topics []common.Hash
		if err := json.Unmarshal([]byte(`["`+joinQuoted(row["topics"])+`"]`), &topics); err != nil {
			t.Fatalf("topics %q: %v", row["topics"], err)
		}
		idx, _ := strconv.Atoi(row["log_index"])
		l := &types.Log{Address: common.HexToAddress(row["address"]), Topics: topics,
			Data: common.FromHex(row["data"]), Index: uint(idx), TxHash: common.HexToHash(row["transaction_hash"])}
		got = appendTokenTransfers(got, l, Transfer{TxHash: l.TxHash}, &st)
	}
	if len(got) != len(want) {
		t.Fatalf("%d transfers from %d logs, want %d (malformed %d)", len(got), len(logs), len(want), st.MalformedTokenLogs)
	}
	for i, w := range want {
		what := fmt.Sprintf("log transfer %d", i)
		check(t, what, "token", hexAddr(got[i].Token), w["token_address"])
		check(t, what, "from", hexAddr(got[i].From), w["from_address"])
		check(t, what, "to", hexAddr(got[i].To), w["to_address"])
		check(t, what, "value", got[i].Amount.String(), w["value"])
		check(t, what, "log_index", strconv.Itoa(got[i].LogIndex), w["log_index"])
	}
	t.Logf("logs.csv: %d/%d token transfers matched, %d non-token logs", len(want), len(want), len(logs)-len(got))
}

// joinQuoted turns "a,b" into `a","b` for a JSON string array.
func joinQuoted(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			out = append(out, `","`...)
		} else {
			out = append(out, s[i])
		}
	}
	return string(out)
}
