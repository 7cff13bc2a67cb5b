// Package world generates a seeded, deterministic simulated world of two
// chains (a Bitcoin regtest chain in Core's block files and an Ethereum-like
// chain as an ethereum-etl export) with ordinary users, exchanges, OTC
// desks, mixers, a bridge, a DEX and mining pools, four heists laundered
// through them, a GraphSense TagPack of the services, the bridge rules for
// the tracer, and the exact ground truth of where every stolen unit went
// (package truth). It drives the demo, the tracer's evaluation and
// benchmarks at scale.
//
// One step of the clock is ten minutes: each step runs the events due
// (heist moves, sweeps, releases, payouts), then the background traffic,
// then mines one Bitcoin block and one Ethereum block (six seconds later).
package world

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/chaintrace/chaintrace/internal/sim/btcw"
	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/chaintrace/chaintrace/internal/sim/truth"
	"github.com/ethereum/go-ethereum/common"
)

// Chain identities of the generated world.
const (
	BTCChain   = "btc-regtest"
	BTCNetwork = "regtest"
	ETHChain   = "eth-sim"
	ETHNetwork = "sim"
	ETHChainID = 1337
)

// Generator names this generator and its format version in truth.json.
const Generator = "chaintrace sim/world v1"

const (
	stepDur   = 10 * time.Minute
	ethOffset = 6 * time.Second
	// warmup is the number of steps only the pools mine, so that the
	// first coinbases mature (100 blocks) before the economy starts.
	warmup = 110
	// maxPerChain caps the background transactions of one chain in one
	// step, which keeps blocks well within their limits.
	maxPerChain = 600
	// minSteps is the shortest economy (after warm-up), long enough for
	// the heists' laundering to interleave with background traffic.
	minSteps = 400
)

// Prices and the bridge's peg, fixed for the world's lifetime.
const (
	BTCUSD  = 40_000
	ETHUSD  = 2_000
	USDTUSD = 1
	// WeiPerSat is the bridge's rate: 1 ETH = 0.05 BTC, so one satoshi is
	// worth 2e11 wei.
	WeiPerSat = 200_000_000_000
	// WeiPerUSDTUnit is the DEX's price: one USDT base unit (1e-6 USDT)
	// is worth 5e8 wei at $2,000 per ETH.
	WeiPerUSDTUnit = 500_000_000
)

// Config describes the world to generate.
type Config struct {
	Seed int64
	// Txs is about how many transactions both chains hold in total;
	// background traffic fills up to it. Default 40,000.
	Txs int64
	// Users is the number of ordinary users (0: derived from Txs).
	Users int
	// Start is the time of the first block (default 2024-01-01T00:00Z).
	Start time.Time
	// Heists are the heists to stage (nil: DefaultHeists()).
	Heists []HeistSpec
	// Progress, when set, is called now and then with counts and the rate.
	Progress func(Stats)
}

// Stats reports the generation's progress.
type Stats struct {
	Step, Steps int
	BTCTxs      int64
	ETHTxs      int64
	Elapsed     time.Duration
	// TxPerSec is the rate of transactions generated so far.
	TxPerSec float64
}

func (c Config) withDefaults() Config {
	if c.Txs <= 0 {
		c.Txs = 40_000
	}
	if c.Users <= 0 {
		c.Users = int(min(max(c.Txs/40, 600), 20_000))
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.Heists == nil {
		c.Heists = DefaultHeists()
	}
	return c
}

// world is the state of one generation.
type world struct {
	ctx   context.Context
	cfg   Config
	rng   *rand.Rand
	b     *btcw.Chain
	e     *ethw.Chain
	step  int
	steps int // planned steps, warm-up included
	now   time.Time
	began time.Time

	events   map[int][]func() error
	lastStep int  // the last step with an event
	evDone   bool // this step's events have run

	btcTxs, ethTxs int64
	feeRate        int64 // sat/vB of the current step

	usdt     common.Address
	issuer   common.Address
	producer common.Address

	users    []*user
	exch     []*exchange
	otc      []*otcDesk
	pools    []*pool
	cj       *coinjoin
	mix      *mixer
	bridge   *bridge
	dex      *dex
	lantern  *truth.Entity
	lanternA common.Address

	entities []*truth.Entity
	heists   []*heistRec
}

// Generate builds the world described by cfg into dir (btc/, eth/,
// labels/world.yaml, bridges.yaml, truth.json) and returns its truth.
func Generate(ctx context.Context, dir string, cfg Config) (*truth.World, error) {
	cfg = cfg.withDefaults()
	for _, sub := range []string{"btc", "eth", "labels"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("world: %w", err)
		}
	}
	key := [8]byte{0x3c, 0x51, 0x9e, 0x07, 0xa4, 0x2b, 0xd8, 0x66}
	b, err := btcw.New(filepath.Join(dir, "btc"), btcw.Config{Seed: cfg.Seed, FileSize: 64 << 20, XORKey: &key})
	if err != nil {
		return nil, fmt.Errorf("world: %w", err)
	}
	e, err := ethw.New(filepath.Join(dir, "eth"), ethw.Config{ChainID: ETHChainID, Seed: cfg.Seed ^ 0x5eed,
		BaseFee: big.NewInt(baseFeeWei), Tip: big.NewInt(tipWei)})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("world: %w", err)
	}
	w := &world{ctx: ctx, cfg: cfg, b: b, e: e, events: map[int][]func() error{},
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)), began: time.Now(), feeRate: 5}
	econ := max(minSteps, int((cfg.Txs+2*maxPerChain*8/10-1)/(2*maxPerChain*8/10)))
	w.steps = warmup + econ
	runErr := w.run()
	closeErr := errors.Join(b.Close(), e.Close())
	if runErr != nil {
		return nil, runErr
	}
	if closeErr != nil {
		return nil, fmt.Errorf("world: %w", closeErr)
	}
	return w.finish(dir)
}

