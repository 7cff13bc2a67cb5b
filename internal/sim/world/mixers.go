package world

import (
	"cmp"
	"fmt"
	"math/big"
	"slices"

	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/ethereum/go-ethereum/common"
)

// Mixer and bridge parameters.
const (
	// cjFeePerMille is the CoinJoin coordinator's fee per participant, in
	// thousandths of the denomination.
	cjFeePerMille = 3
	// poolKeepPerMille is what the Cyclone Pool keeps of a withdrawal.
	poolKeepPerMille = 3
	// bridgeFeePerMille is what Span Bridge keeps of a crossing.
	bridgeFeePerMille = 1
)

// Denominations of the mixers.
var (
	cjDenoms   = []int64{sat, sat / 10}
	poolDenoms = []float64{100, 10, 1}
)

// coinjoin is the Whirl CoinJoin coordinator.
type coinjoin struct {
	ent   *truth.Entity
	coord btcw.Addr
	queue map[int64][]cjSlot // waiting slots by denomination
}

// cjSlot is one participant's place in a round: its coins, where its
// denomination output and its change go, and who learns its fees.
type cjSlot struct {
	ins        []btcw.Coin
	to         btcw.Addr
	sink       func(btcw.Coin)
	change     btcw.Addr
	changeSink func(btcw.Coin)
	// fees is told the slot's coordinator fee and its share of the
	// mining fee (nil for background users).
	fees func(coord, mining int64)
}

// mixer is the Cyclone Pool contract with its relayer.
type mixer struct {
	ent     *truth.Entity
	pool    common.Address
	relayer common.Address
	notes   []note
}

// note is a deposit waiting for its withdrawal.
type note struct {
	denom *big.Int
	due   int
	to    common.Address
	done  func(got *big.Int)
}

func (w *world) setupMixers() {
	w.cj = &coinjoin{ent: w.entity("Whirl CoinJoin", "coinjoin", true), coord: w.b.NewAddr(btcw.P2WPKH), queue: map[int64][]cjSlot{}}
	w.addBTC(w.cj.ent, w.cj.coord, "coordinator", true)
	w.mix = &mixer{ent: w.entity("Cyclone Pool", "mixing_service", true), pool: w.e.NewContract("Cyclone Pool"), relayer: w.e.NewAddr()}
	w.addETH(w.mix.ent, w.mix.pool, "pool", true)
	w.e.Withdraw(w.mix.relayer, 50*gweiPerETH)
}

// poolDeposit deposits denom from an EOA into the Cyclone Pool; the
// relayer withdraws it after delay steps to to (less the pool's share)
// and calls done, unless to is the zero address (never withdrawn).
func (w *world) poolDeposit(from common.Address, denom *big.Int, delay int, to common.Address, done func(*big.Int)) (common.Hash, error) {
	h, err := w.call(from, w.mix.pool, denom, nil, gasDeposit)
	if err != nil {
		return h, err
	}
	if to != zeroAddr {
		w.mix.notes = append(w.mix.notes, note{denom: denom, due: w.step + delay, to: to, done: done})
		w.lastStep = max(w.lastStep, w.step+delay)
	}
	return h, nil
}

// mixerOps pays the due withdrawals.
func (w *world) mixerOps() error {
	if w.ethBal(w.mix.relayer).Cmp(ether(5)) < 0 {
		w.e.Withdraw(w.mix.relayer, 20*gweiPerETH)
	}
	var keep []note
	for _, n := range w.mix.notes {
		if n.due > w.step || !w.canPay(w.mix.relayer, new(big.Int), gasRelease) {
			keep = append(keep, n)
			continue
		}
		got := mulDiv(n.denom, 1000-poolKeepPerMille, 1000)
		if _, err := w.call(w.mix.relayer, w.mix.pool, new(big.Int), []ethw.Effect{{Token: zeroAddr, From: w.mix.pool, To: n.to, Amount: got}}, gasRelease); err != nil {
			return err
		}
		if n.done != nil {
			n.done(got)
		}
	}
	w.mix.notes = keep
	return nil
}

// coinjoinOps runs a round in each denomination with waiting slots, and
// background rounds every few steps.
func (w *world) coinjoinOps() error {
	if w.step < warmup {
		return nil
	}
	for _, d := range cjDenoms {
		q := w.cj.queue[d]
		if len(q) == 0 && w.step%5 != 0 {
			continue
		}
		for len(q) > 0 || w.step%5 == 0 {
			n := min(len(q), 14)
			slots := append([]cjSlot(nil), q[:n]...)
			q = q[n:]
			want := max(5, w.between(5, 20)-n)
			if n == 0 {
				want = w.between(5, 20)
			}
			slots = append(slots, w.cjUsers(d, min(want, 20-n))...)
			if len(slots) >= 5 || n > 0 {
				if err := w.round(d, slots); err != nil {
					return err
				}
			} else {
				w.cjReturn(slots)
			}
			if len(q) == 0 {
				break
			}
		}
		w.cj.queue[d] = q
	}
	return nil
}

