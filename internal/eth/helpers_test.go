package eth

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// dataRoot is the shared test data, relative to the package directory.
const dataRoot = "../../../shared/data/eth"

// etlDir returns the ethereum-etl fixture directory or skips the test.
func etlDir(t testing.TB, sub ...string) string {
	t.Helper()
	dir := filepath.Join(dataRoot, "ethereum-etl")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared test data not available (%s): %v", dir, err)
	}
	return filepath.Join(append([]string{dir}, sub...)...)
}

// readResult reads a recorded web3 response and returns its result, or the
// whole file when it holds a bare result.
func readResult(t testing.TB, path string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return unwrapResult(t, data)
}

// unwrapResult returns the result member of a JSON-RPC response.
func unwrapResult(t testing.TB, data []byte) json.RawMessage {
	t.Helper()
	var resp struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &resp); err == nil && (resp.JSONRPC != "" || resp.Result != nil) {
			return resp.Result
		}
	}
	return trimmed
}

// rawFromFiles assembles a RawBlock from a block response and the receipt
// responses of its transactions, found in receiptDir by transaction hash.
func rawFromFiles(t testing.TB, blockFile, receiptDir string) *RawBlock {
	t.Helper()
	block := readResult(t, blockFile)
	var head struct {
		Number       string `json:"number"`
		Hash         string `json:"hash"`
		Transactions []struct {
			Hash string `json:"hash"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal(block, &head); err != nil {
		t.Fatal(err)
	}
	num, err := parseUintHex(head.Number)
	if err != nil {
		t.Fatal(err)
	}
	raw := &RawBlock{Number: num, Hash: head.Hash, Block: block}
	if receiptDir == "" {
		return raw
	}
	receipts := make([]json.RawMessage, len(head.Transactions))
	for i, tx := range head.Transactions {
		receipts[i] = readResult(t, filepath.Join(receiptDir, "web3_response.eth_getTransactionReceipt_"+tx.Hash+".json"))
	}
	raw.Receipts, err = json.Marshal(receipts)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// parseUintHex parses a 0x-prefixed quantity.
func parseUintHex(s string) (uint64, error) { return hexutil.DecodeUint64(s) }

// loadRows reads an ethereum-etl export (CSV with a header line, or JSON
// lines) into maps of column to text; JSON null becomes "" and arrays or
// objects keep their JSON text.
func loadRows(t testing.TB, path string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	if strings.HasSuffix(path, ".csv") {
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[min(1, len(recs)):] {
			m := map[string]string{}
			for i, col := range recs[0] {
				m[col] = r[i]
			}
			rows = append(rows, m)
		}
		return rows
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for k, v := range obj {
			switch x := v.(type) {
			case nil:
				m[k] = ""
			case string:
				m[k] = x
			case json.Number:
				m[k] = x.String()
			default:
				b, _ := json.Marshal(x)
				m[k] = string(b)
			}
		}
		rows = append(rows, m)
	}
	return rows
}

// hexAddr renders an address as ethereum-etl does (lower-case hex).
func hexAddr(a common.Address) string { return strings.ToLower(a.Hex()) }

// optAddr renders a possibly nil address, "" for nil.
func optAddr(a *common.Address) string {
	if a == nil {
		return ""
	}
	return hexAddr(*a)
}

// check records a mismatch of one field of one row.
func check(t *testing.T, what, field, got, want string) bool {
	t.Helper()
	if got != want {
		t.Errorf("%s %s: got %q, want %q", what, field, got, want)
		return false
	}
	return true
}