// run sets the world up and steps its clock until the planned steps are
// done and no event is pending.
func (w *world) run() error {
	if err := w.setup(); err != nil {
		return err
	}
	for w.step = 0; w.step < w.steps || w.step <= w.lastStep; w.step++ {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("world: %w", err)
		}
		w.now = w.cfg.Start.Add(time.Duration(w.step) * stepDur)
		w.feeRate = 2 + w.rng.Int64N(14)
		if err := w.runStep(); err != nil {
			return err
		}
		if w.cfg.Progress != nil && (w.step%50 == 0 || w.step+1 == w.steps) {
			w.cfg.Progress(w.stats())
		}
	}
	if w.cfg.Progress != nil {
		w.cfg.Progress(w.stats())
	}
	return nil
}

func (w *world) runStep() error {
	if w.step == warmup-10 {
		// The heists are planned once the services exist and the first
		// coinbases are about to mature.
		if err := w.planHeists(); err != nil {
			return err
		}
	}
	w.evDone = false
	for i := 0; i < len(w.events[w.step]); i++ {
		if err := w.events[w.step][i](); err != nil {
			return err
		}
	}
	delete(w.events, w.step)
	w.evDone = true
	if err := w.services(); err != nil {
		return err
	}
	if w.step >= warmup {
		if err := w.background(); err != nil {
			return err
		}
	}
	return w.mine()
}

// after schedules fn d steps from now (d 0: later in this step, or in
// the next one once this step's events have run).
func (w *world) after(d int, fn func() error) {
	s := w.step + max(d, 0)
	if s == w.step && w.evDone {
		s++
	}
	w.events[s] = append(w.events[s], fn)
	w.lastStep = max(w.lastStep, s)
}

// mine mines this step's Bitcoin and Ethereum blocks.
func (w *world) mine() error {
	if err := w.mineBTC(w.now); err != nil {
		return err
	}
	if _, err := w.e.Mine(w.ctx, w.now.Add(ethOffset), w.producer); err != nil {
		return fmt.Errorf("world: eth block at step %d: %w", w.step, err)
	}
	return nil
}

// budget returns how many background transactions one chain should get
// this step, so that the total ends near Config.Txs.
func (w *world) budget() int {
	left := w.cfg.Txs - w.btcTxs - w.ethTxs
	steps := int64(max(w.steps-w.step, 1))
	n := left / steps / 2
	// Some steps are busier than others.
	n = n*int64(70+w.rng.IntN(61))/100 + 1
	return int(min(max(n, 1), maxPerChain))
}

func (w *world) stats() Stats {
	el := time.Since(w.began)
	s := Stats{Step: w.step, Steps: max(w.steps, w.lastStep+1), BTCTxs: w.btcTxs, ETHTxs: w.ethTxs, Elapsed: el}
	if el > 0 {
		s.TxPerSec = float64(w.btcTxs+w.ethTxs) / el.Seconds()
	}
	return s
}

// pick returns a uniformly chosen index below n.
func (w *world) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return w.rng.IntN(n)
}

// between returns a uniform integer in [lo, hi].
func (w *world) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + w.rng.IntN(hi-lo+1)
}

func (w *world) chance(p float64) bool { return w.rng.Float64() < p }
