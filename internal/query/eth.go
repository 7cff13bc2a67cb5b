package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// ETH reads one account-chain (Ethereum, EVM) store. It is safe for
// concurrent use.
type ETH struct {
	db store.AccountReader
}

// NewETH returns a reader over db.
func NewETH(db store.AccountReader) *ETH { return &ETH{db: db} }

// ETHTransfer is one value movement, with addresses resolved.
type ETHTransfer struct {
	Kind   string `json:"kind"`
	From   string `json:"from"`
	To     string `json:"to"`
	Token  string `json:"token,omitempty"` // empty for the native coin
	Symbol string `json:"symbol,omitempty"`
	// TokenName and Decimals are the token contract's, when the store
	// holds its metadata.
	TokenName string `json:"token_name,omitempty"`
	Decimals  *uint8 `json:"decimals,omitempty"`
	Amount    string `json:"amount"`            // exact integer of the smallest unit
	Display   string `json:"display,omitempty"` // with decimals, when known
	TokenID   string `json:"token_id,omitempty"`
	LogIndex  int32  `json:"log_index"`
}

// ETHTx is a transaction with its transfers.
type ETHTx struct {
	Hash      string        `json:"hash"`
	Block     uint64        `json:"block"`
	BlockHash string        `json:"block_hash"`
	Time      time.Time     `json:"time"`
	Index     uint32        `json:"index"`
	From      string        `json:"from"`
	To        string        `json:"to,omitempty"`
	Created   string        `json:"created,omitempty"`
	Value     string        `json:"value"`
	Status    string        `json:"status"`
	GasUsed   uint64        `json:"gas_used"`
	Transfers []ETHTransfer `json:"transfers"`
}

var statusNames = map[uint8]string{store.EthTxFailed: "failed", store.EthTxOK: "success", store.EthTxUnknown: "unknown"}

// names resolves address ids to EIP-55 strings, caching within one query.
type names struct {
	db    store.AccountReader
	cache map[uint64]string
}

func (n *names) get(ctx context.Context, id uint64) (string, error) {
	if id == 0 {
		return common.Address{}.Hex(), nil
	}
	if s, ok := n.cache[id]; ok {
		return s, nil
	}
	k, err := n.db.AddrKey(ctx, id)
	if err != nil {
		return "", err
	}
	if len(k) != common.AddressLength {
		return "", fmt.Errorf("query: address #%d has a %d-byte key", id, len(k))
	}
	s := common.BytesToAddress(k).Hex()
	n.cache[id] = s
	return s, nil
}

