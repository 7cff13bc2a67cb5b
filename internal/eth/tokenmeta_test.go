package eth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

func abiString(s string) []byte {
	out := append(word(32), word(uint64(len(s)))...)
	data := []byte(s)
	for len(data)%32 != 0 {
		data = append(data, 0)
	}
	return append(out, data...)
}

func TestDecodeTokenString(t *testing.T) {
	mkr := make([]byte, 32)
	copy(mkr, "MKR")
	cases := []struct {
		name string
		ret  []byte
		want string
		ok   bool
	}{
		{"abi string", abiString("USDT"), "USDT", true},
		{"abi long name", abiString("Wrapped Ether"), "Wrapped Ether", true},
		{"bytes32 (MKR)", mkr, "MKR", true},
		{"empty", nil, "", false},
		{"short", []byte{1, 2, 3}, "", false},
		{"offset past end", append(word(4096), word(3)...), "", false},
		{"length past end", append(word(32), word(1000)...), "", false},
		{"absurd length", append(word(32), append(word(1<<40), make([]byte, 64)...)...), "", false},
		{"control chars", abiString("A\x01B"), "", false},
		{"invalid utf8", abiString("\xff\xfe"), "", false},
		{"zero bytes32", make([]byte, 32), "", false},
	}
	for _, c := range cases {
		got, ok := DecodeTokenString(c.ret)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: got %q %v, want %q %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestDecodeTokenDecimals(t *testing.T) {
	if d, ok := DecodeTokenDecimals(word(18)); !ok || d != 18 {
		t.Errorf("18: %d %v", d, ok)
	}
	if _, ok := DecodeTokenDecimals(word(256)); ok {
		t.Error("256 decimals accepted")
	}
	if _, ok := DecodeTokenDecimals([]byte{6}); ok {
		t.Error("short return accepted")
	}
}

// rpcErr mimics a JSON-RPC error object with a code.
type rpcErr struct {
	code int
	msg  string
}

func (e rpcErr) Error() string { return e.msg }
func (e rpcErr) Code() int     { return e.code }

// fakeCaller answers eth_call by selector.
type fakeCaller map[string]any // selector hex -> []byte or error

func (f fakeCaller) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if method != "eth_call" || len(params) != 2 {
		return nil, fmt.Errorf("unexpected call %s %v", method, params)
	}
	sel := hex.EncodeToString(params[0].(map[string]any)["data"].(hexutil.Bytes))
	switch v := f[sel].(type) {
	case error:
		return nil, v
	case []byte:
		return json.RawMessage(`"0x` + hex.EncodeToString(v) + `"`), nil
	}
	return json.RawMessage(`"0x"`), nil
}

func TestFetchTokenMeta(t *testing.T) {
	ctx := context.Background()
	tok := common.HexToAddress("0xdAC17F958D2ee523a2206206994597C13D831ec7")
	m, err := FetchTokenMeta(ctx, fakeCaller{"95d89b41": abiString("USDT"), "06fdde03": abiString("Tether USD"), "313ce567": word(6)}, tok, "latest")
	if err != nil || m != (TokenMeta{Symbol: "USDT", Name: "Tether USD", Decimals: 6, HasSymbol: true, HasName: true, HasDecimals: true}) {
		t.Fatalf("standard token: %+v %v", m, err)
	}
	// A token whose name() reverts and that has no decimals() at all.
	m, err = FetchTokenMeta(ctx, fakeCaller{"95d89b41": abiString("ODD"), "06fdde03": rpcErr{3, "execution reverted"}}, tok, "latest")
	if err != nil || !m.HasSymbol || m.HasName || m.HasDecimals {
		t.Fatalf("odd token: %+v %v", m, err)
	}
	// A transport failure is an error naming the token.
	_, err = FetchTokenMeta(ctx, fakeCaller{"95d89b41": errors.New("connection refused")}, tok, "latest")
	if err == nil || !strings.Contains(err.Error(), tok.Hex()) {
		t.Fatalf("transport failure: %v", err)
	}
}
