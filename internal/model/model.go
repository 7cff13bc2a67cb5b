// Package model holds the chain-neutral vocabulary every other chaintrace
// package speaks: chains, assets, blocks, transactions, addresses and value
// transfers. It has no dependencies on chain decoders or storage so that both
// UTXO chains (Bitcoin) and account chains (Ethereum and EVM) map onto it.
package model

import (
	"fmt"
	"time"
)

// Kind says how a chain moves value.
type Kind uint8

const (
	// UTXO chains move value by spending earlier outputs (Bitcoin).
	UTXO Kind = 1
	// Account chains move value between balances (Ethereum and EVM chains).
	Account Kind = 2
)

// String returns the lower-case name of the kind.
func (k Kind) String() string {
	switch k {
	case UTXO:
		return "utxo"
	case Account:
		return "account"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Chain identifies one ledger. ID is the stable short name used on the
// command line, in store paths and in API URLs ("btc", "btc-testnet",
// "eth", ...).
type Chain struct {
	ID      string
	Name    string
	Kind    Kind
	Network string // mainnet, testnet3, signet, regtest, simnet, sepolia, ...
	Native  Asset  // the chain's own coin
}

// Asset is something of value moved on a chain: the native coin or a token.
// Decimals only matter for display; amounts are always exact integers of the
// smallest unit.
type Asset struct {
	Chain    string
	Symbol   string
	Decimals uint8
	// Contract is empty for the native coin and the token contract otherwise.
	Contract string
}

// Block is a chain-neutral block summary.
type Block struct {
	Chain    string
	Height   uint64
	Hash     string
	Prev     string
	Time     time.Time
	TxCount  int
	Size     int
	Weight   int
	TxNumMin uint64 // store ordinal of the first transaction of the block
}

// Output is one UTXO output: value locked to an address (or to none, for
// OP_RETURN) and, once spent, the input that spends it.
type Output struct {
	Index   uint32
	Value   int64 // satoshi
	Address string
	Script  ScriptClass
	Spent   *Spend
}

// Spend names the input that spends an output.
type Spend struct {
	TxID  string
	Input uint32
	// Height is the height of the block of the spending transaction.
	Height uint64
}

// Input is one UTXO input: the outpoint it spends and, resolved from the
// store, the value and address of that outpoint. Coinbase inputs have
// Coinbase set and no outpoint. External inputs spend an output from
// before the block the store starts at, whose value and address are
// unknown.
type Input struct {
	Index    uint32
	PrevTxID string
	PrevOut  uint32
	Value    int64
	Address  string
	Coinbase bool
	External bool
}

// Tx is a chain-neutral transaction.
type Tx struct {
	Chain     string
	TxID      string
	Height    uint64
	BlockHash string
	Index     int // position in its block
	Time      time.Time
	Inputs    []Input
	Outputs   []Output
	Fee       int64
	FeeKnown  bool // false when an input's value is unknown
	Size      int
	VSize     int
	Coinbase  bool
	Transfers []Transfer // account chains
}

// Transfer is one movement of an asset between two accounts on an account
// chain, or an aggregated address-to-address flow derived from a UTXO
// transaction.
type Transfer struct {
	TxID   string
	Index  int
	From   string
	To     string
	Asset  Asset
	Amount Amount
}

// ScriptClass is the standard form of a Bitcoin output script.
type ScriptClass uint8

// Script classes. The numeric values are stored on disk: append only.
const (
	ScriptNonStandard ScriptClass = iota
	ScriptP2PK
	ScriptP2PKH
	ScriptP2SH
	ScriptP2WPKH
	ScriptP2WSH
	ScriptP2TR
	ScriptMultisig
	ScriptNullData
	ScriptWitnessUnknown
)

var scriptClassNames = [...]string{
	ScriptNonStandard:    "nonstandard",
	ScriptP2PK:           "p2pk",
	ScriptP2PKH:          "p2pkh",
	ScriptP2SH:           "p2sh",
	ScriptP2WPKH:         "p2wpkh",
	ScriptP2WSH:          "p2wsh",
	ScriptP2TR:           "p2tr",
	ScriptMultisig:       "multisig",
	ScriptNullData:       "nulldata",
	ScriptWitnessUnknown: "witness_unknown",
}

// String returns the lower-case name of the class.
func (c ScriptClass) String() string {
	if int(c) < len(scriptClassNames) {
		return scriptClassNames[c]
	}
	return fmt.Sprintf("script(%d)", uint8(c))
}

// AddressSummary is the activity of one address over the indexed chain.
type AddressSummary struct {
	Chain         string
	Address       string
	Balance       int64
	TotalReceived int64
	TotalSent     int64
	TxCount       int
	Received      int // outputs received
	Spent         int // outputs spent
	FirstSeen     *BlockRef
	LastSeen      *BlockRef
}

// BlockRef points to a block by height, hash and time.
type BlockRef struct {
	Height uint64
	Hash   string
	Time   time.Time
}