// Tx returns a transaction by hash.
func (q *ETH) Tx(ctx context.Context, hash string) (ETHTx, error) {
	if len(hash) != 66 || hash[:2] != "0x" || !isHex(hash[2:]) {
		return ETHTx{}, invalid(fmt.Errorf("query: %q is not a 0x-prefixed 32-byte transaction hash", hash))
	}
	h := common.HexToHash(hash)
	num, err := q.db.EthTxNum(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return ETHTx{}, fmt.Errorf("query: tx %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return ETHTx{}, err
	}
	var t store.EthTxRec
	if err := q.db.EthTx(ctx, num, &t); err != nil {
		return ETHTx{}, err
	}
	blk, err := q.db.EthBlockByHeight(ctx, t.Height)
	if err != nil {
		return ETHTx{}, err
	}
	n := &names{db: q.db, cache: map[uint64]string{}}
	out := ETHTx{
		Hash: common.Hash(t.Hash).Hex(), Block: t.Height, BlockHash: common.Hash(blk.Hash).Hex(),
		Time: time.Unix(int64(blk.Time), 0).UTC(), Index: t.Index, Value: t.Value.String(),
		Status: statusNames[t.Status], GasUsed: t.GasUsed, Transfers: []ETHTransfer{},
	}
	if out.From, err = n.get(ctx, t.From); err != nil {
		return ETHTx{}, err
	}
	if t.To != 0 {
		if out.To, err = n.get(ctx, t.To); err != nil {
			return ETHTx{}, err
		}
	}
	if t.Created != 0 {
		if out.Created, err = n.get(ctx, t.Created); err != nil {
			return ETHTx{}, err
		}
	}
	for _, tr := range t.Transfers {
		v, err := q.transfer(ctx, n, tr)
		if err != nil {
			return ETHTx{}, err
		}
		out.Transfers = append(out.Transfers, v)
	}
	return out, nil
}

func (q *ETH) transfer(ctx context.Context, n *names, tr store.EthTransferRec) (ETHTransfer, error) {
	v := ETHTransfer{Kind: eth.Kind(tr.Kind).String(), Amount: tr.Amount.String(), LogIndex: tr.LogIndex}
	var err error
	if v.From, err = n.get(ctx, tr.From); err != nil {
		return v, err
	}
	if v.To, err = n.get(ctx, tr.To); err != nil {
		return v, err
	}
	if tr.TokenID != nil {
		v.TokenID = tr.TokenID.String()
	}
	if tr.Token == 0 {
		v.Display = tr.Amount.Format(18) + " ETH"
		return v, nil
	}
	if v.Token, err = n.get(ctx, tr.Token); err != nil {
		return v, err
	}
	meta, ok, err := q.db.Token(ctx, tr.Token)
	if err != nil {
		return v, err
	}
	if ok {
		v.Symbol, v.TokenName = meta.Symbol, meta.Name
		if meta.HasDecimals {
			d := meta.Decimals
			v.Decimals = &d
		}
		if meta.HasDecimals && tr.TokenID == nil {
			v.Display = tr.Amount.Format(meta.Decimals) + " " + meta.Symbol
		}
	}
	return v, nil
}

// ETHAssetFlow is an address's total flow of one asset.
type ETHAssetFlow struct {
	Token  string `json:"token,omitempty"` // empty for the native coin
	Symbol string `json:"symbol,omitempty"`
	// Decimals is the token's (18 for the native coin), when known.
	Decimals *uint8 `json:"decimals,omitempty"`
	Received string `json:"received"`
	Sent     string `json:"sent"`
	// Net is received minus sent, signed; for a store that starts at
	// genesis and the native coin it is the balance.
	Net string `json:"net"`
}

// ETHCounterparty is an address the queried address exchanged value with.
type ETHCounterparty struct {
	Address   string `json:"address"`
	Transfers int    `json:"transfers"`
	In        int    `json:"in"`
	Out       int    `json:"out"`
}

// ETHAddress is an address's activity summary.
type ETHAddress struct {
	Address        string            `json:"address"`
	TxCount        int               `json:"tx_count"`
	Transfers      int               `json:"transfers"`
	FirstSeen      *model.BlockRef   `json:"first_seen"`
	LastSeen       *model.BlockRef   `json:"last_seen"`
	Assets         []ETHAssetFlow    `json:"assets"`
	Counterparties []ETHCounterparty `json:"counterparties"`
}

// Address summarises an address: flows per asset (native and each token),
// transaction count, first and last activity, and its most frequent
// counterparties (up to maxCounterparties).
func (q *ETH) Address(ctx context.Context, addr string, maxCounterparties int) (ETHAddress, error) {
	norm, err := addrs.Normalize("eth", addr)
	if err != nil {
		return ETHAddress{}, invalid(fmt.Errorf("query: %w", err))
	}
	a := common.HexToAddress(norm)
	id, err := q.db.AddrID(ctx, a.Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return ETHAddress{}, fmt.Errorf("query: address %s has no activity in the store: %w", norm, ErrNotFound)
	}
	if err != nil {
		return ETHAddress{}, err
	}
	out := ETHAddress{Address: norm, Assets: []ETHAssetFlow{}, Counterparties: []ETHCounterparty{}}
	type flow struct{ in, out model.Amount }
	flows := map[uint64]*flow{}
	cps := map[uint64]*ETHCounterparty{}
	var first, last, prevTx uint64
	seen := false
	var t store.EthTxRec
	var evErr error
	err = q.db.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
		f := flows[e.Token]
		if f == nil {
			f = &flow{}
			flows[e.Token] = f
		}
		if e.Out {
			f.out, _ = f.out.Add(e.Amount)
		} else {
			f.in, _ = f.in.Add(e.Amount)
		}
		out.Transfers++
		if !seen || e.TxNum != prevTx {
			out.TxCount++
			prevTx = e.TxNum
			if evErr = q.db.EthTx(ctx, e.TxNum, &t); evErr != nil {
				return false
			}
		}
		if !seen {
			first, seen = e.TxNum, true
		}
		last = e.TxNum
		if int(e.Index) < len(t.Transfers) {
			tr := t.Transfers[e.Index]
			other := tr.To
			if !e.Out {
				other = tr.From
			}
			c := cps[other]
			if c == nil {
				c = &ETHCounterparty{}
				cps[other] = c
			}
			c.Transfers++
			if e.Out {
				c.Out++
			} else {
				c.In++
			}
		}
		return true
	})
	if err == nil {
		err = evErr
	}
	if err != nil {
		return ETHAddress{}, err
	}
	n := &names{db: q.db, cache: map[uint64]string{}}
	tokens := make([]uint64, 0, len(flows))
	for tok := range flows {
		tokens = append(tokens, tok)
	}
	slices.Sort(tokens)
	for _, tok := range tokens {
		f := flows[tok]
		af := ETHAssetFlow{Received: f.in.String(), Sent: f.out.String(), Net: signedDiff(f.in, f.out)}
		if tok != 0 {
			if af.Token, af.Symbol, af.Decimals, err = q.tokenName(ctx, n, tok); err != nil {
				return ETHAddress{}, err
			}
		} else {
			d := uint8(18)
			af.Decimals = &d
		}
		out.Assets = append(out.Assets, af)
	}
	for other, c := range cps {
		if c.Address, err = n.get(ctx, other); err != nil {
			return ETHAddress{}, err
		}
		out.Counterparties = append(out.Counterparties, *c)
	}
	slices.SortFunc(out.Counterparties, func(a, b ETHCounterparty) int {
		if a.Transfers != b.Transfers {
			return b.Transfers - a.Transfers
		}
		if a.Address < b.Address {
			return -1
		}
		return 1
	})
	if len(out.Counterparties) > maxCounterparties {
		out.Counterparties = out.Counterparties[:maxCounterparties]
	}
	if seen {
		if out.FirstSeen, err = q.txRef(ctx, first); err != nil {
			return ETHAddress{}, err
		}
		if out.LastSeen, err = q.txRef(ctx, last); err != nil {
			return ETHAddress{}, err
		}
	}
	return out, nil
}

func (q *ETH) txRef(ctx context.Context, num uint64) (*model.BlockRef, error) {
	var t store.EthTxRec
	if err := q.db.EthTx(ctx, num, &t); err != nil {
		return nil, err
	}
	b, err := q.db.EthBlockByHeight(ctx, t.Height)
	if err != nil {
		return nil, err
	}
	return &model.BlockRef{Height: b.Height, Hash: common.Hash(b.Hash).Hex(), Time: time.Unix(int64(b.Time), 0).UTC()}, nil
}

// signedDiff renders a-b as a signed decimal.
func signedDiff(a, b model.Amount) string {
	if d, under := a.Sub(b); !under {
		return d.String()
	}
	d, _ := b.Sub(a)
	return "-" + d.String()
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
