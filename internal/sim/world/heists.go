package world

import (
	"fmt"
	"time"

	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/ethereum/go-ethereum/common"
)

// HeistSpec describes one heist. Kind is bridge-drain, wallet-drain,
// hot-wallet or dispersal; Params holds its numbers (missing ones take
// the kind's defaults, see DefaultHeists), all recorded in the truth.
type HeistSpec struct {
	ID     string
	Kind   string
	Title  string
	Mixers bool
	Params map[string]float64
}

// DefaultHeists returns the four heists of the default world. Common
// params: at (start as a fraction of the economy's steps), hops_min,
// hops_max, delay_min, delay_max (steps between hops).
func DefaultHeists() []HeistSpec {
	return []HeistSpec{
		{ID: "bridge-drain", Kind: "bridge-drain", Title: "Lantern Bridge drained of ETH and USDT", Mixers: true, Params: map[string]float64{
			"at": 0.25, "eth": 20_000, "usdt": 30_000_000, "swaps": 4, "split": 20, "mixer_share": 0.3, "mixer_abandon": 0.05,
			"coinjoin_share": 0.4, "hops_min": 5, "hops_max": 10, "delay_min": 1, "delay_max": 3, "cj_group": 10}},
		{ID: "wallet-drain", Kind: "wallet-drain", Title: "Wallet-provider compromise drains user wallets", Params: map[string]float64{
			"at": 0.50, "btc_victims": 200, "eth_victims": 100, "drain_steps": 3, "consolidators": 5,
			"hops_min": 2, "hops_max": 4, "delay_min": 1, "delay_max": 4, "keep_share": 0.1}},
		{ID: "hot-wallet", Kind: "hot-wallet", Title: "Kestrel Markets Bitcoin hot wallet theft", Params: map[string]float64{
			"at": 0.3, "btc": 2_000, "chains": 4, "hops_min": 30, "hops_max": 60, "delay_min": 1, "delay_max": 2,
			"peel_min": 0.5, "peel_max": 5}},
		{ID: "dispersal", Kind: "dispersal", Title: "Bluefin Exchange Ethereum hot wallet theft and dispersal", Params: map[string]float64{
			"at": 0.65, "eth": 60_000, "split": 40, "bridge_share": 0.8, "hops_min": 1, "hops_max": 3, "delay_min": 1, "delay_max": 3}},
	}
}

// heistStep returns the step heist i starts at (past the end when there
// is no such heist).
func (w *world) heistStep(i int) int {
	if i >= len(w.heists) {
		return w.steps + 1
	}
	return w.heists[i].start
}

func (w *world) timeOf(step int) time.Time { return w.cfg.Start.Add(time.Duration(step) * stepDur) }

// planHeists schedules the heists.
func (w *world) planHeists() error {
	for i, s := range w.cfg.Heists {
		h := newHeistRec(i, s)
		at := h.p("at")
		h.start = warmup + int(at*float64(w.steps-warmup))
		w.heists = append(w.heists, h)
		var run func(*heistRec) error
		switch s.Kind {
		case "bridge-drain":
			run = w.bridgeDrain
			// The exploiter pays its gas with ether from elsewhere.
			w.e.Withdraw(w.exploiter(h), 2*gweiPerETH)
		case "wallet-drain":
			run = w.walletDrain
		case "hot-wallet":
			run = w.hotWallet
		case "dispersal":
			run = w.dispersal
		default:
			return fmt.Errorf("world: heist %s: unknown kind %q", s.ID, s.Kind)
		}
		hh := h
		w.events[h.start] = append(w.events[h.start], func() error { return run(hh) })
		w.lastStep = max(w.lastStep, h.start)
	}
	return nil
}

// exploiter returns the heist's transaction signer, an address outside
// the launderers' that pays the theft's gas.
func (w *world) exploiter(h *heistRec) common.Address {
	if h.exploiter == zeroAddr {
		h.exploiter = w.e.NewAddr()
	}
	return h.exploiter
}

// later schedules fn for heist h after d steps and extends its end.
func (w *world) later(h *heistRec, d int, fn func() error) {
	w.after(d, fn)
	h.end = max(h.end, w.step+d)
}

func (w *world) delay(h *heistRec) int {
	return w.between(int(h.p("delay_min")), int(h.p("delay_max")))
}

// svcBTC picks a service for a launderer's Bitcoin payment: a deposit
// address of the heist's account at an exchange (not victim) or an OTC
// desk; it returns the output and records nothing.
func (w *world) svcBTC(h *heistRec, value int64, victim *exchange) (out, *truth.Entity, string) {
	if w.chance(0.7) {
		for {
			x := w.exch[w.intn(len(w.exch))]
			if x == victim {
				continue
			}
			a, sink := w.depositBTC(x, h.custKey-w.intn(3))
			return out{a, value, sink}, x.ent, w.b.AddrString(a)
		}
	}
	o := w.otc[w.intn(len(w.otc))]
	return out{o.w.addr, value, o.w.add}, o.ent, w.b.AddrString(o.w.addr)
}

