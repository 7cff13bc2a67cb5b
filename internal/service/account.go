package service

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// AccountReader is the part of an account-chain store DetectAccount reads;
// *store.DB implements it.
type AccountReader interface {
	Progress(ctx context.Context, stage string) (store.Progress, bool, error)
	EthBlockByHeight(ctx context.Context, height uint64) (store.EthBlockRec, error)
	EthTx(ctx context.Context, txnum uint64, t *store.EthTxRec) error
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
}

// accountTipStage is the ingest stage whose progress is the account
// store's usable tip, as for the trace engine.
const accountTipStage = "eth-addrindex"

// nativeSlack is what a native forward may leave behind regardless of the
// tolerance: 0.01 ether, a forward's gas at high fees.
var nativeSlack = model.AmountFromUint64(10_000_000_000_000_000)

// xfer is one fungible value transfer between two addresses, in chain
// order.
type xfer struct {
	from, to, token uint64
	time            int64 // block time, Unix seconds
	amount          model.Amount
}

// DetectAccount finds deposit-sweep services on an account-chain store
// (see the package documentation for the rule). chain is the store's
// chain id, recorded in the result.
func DetectAccount(ctx context.Context, db AccountReader, chain string, o Options) (*Result, error) {
	o.fill()
	began := time.Now()
	res := &Result{Chain: chain}
	tip, ok, err := db.Progress(ctx, accountTipStage)
	if err != nil {
		return nil, fmt.Errorf("service: %s tip: %w", chain, err)
	}
	if !ok {
		res.finish()
		return res, nil
	}
	xs, tipTime, err := scanAccount(ctx, db, tip.Height, o.MaxTxs, res)
	if err != nil {
		return nil, fmt.Errorf("service: %s: %w", chain, err)
	}
	found := detectDeposits(xs, tipTime, &o)
	for _, f := range found {
		s := Service{Senders: f.senders, Forwards: f.forwards, First: time.Unix(f.first, 0).UTC(), Last: time.Unix(f.last, 0).UTC()}
		if s.Wallet, err = hexAddr(ctx, db, f.wallet); err != nil {
			return nil, fmt.Errorf("service: %s: %w", chain, err)
		}
		for _, d := range f.deposits {
			a, err := hexAddr(ctx, db, d)
			if err != nil {
				return nil, fmt.Errorf("service: %s: %w", chain, err)
			}
			s.Deposits = append(s.Deposits, a)
		}
		res.Services = append(res.Services, s)
	}
	res.finish()
	res.Elapsed = time.Since(began)
	return res, nil
}

// scanAccount reads the fungible value transfers of the last maxTxs
// transactions up to height tip, in chain order, and the tip block's time.
func scanAccount(ctx context.Context, db AccountReader, tip, maxTxs uint64, res *Result) ([]xfer, int64, error) {
	last, err := db.EthBlockByHeight(ctx, tip)
	if err != nil {
		return nil, 0, fmt.Errorf("block %d: %w", tip, err)
	}
	end := last.TxNumMin + last.TxNums()
	from, err := startHeight(tip, end, maxTxs, func(h uint64) (uint64, error) {
		b, err := db.EthBlockByHeight(ctx, h)
		if err != nil {
			return 0, err
		}
		return b.TxNumMin, nil
	})
	if err != nil {
		return nil, 0, err
	}
	res.From, res.To = from, tip
	var xs []xfer
	var tx store.EthTxRec
	for h := from; h <= tip; h++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		b, err := db.EthBlockByHeight(ctx, h)
		if err != nil {
			return nil, 0, fmt.Errorf("block %d: %w", h, err)
		}
		for n := b.TxNumMin; n < b.TxNumMin+b.TxNums(); n++ {
			if err := db.EthTx(ctx, n, &tx); err != nil {
				return nil, 0, fmt.Errorf("transaction %d: %w", n, err)
			}
			res.Txs++
			if tx.Status == store.EthTxFailed {
				continue
			}
			for i := range tx.Transfers {
				t := &tx.Transfers[i]
				if !isValue(eth.Kind(t.Kind)) || t.From == 0 || t.To == 0 || t.From == t.To || t.Amount.IsZero() {
					continue
				}
				xs = append(xs, xfer{from: t.From, to: t.To, token: t.Token, time: int64(b.Time), amount: t.Amount})
			}
		}
	}
	return xs, int64(last.Time), nil
}

// isValue reports whether a transfer kind moves fungible value a deposit
// address forwards: native value and ERC-20 tokens, not fees, NFTs or
// withdrawals.
func isValue(k eth.Kind) bool {
	switch k {
	case eth.Native, eth.Internal, eth.ERC20:
		return true
	}
	return false
}

// found is a detected service by address id, before naming.
type found struct {
	wallet      uint64
	deposits    []uint64
	senders     int
	forwards    int
	first, last int64
}

// manyPeers marks an address that sent value to more than one address.
const manyPeers = ^uint64(0)

