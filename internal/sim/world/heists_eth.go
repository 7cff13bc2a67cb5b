package world

import (
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/ethereum/go-ethereum/common"
)

// svcETH picks a service address for a launderer's Ethereum payment: the
// heist's deposit address at an exchange (not victim) or an OTC desk.
func (w *world) svcETH(h *heistRec, victim *exchange) (common.Address, *truth.Entity) {
	if w.chance(0.7) {
		for {
			x := w.exch[w.intn(len(w.exch))]
			if x != victim {
				return w.depositETH(x, h.custKey-w.intn(3)), x.ent
			}
		}
	}
	o := w.otc[w.intn(len(w.otc))]
	return o.eth, o.ent
}

// lsendSvc pays v ETH (or USDT when tok) from a launderer account to a
// service and records it.
func (w *world) lsendSvc(h *heistRec, from common.Address, v *big.Int, tok bool, victim *exchange) error {
	to, ent := w.svcETH(h, victim)
	asset, gas := "ETH", uint64(ethw.GasSend)
	var err error
	if tok {
		asset, gas = w.assetUSDT(), ethw.GasTokenTransfer
		_, err = w.tokenTransfer(from, to, v)
	} else {
		_, err = w.send(from, to, v)
	}
	if err != nil {
		return err
	}
	w.ethFee(h, gas)
	h.dest(truth.KindService, ent.Name, ent.Category, ETHChain, asset, to.Hex(), v)
	h.end = max(h.end, w.step)
	return nil
}

// lsend moves v ETH between launderer accounts.
func (w *world) lsend(h *heistRec, from, to common.Address, v *big.Int) error {
	if _, err := w.send(from, to, v); err != nil {
		return err
	}
	w.ethFee(h, ethw.GasSend)
	return nil
}

// lbridge bridges an account's spare ETH to a fresh launderer Bitcoin
// address; then is called with the released coin.
func (w *world) lbridge(h *heistRec, from common.Address, then func(btcw.Coin) error) error {
	v := w.spare(from, gasBridge, 0)
	v.Sub(v, new(big.Int).Rem(v, ether(0.001)))
	if v.Cmp(ether(0.01)) < 0 {
		return nil
	}
	to := w.b.NewAddr(btcw.P2WPKH)
	_, _, err := w.bridgeOut(from, v, to, func(c btcw.Coin) {
		h.keep(c)
		f := h.flow(BTCChain, "BTC")
		f.brIn.Add(&f.brIn, big.NewInt(c.Value))
		h.end = max(h.end, w.step)
		if then != nil {
			cc := c
			w.later(h, 0, func() error { return then(cc) })
		}
	})
	if err != nil {
		return err
	}
	w.ethFee(h, gasBridge)
	f := h.flow(ETHChain, "ETH")
	f.brOut.Add(&f.brOut, v)
	h.end = max(h.end, w.step+3)
	return nil
}

// btcHops launders a released coin in 1..n hops: each hop pays part to a
// service and the rest to a fresh address; the last pays most out.
func (w *world) btcHops(h *heistRec, c btcw.Coin, hops int) error {
	if hops <= 0 {
		return nil
	}
	share := 0.3 + 0.4*w.rng.Float64()
	if hops == 1 {
		share = 0.85 + 0.1*w.rng.Float64()
	}
	v := roundish(w, int64(share*float64(c.Value)))
	if v+w.fee(1, 2)+10*dust > c.Value {
		return nil
	}
	_, ch, err := w.lpay(h, []btcw.Coin{c}, nil, []int64{v}, c.Addr.Kind, nil)
	if err != nil || ch.Value == 0 {
		return err
	}
	w.later(h, w.delay(h), func() error { return w.btcHops(h, ch, hops-1) })
	return nil
}

