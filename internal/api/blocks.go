package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/query"
)

// ChainBlock answers GET /api/v1/chains/{chain}/blocks/{ref}: a block
// and a page of its transaction ids. Size and weight are a UTXO block's;
// miner, gas, base fee and withdrawals an account chain's.
type ChainBlock struct {
	Chain         string    `json:"chain"`
	Height        uint64    `json:"height"`
	Hash          string    `json:"hash"`
	Prev          string    `json:"prev"`
	Time          time.Time `json:"time"`
	Confirmations uint64    `json:"confirmations"`
	TxCount       int       `json:"tx_count"`
	Size          int       `json:"size,omitempty"`
	Weight        int       `json:"weight,omitempty"`
	Miner         string    `json:"miner,omitempty"`
	GasUsed       uint64    `json:"gas_used,omitempty"`
	BaseFee       string    `json:"base_fee,omitempty"`
	Withdrawals   int       `json:"withdrawals,omitempty"`
	// Txs are the ids of the block's transactions from the cursor on, in
	// block order; NextCursor fetches the next page, absent on the last.
	Txs        []string `json:"txs"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// handleBlock serves GET /api/v1/chains/{chain}/blocks/{ref}.
func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "cursor", "limit"); p != nil {
		writeProblem(w, p)
		return
	}
	id, c, ok := s.chain(w, r)
	if !ok {
		return
	}
	limit, p := limitParam(r, DefaultBlockTxs, MaxBlockTxs)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	ref := r.PathValue("ref")
	var b ChainBlock
	var tip uint64
	var txNumMin uint64
	var page func(from int) ([]string, error)
	if c.BTC != nil {
		blk, err := c.BTC.Block(ctx, ref)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "block", ref))
			return
		}
		t, _, err := c.BTC.Tip(ctx)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "", ""))
			return
		}
		tip, txNumMin = t.Height, blk.TxNumMin
		b = ChainBlock{Height: blk.Height, Hash: blk.Hash, Prev: blk.Prev, Time: blk.Time, TxCount: blk.TxCount, Size: blk.Size, Weight: blk.Weight}
		page = func(from int) ([]string, error) { return c.BTC.BlockTxIDsPage(ctx, blk, from, limit) }
	} else {
		blk, err := c.ETH.Block(ctx, ref)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "block", ref))
			return
		}
		t, _, err := c.ETH.Tip(ctx)
		if err != nil {
			writeProblem(w, s.chainProblem(r, err, "", ""))
			return
		}
		tip, txNumMin = t.Height, blk.TxNumMin
		b = ChainBlock{Height: blk.Height, Hash: blk.Hash, Prev: blk.Parent, Time: blk.Time, TxCount: blk.TxCount,
			Miner: blk.Miner, GasUsed: blk.GasUsed, Withdrawals: blk.Withdrawals}
		if !blk.BaseFee.IsZero() {
			b.BaseFee = blk.BaseFee.String()
		}
		page = func(from int) ([]string, error) { return c.ETH.BlockTxHashes(ctx, blk, from, limit) }
	}
	// A block's cursor is tied to the block's first transaction ordinal:
	// a reorganisation that replaces the block invalidates it.
	scope := id + "/blocks/" + strconv.FormatUint(txNumMin, 10)
	from, p := cursorParam(r, scope)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if from > uint64(b.TxCount) {
		writeProblem(w, newProblem(r, probUnknownCursor, "the cursor points past the block's last transaction"))
		return
	}
	txs, err := page(int(from))
	if err != nil {
		writeProblem(w, s.chainProblem(r, err, "", ""))
		return
	}
	b.Chain, b.Txs, b.Confirmations = id, txs, confirmations(b.Height, tip)
	if next := int(from) + len(txs); next < b.TxCount {
		b.NextCursor = encodeCursor(scope, uint64(next))
	}
	writeFinal(w, r, &b, b.Confirmations >= Confirmations)
}

// ChainTx answers GET /api/v1/chains/{chain}/txs/{hash}. A UTXO
// transaction has inputs and outputs; an account chain's has its
// sender, recipient, status and transfers (native, token and internal).
// Every party carries its active labels.
type ChainTx struct {
	Chain         string   `json:"chain"`
	Kind          string   `json:"kind"`
	Hash          string   `json:"hash"`
	Block         BlockRef `json:"block"`
	Confirmations uint64   `json:"confirmations"`
	Index         int      `json:"index"`

	Coinbase bool       `json:"coinbase,omitempty"`
	Size     int        `json:"size,omitempty"`
	VSize    int        `json:"vsize,omitempty"`
	Fee      *int64     `json:"fee,omitempty"`
	Inputs   []TxInput  `json:"inputs,omitempty"`
	Outputs  []TxOutput `json:"outputs,omitempty"`

	From       string         `json:"from,omitempty"`
	FromLabels []labels.Label `json:"from_labels,omitempty"`
	To         string         `json:"to,omitempty"`
	ToLabels   []labels.Label `json:"to_labels,omitempty"`
	Created    string         `json:"created,omitempty"`
	Value      string         `json:"value,omitempty"`
	Status     string         `json:"status,omitempty"`
	GasUsed    uint64         `json:"gas_used,omitempty"`
	Transfers  []TxTransfer   `json:"transfers,omitempty"`
}

// TxInput is an input of a UTXO transaction: the output it spends, with
// that output's value and address when the store has them (an external
// input spends an output from before the store's first block).
type TxInput struct {
	Index    uint32         `json:"index"`
	Coinbase bool           `json:"coinbase,omitempty"`
	PrevTx   string         `json:"prev_tx,omitempty"`
	PrevOut  *uint32        `json:"prev_out,omitempty"`
	Value    *int64         `json:"value,omitempty"`
	Address  string         `json:"address,omitempty"`
	External bool           `json:"external,omitempty"`
	Labels   []labels.Label `json:"labels,omitempty"`
}

// TxOutput is an output of a UTXO transaction, in satoshi, and the
// input that spent it.
type TxOutput struct {
	Index   uint32         `json:"index"`
	Value   int64          `json:"value"`
	Script  string         `json:"script"`
	Address string         `json:"address,omitempty"`
	SpentBy *TxSpend       `json:"spent_by,omitempty"`
	Labels  []labels.Label `json:"labels,omitempty"`
}

// TxSpend is the input that spent an output.
type TxSpend struct {
	Tx     string `json:"tx"`
	Input  uint32 `json:"input"`
	Height uint64 `json:"height"`
}

// TxTransfer is one value movement of an account-chain transaction.
type TxTransfer struct {
	Kind       string         `json:"kind"`
	From       string         `json:"from"`
	FromLabels []labels.Label `json:"from_labels,omitempty"`
	To         string         `json:"to"`
	ToLabels   []labels.Label `json:"to_labels,omitempty"`
	Asset      Asset          `json:"asset"`
	Amount     string         `json:"amount"`
	Display    string         `json:"display,omitempty"`
	TokenID    string         `json:"token_id,omitempty"`
	LogIndex   *int32         `json:"log_index,omitempty"`
}

// handleTx serves GET /api/v1/chains/{chain}/txs/{hash}.
func (s *Server) handleTx(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r); p != nil {
		writeProblem(w, p)
		return
	}
	id, c, ok := s.chain(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	hash := r.PathValue("hash")
	var resp ChainTx
	var err error
	if c.BTC != nil {
		resp, err = s.btcTx(ctx, id, c.BTC, hash)
	} else {
		resp, err = s.ethTx(ctx, id, c.ETH, hash)
	}
	if err != nil {
		writeProblem(w, s.chainProblem(r, err, "tx", hash))
		return
	}
	writeFinal(w, r, &resp, resp.Confirmations >= Confirmations)
}

// btcTx describes a Bitcoin transaction.
func (s *Server) btcTx(ctx context.Context, id string, q BTCChain, txid string) (ChainTx, error) {
	tx, err := q.Tx(ctx, txid)
	if err != nil {
		return ChainTx{}, err
	}
	tip, _, err := q.Tip(ctx)
	if err != nil {
		return ChainTx{}, err
	}
	resp := ChainTx{Chain: id, Kind: "utxo", Hash: tx.TxID, Block: BlockRef{Height: tx.Height, Hash: tx.BlockHash, Time: tx.Time},
		Confirmations: confirmations(tx.Height, tip.Height), Index: tx.Index, Coinbase: tx.Coinbase, Size: tx.Size, VSize: tx.VSize,
		Inputs: []TxInput{}, Outputs: []TxOutput{}}
	if tx.FeeKnown {
		fee := tx.Fee
		resp.Fee = &fee
	}
	for _, in := range tx.Inputs {
		ti := TxInput{Index: in.Index, Coinbase: in.Coinbase, External: in.External}
		if !in.Coinbase {
			prevOut := in.PrevOut
			ti.PrevTx, ti.PrevOut = in.PrevTxID, &prevOut
		}
		if !in.Coinbase && !in.External {
			v := in.Value
			ti.Value, ti.Address, ti.Labels = &v, in.Address, s.partyLabels(id, in.Address)
		}
		resp.Inputs = append(resp.Inputs, ti)
	}
	for _, o := range tx.Outputs {
		to := TxOutput{Index: o.Index, Value: o.Value, Script: o.Script.String(), Address: o.Address, Labels: s.partyLabels(id, o.Address)}
		if o.Spent != nil {
			to.SpentBy = &TxSpend{Tx: o.Spent.TxID, Input: o.Spent.Input, Height: o.Spent.Height}
		}
		resp.Outputs = append(resp.Outputs, to)
	}
	return resp, nil
}

// ethTx describes an account-chain transaction.
func (s *Server) ethTx(ctx context.Context, id string, q ETHChain, hash string) (ChainTx, error) {
	tx, err := q.Tx(ctx, hash)
	if err != nil {
		return ChainTx{}, err
	}
	tip, _, err := q.Tip(ctx)
	if err != nil {
		return ChainTx{}, err
	}
	resp := ChainTx{Chain: id, Kind: "account", Hash: tx.Hash, Block: BlockRef{Height: tx.Block, Hash: tx.BlockHash, Time: tx.Time},
		Confirmations: confirmations(tx.Block, tip.Height), Index: int(tx.Index),
		From: tx.From, FromLabels: s.partyLabels(id, tx.From), To: tx.To, ToLabels: s.partyLabels(id, tx.To), Created: tx.Created,
		Value: tx.Value, Status: tx.Status, GasUsed: tx.GasUsed, Transfers: []TxTransfer{}}
	for _, tr := range tx.Transfers {
		t := TxTransfer{Kind: tr.Kind, From: tr.From, FromLabels: s.partyLabels(id, tr.From), To: tr.To, ToLabels: s.partyLabels(id, tr.To),
			Amount: tr.Amount, Display: tr.Display, TokenID: tr.TokenID}
		if tr.LogIndex >= 0 {
			li := tr.LogIndex
			t.LogIndex = &li
		}
		if tr.Token == "" {
			t.Asset = nativeAsset()
		} else {
			t.Asset = Asset{Token: tr.Token, Symbol: tr.Symbol, Name: tr.TokenName, Decimals: tr.Decimals}
		}
		resp.Transfers = append(resp.Transfers, t)
	}
	return resp, nil
}

// nativeAsset is an EVM chain's coin, which chaintrace shows as ETH with
// 18 decimals on every EVM store.
func nativeAsset() Asset {
	d := uint8(18)
	return Asset{Symbol: "ETH", Decimals: &d}
}

// btcAsset is Bitcoin's coin.
func btcAsset() Asset {
	d := uint8(8)
	return Asset{Symbol: "BTC", Decimals: &d}
}

// assetOf describes the asset of a neighbour's value.
func assetOf(v query.AssetValue) Asset {
	a := Asset{Token: v.Token, Symbol: v.Symbol}
	if v.HasDecimals {
		d := v.Decimals
		a.Decimals = &d
	}
	return a
}
