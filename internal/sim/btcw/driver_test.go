package btcw

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
)

// driver scripts a random economy on a Chain, the way the world simulator
// would, and remembers every address paid and every coin created so the
// tests can compare the files with the ledger.
type driver struct {
	t     testing.TB
	c     *Chain
	rng   *rand.Rand
	pool  []Coin // Spendable coins.
	young []Coin // Coinbases waiting to mature, oldest first.
	addrs []Addr // Every address paid, in order of first payment.
	paid  map[Addr]bool
	ops   []wire.OutPoint // Every coin created.
	spent Coin            // A coin spent earlier, for tests to try again.
	now   time.Time
}

// newDriver creates a ledger in dir with cfg and a driver seeded with seed.
func newDriver(t testing.TB, dir string, cfg Config, seed uint64) *driver {
	t.Helper()
	c, err := New(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &driver{
		t: t, c: c, rng: rand.New(rand.NewPCG(seed, 7)), paid: make(map[Addr]bool),
		now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// addr returns an address to pay: now and then one paid before (address
// reuse), otherwise a fresh one of a random kind.
func (d *driver) addr() Addr {
	if len(d.addrs) > 0 && d.rng.IntN(5) == 0 {
		return d.addrs[d.rng.IntN(len(d.addrs))]
	}
	return d.c.NewAddr(Kind(d.rng.IntN(int(numKinds))))
}

// record notes the coins a call created.
func (d *driver) record(coins ...Coin) {
	for _, c := range coins {
		d.ops = append(d.ops, c.OutPoint)
		if !d.paid[c.Addr] {
			d.paid[c.Addr] = true
			d.addrs = append(d.addrs, c.Addr)
		}
	}
}

// mine mines the block being built, a random while after the last one,
// and releases the coinbases that matured.
func (d *driver) mine() {
	d.t.Helper()
	_, cb, err := d.c.Mine(context.Background(), d.now, d.addr())
	if err != nil {
		d.t.Fatal(err)
	}
	d.now = d.now.Add(time.Duration(1+d.rng.IntN(1200)) * time.Second)
	if cb.Value > 0 {
		d.record(cb)
		d.young = append(d.young, cb)
	}
	for len(d.young) > 0 && d.c.Spendable(d.young[0]) {
		d.pool = append(d.pool, d.young[0])
		d.young = d.young[1:]
	}
}

// take removes a coin from the pool: the newest (which makes chains of
// spends in one block) with probability recent, else any.
func (d *driver) take(recent float64) Coin {
	i := len(d.pool) - 1
	if d.rng.Float64() >= recent {
		i = d.rng.IntN(len(d.pool))
	}
	c := d.pool[i]
	d.pool[i] = d.pool[len(d.pool)-1]
	d.pool = d.pool[:len(d.pool)-1]
	return c
}

// randomTx spends one to four coins (now and then up to 25) into one to
// five outputs (now and then up to 30) with a random fee and options. It
// returns false when the pool is empty or the block is full, the caller
// then mining.
func (d *driver) randomTx() bool {
	d.t.Helper()
	if len(d.pool) == 0 {
		return false
	}
	nIn := 1 + d.rng.IntN(4)
	if d.rng.IntN(20) == 0 {
		nIn = 5 + d.rng.IntN(21)
	}
	var ins []Coin
	var total int64
	for range min(nIn, len(d.pool)) {
		c := d.take(0.3)
		ins = append(ins, c)
		total += c.Value
	}
	nOut := 1 + d.rng.IntN(5)
	if d.rng.IntN(20) == 0 {
		nOut = 6 + d.rng.IntN(25)
	}
	fee := d.rng.Int64N(min(total/10, 50_000) + 1)
	avail := total - fee
	nOut = int(min(int64(nOut), avail))
	if nOut == 0 {
		return true // Worthless coins: drop them.
	}
	outs := make([]Output, nOut)
	left := avail
	for i := range outs {
		v := left
		if i < nOut-1 {
			v = 1 + d.rng.Int64N(left-int64(nOut-1-i))
		}
		outs[i] = Output{Addr: d.addr(), Value: v}
		left -= v
	}
	var opts TxOpts
	switch d.rng.IntN(10) {
	case 0:
		opts = TxOpts{Version: 1, Sequence: wire.MaxTxInSequenceNum}
	case 1:
		opts = TxOpts{LockTime: uint32(d.c.Height()), Sequence: 0xfffffffe}
	case 2:
		opts = TxOpts{LockTime: uint32(d.now.Add(-24 * time.Hour).Unix())}
	}
	_, coins, err := d.c.Spend(ins, outs, opts)
	if errors.Is(err, ErrBlockFull) {
		d.pool = append(d.pool, ins...)
		return false
	}
	if err != nil {
		d.t.Fatal(err)
	}
	d.record(coins...)
	d.pool = append(d.pool, coins...)
	return true
}

// run mines 105 blocks (regtest's coinbases mature after 100), then
// blocks blocks of up to maxTxs random transactions each.
func (d *driver) run(blocks, maxTxs int) {
	d.t.Helper()
	for range 105 {
		d.mine()
	}
	for range blocks {
		n := d.rng.IntN(maxTxs + 1)
		for i := 0; i < n && d.randomTx(); i++ {
		}
		d.mine()
	}
}

// fill spends pool coins in transactions of outs outputs of kind k
// until the block is full, and returns how many it added.
func (d *driver) fill(k Kind, outs int) int {
	d.t.Helper()
	n := 0
	for len(d.pool) > 0 {
		c := d.take(0)
		if c.Value < int64(outs)*1000 {
			continue
		}
		o := make([]Output, outs)
		for i := range o {
			o[i] = Output{Addr: d.c.NewAddr(k), Value: (c.Value - 500) / int64(outs)}
		}
		before, pending, weight := d.c.Stats(), d.c.Pending(), d.c.Weight()
		_, coins, err := d.c.Spend([]Coin{c}, o, TxOpts{})
		if errors.Is(err, ErrBlockFull) {
			if d.c.Stats() != before || d.c.Pending() != pending || d.c.Weight() != weight {
				d.t.Fatal("a refused transaction changed the ledger")
			}
			if _, ok := d.c.Unspent(c.OutPoint); !ok {
				d.t.Fatal("a refused transaction spent its input")
			}
			d.pool = append(d.pool, c)
			return n
		}
		if err != nil {
			d.t.Fatal(err)
		}
		d.record(coins...)
		d.pool = append(d.pool, coins...)
		n++
	}
	d.t.Fatal("the pool ran dry before the block filled")
	return n
}
