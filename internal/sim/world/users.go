package world

import (
	"math"
	"math/big"

	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/ethereum/go-ethereum/common"
)

// user is an ordinary user with a Bitcoin wallet and an Ethereum account.
type user struct {
	id  int
	w   wallet
	eth common.Address
}

// recvAddr returns the address a user gives a payer: its reused address
// or, more often, a fresh one of its wallet's kind.
func (u *user) recvAddr(w *world) btcw.Addr {
	if w.chance(0.4) {
		return u.w.addr
	}
	return w.b.NewAddr(u.w.kind)
}

// changeAddr returns where a user's change goes: a fresh address about
// 70% of the time, else back to the reused one.
func (u *user) changeAddr(w *world) btcw.Addr {
	if w.chance(0.7) {
		return w.b.NewAddr(u.w.kind)
	}
	return u.w.addr
}

// setupUsers creates the users and gives them their first ether (beacon
// withdrawals) and USDT (mints).
func (w *world) setupUsers() error {
	for i := range w.cfg.Users {
		k := w.kindMix()
		u := &user{id: i, eth: w.e.NewAddr(), w: wallet{kind: k, addr: w.b.NewAddr(k), opts: w.txStyle()}}
		// Log-uniform between 0.3 and 300 ETH.
		eth := 0.3 * math.Pow(1000, w.rng.Float64())
		w.e.Withdraw(u.eth, uint64(eth*gweiPerETH))
		if w.chance(0.4) {
			if err := w.mint(u.eth, usdt(float64(w.between(100, 50_000)))); err != nil {
				return err
			}
		}
		w.users = append(w.users, u)
	}
	return nil
}

// someUser returns a random user, or one with at least v spendable
// satoshi when v is positive (nil when a few tries find none).
func (w *world) someUser(v int64) *user {
	for range 8 {
		u := w.users[w.intn(len(w.users))]
		if v <= 0 || w.available(&u.w) >= v {
			return u
		}
	}
	return nil
}

// background adds this step's ordinary traffic on both chains.
func (w *world) background() error {
	want := w.btcTxs + int64(w.budget())
	for try := 0; w.btcTxs < want && try < 4*maxPerChain; try++ {
		if err := w.btcAction(); err != nil {
			return err
		}
	}
	want = w.ethTxs + int64(w.budget())
	for try := 0; w.ethTxs < want && try < 4*maxPerChain; try++ {
		if err := w.ethAction(); err != nil {
			return err
		}
	}
	return nil
}

// btcAction makes one user's Bitcoin transaction.
func (w *world) btcAction() error {
	u := w.someUser(200_000)
	if u == nil {
		return nil
	}
	if len(u.w.coins) > 15 {
		ins := w.smallest(&u.w, w.between(5, 15))
		_, _, _, err := w.pay(ins, nil, w.b.NewAddr(u.w.kind), u.w.add, u.w.opts)
		return err
	}
	avail := w.available(&u.w)
	v := roundish(w, avail*int64(w.between(5, 60))/100)
	var o out
	bridged := false
	switch r := w.intn(100); {
	case r < 18:
		x := w.exch[w.intn(len(w.exch))]
		a, sink := w.depositBTC(x, u.id)
		o = out{a, v, sink}
	case r < 21:
		od := w.otc[w.intn(len(w.otc))]
		o = out{od.w.addr, v, od.w.add}
	case r < 24:
		br := w.bridge
		o = out{br.deposit.addr, v, br.deposit.add}
		bridged = true
	default:
		r := w.users[w.intn(len(w.users))]
		o = out{r.recvAddr(w), v, r.w.add}
	}
	ins := w.take(&u.w, v+w.fee(3, 2), w.between(1, 3))
	if ins == nil {
		ins = w.take(&u.w, v+w.fee(8, 2), 8)
	}
	if ins == nil {
		return nil
	}
	if _, _, _, err := w.pay(ins, []out{o}, u.changeAddr(w), u.w.add, u.w.opts); err != nil {
		return err
	}
	if bridged {
		w.bridgeIn(v, u.eth, nil)
	}
	return nil
}

// ethAction makes one user's Ethereum transaction.
func (w *world) ethAction() error {
	u := w.users[w.intn(len(w.users))]
	spare := w.spare(u.eth, gasDeposit, 2)
	if spare.Sign() == 0 {
		return nil
	}
	part := func(lo, hi int) *big.Int { return mulDiv(spare, int64(w.between(lo, hi)), 100) }
	tok := w.usdtBal(u.eth)
	switch r := w.intn(100); {
	case r < 35:
		_, err := w.send(u.eth, w.users[w.intn(len(w.users))].eth, part(1, 30))
		return err
	case r < 55 && tok.Sign() > 0:
		_, err := w.tokenTransfer(u.eth, w.users[w.intn(len(w.users))].eth, mulDiv(tok, int64(w.between(5, 60)), 100))
		return err
	case r < 70:
		x := w.exch[w.intn(len(w.exch))]
		dep := w.depositETH(x, u.id)
		if tok.Sign() > 0 && w.chance(0.4) {
			_, err := w.tokenTransfer(u.eth, dep, mulDiv(tok, int64(w.between(20, 100)), 100))
			return err
		}
		_, err := w.send(u.eth, dep, part(10, 80))
		return err
	case r < 80:
		if tok.Sign() > 0 && w.chance(0.5) {
			_, _, err := w.swapUSDT(u.eth, mulDiv(tok, int64(w.between(10, 100)), 100))
			return err
		}
		_, _, err := w.swapETH(u.eth, part(5, 40))
		return err
	case r < 83 && w.step < w.heistStep(0):
		_, err := w.call(u.eth, w.lanternA, part(5, 30), nil, ethw.GasCall)
		return err
	case r < 86:
		d := ether(poolDenoms[1+w.intn(2)])
		if spare.Cmp(d) < 0 {
			return nil
		}
		// Once withdrawn to a fresh address the user abandons the old one,
		// which the ledger may then forget: nothing sends from it again.
		from, to := u.eth, w.e.NewAddr()
		uu := u
		_, err := w.poolDeposit(from, d, w.between(5, 60), to, func(*big.Int) { w.e.Forget(from); uu.eth = to })
		return err
	case r < 89:
		v := part(5, 40)
		if !w.bridgeLiquid(new(big.Int).Quo(v, big.NewInt(WeiPerSat)).Int64()) {
			return nil
		}
		_, _, err := w.bridgeOut(u.eth, v, u.recvAddr(w), u.w.add)
		return err
	case r < 91:
		o := w.otc[w.intn(len(w.otc))]
		if tok.Sign() > 0 {
			_, err := w.tokenTransfer(u.eth, o.eth, tok)
			return err
		}
		_, err := w.send(u.eth, o.eth, part(10, 60))
		return err
	}
	_, err := w.send(u.eth, w.users[w.intn(len(w.users))].eth, part(1, 20))
	return err
}
