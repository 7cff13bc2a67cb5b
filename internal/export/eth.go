package export

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// ETHBlock is a row of an EVM chain's blocks table. BaseFeePerGas is null
// before London (the store keeps zero there).
type ETHBlock struct {
	BlockNumber      int64  `parquet:"block_number"`
	BlockHash        string `parquet:"block_hash"`
	ParentHash       string `parquet:"parent_hash"`
	Timestamp        int64  `parquet:"timestamp,timestamp(microsecond)"`
	Miner            string `parquet:"miner"`
	BaseFeePerGas    string `parquet:"base_fee_per_gas,optional"`
	GasUsed          int64  `parquet:"gas_used"`
	TransactionCount int64  `parquet:"transaction_count"`
	WithdrawalCount  int64  `parquet:"withdrawal_count"`
}

// ETHTransaction is a row of an EVM chain's transactions table.
// ReceiptStatus is 1 for success, 0 for failure and null for a
// pre-Byzantium receipt, which has none.
type ETHTransaction struct {
	BlockNumber      int64   `parquet:"block_number"`
	BlockHash        string  `parquet:"block_hash"`
	BlockTimestamp   int64   `parquet:"block_timestamp,timestamp(microsecond)"`
	TransactionIndex int32   `parquet:"transaction_index"`
	TransactionHash  string  `parquet:"transaction_hash"`
	FromAddress      string  `parquet:"from_address"`
	ToAddress        string  `parquet:"to_address,optional"`
	ContractAddress  string  `parquet:"contract_address,optional"`
	Value            string  `parquet:"value"`
	ValueF64         float64 `parquet:"value_f64"`
	ReceiptStatus    *int32  `parquet:"receipt_status,optional"`
	GasUsed          int64   `parquet:"gas_used"`
	TransferCount    int32   `parquet:"transfer_count"`
}

// ETHTransfer is a row of an EVM chain's transfers table: one value
// movement (native, internal, token, fee, withdrawal). Withdrawals have
// no transaction: their hash and index are null.
type ETHTransfer struct {
	BlockNumber      int64   `parquet:"block_number"`
	BlockTimestamp   int64   `parquet:"block_timestamp,timestamp(microsecond)"`
	TransactionHash  string  `parquet:"transaction_hash,optional"`
	TransactionIndex *int32  `parquet:"transaction_index,optional"`
	TransferIndex    int32   `parquet:"transfer_index"`
	Kind             string  `parquet:"kind,dict"`
	FromAddress      string  `parquet:"from_address"`
	ToAddress        string  `parquet:"to_address"`
	TokenAddress     string  `parquet:"token_address,optional"`
	Amount           string  `parquet:"amount"`
	AmountF64        float64 `parquet:"amount_f64"`
	TokenID          string  `parquet:"token_id,optional"`
	LogIndex         *int32  `parquet:"log_index,optional"`
	TraceAddress     string  `parquet:"trace_address,optional"`
}

// ETHToken is a row of an EVM chain's tokens table: every token contract
// the exported transfers move, with the metadata the store holds.
type ETHToken struct {
	TokenAddress string `parquet:"token_address"`
	Standard     string `parquet:"standard,optional"`
	Name         string `parquet:"name,optional"`
	Symbol       string `parquet:"symbol,optional"`
	Decimals     *int32 `parquet:"decimals,optional"`
}

var tokenStandards = map[uint8]string{store.TokenERC20: "erc20", store.TokenERC721: "erc721", store.TokenERC1155: "erc1155"}

// ethExport is the state of one EVM chain's export.
type ethExport struct {
	db    *store.DB
	chain string
	opts  *Options

	blocks    *table[ETHBlock]
	txs       *table[ETHTransaction]
	transfers *table[ETHTransfer]
	tokens    *table[ETHToken]

	addrs   *genCache[uint64, string]
	tokenID map[uint64]struct{}
	rec     store.EthTxRec
}

