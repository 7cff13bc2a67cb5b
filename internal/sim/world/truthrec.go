package world

import (
	"math/big"
	"sort"

	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/ethereum/go-ethereum/common"
)

// heistRec is a heist being staged: its launderers' coins and accounts
// and the running truth of where its value went.
type heistRec struct {
	idx   int
	spec  HeistSpec
	start int
	end   int
	srcs  map[string]*truth.Source
	flows map[[2]string]*flowAcc
	dests map[destKey]*big.Int
	// purse holds the launderers' unspent Bitcoin coins.
	purse map[wire.OutPoint]btcw.Coin
	// accts are the launderers' Ethereum addresses, in creation order.
	accts []common.Address
	// mixed collects CoinJoin outputs waiting to be laundered further;
	// cjWaiting counts slots still queued.
	mixed     []btcw.Coin
	cjWaiting int
	custKey   int
	exploiter common.Address
}

type flowAcc struct{ stolen, swIn, brIn, swOut, brOut big.Int }

type destKey struct{ kind, entity, category, chain, asset, addr string }

func newHeistRec(i int, s HeistSpec) *heistRec {
	return &heistRec{idx: i, spec: s, srcs: map[string]*truth.Source{}, flows: map[[2]string]*flowAcc{},
		dests: map[destKey]*big.Int{}, purse: map[wire.OutPoint]btcw.Coin{}, custKey: -1 - 1000*i}
}

// p returns the heist's parameter k.
func (h *heistRec) p(k string) float64 { return h.spec.Params[k] }

func (h *heistRec) flow(chain, asset string) *flowAcc {
	k := [2]string{chain, asset}
	f := h.flows[k]
	if f == nil {
		f = &flowAcc{}
		h.flows[k] = f
	}
	return f
}

// dest adds v to a destination.
func (h *heistRec) dest(kind, entity, category, chain, asset, addr string, v *big.Int) {
	if v.Sign() == 0 {
		return
	}
	k := destKey{kind, entity, category, chain, asset, addr}
	d := h.dests[k]
	if d == nil {
		d = new(big.Int)
		h.dests[k] = d
	}
	d.Add(d, v)
}

func (h *heistRec) destSat(kind, entity, category, addr string, v int64) {
	h.dest(kind, entity, category, BTCChain, "BTC", addr, big.NewInt(v))
}

// source records a theft transaction and the launderer address it paid.
func (h *heistRec) source(chain, tx, addr string) {
	s := h.srcs[chain]
	if s == nil {
		s = &truth.Source{Chain: chain}
		h.srcs[chain] = s
	}
	s.Txs = append(s.Txs, tx)
	for _, a := range s.Addresses {
		if a == addr {
			return
		}
	}
	s.Addresses = append(s.Addresses, addr)
}

// keep adds a coin to the launderers' purse.
func (h *heistRec) keep(c btcw.Coin) { h.purse[c.OutPoint] = c }

// newAcct makes a fresh launderer address on Ethereum.
func (w *world) newAcct(h *heistRec) common.Address {
	a := w.e.NewAddr()
	h.accts = append(h.accts, a)
	return a
}

// ethFee records the gas a launderer paid.
func (w *world) ethFee(h *heistRec, gas uint64) {
	h.dest(truth.KindFee, "", "", ETHChain, "ETH", "", w.gasFee(gas))
}

// truth turns the record into a truth.Heist with the holdings left at
// the end.
func (w *world) heistTruth(h *heistRec) truth.Heist {
	// Holdings: the purse by address, and every launderer account's
	// balances.
	byAddr := map[string]int64{}
	for _, c := range h.purse {
		byAddr[w.b.AddrString(c.Addr)] += c.Value
	}
	for a, v := range byAddr {
		h.destSat(truth.KindHolding, "", "", a, v)
	}
	tok := w.assetUSDT()
	for _, a := range h.accts {
		h.dest(truth.KindHolding, "", "", ETHChain, "ETH", a.Hex(), w.ethBal(a))
		h.dest(truth.KindHolding, "", "", ETHChain, tok, a.Hex(), w.usdtBal(a))
	}
	t := truth.Heist{ID: h.spec.ID, Kind: h.spec.Kind, Title: h.spec.Title, Mixers: h.spec.Mixers, Params: h.spec.Params,
		Start: w.timeOf(h.start), End: w.timeOf(max(h.end, h.start))}
	for _, c := range []string{BTCChain, ETHChain} {
		if s := h.srcs[c]; s != nil {
			t.Sources = append(t.Sources, *s)
		}
	}
	keys := make([][2]string, 0, len(h.flows))
	for k := range h.flows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		f := h.flows[k]
		t.Flows = append(t.Flows, truth.Flow{Chain: k[0], Asset: k[1], Stolen: amt(&f.stolen), SwappedIn: amt(&f.swIn),
			BridgedIn: amt(&f.brIn), SwappedOut: amt(&f.swOut), BridgedOut: amt(&f.brOut)})
	}
	for k, v := range h.dests {
		t.Destinations = append(t.Destinations, truth.Destination{Kind: k.kind, Entity: k.entity, Category: k.category,
			Chain: k.chain, Asset: k.asset, Address: k.addr, Amount: amt(v)})
	}
	t.Sort()
	return t
}

func amt(v *big.Int) model.Amount { return model.AmountFromBytes(v.Bytes()) }

// assetUSDT names USDT as the tracer does: the token contract's
// lower-case address.
func (w *world) assetUSDT() string { return lowerHex(w.usdt) }

func lowerHex(a common.Address) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 2+40)
	b[0], b[1] = '0', 'x'
	for i, c := range a.Bytes() {
		b[2+2*i], b[3+2*i] = digits[c>>4], digits[c&15]
	}
	return string(b)
}
