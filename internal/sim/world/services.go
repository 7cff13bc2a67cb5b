package world

import (
	"math/big"

	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/ethereum/go-ethereum/common"
)

// entity registers a service of the world.
func (w *world) entity(name, category string, labelled bool) *truth.Entity {
	e := &truth.Entity{Name: name, Category: category, Labelled: labelled}
	w.entities = append(w.entities, e)
	return e
}

// addBTC records a Bitcoin address of ent and returns it as a string.
func (w *world) addBTC(ent *truth.Entity, a btcw.Addr, role string, labelled bool) string {
	s := w.b.AddrString(a)
	ent.Addresses = append(ent.Addresses, truth.Address{Chain: BTCChain, Address: s, Role: role, Labelled: labelled && ent.Labelled})
	return s
}

// addETH records an Ethereum address of ent.
func (w *world) addETH(ent *truth.Entity, a common.Address, role string, labelled bool) {
	ent.Addresses = append(ent.Addresses, truth.Address{Chain: ETHChain, Address: a.Hex(), Role: role, Labelled: labelled && ent.Labelled})
}

// exchange is a custodial exchange on both chains.
type exchange struct {
	ent    *truth.Entity
	hot    wallet
	cold   btcw.Addr
	float  int64   // satoshi the pools keep the hot wallet topped up to
	hold   int64   // satoshi withdrawals leave in the hot wallet
	ethCap float64 // ether above which the hot wallet tops up cold storage
	ethHot common.Address
	ethCld common.Address
	dep    map[int]btcw.Addr
	edep   map[int]common.Address
	// pending are deposits awaiting their sweep, in arrival order.
	pending  []pendingCoin
	epending []pendingAcct
	ependSet map[common.Address]bool
}

type pendingCoin struct {
	c   btcw.Coin
	due int
}

type pendingAcct struct {
	a   common.Address
	due int
}

// depositBTC returns customer key's deposit address at x (made on first
// use; about a third of a labelled exchange's are labelled) and the sink
// that queues a coin paid to it for the sweep.
func (w *world) depositBTC(x *exchange, key int) (btcw.Addr, func(btcw.Coin)) {
	a, ok := x.dep[key]
	if !ok {
		a = w.b.NewAddr(w.kindMix())
		x.dep[key] = a
		w.addBTC(x.ent, a, "deposit", w.chance(1.0/3))
	}
	return a, func(c btcw.Coin) { x.pending = append(x.pending, pendingCoin{c, w.step + w.between(1, 12)}) }
}

// depositETH returns customer key's Ethereum deposit address at x and
// queues its sweep.
func (w *world) depositETH(x *exchange, key int) common.Address {
	a, ok := x.edep[key]
	if !ok {
		a = w.e.NewAddr()
		x.edep[key] = a
		w.addETH(x.ent, a, "deposit", w.chance(1.0/3))
	}
	if !x.ependSet[a] {
		x.ependSet[a] = true
		x.epending = append(x.epending, pendingAcct{a, w.step + w.between(1, 12)})
	}
	return a
}

