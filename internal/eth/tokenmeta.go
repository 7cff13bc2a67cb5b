package eth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// TokenMeta is what a token contract says about itself. Fields a contract
// does not answer (a missing method, a revert, a malformed return) stay
// empty, and the Has flags say which answers were usable: many real
// tokens predate or bend the ERC-20 metadata methods.
type TokenMeta struct {
	Symbol      string `json:"symbol,omitempty"`
	Name        string `json:"name,omitempty"`
	Decimals    uint8  `json:"decimals"`
	HasSymbol   bool   `json:"has_symbol"`
	HasName     bool   `json:"has_name"`
	HasDecimals bool   `json:"has_decimals"`
}

// Caller makes one JSON-RPC call and returns its raw result; *rpc.Client
// implements it. Implementations must be safe for concurrent use if the
// caller fetches metadata concurrently.
type Caller interface {
	Call(ctx context.Context, method string, params ...any) (json.RawMessage, error)
}

// Method selectors of the ERC-20 metadata methods.
var (
	selSymbol   = hexutil.Bytes{0x95, 0xd8, 0x9b, 0x41} // symbol()
	selName     = hexutil.Bytes{0x06, 0xfd, 0xde, 0x03} // name()
	selDecimals = hexutil.Bytes{0x31, 0x3c, 0xe5, 0x67} // decimals()
)

// FetchTokenMeta asks token for its symbol, name and decimals with
// eth_call at block (a hex number or "latest"). A method that reverts,
// does not exist or returns something unusable leaves its field unset;
// only transport failures (the node unreachable, ctx ending) are errors,
// so one odd token never stops an ingest.
func FetchTokenMeta(ctx context.Context, c Caller, token common.Address, block string) (TokenMeta, error) {
	var m TokenMeta
	call := func(sel hexutil.Bytes) ([]byte, bool, error) {
		raw, err := c.Call(ctx, "eth_call", map[string]any{"to": token, "data": sel}, block)
		if err != nil {
			if ctx.Err() != nil || !isExecutionError(err) {
				return nil, false, fmt.Errorf("eth: token %s metadata: %w", token, err)
			}
			return nil, false, nil // reverted or no such method
		}
		var out hexutil.Bytes
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, false, nil
		}
		return out, true, nil
	}
	if ret, ok, err := call(selSymbol); err != nil {
		return m, err
	} else if ok {
		m.Symbol, m.HasSymbol = DecodeTokenString(ret)
	}
	if ret, ok, err := call(selName); err != nil {
		return m, err
	} else if ok {
		m.Name, m.HasName = DecodeTokenString(ret)
	}
	if ret, ok, err := call(selDecimals); err != nil {
		return m, err
	} else if ok {
		m.Decimals, m.HasDecimals = DecodeTokenDecimals(ret)
	}
	return m, nil
}

// isExecutionError tells an EVM-level failure of eth_call (a revert, an
// invalid opcode, a missing method hitting a fallback that reverts) from
// a transport failure. JSON-RPC error codes 3 (execution reverted) and
// -32000 (generic server error, used by geth for execution errors) are
// execution errors, as is any message saying the execution reverted.
func isExecutionError(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() {
		case 3, -32000, -32015:
			return true
		}
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "revert") || strings.Contains(msg, "invalid opcode") || strings.Contains(msg, "execution")
}

// maxTokenString bounds decoded symbols and names: real ones are short,
// and a hostile contract must not make the store hold megabytes.
const maxTokenString = 256

// DecodeTokenString decodes the return of symbol() or name(): an ABI
// string (offset, length, bytes), or the bytes32 that early tokens such as
// MKR return (right-padded with zeros). The result must be valid UTF-8
// without control characters; anything else reports false.
func DecodeTokenString(ret []byte) (string, bool) {
	if len(ret) == wordLen {
		s := string(bytes.TrimRight(ret, "\x00"))
		if s == "" || !printable(s) {
			return "", false
		}
		return s, true
	}
	off, ok := abiWord(ret, 0)
	if !ok || off > uint64(len(ret)) || len(ret)-int(off) < wordLen {
		return "", false
	}
	n, ok := abiWord(ret, off)
	if !ok || n > maxTokenString || uint64(len(ret))-off-wordLen < n {
		return "", false
	}
	s := string(ret[off+wordLen : off+wordLen+n])
	if !printable(s) {
		return "", false
	}
	return s, true
}

// DecodeTokenDecimals decodes the return of decimals(): one ABI word
// holding a value of at most 255 (some tokens declare uint256).
func DecodeTokenDecimals(ret []byte) (uint8, bool) {
	if len(ret) < wordLen {
		return 0, false
	}
	v := new(big.Int).SetBytes(ret[:wordLen])
	if !v.IsUint64() || v.Uint64() > 255 {
		return 0, false
	}
	return uint8(v.Uint64()), true
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