// detectDeposits applies the account rule to transfers in chain order.
// tipTime is the time of the last block read: a receipt younger than
// Window there may still be awaiting its forward.
func detectDeposits(xs []xfer, tipTime int64, o *Options) []found {
	// peer is the one address each address sent value to, or manyPeers.
	peer := map[uint64]uint64{}
	touches := map[uint64][]int32{} // address -> indexes of its transfers, in or out
	for i := range xs {
		x := &xs[i]
		switch p, ok := peer[x.from]; {
		case !ok:
			peer[x.from] = x.to
		case p != x.to:
			peer[x.from] = manyPeers
		}
		touches[x.from] = append(touches[x.from], int32(i))
		touches[x.to] = append(touches[x.to], int32(i))
	}
	type deposit struct {
		senders     []uint64
		forwards    int
		first, last int64
	}
	byWallet := map[uint64]map[uint64]*deposit{}
	isDeposit := map[uint64]bool{}
	for d, x := range peer {
		if x == manyPeers {
			continue
		}
		senders, fw, ok := forwardsAll(xs, touches[d], d, x, tipTime, o)
		if !ok {
			continue
		}
		isDeposit[d] = true
		if byWallet[x] == nil {
			byWallet[x] = map[uint64]*deposit{}
		}
		dep := &deposit{senders: senders, forwards: len(fw), first: fw[0], last: fw[len(fw)-1]}
		byWallet[x][d] = dep
	}
	var out []found
	for x, deps := range byWallet {
		if len(deps) < o.MinDeposits || isDeposit[x] {
			continue
		}
		f := found{wallet: x, first: -1}
		senders := map[uint64]bool{}
		for d, dep := range deps {
			f.deposits = append(f.deposits, d)
			f.forwards += dep.forwards
			for _, s := range dep.senders {
				senders[s] = true
			}
			if f.first < 0 || dep.first < f.first {
				f.first = dep.first
			}
			f.last = max(f.last, dep.last)
		}
		f.senders = len(senders)
		if f.senders < o.MinDeposits || time.Duration(f.last-f.first)*time.Second < o.MinSpan {
			continue
		}
		sort.Slice(f.deposits, func(i, j int) bool { return f.deposits[i] < f.deposits[j] })
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].wallet < out[j].wallet })
	return out
}

// receipt is value received by a candidate deposit address and not yet
// forwarded.
type receipt struct {
	time int64
	left model.Amount
	full model.Amount
}

// forwardsAll checks that d, which sent value only to x, forwarded every
// receipt from an address other than x within the window, and returns the
// distinct senders and the times of its forwards of deposited value.
// Receipts from x (gas for a token forward) are not deposits; d may
// return them to x, as a deposit address returns unused gas, but such a
// return is no forward: an address that only ever sent x small change
// (a hot wallet's gas to one deposit address) is not x's deposit address.
func forwardsAll(xs []xfer, idx []int32, d, x uint64, tipTime int64, o *Options) ([]uint64, []int64, bool) {
	window := int64(o.Window / time.Second)
	pending := map[uint64][]receipt{}  // by token, 0 native; oldest first
	fromX := map[uint64]model.Amount{} // by token: what x sent d
	senders := map[uint64]bool{}
	var fw []int64
	for _, i := range idx {
		t := &xs[i]
		if t.to == d {
			if t.from == x {
				fromX[t.token], _ = fromX[t.token].Add(t.amount)
				continue
			}
			pending[t.token] = append(pending[t.token], receipt{time: t.time, left: t.amount, full: t.amount})
			senders[t.from] = true
			continue
		}
		// An outgoing transfer: to x, as peer said.
		a := t.amount
		p := pending[t.token]
		deposited := len(p) > 0
		for len(p) > 0 && !a.IsZero() {
			m := model.Min(a, p[0].left)
			a, _ = a.Sub(m)
			p[0].left, _ = p[0].left.Sub(m)
			if !p[0].left.IsZero() {
				break
			}
			if t.time-p[0].time > window {
				return nil, nil, false
			}
			p = p[1:]
		}
		// What the forward left of the oldest receipts is the gas of the
		// forward or rounding: they count as forwarded.
		for len(p) > 0 && kept(p[0].left, p[0].full, t.token == 0, o.Tolerance) {
			if t.time-p[0].time > window {
				return nil, nil, false
			}
			p = p[1:]
		}
		pending[t.token] = p
		if !a.IsZero() {
			// More than the deposits: it must be x's own value coming
			// back (or, natively, within the slack).
			have := fromX[t.token]
			if rest, under := have.Sub(a); !under {
				fromX[t.token] = rest
			} else if over, _ := a.Sub(have); t.token == 0 && over.Cmp(nativeSlack) <= 0 {
				fromX[t.token] = model.Amount{}
			} else {
				return nil, nil, false
			}
		}
		if deposited {
			fw = append(fw, t.time)
		}
	}
	if len(senders) == 0 || len(fw) == 0 {
		return nil, nil, false
	}
	for tok, p := range pending {
		for _, r := range p {
			if !kept(r.left, r.full, tok == 0, o.Tolerance) && tipTime-r.time > window {
				return nil, nil, false // never forwarded, and it had the time
			}
		}
	}
	out := make([]uint64, 0, len(senders))
	for s := range senders {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, fw, true
}

// kept reports whether left, what a deposit address still holds of a
// receipt of full, is small enough to count the receipt as forwarded: at
// most the tolerance's share of it or, for the native coin, at most
// nativeSlack.
func kept(left, full model.Amount, native bool, tol float64) bool {
	if native && left.Cmp(nativeSlack) <= 0 {
		return true
	}
	// The tolerance in parts per million keeps the comparison in integers.
	ppm := model.AmountFromUint64(uint64(tol * 1e6))
	limit, ok := model.MulDiv(full, ppm, model.AmountFromUint64(1_000_000))
	return ok && left.Cmp(limit) <= 0
}

// hexAddr returns an address id's EIP-55 address.
func hexAddr(ctx context.Context, db AccountReader, id uint64) (string, error) {
	k, err := db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("address #%d: %w", id, err)
	}
	return common.BytesToAddress(k).Hex(), nil
}