// cjUsers draws up to n background participants able to pay d.
func (w *world) cjUsers(d int64, n int) []cjSlot {
	var slots []cjSlot
	for try := 0; try < 4*n && len(slots) < n; try++ {
		u := w.users[w.intn(len(w.users))]
		need := d + d*cjFeePerMille/1000 + w.fee(2, 2)
		if w.available(&u.w) < need+dust {
			continue
		}
		ins := w.take(&u.w, need, 2)
		if ins == nil {
			continue
		}
		slots = append(slots, cjSlot{ins: ins, to: w.b.NewAddr(btcw.P2WPKH), sink: u.w.add, change: w.b.NewAddr(u.w.kind), changeSink: u.w.add})
	}
	return slots
}

// cjReturn gives a cancelled round's background coins back.
func (w *world) cjReturn(slots []cjSlot) {
	for _, s := range slots {
		for _, c := range s.ins {
			s.sink(c)
		}
	}
}

// round builds one CoinJoin: every slot gets one denomination output and
// its change, pays the coordinator its fee and its own inputs' share of
// the mining fee, so each participant's accounts close exactly.
func (w *world) round(d int64, slots []cjSlot) error {
	w.rng.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	var ins []btcw.Coin
	var outs, changes []btcw.Output
	var changeOf []int
	var coordTotal int64
	type fees struct{ coord, mining int64 }
	fs := make([]fees, len(slots))
	for i, s := range slots {
		ins = append(ins, s.ins...)
		coord := d * cjFeePerMille / 1000
		mining := w.feeRate * (68*int64(len(s.ins)) + 62 + 4)
		ch := total(s.ins) - d - coord - mining
		if ch < 0 {
			return fmt.Errorf("world: coinjoin slot of %d short for %d", total(s.ins), d)
		}
		if ch < dust {
			mining += ch
			ch = 0
		} else {
			changes = append(changes, btcw.Output{Addr: s.change, Value: ch})
			changeOf = append(changeOf, i)
		}
		fs[i] = fees{coord, mining}
		coordTotal += coord
		outs = append(outs, btcw.Output{Addr: s.to, Value: d})
	}
	outs = append(outs, changes...)
	outs = append(outs, btcw.Output{Addr: w.cj.coord, Value: coordTotal})
	_, coins, err := w.spend(ins, outs, btcw.TxOpts{Version: 1, Sequence: 0xffffffff})
	if err != nil {
		return err
	}
	for i, s := range slots {
		s.sink(coins[i])
		if s.fees != nil {
			s.fees(fs[i].coord, fs[i].mining)
		}
	}
	for k, i := range changeOf {
		slots[i].changeSink(coins[len(slots)+k])
	}
	return nil
}

// bridge is Span Bridge: a contract locking ETH, and a Bitcoin custodian
// with a deposit address and a float that pays releases.
type bridge struct {
	ent      *truth.Entity
	contract common.Address
	operator common.Address
	float    wallet
	deposit  wallet
	releases []release
}

// release is a crossing waiting to be paid on the other chain.
type release struct {
	due   int
	tries int
	// ETH -> BTC.
	sats int64
	to   btcw.Addr
	sink func(btcw.Coin)
	// BTC -> ETH.
	wei   *big.Int
	ethTo common.Address
	done  func(*big.Int)
}

// bridgeOut locks wei from an EOA in Span Bridge; 1-3 steps later the
// custodian pays the BTC equivalent less the fee to to, and sink gets
// the coin. It returns the value the release will pay.
func (w *world) bridgeOut(from common.Address, wei *big.Int, to btcw.Addr, sink func(btcw.Coin)) (common.Hash, int64, error) {
	h, err := w.call(from, w.bridge.contract, wei, nil, gasBridge)
	if err != nil {
		return h, 0, err
	}
	sats := new(big.Int).Quo(wei, big.NewInt(WeiPerSat)).Int64()
	sats -= sats * bridgeFeePerMille / 1000
	w.bridge.releases = append(w.bridge.releases, release{due: w.step + w.between(1, 3), sats: sats, to: to, sink: sink})
	w.lastStep = max(w.lastStep, w.step+3)
	return h, sats, nil
}

// bridgeReserve is what the custodian keeps for the heists while any of
// them may still bridge: regtest's subsidy caps Bitcoin's supply near
// 15,000 BTC, so in a long world background users could otherwise bridge
// the float away before a heist's releases fall due.
const bridgeReserve = 3_500 * sat