// bridgeDrain drains the Lantern Bridge, swaps the USDT to ETH, splits,
// mixes part in the Cyclone Pool, bridges everything to Bitcoin, mixes
// part in Whirl CoinJoin rounds and peels the rest to services.
func (w *world) bridgeDrain(h *heistRec) error {
	a := w.newAcct(h)
	eth, tok := ether(h.p("eth")), usdt(h.p("usdt"))
	hash, err := w.call(w.exploiter(h), w.lanternA, new(big.Int), []ethw.Effect{
		{Token: zeroAddr, From: w.lanternA, To: a, Amount: eth},
		{Token: w.usdt, From: w.lanternA, To: a, Amount: tok},
	}, gasDrain)
	if err != nil {
		return err
	}
	h.flow(ETHChain, "ETH").stolen.Set(eth)
	h.flow(ETHChain, w.assetUSDT()).stolen.Set(tok)
	h.source(ETHChain, hash.Hex(), a.Hex())
	swaps := int(h.p("swaps"))
	for i := range swaps {
		w.later(h, 1+i, func() error {
			units := new(big.Int).Quo(tok, big.NewInt(int64(swaps)))
			if i == swaps-1 {
				units = w.usdtBal(a)
			}
			_, got, err := w.swapUSDT(a, units)
			if err != nil {
				return err
			}
			w.ethFee(h, gasSwap)
			fu, fe := h.flow(ETHChain, w.assetUSDT()), h.flow(ETHChain, "ETH")
			fu.swOut.Add(&fu.swOut, units)
			fe.swIn.Add(&fe.swIn, got)
			return nil
		})
	}
	w.later(h, swaps+1, func() error { return w.drainSplit(h, a) })
	return nil
}

func (w *world) drainSplit(h *heistRec, a common.Address) error {
	n := int(h.p("split"))
	spare := w.spare(a, 0, 0)
	spare.Sub(spare, new(big.Int).Mul(w.gasFee(ethw.GasSend), big.NewInt(int64(n))))
	weights := make([]int64, n)
	var sum int64
	for i := range weights {
		weights[i] = int64(w.between(50, 150))
		sum += weights[i]
	}
	mixed := int(float64(n)*h.p("mixer_share") + 0.5)
	for i := range n {
		b := w.newAcct(h)
		v := mulDiv(spare, weights[i], sum)
		v.Sub(v, new(big.Int).Rem(v, ether(0.01)))
		if err := w.lsend(h, a, b, v); err != nil {
			return err
		}
		if i < mixed {
			w.later(h, w.between(1, 4), func() error { return w.drainMix(h, b) })
		} else {
			w.later(h, w.between(1, 6), func() error { return w.lbridge(h, b, func(c btcw.Coin) error { return w.drainBTC(h, c) }) })
		}
	}
	return nil
}

// drainMix deposits an account's ETH into the Cyclone Pool in
// denominations; most notes are withdrawn to fresh accounts, which
// bridge on.
func (w *world) drainMix(h *heistRec, b common.Address) error {
	for _, d := range poolDenoms {
		den := ether(d)
		for w.spare(b, gasDeposit, 0).Cmp(den) >= 0 {
			to := zeroAddr
			if !w.chance(h.p("mixer_abandon")) {
				to = w.newAcct(h)
			}
			if _, err := w.poolDeposit(b, den, w.between(3, 15), to, func(got *big.Int) {
				h.dest(truth.KindMixer, w.mix.ent.Name, w.mix.ent.Category, ETHChain, "ETH", w.mix.pool.Hex(), new(big.Int).Sub(den, got))
				tt := to
				w.later(h, w.between(1, 5), func() error {
					return w.lbridge(h, tt, func(c btcw.Coin) error { return w.drainBTC(h, c) })
				})
			}); err != nil {
				return err
			}
			w.ethFee(h, gasDeposit)
			if to == zeroAddr {
				h.dest(truth.KindMixer, w.mix.ent.Name, w.mix.ent.Category, ETHChain, "ETH", w.mix.pool.Hex(), den)
			}
			h.end = max(h.end, w.step+15)
		}
	}
	return nil
}

