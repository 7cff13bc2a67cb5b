package world

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/sim/btcw"
)

// dust is the smallest output the world creates; smaller change goes to
// the fee, as wallets do.
const dust = 1_000

// sat is one bitcoin in satoshi.
const sat = 100_000_000

// vsize estimates a transaction's virtual size from its input and
// output counts (segwit inputs).
func vsize(ins, outs int) int64 { return 11 + 68*int64(ins) + 31*int64(outs) }

// fee is the fee of a transaction of that shape at this step's rate.
func (w *world) fee(ins, outs int) int64 { return w.feeRate * vsize(ins, outs) }

// out is one output of a payment and who receives the coin it creates.
type out struct {
	addr  btcw.Addr
	value int64
	sink  func(btcw.Coin)
}

func total(cs []btcw.Coin) int64 {
	var s int64
	for _, c := range cs {
		s += c.Value
	}
	return s
}

// spend submits a transaction; when the block is full it mines an extra
// block a few seconds into the step and retries, so no block overflows.
func (w *world) spend(ins []btcw.Coin, outs []btcw.Output, opts btcw.TxOpts) (chainhash.Hash, []btcw.Coin, error) {
	for try := 0; ; try++ {
		h, coins, err := w.b.Spend(ins, outs, opts)
		if err == nil {
			w.btcTxs++
			return h, coins, nil
		}
		if !errors.Is(err, btcw.ErrBlockFull) || try > 3 {
			return h, nil, fmt.Errorf("world: btc spend at step %d: %w", w.step, err)
		}
		if err := w.mineBTC(w.now.Add(time.Duration(try+1) * 20 * time.Second)); err != nil {
			return h, nil, err
		}
	}
}

// pay spends ins to outs, with change to change when it is above dust,
// at this step's fee rate. It delivers every new coin to its sink (the
// change coin to changeSink) and returns the tx, the fee and the change
// value (0 when dropped).
func (w *world) pay(ins []btcw.Coin, outs []out, change btcw.Addr, changeSink func(btcw.Coin), opts btcw.TxOpts) (chainhash.Hash, int64, int64, error) {
	in := total(ins)
	var paid int64
	os := make([]btcw.Output, 0, len(outs)+1)
	for _, o := range outs {
		paid += o.value
		os = append(os, btcw.Output{Addr: o.addr, Value: o.value})
	}
	fee := w.fee(len(ins), len(outs)+1)
	if changeSink == nil {
		fee = w.fee(len(ins), len(outs))
	}
	rest := in - paid - fee
	if rest < 0 {
		return chainhash.Hash{}, 0, 0, fmt.Errorf("world: btc payment of %d with fee %d from %d at step %d", paid, fee, in, w.step)
	}
	if rest < dust || changeSink == nil {
		fee, rest = in-paid, 0
	} else {
		os = append(os, btcw.Output{Addr: change, Value: rest})
	}
	h, coins, err := w.spend(ins, os, w.style(opts))
	if err != nil {
		return h, 0, 0, err
	}
	for i, o := range outs {
		if o.sink != nil {
			o.sink(coins[i])
		}
	}
	if rest > 0 {
		changeSink(coins[len(outs)])
	}
	return h, fee, rest, nil
}

// wallet is a set of coins of one owner with a reused receive address.
type wallet struct {
	addr  btcw.Addr
	kind  btcw.Kind
	coins []btcw.Coin
	opts  btcw.TxOpts
}

func (wl *wallet) total() int64    { return total(wl.coins) }
func (wl *wallet) add(c btcw.Coin) { wl.coins = append(wl.coins, c) }

// spendable reports whether c can be spent in the next block.
func (w *world) spendable(c btcw.Coin) bool {
	return w.b.Spendable(c)
}

// take removes and returns coins of wl worth at least v (largest first,
// at most max coins), or nil when the wallet cannot cover v.
func (w *world) take(wl *wallet, v int64, most int) []btcw.Coin {
	idx := make([]int, 0, len(wl.coins))
	for i, c := range wl.coins {
		if w.spendable(c) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if wl.coins[a].Value != wl.coins[b].Value {
			if wl.coins[a].Value > wl.coins[b].Value {
				return -1
			}
			return 1
		}
		return a - b
	})
	var got int64
	n := 0
	for n < len(idx) && n < most && got < v {
		got += wl.coins[idx[n]].Value
		n++
	}
	if got < v {
		return nil
	}
	chosen := idx[:n]
	slices.Sort(chosen)
	ins := make([]btcw.Coin, 0, n)
	keep := wl.coins[:0:0]
	j := 0
	for i, c := range wl.coins {
		if j < len(chosen) && chosen[j] == i {
			ins = append(ins, c)
			j++
			continue
		}
		keep = append(keep, c)
	}
	wl.coins = keep
	return ins
}