// sweep consolidates x's due Bitcoin deposits into its hot wallet and
// forwards its due Ethereum deposit addresses' USDT and ETH.
func (w *world) sweep(x *exchange) error {
	var due, keep []pendingCoin
	for _, p := range x.pending {
		if p.due <= w.step {
			due = append(due, p)
		} else {
			keep = append(keep, p)
		}
	}
	x.pending = keep
	for len(due) > 0 {
		n := min(len(due), 80)
		ins := make([]btcw.Coin, n)
		for i := range n {
			ins[i] = due[i].c
		}
		due = due[n:]
		if _, _, _, err := w.pay(ins, nil, x.hot.addr, x.hot.add, x.hot.opts); err != nil {
			return err
		}
	}
	var ekeep []pendingAcct
	for _, p := range x.epending {
		if p.due > w.step {
			ekeep = append(ekeep, p)
			continue
		}
		delete(x.ependSet, p.a)
		if u := w.usdtBal(p.a); u.Sign() > 0 {
			need := w.gasFee(ethw.GasTokenTransfer)
			if have := w.ethBal(p.a); have.Cmp(need) < 0 {
				top := need.Sub(need, have)
				if !w.canPay(x.ethHot, top, ethw.GasSend) {
					// The hot wallet cannot fund the sweep's gas (it was
					// just robbed, say): the sweep waits for the deposits
					// that refill it.
					p.due = w.step + 1
					x.ependSet[p.a] = true
					ekeep = append(ekeep, p)
					continue
				}
				if _, err := w.send(x.ethHot, p.a, top); err != nil {
					return err
				}
			}
			if _, err := w.tokenTransfer(p.a, x.ethHot, u); err != nil {
				return err
			}
		}
		if v := w.spare(p.a, ethw.GasSend, 0); v.Sign() > 0 {
			if _, err := w.send(p.a, x.ethHot, v); err != nil {
				return err
			}
		}
	}
	x.epending = ekeep
	return nil
}

// exchangeOps runs x's own traffic: withdrawals to users (batched on
// Bitcoin), and the hot wallet's surplus moved to cold storage.
func (w *world) exchangeOps(x *exchange) error {
	if err := w.sweep(x); err != nil {
		return err
	}
	if w.step < warmup || len(w.users) == 0 {
		return nil
	}
	if w.chance(0.4) {
		n := w.between(3, 20)
		var outs []out
		var need int64
		budget := w.available(&x.hot) - x.hold - 10*sat
		for range n {
			u := w.users[w.intn(len(w.users))]
			v := roundish(w, int64(w.between(100_000, 80_000_000)))
			if need+v > budget {
				break
			}
			need += v
			outs = append(outs, out{addr: u.recvAddr(w), value: v, sink: u.w.add})
		}
		if len(outs) > 0 {
			if ins := w.take(&x.hot, need+w.fee(12, len(outs)+1), 12); ins != nil {
				if _, _, _, err := w.pay(ins, outs, x.hot.addr, x.hot.add, x.hot.opts); err != nil {
					return err
				}
			}
		}
	}
	if x.hold == 0 && x.hot.total() > 3*x.float && w.chance(0.2) {
		if ins := w.take(&x.hot, x.hot.total()-x.float, 30); ins != nil {
			if _, _, _, err := w.pay(ins, nil, x.cold, func(btcw.Coin) {}, x.hot.opts); err != nil {
				return err
			}
		}
	}
	if len(x.hot.coins) > 60 {
		ins := w.take(&x.hot, 1, 1)
		ins = append(ins, w.smallest(&x.hot, 40)...)
		if _, _, _, err := w.pay(ins, nil, x.hot.addr, x.hot.add, x.hot.opts); err != nil {
			return err
		}
	}
	// Ethereum withdrawals: single sends of ETH or USDT.
	for range w.between(0, 3) {
		u := w.users[w.intn(len(w.users))]
		if w.chance(0.6) {
			v := ether(float64(w.between(5, 3000)) / 100)
			if w.canPay(x.ethHot, new(big.Int).Add(v, ether(100)), ethw.GasSend) {
				if _, err := w.send(x.ethHot, u.eth, v); err != nil {
					return err
				}
			}
		} else {
			v := usdt(float64(w.between(50, 20_000)))
			if w.usdtBal(x.ethHot).Cmp(v) >= 0 {
				if _, err := w.tokenTransfer(x.ethHot, u.eth, v); err != nil {
					return err
				}
			}
		}
	}
	if w.chance(0.05) {
		if v := w.spare(x.ethHot, ethw.GasSend, 0); v.Cmp(ether(x.ethCap)) > 0 {
			if _, err := w.send(x.ethHot, x.ethCld, v.Sub(v, ether(x.ethCap*2/3))); err != nil {
				return err
			}
		}
	}
	return nil
}

