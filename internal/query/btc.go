// Package query answers look-ups over a Bitcoin store in the chain-neutral
// model: transactions with resolved inputs and spent-by links, blocks, and
// address summaries. It is what the CLI, and later the API, read through.
package query

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// ErrNotFound is returned (wrapped) when the looked-up object is not in the
// store.
var ErrNotFound = errors.New("query: not found")

// ErrInvalid is returned (wrapped) when a look-up's argument is malformed:
// not a height, hash, txid or address of the store's chain.
var ErrInvalid = errors.New("query: malformed argument")

// invalidError marks an error as ErrInvalid without changing its message.
type invalidError struct{ err error }

func (e *invalidError) Error() string   { return e.err.Error() }
func (e *invalidError) Unwrap() []error { return []error{e.err, ErrInvalid} }

// invalid wraps err as ErrInvalid.
func invalid(err error) error { return &invalidError{err} }

// BTC reads one Bitcoin store. It is safe for concurrent use.
type BTC struct {
	db       store.Reader
	net      *chaincfg.Params
	clusters *clusters
}

// NewBTC returns a reader over db, whose chain meta names the network.
func NewBTC(db store.Reader) (*BTC, error) {
	net, err := btc.Network(db.Meta().Network)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return &BTC{db: db, net: net, clusters: newClusters()}, nil
}

// Net returns the network parameters of the store's chain.
func (q *BTC) Net() *chaincfg.Params { return q.net }

func (q *BTC) chainID() string {
	if q.db.Meta().Network == "mainnet" {
		return "btc"
	}
	return "btc-" + q.db.Meta().Network
}

// Tip returns the stored best block, and false for an empty store.
func (q *BTC) Tip(ctx context.Context) (model.Block, bool, error) {
	p, ok, err := q.db.Progress(ctx, "blocks")
	if err != nil || !ok {
		return model.Block{}, false, err
	}
	b, err := q.Block(ctx, strconv.FormatUint(p.Height, 10))
	return b, err == nil, err
}

