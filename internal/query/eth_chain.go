package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// Network returns the store's network name (ethereum, sim, ...).
func (q *ETH) Network() string { return q.db.Meta().Network }

// Stages returns the progress of every stage that has run on the store.
func (q *ETH) Stages(ctx context.Context) ([]Stage, error) {
	out := []Stage{}
	for _, name := range ethStages {
		p, ok, err := q.db.Progress(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("query: stage %s: %w", name, err)
		}
		if ok {
			out = append(out, Stage{Name: name, Height: p.Height, Hash: ethHash(p.Hash)})
		}
	}
	return out, nil
}

// ethHash spells a block hash an account-chain store keeps in a
// chainhash.Hash (its bytes in order, not reversed as Bitcoin's are).
func ethHash(h chainhash.Hash) string { return common.Hash(h).Hex() }

// ETHBlock is a block of an account chain.
type ETHBlock struct {
	Height      uint64
	Hash        string
	Parent      string
	Time        time.Time
	Miner       string
	GasUsed     uint64
	BaseFee     model.Amount // zero before London
	TxCount     int
	Withdrawals int
	TxNumMin    uint64
}

// Tip returns the stored best block, and false for an empty store.
func (q *ETH) Tip(ctx context.Context) (ETHBlock, bool, error) {
	p, ok, err := q.db.Progress(ctx, "eth-blocks")
	if err != nil || !ok {
		return ETHBlock{}, false, err
	}
	b, err := q.Block(ctx, strconv.FormatUint(p.Height, 10))
	return b, err == nil, err
}

