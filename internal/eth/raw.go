// Package eth decodes Ethereum and EVM JSON-RPC data (blocks with full
// transactions, receipts, call traces) and extracts every value transfer:
// native value of top-level calls, internal calls with value, contract
// creations, self-destruct payouts, ERC-20 and NFT token events, fees
// (burnt base fee and miner tip apart) and beacon-chain withdrawals.
package eth

import "encoding/json"

// TraceKind says which tracing API produced RawBlock.Traces.
type TraceKind string

const (
	// TraceNone: the node offered no tracing; internal transfers are
	// unknown for the block.
	TraceNone TraceKind = ""
	// TraceGethCall is debug_traceBlockByNumber with {"tracer":"callTracer"}:
	// an array of {"txHash"?, "result": frame} or of frames.
	TraceGethCall TraceKind = "geth-calltracer"
	// TraceParity is trace_block (Erigon, Nethermind, OpenEthereum): a flat
	// array of traces with traceAddress.
	TraceParity TraceKind = "parity"
)

// RawBlock is one block as a JSON-RPC source delivers it, undecoded: the
// result of eth_getBlockByNumber with full transactions, the receipts of
// its transactions in order (from eth_getBlockReceipts or one
// eth_getTransactionReceipt per transaction, assembled into a JSON array),
// and its traces. Sources own no part of it once delivered.
type RawBlock struct {
	Number   uint64          `json:"number"`
	Hash     string          `json:"hash"`
	Block    json.RawMessage `json:"block"`
	Receipts json.RawMessage `json:"receipts"`
	Traces   json.RawMessage `json:"traces,omitempty"`
	Trace    TraceKind       `json:"trace_kind,omitempty"`
}