// drainBTC sends a released coin either through Whirl CoinJoin rounds
// (after a premix transaction) or down a peel chain.
func (w *world) drainBTC(h *heistRec, c btcw.Coin) error {
	hops := w.between(int(h.p("hops_min")), int(h.p("hops_max")))
	if !w.chance(h.p("coinjoin_share")) {
		return w.peel(h, c, hops, 0.05, 0.3, nil)
	}
	d := int64(sat)
	slot := d + d*cjFeePerMille/1000 + 3_000
	n := int((c.Value - w.fee(1, 200)) / slot)
	n = min(n, 150)
	if n == 0 {
		return w.peel(h, c, hops, 0.05, 0.3, nil)
	}
	selves := make([]self, n)
	for i := range selves {
		selves[i] = self{slot, btcw.P2WPKH}
	}
	premix, ch, err := w.lpay(h, []btcw.Coin{c}, selves, nil, btcw.P2WPKH, nil)
	if err != nil {
		return err
	}
	if ch.Value > 0 {
		w.later(h, w.delay(h), func() error { return w.peel(h, ch, hops, 0.05, 0.3, nil) })
	}
	coordAddr := w.b.AddrString(w.cj.coord)
	for _, p := range premix {
		delete(h.purse, p.OutPoint)
		h.cjWaiting++
		w.cj.queue[d] = append(w.cj.queue[d], cjSlot{ins: []btcw.Coin{p}, to: w.b.NewAddr(btcw.P2WPKH),
			sink: func(m btcw.Coin) {
				h.keep(m)
				h.mixed = append(h.mixed, m)
				h.cjWaiting--
				h.end = max(h.end, w.step)
				if len(h.mixed) >= int(h.p("cj_group")) || h.cjWaiting == 0 {
					group := h.mixed
					h.mixed = nil
					w.later(h, w.delay(h), func() error { return w.mixedOut(h, group) })
				}
			},
			change: w.b.NewAddr(btcw.P2WPKH), changeSink: h.keep,
			fees: func(coord, mining int64) {
				h.destSat(truth.KindMixer, w.cj.ent.Name, w.cj.ent.Category, coordAddr, coord)
				h.destSat(truth.KindFee, "", "", "", mining)
			}})
	}
	w.lastStep = max(w.lastStep, w.step+1)
	return nil
}

// mixedOut consolidates a group of CoinJoin outputs and peels it.
func (w *world) mixedOut(h *heistRec, group []btcw.Coin) error {
	v := total(group) - w.fee(len(group), 2)
	got, _, err := w.lpay(h, group, []self{{v, btcw.P2WPKH}}, nil, btcw.P2WPKH, nil)
	if err != nil || len(got) == 0 {
		return err
	}
	hops := w.between(int(h.p("hops_min")), int(h.p("hops_max")))
	w.later(h, w.delay(h), func() error { return w.peel(h, got[0], hops, 0.05, 0.3, nil) })
	return nil
}

// dispersal steals from Bluefin's Ethereum hot wallet, disperses the ETH
// over many accounts, bridges most to Bitcoin and swaps the rest to USDT
// for OTC desks.
// refillHot moves what Bluefin's Ethereum hot wallet lacks for a theft
// of amount from its cold wallet, in the same block, as an exchange tops
// up its hot wallet from cold storage: in a long world the hot wallet has
// long since sent its surplus to cold storage. A hot wallet already
// holding enough (as in small worlds) is left alone. It returns what the
// hot wallet can then give, at most amount.
func (w *world) refillHot(amount *big.Int) (*big.Int, error) {
	x := w.exch[1]
	need := new(big.Int).Add(amount, w.gasFee(ethw.GasSend))
	if have := w.ethBal(x.ethHot); have.Cmp(need) < 0 {
		move := new(big.Int).Sub(w.ethBal(x.ethCld), w.gasFee(ethw.GasSend))
		if short := new(big.Int).Sub(need, have); move.Cmp(short) > 0 {
			move = short
		}
		if move.Sign() > 0 {
			if _, err := w.send(x.ethCld, x.ethHot, move); err != nil {
				return nil, err
			}
		}
	}
	can := new(big.Int).Sub(w.ethBal(x.ethHot), w.gasFee(ethw.GasSend))
	if can.Cmp(amount) > 0 {
		can.Set(amount)
	}
	return can, nil
}

