package btcgen

import (
	"math"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// utxo is an unspent output held by a wallet.
type utxo struct {
	txid  chainhash.Hash
	value int64
	key   uint64 // First key index of the address that holds it.
	vout  uint32
	born  int32 // Height of the block that created it.
	kind  kind
}

// role is what a wallet does in the simulated economy.
type role uint8

// The roles.
const (
	// roleUser wallets make ordinary payments and occasionally consolidate.
	roleUser role = iota
	// roleExchange wallets receive many deposits, pay batched
	// withdrawals and consolidate their deposit coins.
	roleExchange
	// rolePool wallets receive coinbases and pay miners in batches.
	rolePool
)

// user is one wallet of the population.
type user struct {
	utxos []utxo
	bal   int64  // Value of utxos.
	addr  uint64 // Receiving key of a wallet that reuses its address.
	fpos  int32  // Index in gen.funded, or -1 while the wallet is empty.
	kind  kind
	role  role
	reuse bool
}

// kindWeight is one entry of an address-type mix, in parts per thousand.
type kindWeight struct {
	kind   kind
	weight int
}

// The address-type mixes, roughly the shares of outputs by type on
// mainnet between 2019 and 2023: native segwit the largest, legacy P2PKH
// and wrapped segwit declining, taproot rising, P2PK a relic.
var (
	userKinds = []kindWeight{
		{kP2WPKH, 404}, {kP2PKH, 220}, {kP2SHP2WPKH, 150}, {kP2TR, 135},
		{kP2WSHMultisig, 50}, {kP2SHMultisig, 40}, {kP2PK, 1},
	}
	exchangeKinds = []kindWeight{
		{kP2WPKH, 500}, {kP2SHP2WPKH, 200}, {kP2PKH, 150}, {kP2WSHMultisig, 100}, {kP2TR, 50},
	}
	poolKinds = []kindWeight{{kP2PKH, 400}, {kP2WPKH, 400}, {kP2SHP2WPKH, 200}}
)

// dust is the smallest output the generator creates (Core's dust limit
// for a P2PKH output at the default relay fee).
const dust = 546

// pickKind draws an address type from a mix.
func (g *gen) pickKind(mix []kindWeight) kind {
	r := g.rng.IntN(1000)
	for _, kw := range mix {
		if r < kw.weight {
			return kw.kind
		}
		r -= kw.weight
	}
	return mix[0].kind
}

// newPopulation creates the wallets: a handful of mining pools, about one
// exchange per hundred users, and ordinary users for the rest.
func (g *gen) newPopulation(n int) {
	pools := min(max(3, n/2000), 12, n)
	exchanges := min(max(1, n/100), n-pools)
	g.users = make([]user, n)
	for i := range g.users {
		u := &g.users[i]
		u.fpos = -1
		switch {
		case i < pools:
			u.role, u.kind, u.reuse = rolePool, g.pickKind(poolKinds), true
			g.pools = append(g.pools, int32(i))
		case i < pools+exchanges:
			u.role, u.kind, u.reuse = roleExchange, g.pickKind(exchangeKinds), g.rng.IntN(10) == 0
			g.exchanges = append(g.exchanges, int32(i))
		default:
			u.role, u.kind, u.reuse = roleUser, g.pickKind(userKinds), g.rng.IntN(4) == 0
		}
		if u.reuse {
			u.addr = g.freshKey(u.kind)
		}
	}
}

// freshKey allocates the key indices of a new address of kind kd.
func (g *gen) freshKey(kd kind) uint64 {
	k := g.nextKey
	g.nextKey += kinds[kd].keys
	return k
}

// receiveKey returns the address at which user u receives a payment:
// its usual one if it reuses addresses, else a fresh one.
func (g *gen) receiveKey(u int32) uint64 {
	us := &g.users[u]
	if us.reuse && g.rng.IntN(10) < 8 {
		return us.addr
	}
	return g.freshKey(us.kind)
}

// credit adds a coin to user u's wallet.
func (g *gen) credit(u int32, c utxo) {
	us := &g.users[u]
	us.utxos = append(us.utxos, c)
	us.bal += c.value
	if us.fpos < 0 {
		us.fpos = int32(len(g.funded))
		g.funded = append(g.funded, u)
	}
}

// take removes coin i from user u's wallet. The last coin moves into its
// place, so the newest coins stay near the end most of the time, which
// is all pickCoin's preference for recent coins relies on.
func (g *gen) take(u int32, i int) utxo {
	us := &g.users[u]
	c := us.utxos[i]
	us.bal -= c.value
	last := len(us.utxos) - 1
	us.utxos[i] = us.utxos[last]
	us.utxos = us.utxos[:last]
	if last == 0 {
		moved := g.funded[len(g.funded)-1]
		g.funded[us.fpos] = moved
		g.users[moved].fpos = us.fpos
		g.funded = g.funded[:len(g.funded)-1]
		us.fpos = -1
	}
	return c
}

// pickCoin removes and returns a coin to spend from user u's wallet: the
// newest with probability recent (wallets often spend fresh change, and
// that makes chains inside one block), otherwise any coin, old or new.
func (g *gen) pickCoin(u int32, recent float64) utxo {
	n := len(g.users[u].utxos)
	if g.rng.Float64() < recent {
		return g.take(u, n-1)
	}
	return g.take(u, g.rng.IntN(n))
}

// putBack returns the coins selected for an abandoned transaction.
func (g *gen) putBack(u int32) {
	for _, c := range g.ins {
		g.credit(u, c)
	}
	g.ins = g.ins[:0]
}

// pickSender chooses who pays next, and whether it spends the coin it
// just received (forwarding a deposit, a peel chain, a payment spent as
// soon as it arrived), which creates spends within one block. It returns
// -1 when no wallet holds coins.
func (g *gen) pickSender() (u int32, chained bool) {
	if len(g.funded) == 0 {
		return -1, false
	}
	r := g.rng.IntN(1000)
	switch {
	case r < 50 && g.lastPayee >= 0 && g.users[g.lastPayee].fpos >= 0:
		return g.lastPayee, true
	case r < 250:
		if e := g.exchanges[g.rng.IntN(len(g.exchanges))]; g.users[e].fpos >= 0 {
			return e, false
		}
	case r < 256:
		if p := g.pools[g.rng.IntN(len(g.pools))]; g.users[p].fpos >= 0 {
			return p, false
		}
	}
	return g.funded[g.rng.IntN(len(g.funded))], false
}

// pickPayee chooses who receives a payment from sender: often an
// exchange (deposits), otherwise anyone else.
func (g *gen) pickPayee(sender int32) int32 {
	for {
		var p int32
		if g.rng.IntN(100) < 18 {
			p = g.exchanges[g.rng.IntN(len(g.exchanges))]
		} else {
			p = int32(g.rng.IntN(len(g.users)))
		}
		if p != sender || len(g.users) == 1 {
			return p
		}
	}
}

// amount draws a payment amount in satoshis, log-uniform between lo and
// hi and skewed to small, rounded to one or two significant digits much
// of the time, as people pay round sums (a habit change-detection
// heuristics exploit).
func (g *gen) amount(lo, hi float64) int64 {
	u := g.rng.Float64()
	v := math.Exp(math.Log(lo) + u*u*(math.Log(hi)-math.Log(lo)))
	a := int64(v)
	switch r := g.rng.IntN(10); {
	case r < 3:
		a = roundTo(a, 2)
	case r < 5:
		a = roundTo(a, 1)
	}
	return max(a, dust)
}

// roundTo rounds a down to its first digits significant decimal digits.
func roundTo(a int64, digits int) int64 {
	p := int64(1)
	for a/p >= pow10(digits) {
		p *= 10
	}
	return a / p * p
}

// pow10 returns 10 to the power n.
func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// feeRate draws the fee rate, in sat/vB, of the next transaction around
// the block's prevailing rate.
func (g *gen) feeRate() int64 {
	return max(1, int64(g.blockRate*(0.5+g.rng.Float64())))
}

// vsize estimates the virtual size of a transaction with the planned
// inputs and outputs.
func (g *gen) vsize() int64 {
	n := 11
	for _, c := range g.ins {
		n += kinds[c.kind].inVB
	}
	for _, o := range g.outs {
		n += kinds[o.kind].outVB
	}
	return int64(n)
}

// sumIns returns the value of the selected coins.
func (g *gen) sumIns() int64 {
	var s int64
	for _, c := range g.ins {
		s += c.value
	}
	return s
}