// ETH exports an EVM store as the blocks, transactions, transfers and
// tokens tables under dir, over the same range as BTC. The tokens table
// lists the token contracts of the exported transfers; their ids are the
// one thing held for the whole export (a few bytes per token).
func ETH(ctx context.Context, db *store.DB, chain, dir string, opts Options) ([]TableStats, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	x := &ethExport{db: db, chain: chain, opts: &opts, addrs: newGenCache[uint64, string](cacheEntries), tokenID: map[uint64]struct{}{}}
	stats := make([]TableStats, 4)
	for i := range stats {
		stats[i].Chain = chain
	}
	var err error
	if x.blocks, err = newTable[ETHBlock]("blocks", filepath.Join(dir, "blocks"), &opts, &stats[0]); err != nil {
		return nil, err
	}
	if x.txs, err = newTable[ETHTransaction]("transactions", filepath.Join(dir, "transactions"), &opts, &stats[1]); err != nil {
		return nil, err
	}
	if x.transfers, err = newTable[ETHTransfer]("transfers", filepath.Join(dir, "transfers"), &opts, &stats[2]); err != nil {
		return nil, err
	}
	if x.tokens, err = newTable[ETHToken]("tokens", filepath.Join(dir, "tokens"), &opts, &stats[3]); err != nil {
		return nil, err
	}
	err = x.run(ctx)
	if err == nil {
		err = x.writeTokens(ctx)
	}
	err = closeAll(err, x.blocks, x.txs, x.transfers, x.tokens)
	if err != nil {
		return stats, err
	}
	logTables(opts.Logger, stats)
	return stats, nil
}

func (x *ethExport) run(ctx context.Context) error {
	from, to, ok, err := storeRange(ctx, x.db, "eth-blocks", x.opts)
	if err != nil {
		return fmt.Errorf("export: %s: %w", x.chain, err)
	}
	if !ok {
		return nil
	}
	total := int64(to - from + 1)
	for h := from; h <= to; h++ {
		if err := x.block(ctx, h); err != nil {
			return fmt.Errorf("export: %s: block %d: %w", x.chain, h, err)
		}
		x.opts.progress(x.chain, int64(h-from+1), total)
	}
	return nil
}

func (x *ethExport) block(ctx context.Context, h uint64) error {
	b, err := x.db.EthBlockByHeight(ctx, h)
	if err != nil {
		return err
	}
	hash, ts := common.Hash(b.Hash).Hex(), micros(b.Time)
	row := ETHBlock{BlockNumber: int64(h), BlockHash: hash, ParentHash: common.Hash(b.Parent).Hex(), Timestamp: ts,
		Miner: common.Address(b.Miner).Hex(), GasUsed: int64(b.GasUsed), TransactionCount: int64(b.TxCount), WithdrawalCount: int64(b.Withdrawals)}
	if !b.BaseFee.IsZero() {
		row.BaseFeePerGas = b.BaseFee.String()
	}
	if err := x.blocks.add(row); err != nil {
		return err
	}
	for n := range b.TxNums() {
		if err := x.db.EthTx(ctx, b.TxNumMin+n, &x.rec); err != nil {
			return err
		}
		if err := x.tx(ctx, hash, ts, &x.rec); err != nil {
			return err
		}
	}
	return nil
}