func (w *world) dispersal(h *heistRec) error {
	x := w.exch[1]
	a := w.newAcct(h)
	amount, err := w.refillHot(ether(h.p("eth")))
	if err != nil {
		return err
	}
	if amount.Sign() <= 0 {
		return fmt.Errorf("world: heist %s: %s's hot wallet holds nothing to steal", h.spec.ID, x.ent.Name)
	}
	if amount.Cmp(ether(h.p("eth"))) != 0 {
		// Recorded only when the wallet could not give the whole amount.
		h.spec.Params["eth_taken"], _ = new(big.Float).Quo(new(big.Float).SetInt(amount), big.NewFloat(1e18)).Float64()
	}
	hash, err := w.send(x.ethHot, a, amount)
	if err != nil {
		return err
	}
	h.flow(ETHChain, "ETH").stolen.Set(amount)
	h.source(ETHChain, hash.Hex(), a.Hex())
	n := int(h.p("split"))
	w.later(h, 1, func() error {
		spare := w.spare(a, 0, 0)
		spare.Sub(spare, new(big.Int).Mul(w.gasFee(ethw.GasSend), big.NewInt(int64(n))))
		weights := make([]int64, n)
		var sum int64
		for i := range weights {
			weights[i] = int64(w.between(50, 150))
			sum += weights[i]
		}
		for i := range n {
			b := w.newAcct(h)
			v := mulDiv(spare, weights[i], sum)
			v.Sub(v, new(big.Int).Rem(v, ether(0.1)))
			if err := w.lsend(h, a, b, v); err != nil {
				return err
			}
			if w.chance(h.p("bridge_share")) {
				w.later(h, w.between(0, 1), func() error {
					return w.lbridge(h, b, func(c btcw.Coin) error {
						return w.btcHops(h, c, w.between(int(h.p("hops_min")), int(h.p("hops_max"))))
					})
				})
				continue
			}
			w.later(h, w.between(1, 2), func() error {
				v := w.spare(b, gasSwap, 1)
				_, got, err := w.swapETH(b, v)
				if err != nil {
					return err
				}
				w.ethFee(h, gasSwap)
				fe, fu := h.flow(ETHChain, "ETH"), h.flow(ETHChain, w.assetUSDT())
				fe.swOut.Add(&fe.swOut, v)
				fu.swIn.Add(&fu.swIn, got)
				w.later(h, w.delay(h), func() error {
					o := w.otc[w.intn(len(w.otc))]
					if _, err := w.tokenTransfer(b, o.eth, got); err != nil {
						return err
					}
					w.ethFee(h, ethw.GasTokenTransfer)
					h.dest(truth.KindService, o.ent.Name, o.ent.Category, ETHChain, w.assetUSDT(), o.eth.Hex(), got)
					return nil
				})
				return nil
			})
		}
		return nil
	})
	return nil
}

