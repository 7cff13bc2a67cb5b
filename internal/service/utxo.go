package service

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/store"
)

// UTXOReader is the part of a Bitcoin store DetectUTXO reads; *store.DB
// implements it.
type UTXOReader interface {
	Meta() store.ChainMeta
	Progress(ctx context.Context, stage string) (store.Progress, bool, error)
	BlockByHeight(ctx context.Context, height uint64) (store.BlockRec, error)
	Tx(ctx context.Context, txnum uint64, t *store.TxRec) error
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
}

// sweep is a transaction of sweep shape into wallet, before the funding
// check.
type sweep struct {
	wallet   uint64
	time     int64
	deposits []uint64 // distinct input addresses, sorted
	prev     []uint64 // the funding transactions of its inputs
}

// DetectUTXO finds deposit-sweep services on a Bitcoin store (see the
// package documentation for the rule). chain is the store's chain id,
// recorded in the result.
func DetectUTXO(ctx context.Context, db UTXOReader, chain string, o Options) (*Result, error) {
	o.fill()
	began := time.Now()
	res := &Result{Chain: chain}
	net, err := btc.Network(db.Meta().Network)
	if err != nil {
		return nil, fmt.Errorf("service: %s: %w", chain, err)
	}
	tip, ok, err := utxoTip(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("service: %s: %w", chain, err)
	}
	if !ok {
		res.finish()
		return res, nil
	}
	sweeps, err := scanUTXO(ctx, db, tip, &o, res)
	if err != nil {
		return nil, fmt.Errorf("service: %s: %w", chain, err)
	}
	found, err := qualify(ctx, db, sweeps, &o)
	if err != nil {
		return nil, fmt.Errorf("service: %s: %w", chain, err)
	}
	for _, f := range found {
		s := Service{Senders: f.senders, Forwards: f.forwards, First: time.Unix(f.first, 0).UTC(), Last: time.Unix(f.last, 0).UTC()}
		if s.Wallet, err = btcAddr(ctx, db, net, f.wallet); err != nil {
			return nil, fmt.Errorf("service: %s: %w", chain, err)
		}
		for _, d := range f.deposits {
			a, err := btcAddr(ctx, db, net, d)
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

// utxoTip is the height up to which every stage the scan reads is
// complete.
func utxoTip(ctx context.Context, db UTXOReader) (uint64, bool, error) {
	var tip uint64
	for i, stage := range []string{"blocks", "txs", "addrindex"} {
		p, ok, err := db.Progress(ctx, stage)
		if err != nil || !ok {
			return 0, false, err
		}
		if i == 0 || p.Height < tip {
			tip = p.Height
		}
	}
	return tip, true, nil
}

// scanUTXO reads the last MaxTxs transactions up to height tip and returns
// those of sweep shape, in chain order.
func scanUTXO(ctx context.Context, db UTXOReader, tip uint64, o *Options, res *Result) ([]sweep, error) {
	last, err := db.BlockByHeight(ctx, tip)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", tip, err)
	}
	end := last.TxNumMin + uint64(last.TxCount)
	from, err := startHeight(tip, end, o.MaxTxs, func(h uint64) (uint64, error) {
		b, err := db.BlockByHeight(ctx, h)
		if err != nil {
			return 0, err
		}
		return b.TxNumMin, nil
	})
	if err != nil {
		return nil, err
	}
	res.From, res.To = from, tip
	var out []sweep
	var tx store.TxRec
	for h := from; h <= tip; h++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := db.BlockByHeight(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", h, err)
		}
		for n := b.TxNumMin; n < b.TxNumMin+uint64(b.TxCount); n++ {
			if err := db.Tx(ctx, n, &tx); err != nil {
				return nil, fmt.Errorf("transaction %d: %w", n, err)
			}
			res.Txs++
			if s, ok := sweepOf(&tx, o.MaxChange); ok {
				s.time = int64(b.Time)
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// sweepOf reports whether tx has a sweep's shape: coins of two or more
// distinct addresses, all paid to one other address X, but for at most
// one change output back to an input address worth at most maxChange of
// the inputs. Zero-value outputs (OP_RETURN) do not count.
func sweepOf(tx *store.TxRec, maxChange float64) (sweep, bool) {
	if tx.Coinbase || len(tx.Ins) < 2 {
		return sweep{}, false
	}
	s := sweep{prev: make([]uint64, 0, len(tx.Ins))}
	var in int64
	for _, i := range tx.Ins {
		if i.External || i.AddrID == 0 {
			return sweep{}, false // an input of unknown or no address
		}
		in += i.Value
		s.prev = append(s.prev, i.PrevTxNum)
		if !containsID(s.deposits, i.AddrID) {
			s.deposits = append(s.deposits, i.AddrID)
		}
	}
	if len(s.deposits) < 2 {
		return sweep{}, false
	}
	changes := 0
	for _, out := range tx.Outs {
		if out.Value == 0 {
			continue
		}
		if len(out.AddrIDs) != 1 {
			return sweep{}, false // bare multisig or no address
		}
		a := out.AddrIDs[0]
		if containsID(s.deposits, a) {
			if changes++; changes > 1 || float64(out.Value) > maxChange*float64(in) {
				return sweep{}, false
			}
			continue
		}
		if s.wallet != 0 && s.wallet != a {
			return sweep{}, false
		}
		s.wallet = a
	}
	if s.wallet == 0 {
		return sweep{}, false
	}
	sort.Slice(s.deposits, func(i, j int) bool { return s.deposits[i] < s.deposits[j] })
	return s, true
}

func containsID(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// qualify keeps the sweeps whose coins X did not fund, groups them by X
// and applies the thresholds; it drops an X that is itself swept into a
// qualifying service, as that makes it a deposit address.
func qualify(ctx context.Context, db UTXOReader, sweeps []sweep, o *Options) ([]found, error) {
	byWallet := map[uint64][]int{}
	for i := range sweeps {
		byWallet[sweeps[i].wallet] = append(byWallet[sweeps[i].wallet], i)
	}
	wallets := make([]uint64, 0, len(byWallet))
	for x, idx := range byWallet {
		if len(idx) >= o.MinDeposits {
			wallets = append(wallets, x)
		}
	}
	sort.Slice(wallets, func(i, j int) bool { return wallets[i] < wallets[j] })
	var tx store.TxRec
	var out []found
	for _, x := range wallets {
		f := found{wallet: x, first: -1}
		deposits, funders := map[uint64]bool{}, map[uint64]bool{}
		for _, i := range byWallet[x] {
			s := &sweeps[i]
			ok, fs, err := notFundedBy(ctx, db, &tx, s.prev, x)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			for _, a := range fs {
				funders[a] = true
			}
			for _, d := range s.deposits {
				deposits[d] = true
			}
			f.forwards++
			if f.first < 0 {
				f.first = s.time
			}
			f.last = max(f.last, s.time)
		}
		f.senders = len(funders)
		if f.forwards < o.MinDeposits || len(deposits) < o.MinDeposits || f.senders < o.MinDeposits ||
			time.Duration(f.last-f.first)*time.Second < o.MinSpan {
			continue
		}
		for d := range deposits {
			f.deposits = append(f.deposits, d)
		}
		sort.Slice(f.deposits, func(i, j int) bool { return f.deposits[i] < f.deposits[j] })
		out = append(out, f)
	}
	// A wallet swept into another service is that service's deposit
	// address, and its own "deposits" are its customer's addresses.
	swept := map[uint64]bool{}
	for _, f := range out {
		for _, d := range f.deposits {
			swept[d] = true
		}
	}
	kept := out[:0]
	for _, f := range out {
		if !swept[f.wallet] {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

// notFundedBy reports whether none of the funding transactions prev
// spent coins of x, and returns their input addresses (the deposits'
// senders, repeated as they come; a coinbase has none).
func notFundedBy(ctx context.Context, db UTXOReader, tx *store.TxRec, prev []uint64, x uint64) (bool, []uint64, error) {
	var senders []uint64
	for _, p := range prev {
		if err := db.Tx(ctx, p, tx); err != nil {
			return false, nil, fmt.Errorf("transaction %d: %w", p, err)
		}
		for _, in := range tx.Ins {
			if in.AddrID == x {
				return false, nil, nil
			}
			if in.AddrID != 0 {
				senders = append(senders, in.AddrID)
			}
		}
	}
	return true, senders, nil
}

// btcAddr returns an address id's address on net.
func btcAddr(ctx context.Context, db UTXOReader, net *chaincfg.Params, id uint64) (string, error) {
	kb, err := db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("address #%d: %w", id, err)
	}
	k, err := btc.AddrKeyFromBytes(kb)
	if err != nil {
		return "", fmt.Errorf("address #%d: %w", id, err)
	}
	return k.Encode(net), nil
}