// Block returns a block by height or 0x-prefixed hash.
func (q *ETH) Block(ctx context.Context, ref string) (ETHBlock, error) {
	var rec store.EthBlockRec
	var err error
	if h, perr := strconv.ParseUint(ref, 10, 64); perr == nil && len(ref) < 20 {
		rec, err = q.db.EthBlockByHeight(ctx, h)
	} else {
		if len(ref) != 66 || ref[:2] != "0x" || !isHex(ref[2:]) {
			return ETHBlock{}, invalid(fmt.Errorf("query: %q is neither a block number nor a 0x-prefixed 32-byte block hash", ref))
		}
		rec, err = q.db.EthBlockByHash(ctx, common.HexToHash(ref))
	}
	if errors.Is(err, store.ErrNotFound) {
		return ETHBlock{}, fmt.Errorf("query: block %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return ETHBlock{}, fmt.Errorf("query: block %s: %w", ref, err)
	}
	return ETHBlock{
		Height: rec.Height, Hash: common.Hash(rec.Hash).Hex(), Parent: common.Hash(rec.Parent).Hex(),
		Time: time.Unix(int64(rec.Time), 0).UTC(), Miner: common.Address(rec.Miner).Hex(), GasUsed: rec.GasUsed,
		BaseFee: rec.BaseFee, TxCount: int(rec.TxCount), Withdrawals: int(rec.Withdrawals), TxNumMin: rec.TxNumMin,
	}, nil
}

// BlockTxHashes returns the hashes of the block's transactions from
// position from, at most limit of them. The withdrawals of a block are
// not a transaction and have no hash: they are not listed.
func (q *ETH) BlockTxHashes(ctx context.Context, b ETHBlock, from, limit int) ([]string, error) {
	end := min(b.TxCount, from+limit)
	out := make([]string, 0, max(end-from, 0))
	var t store.EthTxRec
	for i := from; i < end; i++ {
		if err := q.db.EthTx(ctx, b.TxNumMin+uint64(i), &t); err != nil {
			return nil, fmt.Errorf("query: block %d tx %d: %w", b.Height, i, err)
		}
		out = append(out, common.Hash(t.Hash).Hex())
	}
	return out, nil
}

// addrID resolves an address to its normalised form and store id.
func (q *ETH) addrID(ctx context.Context, addr string) (uint64, string, error) {
	norm, err := addrs.Normalize("eth", addr)
	if err != nil {
		return 0, "", invalid(fmt.Errorf("query: %w", err))
	}
	id, err := q.db.AddrID(ctx, common.HexToAddress(norm).Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return 0, "", fmt.Errorf("query: address %s has no activity in the store: %w", norm, ErrNotFound)
	}
	if err != nil {
		return 0, "", fmt.Errorf("query: %w", err)
	}
	return id, norm, nil
}

// ETHAddressTx is one transaction in an address's history with the
// address's flows in it, per asset. Withdrawals marks a block's
// beacon-chain withdrawals, which the store keeps as a transaction
// without a hash (Hash is empty).
type ETHAddressTx struct {
	Hash        string
	Withdrawals bool
	Height      uint64
	Time        time.Time
	Flows       []ETHAssetFlow
}

// AddressTxs returns up to limit transactions of an address in chain
// order, starting at cursor (0 for the start; otherwise a value this
// method returned), and the cursor of the next page (0 when there is
// none).
func (q *ETH) AddressTxs(ctx context.Context, addr string, cursor uint64, limit int) ([]ETHAddressTx, uint64, error) {
	id, _, err := q.addrID(ctx, addr)
	if err != nil {
		return nil, 0, err
	}
	type flow struct{ in, out model.Amount }
	type row struct {
		num    uint64
		tokens []uint64
		flows  map[uint64]*flow
	}
	var rows []row
	more := false
	err = q.db.EthEvents(ctx, id, cursor, func(e store.EthEvent) bool {
		if len(rows) == 0 || rows[len(rows)-1].num != e.TxNum {
			if len(rows) == limit {
				more = true
				return false
			}
			rows = append(rows, row{num: e.TxNum, flows: map[uint64]*flow{}})
		}
		r := &rows[len(rows)-1]
		f := r.flows[e.Token]
		if f == nil {
			f = &flow{}
			r.flows[e.Token] = f
			r.tokens = append(r.tokens, e.Token)
		}
		if e.Out {
			f.out, _ = f.out.Add(e.Amount)
		} else {
			f.in, _ = f.in.Add(e.Amount)
		}
		return true
	})
	if err != nil {
		return nil, 0, fmt.Errorf("query: %w", err)
	}
	n := &names{db: q.db, cache: map[uint64]string{}}
	times := blockTimes{}
	out := make([]ETHAddressTx, 0, len(rows))
	var t store.EthTxRec
	for _, r := range rows {
		if err := q.db.EthTx(ctx, r.num, &t); err != nil {
			return nil, 0, fmt.Errorf("query: %w", err)
		}
		at, err := q.ethTime(ctx, times, t.Height)
		if err != nil {
			return nil, 0, err
		}
		tx := ETHAddressTx{Height: t.Height, Time: at}
		if t.Hash == ([32]byte{}) {
			tx.Withdrawals = true
		} else {
			tx.Hash = common.Hash(t.Hash).Hex()
		}
		slices.Sort(r.tokens)
		for _, tok := range r.tokens {
			f := r.flows[tok]
			af := ETHAssetFlow{Received: f.in.String(), Sent: f.out.String(), Net: signedDiff(f.in, f.out)}
			if tok != 0 {
				if af.Token, af.Symbol, af.Decimals, err = q.tokenName(ctx, n, tok); err != nil {
					return nil, 0, err
				}
			} else {
				d := uint8(18)
				af.Decimals = &d
			}
			tx.Flows = append(tx.Flows, af)
		}
		out = append(out, tx)
	}
	var next uint64
	if more && len(rows) > 0 {
		next = rows[len(rows)-1].num + 1
	}
	return out, next, nil
}

// tokenName returns a token's address and, when stored, its symbol and
// decimals.
func (q *ETH) tokenName(ctx context.Context, n *names, tok uint64) (string, string, *uint8, error) {
	a, err := n.get(ctx, tok)
	if err != nil {
		return "", "", nil, err
	}
	meta, ok, err := q.db.Token(ctx, tok)
	if err != nil || !ok {
		return a, "", nil, err
	}
	if !meta.HasDecimals {
		return a, meta.Symbol, nil, nil
	}
	d := meta.Decimals
	return a, meta.Symbol, &d, nil
}

// ethTime returns the time of the block at height.
func (q *ETH) ethTime(ctx context.Context, cache blockTimes, height uint64) (time.Time, error) {
	if t, ok := cache[height]; ok {
		return t, nil
	}
	b, err := q.db.EthBlockByHeight(ctx, height)
	if err != nil {
		return time.Time{}, fmt.Errorf("query: block %d: %w", height, err)
	}
	t := time.Unix(int64(b.Time), 0).UTC()
	cache[height] = t
	return t, nil
}

// Neighbors returns the counterparties of addr: with out false those that
// sent it value, with out true those it sent value to, each with the
// transactions they share and the amounts per asset, summed over the
// transfers between the two (native, token and internal). Transfers to
// or from the zero address (mints, burns, burnt fees) have no
// counterparty and are left out. At most maxTxs transactions are read
// (<= 0: DefaultMaxNeighborTxs), and at most limit neighbours returned.
func (q *ETH) Neighbors(ctx context.Context, addr string, out bool, limit, maxTxs int) (Neighbors, error) {
	if maxTxs <= 0 {
		maxTxs = DefaultMaxNeighborTxs
	}
	id, _, err := q.addrID(ctx, addr)
	if err != nil {
		return Neighbors{}, err
	}
	type agg struct {
		txs    int
		lastTx uint64
		tokens []uint64
		values map[uint64]model.Amount
	}
	byID := map[uint64]*agg{}
	var res Neighbors
	var t store.EthTxRec
	var readErr error
	loaded := false
	var loadedNum uint64
	visited := 0
	err = q.db.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
		if visited++; visited > maxTxs*eventsPerTx {
			res.Truncated = true
			return false
		}
		if e.Out != out {
			return true
		}
		if !loaded || loadedNum != e.TxNum {
			if res.ScannedTxs == maxTxs {
				res.Truncated = true
				return false
			}
			if readErr = q.db.EthTx(ctx, e.TxNum, &t); readErr != nil {
				return false
			}
			loaded, loadedNum = true, e.TxNum
			res.ScannedTxs++
		}
		if int(e.Index) >= len(t.Transfers) {
			return true
		}
		tr := t.Transfers[e.Index]
		other := tr.From
		if out {
			other = tr.To
		}
		if other == 0 || other == id {
			return true
		}
		a := byID[other]
		if a == nil {
			a = &agg{values: map[uint64]model.Amount{}}
			byID[other] = a
		}
		if a.txs == 0 || a.lastTx != e.TxNum {
			a.txs++
			a.lastTx = e.TxNum
		}
		v, ok := a.values[e.Token]
		if !ok {
			a.tokens = append(a.tokens, e.Token)
		}
		a.values[e.Token], _ = v.Add(e.Amount)
		return true
	})
	if err == nil {
		err = readErr
	}
	if err != nil {
		return Neighbors{}, fmt.Errorf("query: %w", err)
	}
	n := &names{db: q.db, cache: map[uint64]string{}}
	res.Neighbors = []Neighbor{}
	for other, a := range byID {
		name, err := n.get(ctx, other)
		if err != nil {
			return Neighbors{}, err
		}
		nb := Neighbor{Address: name, TxCount: a.txs}
		slices.Sort(a.tokens)
		for _, tok := range a.tokens {
			av, err := q.assetValue(ctx, n, tok, a.values[tok])
			if err != nil {
				return Neighbors{}, err
			}
			nb.Values = append(nb.Values, av)
		}
		res.Neighbors = append(res.Neighbors, nb)
	}
	sortNeighbors(res.Neighbors)
	res.Total = len(res.Neighbors)
	if len(res.Neighbors) > limit {
		res.Neighbors = res.Neighbors[:limit]
	}
	return res, nil
}

// assetValue describes an amount of token tok (0: the native coin).
func (q *ETH) assetValue(ctx context.Context, n *names, tok uint64, v model.Amount) (AssetValue, error) {
	if tok == 0 {
		return AssetValue{Symbol: "ETH", Decimals: 18, HasDecimals: true, Value: v}, nil
	}
	a, err := n.get(ctx, tok)
	if err != nil {
		return AssetValue{}, err
	}
	av := AssetValue{Token: a, Value: v}
	meta, ok, err := q.db.Token(ctx, tok)
	if err != nil {
		return AssetValue{}, fmt.Errorf("query: token %s: %w", a, err)
	}
	if ok {
		av.Symbol, av.Decimals, av.HasDecimals = meta.Symbol, meta.Decimals, meta.HasDecimals
	}
	return av, nil
}