// walletDrain empties victims' wallets on both chains into a few
// consolidation addresses, which pay services over a few hops.
func (w *world) walletDrain(h *heistRec) error {
	nc := int(h.p("consolidators"))
	var bcons []btcw.Addr
	var econs []common.Address
	for range nc {
		bcons = append(bcons, w.b.NewAddr(btcw.P2WPKH))
		econs = append(econs, w.newAcct(h))
	}
	steps := int(h.p("drain_steps"))
	victims := map[int]bool{}
	pickB, pickE := int(h.p("btc_victims")), int(h.p("eth_victims"))
	for s := range steps {
		w.later(h, s, func() error {
			for i := 0; i < pickB/steps; i++ {
				u := w.someUser(1_000_000)
				if u == nil || victims[u.id] {
					continue
				}
				victims[u.id] = true
				ins := w.take(&u.w, w.available(&u.w), 50)
				if ins == nil {
					continue
				}
				v := total(ins) - w.fee(len(ins), 1)
				to := bcons[w.intn(nc)]
				hash, _, _, err := w.pay(ins, []out{{to, v, h.keep}}, to, nil, btcw.TxOpts{})
				if err != nil {
					return err
				}
				f := h.flow(BTCChain, "BTC")
				f.stolen.Add(&f.stolen, big.NewInt(v))
				h.source(BTCChain, hash.String(), w.b.AddrString(to))
			}
			for i := 0; i < pickE/steps; i++ {
				u := w.users[w.intn(len(w.users))]
				if victims[-1-u.id] || w.ethBal(u.eth).Cmp(ether(0.5)) < 0 {
					continue
				}
				victims[-1-u.id] = true
				to := econs[w.intn(nc)]
				if t := w.usdtBal(u.eth); t.Sign() > 0 {
					hash, err := w.tokenTransfer(u.eth, to, t)
					if err != nil {
						return err
					}
					f := h.flow(ETHChain, w.assetUSDT())
					f.stolen.Add(&f.stolen, t)
					h.source(ETHChain, hash.Hex(), to.Hex())
				}
				v := w.spare(u.eth, ethw.GasSend, 0)
				hash, err := w.send(u.eth, to, v)
				if err != nil {
					return err
				}
				f := h.flow(ETHChain, "ETH")
				f.stolen.Add(&f.stolen, v)
				h.source(ETHChain, hash.Hex(), to.Hex())
			}
			return nil
		})
	}
	w.later(h, steps+1, func() error {
		// Bitcoin: each consolidation address's coins launder on.
		byAddr := map[btcw.Addr][]btcw.Coin{}
		for _, c := range h.purse {
			byAddr[c.Addr] = append(byAddr[c.Addr], c)
		}
		for _, a := range bcons {
			cs := byAddr[a]
			if len(cs) == 0 {
				continue
			}
			sortCoins(cs)
			v := total(cs) - w.fee(len(cs), 2)
			got, _, err := w.lpay(h, cs, []self{{v, btcw.P2WPKH}}, nil, btcw.P2WPKH, nil)
			if err != nil {
				return err
			}
			for _, c := range got {
				hops := w.between(int(h.p("hops_min")), int(h.p("hops_max")))
				w.later(h, w.delay(h), func() error { return w.btcHops(h, c, hops) })
			}
		}
		// Ethereum: USDT straight to services, ETH over hops.
		for _, a := range econs {
			if t := w.usdtBal(a); t.Sign() > 0 && w.canPay(a, new(big.Int), ethw.GasTokenTransfer) {
				if err := w.lsendSvc(h, a, t, true, nil); err != nil {
					return err
				}
			}
			hops := w.between(int(h.p("hops_min")), int(h.p("hops_max")))
			w.later(h, w.delay(h), func() error { return w.ethHops(h, a, hops) })
		}
		return nil
	})
	return nil
}

// ethHops pays part of an account's ETH to a service and moves the rest
// to a fresh account, hops times; the last account keeps a little.
func (w *world) ethHops(h *heistRec, a common.Address, hops int) error {
	spare := w.spare(a, ethw.GasSend, 1)
	if hops <= 0 || spare.Cmp(ether(0.1)) < 0 {
		return nil
	}
	pay := mulDiv(spare, int64(w.between(30, 60)), 100)
	if hops == 1 {
		pay = mulDiv(spare, int64(100-100*h.p("keep_share")), 100)
	}
	pay.Sub(pay, new(big.Int).Rem(pay, ether(0.01)))
	if err := w.lsendSvc(h, a, pay, false, nil); err != nil {
		return err
	}
	if hops == 1 {
		return nil
	}
	b := w.newAcct(h)
	if err := w.lsend(h, a, b, w.spare(a, ethw.GasSend, 0)); err != nil {
		return err
	}
	w.later(h, w.delay(h), func() error { return w.ethHops(h, b, hops-1) })
	return nil
}