func (x *ethExport) tx(ctx context.Context, blockHash string, ts int64, t *store.EthTxRec) error {
	var hash string
	var index *int32
	if t.Hash != ([32]byte{}) {
		hash, index = common.Hash(t.Hash).Hex(), ptr(int32(t.Index))
		row := ETHTransaction{BlockNumber: int64(t.Height), BlockHash: blockHash, BlockTimestamp: ts,
			TransactionIndex: int32(t.Index), TransactionHash: hash, Value: t.Value.String(), ValueF64: f64(t.Value),
			GasUsed: int64(t.GasUsed), TransferCount: int32(len(t.Transfers))}
		var err error
		if row.FromAddress, err = x.addr(ctx, t.From); err != nil {
			return err
		}
		if t.To != 0 {
			if row.ToAddress, err = x.addr(ctx, t.To); err != nil {
				return err
			}
		}
		if t.Created != 0 {
			if row.ContractAddress, err = x.addr(ctx, t.Created); err != nil {
				return err
			}
		}
		switch t.Status {
		case store.EthTxOK:
			row.ReceiptStatus = ptr(int32(1))
		case store.EthTxFailed:
			row.ReceiptStatus = ptr(int32(0))
		}
		if err := x.txs.add(row); err != nil {
			return err
		}
	}
	for i := range t.Transfers {
		tr := &t.Transfers[i]
		r := ETHTransfer{BlockNumber: int64(t.Height), BlockTimestamp: ts, TransactionHash: hash, TransactionIndex: index,
			TransferIndex: int32(i), Kind: eth.Kind(tr.Kind).String(), Amount: tr.Amount.String(), AmountF64: f64(tr.Amount)}
		var err error
		if r.FromAddress, err = x.addr(ctx, tr.From); err != nil {
			return err
		}
		if r.ToAddress, err = x.addr(ctx, tr.To); err != nil {
			return err
		}
		if tr.Token != 0 {
			if r.TokenAddress, err = x.addr(ctx, tr.Token); err != nil {
				return err
			}
			x.tokenID[tr.Token] = struct{}{}
		}
		if tr.TokenID != nil {
			r.TokenID = tr.TokenID.String()
		}
		if tr.LogIndex >= 0 {
			r.LogIndex = ptr(tr.LogIndex)
		}
		if len(tr.TraceAddress) > 0 {
			r.TraceAddress = traceAddress(tr.TraceAddress)
		}
		if err := x.transfers.add(r); err != nil {
			return err
		}
	}
	return nil
}

// writeTokens writes the tokens table in address-id order (the order the
// store first saw the contracts).
func (x *ethExport) writeTokens(ctx context.Context) error {
	ids := make([]uint64, 0, len(x.tokenID))
	for id := range x.tokenID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		a, err := x.addr(ctx, id)
		if err != nil {
			return fmt.Errorf("export: %s: token: %w", x.chain, err)
		}
		m, ok, err := x.db.Token(ctx, id)
		if err != nil {
			return fmt.Errorf("export: %s: token %s: %w", x.chain, a, err)
		}
		row := ETHToken{TokenAddress: a}
		if ok {
			row.Standard, row.Name, row.Symbol = tokenStandards[m.Standard], m.Name, m.Symbol
			if m.HasDecimals {
				row.Decimals = ptr(int32(m.Decimals))
			}
		}
		if err := x.tokens.add(row); err != nil {
			return err
		}
	}
	return nil
}

// addr returns an address id's EIP-55 string (the form the label
// database keeps EVM addresses in, so the two join); id 0 is the zero
// address.
func (x *ethExport) addr(ctx context.Context, id uint64) (string, error) {
	if s, ok := x.addrs.get(id); ok {
		return s, nil
	}
	s := common.Address{}.Hex()
	if id != 0 {
		k, err := x.db.AddrKey(ctx, id)
		if err != nil {
			return "", err
		}
		if len(k) != common.AddressLength {
			return "", fmt.Errorf("address #%d has a %d-byte key", id, len(k))
		}
		s = common.BytesToAddress(k).Hex()
	}
	x.addrs.put(id, s)
	return s, nil
}

// f64 is an amount as the nearest float64, for sums and charts where
// exactness does not matter.
func f64(a model.Amount) float64 {
	if v, ok := a.Uint64(); ok {
		return float64(v)
	}
	f, _ := strconv.ParseFloat(a.String(), 64)
	return f
}

// traceAddress formats a call-frame path as blockchain-etl does: the
// indexes joined by commas.
func traceAddress(path []uint32) string {
	var sb strings.Builder
	for i, p := range path {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatUint(uint64(p), 10))
	}
	return sb.String()
}