// smallest removes and returns up to n of wl's smallest spendable coins.
func (w *world) smallest(wl *wallet, n int) []btcw.Coin {
	var ins []btcw.Coin
	for len(ins) < n && len(wl.coins) > 0 {
		best := -1
		for i, c := range wl.coins {
			if w.spendable(c) && (best < 0 || c.Value < wl.coins[best].Value) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		ins = append(ins, wl.coins[best])
		wl.coins = append(wl.coins[:best], wl.coins[best+1:]...)
	}
	return ins
}

// roundish makes v look like a human's amount: rounded to a power of ten
// a few digits below it.
func roundish(w *world, v int64) int64 {
	unit := int64(1000)
	for unit*1000 < v {
		unit *= 10
	}
	if w.chance(0.5) {
		unit *= 10
	}
	if r := v - v%unit; r > 0 {
		return r
	}
	return v
}

// otcDesk is an OTC broker with one address per chain.
type otcDesk struct {
	ent *truth.Entity
	w   wallet
	eth common.Address
}

// otcOps pays the desk's customers now and then.
func (w *world) otcOps(o *otcDesk) error {
	// A desk receives more coins than its payouts spend, so in a long
	// world it consolidates now and then, as a custodian does; the
	// threshold is above what a desk gathers in worlds of up to 40,000
	// transactions, which therefore do not change.
	if err := w.mergeSmallest(&o.w, 400, 200); err != nil {
		return err
	}
	if w.step < warmup || !w.chance(0.3) {
		return nil
	}
	u := w.users[w.intn(len(w.users))]
	if v := roundish(w, w.available(&o.w)/int64(w.between(20, 200))); v > 100_000 {
		if ins := w.take(&o.w, v+w.fee(5, 2), 5); ins != nil {
			if _, _, _, err := w.pay(ins, []out{{u.recvAddr(w), v, u.w.add}}, o.w.addr, o.w.add, o.w.opts); err != nil {
				return err
			}
		}
	}
	if v := w.usdtBal(o.eth); v.Cmp(usdt(10_000)) > 0 && w.ethBal(o.eth).Cmp(ether(0.1)) > 0 {
		if _, err := w.tokenTransfer(o.eth, u.eth, mulDiv(v, 1, int64(w.between(5, 50)))); err != nil {
			return err
		}
	}
	if v := w.spare(o.eth, ethw.GasSend, 20); v.Cmp(ether(10)) > 0 {
		if _, err := w.send(o.eth, u.eth, mulDiv(v, 1, int64(w.between(5, 50)))); err != nil {
			return err
		}
	}
	return nil
}

// services runs every service's work of the step.
func (w *world) services() error {
	if w.step >= int(w.b.Maturity())+1 {
		if err := w.poolPayouts(); err != nil {
			return err
		}
	}
	for _, x := range w.exch {
		if err := w.exchangeOps(x); err != nil {
			return err
		}
	}
	for _, o := range w.otc {
		if err := w.otcOps(o); err != nil {
			return err
		}
	}
	if err := w.bridgeOps(); err != nil {
		return err
	}
	if err := w.mixerOps(); err != nil {
		return err
	}
	return w.coinjoinOps()
}

// setup creates the services, tokens and contracts and seeds the
// Ethereum side's money (beacon withdrawals and USDT mints).
func (w *world) setup() error {
	w.producer = w.e.NewAddr()
	w.usdt = w.e.DeployToken("USDT", "Simulated Dollar Token", 6)
	w.issuer = w.e.Deployer()
	for i, name := range []string{"Granite Pool", "Copperhash", "Aurora Mining"} {
		p := &pool{name: name, weight: []int{45, 35, 20}[i], w: wallet{addr: w.b.NewAddr(btcw.P2WPKH), kind: btcw.P2WPKH}}
		ent := w.entity(name, "miner", true)
		w.addBTC(ent, p.w.addr, "pool", true)
		w.pools = append(w.pools, p)
	}
	names := []string{"Northwind Exchange", "Bluefin Exchange", "Kestrel Markets", "Juniper Exchange", "Harbor Exchange"}
	for _, name := range names {
		x := &exchange{ent: w.entity(name, "exchange", name != "Harbor Exchange"), float: 150 * sat, ethCap: 30_000,
			dep: map[int]btcw.Addr{}, edep: map[int]common.Address{}, ependSet: map[common.Address]bool{}}
		x.hot = wallet{addr: w.b.NewAddr(btcw.P2WPKH), kind: btcw.P2WPKH, opts: w.txStyle()}
		x.cold = w.b.NewAddr(btcw.P2WPKH)
		x.ethHot, x.ethCld = w.e.NewAddr(), w.e.NewAddr()
		w.addBTC(x.ent, x.hot.addr, "hot", true)
		w.addBTC(x.ent, x.cold, "cold", true)
		w.addETH(x.ent, x.ethHot, "hot", true)
		w.addETH(x.ent, x.ethCld, "cold", true)
		w.e.Withdraw(x.ethHot, 40_000*gweiPerETH)
		if err := w.mint(x.ethHot, usdt(50_000_000)); err != nil {
			return err
		}
		w.exch = append(w.exch, x)
	}
	// Bluefin's Ethereum hot wallet holds enough for the dispersal heist.
	w.e.Withdraw(w.exch[1].ethHot, 80_000*gweiPerETH)
	w.exch[1].ethCap = 200_000
	// Kestrel keeps a large Bitcoin float until its hot wallet is robbed.
	w.exch[2].float, w.exch[2].hold = 2_300*sat, 2_200*sat
	for _, name := range []string{"Meridian OTC", "Atlas OTC Desk", "Sable OTC"} {
		o := &otcDesk{ent: w.entity(name, "otc_broker", name != "Sable OTC"), eth: w.e.NewAddr()}
		o.w = wallet{addr: w.b.NewAddr(btcw.P2WPKH), kind: btcw.P2WPKH, opts: w.txStyle()}
		w.addBTC(o.ent, o.w.addr, "hot", true)
		w.addETH(o.ent, o.eth, "hot", true)
		w.e.Withdraw(o.eth, 500*gweiPerETH)
		w.otc = append(w.otc, o)
	}
	w.setupMixers()
	if err := w.setupDeFi(); err != nil {
		return err
	}
	return w.setupUsers()
}

// setupDeFi creates the bridge, the DEX and the victim bridge.
func (w *world) setupDeFi() error {
	br := &bridge{ent: w.entity("Span Bridge", "bridge", true), contract: w.e.NewContract("Span Bridge"), operator: w.e.NewAddr()}
	br.float = wallet{addr: w.b.NewAddr(btcw.P2WPKH), kind: btcw.P2WPKH, opts: w.txStyle()}
	br.deposit = wallet{addr: w.b.NewAddr(btcw.P2WPKH), kind: btcw.P2WPKH, opts: br.float.opts}
	w.addETH(br.ent, br.contract, "contract", true)
	w.addBTC(br.ent, br.float.addr, "custodian", true)
	w.addBTC(br.ent, br.deposit.addr, "deposit", true)
	w.e.Withdraw(br.contract, 30_000*gweiPerETH)
	w.e.Withdraw(br.operator, 100*gweiPerETH)
	w.bridge = br

	d := &dex{ent: w.entity("Tidepool DEX", "defi_dex", true), addr: w.e.NewContract("Tidepool DEX")}
	w.addETH(d.ent, d.addr, "contract", true)
	w.e.Withdraw(d.addr, 300_000*gweiPerETH)
	if err := w.mint(d.addr, usdt(600_000_000)); err != nil {
		return err
	}
	w.dex = d

	w.lantern = w.entity("Lantern Bridge", "defi", true)
	w.lanternA = w.e.NewContract("Lantern Bridge")
	w.addETH(w.lantern, w.lanternA, "contract", true)
	w.e.Withdraw(w.lanternA, 26_000*gweiPerETH)
	return w.mint(w.lanternA, usdt(36_000_000))
}

// dex is the Tidepool constant-price pool of ETH and USDT.
type dex struct {
	ent  *truth.Entity
	addr common.Address
}