// Block returns a block by height or hash.
func (q *BTC) Block(ctx context.Context, ref string) (model.Block, error) {
	var rec store.BlockRec
	var err error
	if h, perr := strconv.ParseUint(ref, 10, 64); perr == nil && len(ref) < 20 {
		rec, err = q.db.BlockByHeight(ctx, h)
	} else {
		hash, herr := chainhash.NewHashFromStr(ref)
		if herr != nil || len(ref) != 64 {
			return model.Block{}, invalid(fmt.Errorf("query: %q is neither a block height nor a 64-hex-digit block hash", ref))
		}
		rec, err = q.db.BlockByHash(ctx, *hash)
	}
	if errors.Is(err, store.ErrNotFound) {
		return model.Block{}, fmt.Errorf("query: block %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return model.Block{}, err
	}
	return q.block(rec), nil
}

func (q *BTC) block(rec store.BlockRec) model.Block {
	return model.Block{
		Chain:    q.chainID(),
		Height:   rec.Height,
		Hash:     rec.Hash.String(),
		Prev:     rec.Prev.String(),
		Time:     time.Unix(int64(rec.Time), 0).UTC(),
		TxCount:  int(rec.TxCount),
		Size:     int(rec.Size),
		Weight:   int(rec.Weight),
		TxNumMin: rec.TxNumMin,
	}
}

// BlockTxIDs returns the txids of a block in order.
func (q *BTC) BlockTxIDs(ctx context.Context, b model.Block) ([]string, error) {
	ids := make([]string, 0, b.TxCount)
	var t store.TxRec
	for i := 0; i < b.TxCount; i++ {
		if err := q.db.Tx(ctx, b.TxNumMin+uint64(i), &t); err != nil {
			return nil, err
		}
		ids = append(ids, t.TxID.String())
	}
	return ids, nil
}

// Tx returns a transaction by txid with its inputs resolved and every
// output's spender.
func (q *BTC) Tx(ctx context.Context, txid string) (model.Tx, error) {
	hash, err := chainhash.NewHashFromStr(txid)
	if err != nil || len(txid) != 64 {
		return model.Tx{}, invalid(fmt.Errorf("query: %q is not a 64-hex-digit txid", txid))
	}
	num, err := q.db.TxNum(ctx, *hash)
	if errors.Is(err, store.ErrNotFound) {
		return model.Tx{}, fmt.Errorf("query: tx %s: %w", txid, ErrNotFound)
	}
	if err != nil {
		return model.Tx{}, err
	}
	return q.TxByNum(ctx, num)
}

// TxByNum returns a transaction by its store ordinal.
func (q *BTC) TxByNum(ctx context.Context, num uint64) (model.Tx, error) {
	var t store.TxRec
	if err := q.db.Tx(ctx, num, &t); err != nil {
		return model.Tx{}, err
	}
	blk, err := q.db.BlockByHeight(ctx, t.Height)
	if err != nil {
		return model.Tx{}, err
	}
	out := model.Tx{
		Chain:     q.chainID(),
		TxID:      t.TxID.String(),
		Height:    t.Height,
		BlockHash: blk.Hash.String(),
		Index:     int(t.Index),
		Time:      time.Unix(int64(blk.Time), 0).UTC(),
		Size:      int(t.Size),
		VSize:     int(t.VSize),
		Coinbase:  t.Coinbase,
	}
	out.Fee, out.FeeKnown = t.Fee()
	names := map[uint64]string{}
	if t.Coinbase {
		out.Inputs = append(out.Inputs, model.Input{Coinbase: true})
	}
	var prev store.TxRec
	for i, in := range t.Ins {
		if in.External {
			out.Inputs = append(out.Inputs, model.Input{Index: uint32(i), PrevTxID: in.PrevTxID.String(), PrevOut: in.PrevVout, External: true})
			continue
		}
		if err := q.db.Tx(ctx, in.PrevTxNum, &prev); err != nil {
			return model.Tx{}, err
		}
		addr, err := q.addrName(ctx, names, in.AddrID)
		if err != nil {
			return model.Tx{}, err
		}
		out.Inputs = append(out.Inputs, model.Input{
			Index: uint32(i), PrevTxID: prev.TxID.String(), PrevOut: in.PrevVout,
			Value: in.Value, Address: addr,
		})
	}
	for i, o := range t.Outs {
		mo := model.Output{Index: uint32(i), Value: o.Value, Script: o.Class}
		var parts []string
		for _, id := range o.AddrIDs {
			a, err := q.addrName(ctx, names, id)
			if err != nil {
				return model.Tx{}, err
			}
			parts = append(parts, a)
		}
		mo.Address = strings.Join(parts, ",")
		sp, ok, err := q.db.Spender(ctx, num, uint32(i))
		if err != nil {
			return model.Tx{}, err
		}
		if ok {
			var st store.TxRec
			if err := q.db.Tx(ctx, sp.TxNum, &st); err != nil {
				return model.Tx{}, err
			}
			mo.Spent = &model.Spend{TxID: st.TxID.String(), Input: sp.Vin, Height: st.Height}
		}
		out.Outputs = append(out.Outputs, mo)
	}
	return out, nil
}

func (q *BTC) addrName(ctx context.Context, cache map[uint64]string, id uint64) (string, error) {
	if id == 0 {
		return "", nil
	}
	if s, ok := cache[id]; ok {
		return s, nil
	}
	kb, err := q.db.AddrKey(ctx, id)
	if err != nil {
		return "", err
	}
	k, err := btc.AddrKeyFromBytes(kb)
	if err != nil {
		return "", fmt.Errorf("query: address #%d: %w", id, err)
	}
	s := k.Encode(q.net)
	cache[id] = s
	return s, nil
}

// AddressID resolves an address string to its store id.
func (q *BTC) AddressID(ctx context.Context, addr string) (uint64, error) {
	k, err := btc.ParseAddress(addr, q.net)
	if err != nil {
		return 0, invalid(fmt.Errorf("query: %w", err))
	}
	id, err := q.db.AddrID(ctx, k.Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("query: address %s has no activity in the store: %w", addr, ErrNotFound)
	}
	return id, err
}

// Address returns the activity summary of an address.
func (q *BTC) Address(ctx context.Context, addr string) (model.AddressSummary, error) {
	id, err := q.AddressID(ctx, addr)
	if err != nil {
		return model.AddressSummary{}, err
	}
	s := model.AddressSummary{Chain: q.chainID(), Address: addr}
	var first, last uint64
	var lastTx uint64
	seen := false
	err = q.db.Events(ctx, id, 0, func(e store.Event) bool {
		if e.Spent {
			s.TotalSent += e.Value
			s.Spent++
		} else {
			s.TotalReceived += e.Value
			s.Received++
		}
		if !seen || e.TxNum != lastTx {
			s.TxCount++
			lastTx = e.TxNum
		}
		if !seen {
			first = e.TxNum
			seen = true
		}
		last = e.TxNum
		return true
	})
	if err != nil {
		return model.AddressSummary{}, err
	}
	s.Balance = s.TotalReceived - s.TotalSent
	if seen {
		if s.FirstSeen, err = q.txBlockRef(ctx, first); err != nil {
			return model.AddressSummary{}, err
		}
		if s.LastSeen, err = q.txBlockRef(ctx, last); err != nil {
			return model.AddressSummary{}, err
		}
	}
	return s, nil
}

func (q *BTC) txBlockRef(ctx context.Context, num uint64) (*model.BlockRef, error) {
	var t store.TxRec
	if err := q.db.Tx(ctx, num, &t); err != nil {
		return nil, err
	}
	b, err := q.db.BlockByHeight(ctx, t.Height)
	if err != nil {
		return nil, err
	}
	return &model.BlockRef{Height: b.Height, Hash: b.Hash.String(), Time: time.Unix(int64(b.Time), 0).UTC()}, nil
}

// AddressTx is one transaction in an address's history with the address's
// net effect in it.
type AddressTx struct {
	TxID     string
	Height   uint64
	Time     time.Time
	Received int64
	Sent     int64
}

// AddressTxs returns up to limit transactions of an address in chain order,
// starting at cursor (0 for the start; otherwise a value this method
// returned), and the cursor of the next page (0 when there is none).
func (q *BTC) AddressTxs(ctx context.Context, addr string, cursor uint64, limit int) ([]AddressTx, uint64, error) {
	id, err := q.AddressID(ctx, addr)
	if err != nil {
		return nil, 0, err
	}
	type agg struct {
		num      uint64
		rec, snt int64
	}
	var rows []agg
	var more bool
	err = q.db.Events(ctx, id, cursor, func(e store.Event) bool {
		if len(rows) == 0 || rows[len(rows)-1].num != e.TxNum {
			if len(rows) == limit {
				more = true
				return false
			}
			rows = append(rows, agg{num: e.TxNum})
		}
		r := &rows[len(rows)-1]
		if e.Spent {
			r.snt += e.Value
		} else {
			r.rec += e.Value
		}
		return true
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]AddressTx, 0, len(rows))
	var t store.TxRec
	times := blockTimes{}
	for _, r := range rows {
		if err := q.db.Tx(ctx, r.num, &t); err != nil {
			return nil, 0, err
		}
		at, err := q.btcTime(ctx, times, t.Height)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, AddressTx{TxID: t.TxID.String(), Height: t.Height, Time: at, Received: r.rec, Sent: r.snt})
	}
	var next uint64
	if more && len(rows) > 0 {
		next = rows[len(rows)-1].num + 1
	}
	return out, next, nil
}