// heistBridgeSteps is how long after its start a heist may still bridge.
const heistBridgeSteps = 300

// bridgeLiquid reports whether the custodian can take on an ETH->BTC
// release of sats for a background user: what its float holds, less the
// releases already owed and the heists' reserve. A bridge short of
// liquidity refuses deposits it cannot honour; the user does something
// else.
func (w *world) bridgeLiquid(sats int64) bool {
	owed := int64(0)
	for _, r := range w.bridge.releases {
		if r.wei == nil {
			owed += r.sats
		}
	}
	reserve := int64(0)
	for _, h := range w.heists {
		if w.step <= h.start+heistBridgeSteps {
			reserve = bridgeReserve
		}
	}
	return w.bridge.float.total()-owed-reserve >= sats
}

// bridgeIn schedules the ETH release of sats paid to the custodian's
// deposit address.
func (w *world) bridgeIn(sats int64, to common.Address, done func(*big.Int)) {
	wei := new(big.Int).Mul(big.NewInt(sats), big.NewInt(WeiPerSat))
	wei = mulDiv(wei, 1000-bridgeFeePerMille, 1000)
	w.bridge.releases = append(w.bridge.releases, release{due: w.step + w.between(1, 3), wei: wei, ethTo: to, done: done})
	w.lastStep = max(w.lastStep, w.step+3)
}

// bridgeOps pays the due releases (a release the float cannot pay yet
// waits for the pools' next top-up) and sweeps the custodian's deposits
// into the float.
func (w *world) bridgeOps() error {
	br := w.bridge
	if w.ethBal(br.operator).Cmp(ether(5)) < 0 {
		w.e.Withdraw(br.operator, 50*gweiPerETH)
	}
	var keep []release
	for _, r := range br.releases {
		if r.due > w.step {
			keep = append(keep, r)
			continue
		}
		if r.wei == nil {
			ins := w.take(&br.float, r.sats+w.fee(50, 2), 50)
			if ins == nil {
				if r.tries++; r.tries > 2000 {
					return fmt.Errorf("world: bridge float cannot pay %d sat", r.sats)
				}
				r.due = w.step + 1
				w.lastStep = max(w.lastStep, r.due)
				keep = append(keep, r)
				continue
			}
			if _, _, _, err := w.pay(ins, []out{{r.to, r.sats, r.sink}}, br.float.addr, br.float.add, br.float.opts); err != nil {
				return err
			}
			continue
		}
		if w.ethBal(br.contract).Cmp(r.wei) < 0 {
			w.e.Withdraw(br.contract, new(big.Int).Quo(r.wei, big.NewInt(gweiPerETH)).Uint64()+gweiPerETH)
			r.due = w.step + 1
			w.lastStep = max(w.lastStep, r.due)
			keep = append(keep, r)
			continue
		}
		if _, err := w.call(br.operator, br.contract, new(big.Int), []ethw.Effect{{Token: zeroAddr, From: br.contract, To: r.ethTo, Amount: r.wei}}, gasRelease); err != nil {
			return err
		}
		if r.done != nil {
			r.done(r.wei)
		}
	}
	br.releases = keep
	if len(br.deposit.coins) >= 10 || (len(br.deposit.coins) > 0 && w.step%12 == 0) {
		ins := br.deposit.coins
		br.deposit.coins = nil
		if _, _, _, err := w.pay(ins, nil, br.float.addr, br.float.add, br.float.opts); err != nil {
			return err
		}
	}
	return w.mergeSmallest(&br.float, 60, 40)
}

// mergeSmallest merges the n smallest spendable coins of wl into one when
// it holds more than above coins, as a custodian consolidates: a float
// fed by many small swept deposits could otherwise not pay a large
// release from the 50 largest coins a payment takes.
func (w *world) mergeSmallest(wl *wallet, above, n int) error {
	if len(wl.coins) <= above {
		return nil
	}
	idx := make([]int, 0, len(wl.coins))
	for i, c := range wl.coins {
		if w.spendable(c) {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return nil
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(wl.coins[a].Value, wl.coins[b].Value) })
	idx = idx[:min(n, len(idx))]
	slices.Sort(idx)
	var ins, keep []btcw.Coin
	j := 0
	for i, c := range wl.coins {
		if j < len(idx) && idx[j] == i {
			ins = append(ins, c)
			j++
		} else {
			keep = append(keep, c)
		}
	}
	if total(ins) <= w.fee(len(ins), 1)+dust {
		return nil
	}
	wl.coins = keep
	_, _, _, err := w.pay(ins, nil, wl.addr, wl.add, wl.opts)
	return err
}
