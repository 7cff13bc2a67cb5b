package etl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/chaintrace/chaintrace/internal/eth"
)

// errReverted is what Call answers for a token or method the tokens file
// does not know, worded as a node words a reverted eth_call so that
// eth.FetchTokenMeta leaves the field unset instead of failing.
var errReverted = errors.New("execution reverted: not in the export's tokens file")

// tokenRow reads one tokens row (ethereum-etl's export_tokens layout:
// address, symbol, name, decimals, total_supply, block_number). A later
// row for the same address replaces an earlier one.
func (l *loader) tokenRow(r *row) error {
	a := r.addr("address", true)
	var m eth.TokenMeta
	if s := r.str("symbol", false); s != "" {
		m.Symbol, m.HasSymbol = s, true
	}
	if s := r.str("name", false); s != "" {
		m.Name, m.HasName = s, true
	}
	if r.has("decimals") {
		d := r.u64("decimals", false)
		if d > 255 && r.err == nil {
			r.fail("decimals", fmt.Errorf("%d is over 255", d))
		}
		m.Decimals, m.HasDecimals = uint8(d), true
	}
	if r.err != nil {
		return r.err
	}
	l.tokens[*a] = m
	return nil
}

// HasTokens reports whether the export had a tokens file, so that the
// importer knows whether asking Source for token metadata is worthwhile.
func (s *Source) HasTokens() bool { return s.tokens != nil }

// TokenMeta returns what the tokens file says about token.
func (s *Source) TokenMeta(token common.Address) (eth.TokenMeta, bool) {
	m, ok := s.tokens[token]
	return m, ok
}

// Call answers the eth_call requests of eth.FetchTokenMeta (symbol(),
// name() and decimals() of a token) from the export's tokens file, so
// that ingest.FillTokenMeta gives an imported store the tokens' symbols
// and decimals as it does over JSON-RPC. A token or field the file lacks
// answers as a reverted call (the field stays unset); any other request
// is an error.
func (s *Source) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if method != "eth_call" || len(params) == 0 {
		return nil, fmt.Errorf("etl: an export answers eth_call of token metadata only, not %s", method)
	}
	msg, ok := params[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("etl: eth_call: call object of type %T", params[0])
	}
	to, err1 := anyAddress(msg["to"])
	data, err2 := anyBytes(msg["data"])
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("etl: eth_call: %w", err)
	}
	m, ok := s.tokens[to]
	if !ok || len(data) != 4 {
		return nil, errReverted
	}
	var ret []byte
	switch hexutil.Encode(data) {
	case "0x95d89b41": // symbol()
		if !m.HasSymbol {
			return nil, errReverted
		}
		ret = abiString(m.Symbol)
	case "0x06fdde03": // name()
		if !m.HasName {
			return nil, errReverted
		}
		ret = abiString(m.Name)
	case "0x313ce567": // decimals()
		if !m.HasDecimals {
			return nil, errReverted
		}
		ret = common.BigToHash(big.NewInt(int64(m.Decimals))).Bytes()
	default:
		return nil, errReverted
	}
	return json.Marshal(hexutil.Bytes(ret))
}

// abiString encodes s as an ABI-encoded dynamic string return value.
func abiString(s string) []byte {
	n := (len(s) + 31) / 32 * 32
	b := make([]byte, 64+n)
	b[31] = 32
	copy(b[32:64], common.BigToHash(big.NewInt(int64(len(s)))).Bytes())
	copy(b[64:], s)
	return b
}

func anyAddress(v any) (common.Address, error) {
	switch a := v.(type) {
	case common.Address:
		return a, nil
	case *common.Address:
		if a != nil {
			return *a, nil
		}
	case string:
		if common.IsHexAddress(a) {
			return common.HexToAddress(a), nil
		}
	}
	return common.Address{}, fmt.Errorf("bad to %v", v)
}

func anyBytes(v any) ([]byte, error) {
	switch b := v.(type) {
	case hexutil.Bytes:
		return b, nil
	case []byte:
		return b, nil
	case string:
		if strings.HasPrefix(b, "0x") {
			return hexutil.Decode(b)
		}
	}
	return nil, fmt.Errorf("bad data %v", v)
}