// available is the spendable value of wl.
func (w *world) available(wl *wallet) int64 {
	var s int64
	for _, c := range wl.coins {
		if w.spendable(c) {
			s += c.Value
		}
	}
	return s
}

// pool is a mining pool: it mines to one reused address and pays its
// matured coinbases out in batches.
type pool struct {
	name   string
	weight int
	w      wallet
}

// mineBTC mines one Bitcoin block at t for a pool chosen by hash share.
func (w *world) mineBTC(t time.Time) error {
	var sum int
	for _, p := range w.pools {
		sum += p.weight
	}
	r := w.intn(sum)
	p := w.pools[len(w.pools)-1]
	for _, q := range w.pools {
		if r < q.weight {
			p = q
			break
		}
		r -= q.weight
	}
	_, cb, err := w.b.Mine(w.ctx, t, p.w.addr)
	if err != nil {
		return fmt.Errorf("world: btc block at step %d: %w", w.step, err)
	}
	w.btcTxs++
	p.w.add(cb)
	return nil
}

// target is a service wallet the pools fund first, up to want satoshi.
type target struct {
	w    *wallet
	want int64
}

// poolPayouts lets each pool pay its matured coins: first to services
// below their float (the bridge custodian, exchanges), then in batches
// to users.
func (w *world) poolPayouts() error {
	for _, p := range w.pools {
		avail := w.available(&p.w)
		if avail < 10*sat {
			continue
		}
		var outs []out
		budget := avail - 50_000
		for _, t := range w.targets() {
			have := t.w.total()
			if have >= t.want || budget < sat {
				continue
			}
			v := min(t.want-have, budget*8/10)
			v -= v % 100_000
			if v < sat {
				continue
			}
			tw := t.w
			outs = append(outs, out{addr: tw.addr, value: v, sink: tw.add})
			budget -= v
		}
		if len(outs) == 0 && w.step >= warmup && len(w.users) > 0 {
			n := w.between(10, 40)
			per := budget * 9 / 10 / int64(n)
			if per < 100_000 {
				continue
			}
			for range n {
				u := w.users[w.intn(len(w.users))]
				v := per/2 + w.rng.Int64N(per)
				v -= v % 1000
				if v > budget {
					break
				}
				budget -= v
				outs = append(outs, out{addr: u.recvAddr(w), value: v, sink: u.w.add})
			}
		}
		if len(outs) == 0 {
			continue
		}
		var need int64
		for _, o := range outs {
			need += o.value
		}
		ins := w.take(&p.w, need+w.fee(20, len(outs)+1), 20)
		if ins == nil {
			continue
		}
		if _, _, _, err := w.pay(ins, outs, p.w.addr, p.w.add, p.w.opts); err != nil {
			return err
		}
	}
	return nil
}

// targets lists the service wallets the pools top up, most urgent first.
func (w *world) targets() []target {
	ts := []target{{&w.exch[2].hot, w.exch[2].float}, {&w.bridge.float, 4_200 * sat}}
	for _, x := range w.exch {
		ts = append(ts, target{&x.hot, x.float})
	}
	for _, o := range w.otc {
		ts = append(ts, target{&o.w, 150 * sat})
	}
	return ts
}

// kindMix draws an address kind with a recent mainnet-like mix.
func (w *world) kindMix() btcw.Kind {
	switch r := w.intn(100); {
	case r < 62:
		return btcw.P2WPKH
	case r < 77:
		return btcw.P2PKH
	case r < 90:
		return btcw.P2SHP2WPKH
	default:
		return btcw.P2TR
	}
}

// txStyle draws a wallet's transaction style: version, lock time
// (anti-fee-sniping or none) and sequence.
func (w *world) txStyle() btcw.TxOpts {
	o := btcw.TxOpts{Version: 2, Sequence: 0xfffffffd}
	switch w.intn(4) {
	case 0:
		o.Version = 1
		o.Sequence = 0xffffffff
	case 1:
		o.LockTime = 1 // replaced by the height when the wallet spends
	}
	return o
}

// style returns o ready for this step (the anti-fee-sniping lock time is
// the current height).
func (w *world) style(o btcw.TxOpts) btcw.TxOpts {
	if o.LockTime != 0 {
		o.LockTime = uint32(w.b.Height())
	}
	return o
}
