// Package etl reads the exports of ethereum-etl (blocks, transactions,
// receipts, logs, token_transfers, traces and tokens, as CSV or
// newline-delimited JSON) and rebuilds decoded eth.Block values from them,
// so that they go through the same extraction and ingest as blocks fetched
// over JSON-RPC. The tokens file is served as the answers of the ERC-20
// metadata calls (Source.Call), for ingest.FillTokenMeta.
//
// ethereum-etl does not export signatures, so transactions are rebuilt from
// their fields (types.NewTx without a signature); Tx.Hash and Tx.From come
// from the export. Open loads and indexes every file in memory: memory is
// proportional to the export, which suits exports of up to some millions
// of rows; larger ranges should be split into several directories.
package etl

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/eth/rpc"
	"github.com/chaintrace/chaintrace/internal/model"
)

// transferTopic is keccak256("Transfer(address,address,uint256)").
var transferTopic = common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")

// Source is a loaded ethereum-etl export: one chain of consecutive blocks,
// and the token metadata of its tokens file if it had one.
type Source struct {
	blocks []*eth.Block // consecutive heights from first
	first  uint64
	tokens map[common.Address]eth.TokenMeta // nil without a tokens file
}

// loader holds the state of Open.
type loader struct {
	dir    string
	log    *slog.Logger
	byNum  map[uint64]*eth.Block
	txLoc  map[common.Hash]*eth.Tx
	txNum  map[common.Hash]uint64
	txRows map[uint64]map[int]*eth.Tx // block -> index -> tx, before ordering
	tokens map[common.Address]eth.TokenMeta
}

// Options tune Open; the zero value is usable.
type Options struct {
	// Logger receives notes on absent files; nil discards them.
	Logger *slog.Logger
}