// self is a launderer output of lpay: a value to a fresh address of a kind.
type self struct {
	v int64
	k btcw.Kind
}

// lpay spends launderer coins of h to self outputs (selves, new purse
// coins) and service payments (svcs), with change to a fresh address of
// kind ck, recording services and the fee. It returns the new self coins
// and the change coin (Value 0 when none).
func (w *world) lpay(h *heistRec, ins []btcw.Coin, selves []self, svcs []int64, ck btcw.Kind, victim *exchange) ([]btcw.Coin, btcw.Coin, error) {
	var outs []out
	var got []btcw.Coin
	for _, s := range selves {
		outs = append(outs, out{w.b.NewAddr(s.k), s.v, func(c btcw.Coin) { h.keep(c); got = append(got, c) }})
	}
	type rec struct {
		ent  *truth.Entity
		addr string
		v    int64
	}
	var recs []rec
	for _, v := range svcs {
		o, ent, a := w.svcBTC(h, v, victim)
		outs = append(outs, o)
		recs = append(recs, rec{ent, a, v})
	}
	for _, c := range ins {
		delete(h.purse, c.OutPoint)
	}
	var change btcw.Coin
	_, fee, _, err := w.pay(ins, outs, w.b.NewAddr(ck), func(c btcw.Coin) { h.keep(c); change = c }, btcw.TxOpts{})
	if err != nil {
		return nil, change, err
	}
	for _, r := range recs {
		h.destSat(truth.KindService, r.ent.Name, r.ent.Category, r.addr, r.v)
	}
	h.destSat(truth.KindFee, "", "", "", fee)
	h.end = max(h.end, w.step)
	return got, change, nil
}

// peel runs a peel chain from c: each hop pays a round-ish amount to a
// service and the non-round change to a fresh address of c's kind; the
// last change stays unspent.
func (w *world) peel(h *heistRec, c btcw.Coin, hops int, lo, hi float64, victim *exchange) error {
	if hops <= 0 {
		return nil
	}
	frac := lo + (hi-lo)*w.rng.Float64()
	v := roundish(w, int64(frac*float64(c.Value)))
	if victim != nil { // the hot-wallet chains peel absolute amounts of BTC
		v = roundish(w, int64((lo+(hi-lo)*w.rng.Float64())*sat))
	}
	if v+w.fee(1, 2)+dust*10 > c.Value {
		return nil
	}
	_, ch, err := w.lpay(h, []btcw.Coin{c}, nil, []int64{v}, c.Addr.Kind, victim)
	if err != nil || ch.Value == 0 {
		return err
	}
	w.later(h, w.delay(h), func() error { return w.peel(h, ch, hops-1, lo, hi, victim) })
	return nil
}

// hotWallet steals from Kestrel's Bitcoin hot wallet and peels the loot
// in long chains.
func (w *world) hotWallet(h *heistRec) error {
	x := w.exch[2]
	amount := min(int64(h.p("btc")*sat), w.available(&x.hot)-5*sat)
	amount -= amount % 1_000_000
	h.spec.Params["btc_taken"] = float64(amount) / sat
	x.hold = 0
	x.float = 300 * sat
	ins := w.take(&x.hot, amount+w.fee(100, 2), 100)
	if ins == nil || amount <= 0 {
		return fmt.Errorf("world: heist %s: hot wallet holds too little", h.spec.ID)
	}
	var loot btcw.Coin
	la := w.b.NewAddr(btcw.P2WPKH)
	hash, _, _, err := w.pay(ins, []out{{la, amount, func(c btcw.Coin) { loot = c; h.keep(c) }}}, x.hot.addr, x.hot.add, x.hot.opts)
	if err != nil {
		return err
	}
	h.flow(BTCChain, "BTC").stolen.SetInt64(amount)
	h.source(BTCChain, hash.String(), w.b.AddrString(la))
	n := int(h.p("chains"))
	w.later(h, 1, func() error {
		rest := loot.Value - w.fee(1, n+1)
		kinds := []btcw.Kind{btcw.P2WPKH, btcw.P2TR, btcw.P2SHP2WPKH, btcw.P2PKH}
		var selves []self
		for i := range n {
			selves = append(selves, self{rest/int64(n) - int64(w.between(0, 999_999)), kinds[i%4]})
		}
		chains, _, err := w.lpay(h, []btcw.Coin{loot}, selves, nil, btcw.P2WPKH, x)
		if err != nil {
			return err
		}
		for _, c := range chains {
			hops := w.between(int(h.p("hops_min")), int(h.p("hops_max")))
			w.later(h, w.delay(h), func() error { return w.peel(h, c, hops, h.p("peel_min"), h.p("peel_max"), x) })
		}
		return nil
	})
	return nil
}