// find returns the path of export name in dir (.csv or .json), or "".
func (l *loader) find(name string) (string, error) {
	var found []string
	for _, ext := range []string{".csv", ".json"} {
		p := filepath.Join(l.dir, name+ext)
		if _, err := os.Stat(p); err == nil {
			found = append(found, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("etl: %s has both %s.csv and %s.json", l.dir, name, name)
}

// Open reads the export in dir. blocks is required; every other file is
// optional and its absence is logged with what it costs. Errors name the
// file and line at fault.
func Open(dir string, opts ...Options) (*Source, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &loader{dir: dir, log: log, byNum: map[uint64]*eth.Block{}, txLoc: map[common.Hash]*eth.Tx{}, txNum: map[common.Hash]uint64{},
		txRows: map[uint64]map[int]*eth.Tx{}}
	paths := map[string]string{}
	for _, name := range []string{"blocks", "transactions", "receipts", "logs", "token_transfers", "traces", "tokens"} {
		p, err := l.find(name)
		if err != nil {
			return nil, err
		}
		paths[name] = p
	}
	if paths["blocks"] == "" {
		return nil, fmt.Errorf("etl: %s has no blocks.csv or blocks.json", dir)
	}
	read := func(name string, fn func(*row) error) error {
		p := paths[name]
		return forEachRow(p, filepath.Base(p), fn)
	}
	if err := read("blocks", l.block); err != nil {
		return nil, err
	}
	if paths["transactions"] == "" {
		log.Warn("etl: no transactions file: blocks are imported without transactions", "dir", dir)
	} else if err := read("transactions", l.tx); err != nil {
		return nil, err
	}
	if err := l.orderTxs(filepath.Base(paths["transactions"])); err != nil {
		return nil, err
	}
	if paths["receipts"] != "" {
		if err := read("receipts", l.receipt); err != nil {
			return nil, err
		}
	} else {
		log.Info("etl: no receipts file: statuses, gas and fees come from the transactions' receipt_* columns where present", "dir", dir)
	}
	switch {
	case paths["logs"] != "":
		if err := read("logs", l.logRow); err != nil {
			return nil, err
		}
		if paths["token_transfers"] != "" {
			log.Info("etl: token_transfers ignored: token transfers are derived from logs", "dir", dir)
		}
	case paths["token_transfers"] != "":
		log.Warn("etl: no logs file: ERC-20/721 transfers rebuilt from token_transfers (ERC-1155 and other events are unknown)", "dir", dir)
		if err := read("token_transfers", l.tokenTransfer); err != nil {
			return nil, err
		}
	default:
		log.Warn("etl: no logs or token_transfers file: token transfers are unknown", "dir", dir)
	}
	if paths["traces"] != "" {
		if err := read("traces", l.trace); err != nil {
			return nil, err
		}
		for _, b := range l.byNum {
			b.Trace = eth.TraceParity
			for i := range b.Txs {
				finishTraces(&b.Txs[i])
			}
		}
	} else {
		log.Info("etl: no traces file: internal transfers are unknown", "dir", dir)
	}
	if paths["tokens"] != "" {
		l.tokens = map[common.Address]eth.TokenMeta{}
		if err := read("tokens", l.tokenRow); err != nil {
			return nil, err
		}
	} else {
		log.Info("etl: no tokens file: token symbols and decimals are unknown", "dir", dir)
	}
	for _, b := range l.byNum {
		for i := range b.Txs {
			if r := b.Txs[i].Receipt; r != nil {
				slices.SortStableFunc(r.Logs, func(a, b *types.Log) int { return cmp.Compare(a.Index, b.Index) })
			}
		}
	}
	return l.source(filepath.Base(paths["blocks"]))
}

// block reads one blocks row.
func (l *loader) block(r *row) error {
	n := r.u64("number", true)
	h := &types.Header{
		Number:     new(big.Int).SetUint64(n),
		ParentHash: r.hash("parent_hash", true),
		GasLimit:   r.u64("gas_limit", false),
		GasUsed:    r.u64("gas_used", false),
		Time:       r.u64("timestamp", false),
		BaseFee:    r.big("base_fee_per_gas", false),
		Difficulty: r.big("difficulty", false),
		Extra:      r.bytes("extra_data"),
	}
	if a := r.addr("miner", false); a != nil {
		h.Coinbase = *a
	}
	if h.Difficulty == nil {
		h.Difficulty = new(big.Int)
	}
	b := &eth.Block{Header: h, Hash: r.hash("hash", true)}
	if r.has("withdrawals_root") || r.has("withdrawals") {
		h.WithdrawalsHash = new(common.Hash)
		*h.WithdrawalsHash = r.hash("withdrawals_root", false)
		b.Withdrawals = []*types.Withdrawal{}
		if s := r.str("withdrawals", false); s != "" && s != "[]" {
			if !strings.HasPrefix(s, "[") {
				s = "[" + s + "]"
			}
			var ws []struct {
				Index     json.Number    `json:"index"`
				Validator json.Number    `json:"validator_index"`
				Address   common.Address `json:"address"`
				Amount    json.Number    `json:"amount"`
			}
			if err := json.Unmarshal([]byte(s), &ws); err != nil {
				r.fail("withdrawals", err)
			}
			for _, w := range ws {
				idx, err1 := strconv.ParseUint(w.Index.String(), 10, 64)
				val, err2 := strconv.ParseUint(w.Validator.String(), 10, 64)
				amt, err3 := strconv.ParseUint(w.Amount.String(), 10, 64)
				if err := errors.Join(err1, err2, err3); err != nil {
					r.fail("withdrawals", err)
					break
				}
				b.Withdrawals = append(b.Withdrawals, &types.Withdrawal{Index: idx, Validator: val, Address: w.Address, Amount: amt})
			}
		}
	}
	if r.err != nil {
		return r.err
	}
	if _, dup := l.byNum[n]; dup {
		return r.where("block %d appears twice", n)
	}
	l.byNum[n] = b
	return nil
}

// blockOf returns the block named by column c of r.
func (l *loader) blockOf(r *row, c string) (*eth.Block, uint64, error) {
	n := r.u64(c, true)
	if r.err != nil {
		return nil, 0, r.err
	}
	b := l.byNum[n]
	if b == nil {
		return nil, 0, r.where("block %d is not in the blocks file", n)
	}
	if r.has("block_hash") && r.hash("block_hash", false) != b.Hash && r.err == nil {
		return nil, 0, r.where("block_hash %s, but block %d is %s", r.str("block_hash", false), n, b.Hash.Hex())
	}
	return b, n, r.err
}

// tx reads one transactions row.
func (l *loader) tx(r *row) error {
	_, n, err := l.blockOf(r, "block_number")
	if err != nil {
		return err
	}
	hash := r.hash("hash", true)
	idx := r.u64("transaction_index", true)
	from := r.addr("from_address", true)
	to := r.addr("to_address", false)
	value := r.big("value", false)
	if value == nil {
		value = new(big.Int)
	}
	gas := r.u64("gas", false)
	nonce := r.u64("nonce", false)
	input := r.bytes("input")
	gasPrice := r.big("gas_price", false)
	maxFee := r.big("max_fee_per_gas", false)
	maxTip := r.big("max_priority_fee_per_gas", false)
	typ := r.u64("transaction_type", false)
	if r.err != nil {
		return r.err
	}
	if idx > 1<<31 {
		return r.where("transaction_index %d out of range", idx)
	}
	var inner types.TxData
	switch {
	case typ >= 2 || maxFee != nil:
		if maxFee == nil {
			maxFee = gasPrice
		}
		if maxTip == nil {
			maxTip = new(big.Int)
		}
		inner = &types.DynamicFeeTx{Nonce: nonce, GasTipCap: maxTip, GasFeeCap: maxFee, Gas: gas, To: to, Value: value, Data: input}
	case typ == 1:
		inner = &types.AccessListTx{Nonce: nonce, GasPrice: gasPrice, Gas: gas, To: to, Value: value, Data: input}
	default:
		inner = &types.LegacyTx{Nonce: nonce, GasPrice: gasPrice, Gas: gas, To: to, Value: value, Data: input}
	}
	t := &eth.Tx{Hash: hash, From: *from, Tx: types.NewTx(inner)}
	if r.has("receipt_gas_used") || r.has("receipt_status") || r.has("receipt_cumulative_gas_used") {
		if err := fillReceipt(t, r, "receipt_", n); err != nil {
			return err
		}
	}
	if l.txLoc[hash] != nil {
		return r.where("transaction %s appears twice", hash.Hex())
	}
	m := l.txRows[n]
	if m == nil {
		m = map[int]*eth.Tx{}
		l.txRows[n] = m
	}
	if m[int(idx)] != nil {
		return r.where("block %d has two transactions at index %d", n, idx)
	}
	m[int(idx)] = t
	l.txLoc[hash] = t
	l.txNum[hash] = n
	return nil
}

// fillReceipt sets t's receipt from the columns of r with prefix p
// ("receipt_" in transactions, "" in receipts).
func fillReceipt(t *eth.Tx, r *row, p string, n uint64) error {
	rc := t.Receipt
	if rc == nil {
		rc = &types.Receipt{TxHash: t.Hash, BlockNumber: new(big.Int).SetUint64(n)}
	}
	rc.Type = t.Tx.Type()
	rc.CumulativeGasUsed = r.u64(p+"cumulative_gas_used", false)
	rc.GasUsed = r.u64(p+"gas_used", false)
	if a := r.addr(p+"contract_address", false); a != nil {
		rc.ContractAddress = *a
	}
	if r.has(p + "root") {
		rc.PostState = r.hash(p+"root", false).Bytes()
	}
	t.StatusKnown = r.has(p + "status")
	if t.StatusKnown {
		s := r.u64(p+"status", false)
		if s > 1 && r.err == nil {
			r.fail(p+"status", fmt.Errorf("status %d", s))
		}
		rc.Status = s
	}
	rc.EffectiveGasPrice = r.big(p+"effective_gas_price", false)
	rc.BlobGasUsed = r.u64(p+"blob_gas_used", false)
	rc.BlobGasPrice = r.big(p+"blob_gas_price", false)
	if r.err != nil {
		return r.err
	}
	t.Receipt = rc
	return nil
}

// orderTxs places the transactions of each block in index order and checks
// that the indexes are 0..n-1.
func (l *loader) orderTxs(file string) error {
	for n, m := range l.txRows {
		b := l.byNum[n]
		b.Txs = make([]eth.Tx, len(m))
		for i := range b.Txs {
			t := m[i]
			if t == nil {
				return fmt.Errorf("%s: block %d has %d transactions but none at index %d", file, n, len(m), i)
			}
			b.Txs[i] = *t
		}
	}
	// Re-point txLoc at the block's own copies.
	for _, b := range l.byNum {
		for i := range b.Txs {
			l.txLoc[b.Txs[i].Hash] = &b.Txs[i]
		}
	}
	l.txRows = nil
	return nil
}

// txOf returns the transaction named by r's transaction_hash, checking its
// block.
func (l *loader) txOf(r *row) (*eth.Tx, uint64, error) {
	_, n, err := l.blockOf(r, "block_number")
	if err != nil {
		return nil, 0, err
	}
	h := r.hash("transaction_hash", true)
	if r.err != nil {
		return nil, 0, r.err
	}
	t := l.txLoc[h]
	if t == nil || l.txNum[h] != n {
		return nil, 0, r.where("transaction %s is not in block %d of the transactions file", h.Hex(), n)
	}
	return t, n, nil
}

// receipt reads one receipts row.
func (l *loader) receipt(r *row) error {
	t, n, err := l.txOf(r)
	if err != nil {
		return err
	}
	return fillReceipt(t, r, "", n)
}

// ensureReceipt gives t a receipt to hang logs on when the export has no
// receipt fields (status then stays unknown).
func ensureReceipt(t *eth.Tx, n uint64) *types.Receipt {
	if t.Receipt == nil {
		t.Receipt = &types.Receipt{Type: t.Tx.Type(), TxHash: t.Hash, BlockNumber: new(big.Int).SetUint64(n)}
	}
	return t.Receipt
}

// logRow reads one logs row.
func (l *loader) logRow(r *row) error {
	t, n, err := l.txOf(r)
	if err != nil {
		return err
	}
	lg := &types.Log{
		Address:     derefAddr(r.addr("address", true)),
		Data:        r.bytes("data"),
		BlockNumber: n,
		TxHash:      t.Hash,
		TxIndex:     uint(r.u64("transaction_index", false)),
		Index:       uint(r.u64("log_index", true)),
		BlockHash:   r.hash("block_hash", false),
	}
	for _, s := range r.list("topics") {
		b, err := hexDecode32(s)
		if err != nil {
			r.fail("topics", err)
			break
		}
		lg.Topics = append(lg.Topics, b)
	}
	if r.err != nil {
		return r.err
	}
	rc := ensureReceipt(t, n)
	rc.Logs = append(rc.Logs, lg)
	return nil
}

// tokenTransfer rebuilds a Transfer log from one token_transfers row.
func (l *loader) tokenTransfer(r *row) error {
	t, n, err := l.txOf(r)
	if err != nil {
		return err
	}
	v := r.big("value", true)
	lg := &types.Log{
		Address:     derefAddr(r.addr("token_address", true)),
		BlockNumber: n,
		TxHash:      t.Hash,
		Index:       uint(r.u64("log_index", true)),
		Topics: []common.Hash{transferTopic,
			common.BytesToHash(derefAddr(r.addr("from_address", true)).Bytes()),
			common.BytesToHash(derefAddr(r.addr("to_address", true)).Bytes())},
	}
	if r.err != nil {
		return r.err
	}
	if v.BitLen() > 256 {
		return r.where("value %s overflows 256 bits", v)
	}
	lg.Data = common.BigToHash(v).Bytes()
	rc := ensureReceipt(t, n)
	rc.Logs = append(rc.Logs, lg)
	return nil
}

// trace reads one traces row. Rows without a transaction (block and
// uncle rewards, genesis allocations) are not transfers of a transaction
// and are skipped, as the JSON-RPC path skips them.
func (l *loader) trace(r *row) error {
	if !r.has("transaction_hash") {
		if _, _, err := l.blockOf(r, "block_number"); err != nil {
			return err
		}
		return nil
	}
	t, _, err := l.txOf(r)
	if err != nil {
		return err
	}
	tr := eth.Trace{
		Type:      r.str("trace_type", true),
		CallType:  r.str("call_type", false),
		From:      derefAddr(r.addr("from_address", false)),
		To:        derefAddr(r.addr("to_address", false)),
		Gas:       r.u64("gas", false),
		GasUsed:   r.u64("gas_used", false),
		Error:     r.str("error", false),
		Subtraces: int(r.u64("subtraces", false)),
	}
	if v := r.big("value", false); v != nil {
		if v.BitLen() > 256 {
			r.fail("value", fmt.Errorf("%s overflows 256 bits", v))
		} else {
			b := common.BigToHash(v)
			tr.Value = model.AmountFromBytes(b[:])
		}
	}
	tr.TraceAddress = []int{}
	for _, s := range r.list("trace_address") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k < 0 {
			r.fail("trace_address", fmt.Errorf("bad element %q", s))
			break
		}
		tr.TraceAddress = append(tr.TraceAddress, k)
	}
	if r.has("status") && r.u64("status", false) == 0 {
		tr.Failed = true
	}
	if tr.Error != "" {
		tr.Failed = true
	}
	if r.err != nil {
		return r.err
	}
	switch tr.Type {
	case eth.TraceTypeCall, eth.TraceTypeCreate, eth.TraceTypeSuicide:
	default:
		return nil
	}
	t.Traces = append(t.Traces, tr)
	return nil
}

// finishTraces sorts t's traces depth-first and marks the frames beneath a
// failed frame failed too.
func finishTraces(t *eth.Tx) {
	slices.SortStableFunc(t.Traces, func(a, b eth.Trace) int { return slices.Compare(a.TraceAddress, b.TraceAddress) })
	var failed [][]int
	for i := range t.Traces {
		tc := &t.Traces[i]
		for _, f := range failed {
			if len(f) < len(tc.TraceAddress) && slices.Equal(f, tc.TraceAddress[:len(f)]) {
				tc.Failed = true
				break
			}
		}
		if tc.Failed {
			failed = append(failed, tc.TraceAddress)
		}
	}
}

// source checks that the blocks are consecutive and linked and builds the
// Source.
func (l *loader) source(file string) (*Source, error) {
	if len(l.byNum) == 0 {
		return nil, fmt.Errorf("etl: %s holds no blocks", file)
	}
	nums := make([]uint64, 0, len(l.byNum))
	for n := range l.byNum {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	s := &Source{first: nums[0], blocks: make([]*eth.Block, len(nums)), tokens: l.tokens}
	for i, n := range nums {
		b := l.byNum[n]
		if i > 0 {
			if n != nums[i-1]+1 {
				return nil, fmt.Errorf("etl: %s: blocks %d to %d are missing", file, nums[i-1]+1, n-1)
			}
			if prev := s.blocks[i-1]; b.Header.ParentHash != prev.Hash {
				return nil, fmt.Errorf("etl: %s: block %d has parent %s but block %d is %s", file, n, b.Header.ParentHash.Hex(), n-1, prev.Hash.Hex())
			}
		}
		s.blocks[i] = b
	}
	return s, nil
}

func derefAddr(a *common.Address) common.Address {
	if a == nil {
		return common.Address{}
	}
	return *a
}

func hexDecode32(s string) (common.Hash, error) {
	s = strings.TrimSpace(s)
	if len(s) != 66 || !strings.HasPrefix(s, "0x") {
		return common.Hash{}, fmt.Errorf("bad topic %q", s)
	}
	var h common.Hash
	if err := h.UnmarshalText([]byte(s)); err != nil {
		return common.Hash{}, fmt.Errorf("bad topic %q", s)
	}
	return h, nil
}

// First returns the lowest block height of the export.
func (s *Source) First() uint64 { return s.first }

// Tip returns the highest block of the export and its hash.
func (s *Source) Tip(ctx context.Context) (uint64, string, error) {
	b := s.blocks[len(s.blocks)-1]
	return b.Number(), b.Hash.Hex(), nil
}

// HashAt returns the hash of the block at height; outside the export the
// error wraps rpc.ErrNotFound.
func (s *Source) HashAt(ctx context.Context, height uint64) (string, error) {
	b, err := s.at(height)
	if err != nil {
		return "", err
	}
	return b.Hash.Hex(), nil
}

func (s *Source) at(h uint64) (*eth.Block, error) {
	if h < s.first || h-s.first >= uint64(len(s.blocks)) {
		return nil, fmt.Errorf("etl: block %d is outside the export (%d to %d): %w", h, s.first, s.first+uint64(len(s.blocks))-1, rpc.ErrNotFound)
	}
	return s.blocks[h-s.first], nil
}

// Blocks calls fn with the blocks from..to in height order. The blocks are
// shared and must not be modified.
func (s *Source) Blocks(ctx context.Context, from, to uint64, fn func(*eth.Block) error) error {
	for h := from; h <= to; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := s.at(h)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		if h == to {
			break
		}
	}
	return nil
}

// DecodedBlocks is Blocks, for ingest.EthDecodedSource.
func (s *Source) DecodedBlocks(ctx context.Context, from, to uint64, fn func(*eth.Block) error) error {
	return s.Blocks(ctx, from, to, fn)
}
