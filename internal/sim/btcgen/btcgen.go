// Package btcgen generates a large, seeded, deterministic Bitcoin-like
// chain and writes it as Bitcoin Core block files (blk00000.dat, ...), for
// end-to-end ingest benchmarks, the demo and tests.
//
// The chain starts at the network's real genesis block and is
// structurally valid: merkle roots and witness commitments are correct,
// headers link and meet the network's proof-of-work limit, coinbases carry
// their BIP34 height and claim exactly subsidy plus fees, every input
// spends an existing unspent output, coinbase maturity is respected and
// blocks stay within the consensus weight and sigop limits. Signatures are
// random bytes of the right shape: nothing downstream verifies them.
//
// Transactions come from a population of wallets (ordinary users,
// exchanges, mining pools) with a 2019-2023-like mix of address types,
// mostly simple payments with change, plus batch payouts, consolidations,
// address reuse, spends of coins created earlier in the same block, and
// a few OP_RETURN, bare multisig, P2PK and non-standard outputs.
package btcgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// Config describes the chain to generate. The zero value describes a
// regtest chain of the genesis block alone; Blocks and TxPerBlock grow it.
type Config struct {
	// Seed selects the chain: the same Config always produces
	// byte-identical files, and another Seed a different chain.
	Seed int64
	// Net supplies the record magic, the genesis block, the proof-of-work
	// limit (every header uses PowLimitBits), the subsidy schedule and
	// coinbase maturity. Nil means regtest.
	Net *chaincfg.Params
	// Blocks is the number of blocks mined on top of genesis, so the tip
	// height is Blocks (or more, with MinTxs).
	Blocks int
	// MinTxs, when positive, mines past Blocks until the main chain holds
	// at least this many transactions (coinbases and genesis included),
	// so benchmarks can ask for a transaction count. It needs TxPerBlock.
	MinTxs int64
	// TxPerBlock is the average number of non-coinbase transactions in a
	// block. No coin is spendable until the first coinbase matures, so
	// blocks 1 to Net.CoinbaseMaturity hold only their coinbase. After
	// that each block draws its count uniformly within ±50% of the
	// average, about 1% of blocks are empty (a pool mining before it has
	// a template), and a block ends early at the consensus weight or sigop
	// limit, which caps it near 4000 transactions.
	TxPerBlock int
	// Users is the number of wallets, at least 10; 0 means 10000. A
	// handful are mining pools, about 1% exchanges, the rest ordinary users.
	Users int
	// FileSize is the most bytes written to one blk file, records and
	// their 8-byte headers included; 0 means 128 MiB, Core's limit. As in
	// Core, a block that does not fit starts a new file, and a block
	// larger than FileSize gets a file of its own.
	FileSize int64
	// XORKey, when set, is written to xor.dat and every byte of the blk
	// files is XORed with XORKey[offset%8], as Core (v28+) obfuscates
	// them. An all-zero key writes xor.dat and leaves the bytes plain.
	XORKey *[8]byte
	// StaleEvery, when positive, also writes a competing stale branch at
	// every height that is a multiple of it: a block with the same parent
	// as the main-chain block, holding a prefix of its transactions and
	// another pool's coinbase, followed by StaleDepth-1 empty blocks. The
	// branch has the same per-block work as the main chain and ends below
	// the tip, so it always has less total work: a branch that would reach
	// height Blocks is not started, unless MinTxs is set, in which case
	// the chain grows past the branch instead. Each stale block is written
	// just before or just after the main block of its height.
	StaleEvery int
	// StaleDepth is the length of each stale branch; 0 means 1. Depths
	// above 1 model the short reorgs a node follows and then abandons.
	StaleDepth int
	// ShuffleWindow, when above 1, writes blocks after genesis in a random
	// order within consecutive groups of that many records, as a node
	// downloading headers-first stores blocks in arrival order. Blocks
	// may then precede their parents in the files.
	ShuffleWindow int
	// Prealloc pads the last blk file with zero bytes up to a multiple of
	// 16 MiB (or of FileSize, if smaller), as Core preallocates the file
	// it is writing to. The padding is not obfuscated: Core allocates it
	// directly on the file. Finished files are never padded.
	Prealloc bool
	// Start is the timestamp of block 1; zero means ten minutes after
	// genesis, and a time not after genesis means a second after it. Later
	// blocks follow at exponentially distributed intervals
	// averaging ten minutes, always at least one second apart.
	Start time.Time
	// SkipPoW leaves nonces unground, for networks whose proof-of-work
	// limit is too hard to meet here (mainnet's needs ~2^32 hashes per
	// block). Generate refuses such networks unless this is set, since
	// their headers would then fail a proof-of-work check.
	SkipPoW bool
}

// Record locates one block written to the blk files.
type Record struct {
	Hash   chainhash.Hash
	Height int
	// Stale is set for blocks off the main chain.
	Stale bool
	// File is N of blkNNNNN.dat.
	File int
	// Offset is where the block itself starts in the file, after its
	// 8-byte record header: the position Core's block index stores.
	Offset int64
	// Size is the block's serialized size.
	Size int
}

// Result describes the generated chain: counts and ground truth for the
// tests of whatever reads it. Transaction, input and output counts cover
// the main chain only, genesis and coinbases included (a coinbase has one
// input).
type Result struct {
	// Height is the tip height; Hashes[h] is the main-chain block at h.
	Height int
	Tip    chainhash.Hash
	Hashes []chainhash.Hash
	// Records lists every block written, stale ones included, in file order.
	Records []Record
	// StaleBlocks is the number of stale blocks written.
	StaleBlocks int
	// Files is the number of blk files; Bytes their total size without
	// Prealloc padding.
	Files int
	Bytes int64

	Txs     int64
	Inputs  int64
	Outputs int64
	// ChainedSpends counts inputs that spend an output created earlier
	// in the same block.
	ChainedSpends int64
	// ByClass counts main-chain outputs by script class.
	ByClass [NumClasses]int64
	// Subsidy is the value created by the main chain (genesis included);
	// Fees the sum of all transaction fees, which coinbases reclaim.
	Subsidy int64
	Fees    int64
	// Unspent and UnspentValue describe the UTXO set at the tip: every
	// main-chain output not spent, OP_RETURN outputs excluded (and the
	// genesis output included, unlike in Core). No value is burnt, so
	// UnspentValue equals Subsidy.
	Unspent      int64
	UnspentValue int64
}

// Generate writes the chain described by cfg into dir (created if
// needed) as blk00000.dat, blk00001.dat, ... and, with cfg.XORKey,
// xor.dat. It refuses a dir that already holds blk files. progress, if
// not nil, is called on the calling goroutine after every main-chain
// block with the number of main-chain blocks (genesis included) and
// transactions generated so far. On error, including ctx's cancellation,
// dir may hold partial files.
func Generate(ctx context.Context, dir string, cfg Config, progress func(blocks, txs int)) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "blk*.dat")); len(old) > 0 {
		return nil, fmt.Errorf("btcgen: %s already holds block files", dir)
	}
	if cfg.XORKey != nil {
		if err := os.WriteFile(filepath.Join(dir, "xor.dat"), cfg.XORKey[:], 0o644); err != nil {
			return nil, err
		}
	}
	g := newGen(cfg)
	w := newFileWriter(dir, cfg)
	recs := make(chan blockRec, 4)
	g.out, g.w = recs, w
	go w.run(recs)
	err := g.run(ctx, progress)
	close(recs)
	<-w.done
	if err == nil {
		err = w.err
	}
	if err != nil {
		return nil, err
	}
	res := g.res
	res.Records, res.Files, res.Bytes = w.recs, w.num+1, w.total
	res.Height = len(res.Hashes) - 1
	res.Tip = res.Hashes[res.Height]
	return res, nil
}

// normalize applies defaults and rejects impossible settings.
func (c *Config) normalize() error {
	if c.Net == nil {
		c.Net = &chaincfg.RegressionNetParams
	}
	if c.Users == 0 {
		c.Users = 10000
	}
	if c.FileSize == 0 {
		c.FileSize = 128 << 20
	}
	if c.StaleDepth == 0 {
		c.StaleDepth = 1
	}
	switch {
	case c.Blocks < 0, c.MinTxs < 0, c.TxPerBlock < 0, c.Users < 0, c.FileSize < 0,
		c.StaleEvery < 0, c.StaleDepth < 0, c.ShuffleWindow < 0:
		return errors.New("btcgen: negative setting")
	case c.Users < 10:
		return errors.New("btcgen: Users must be at least 10")
	case c.MinTxs > 0 && c.TxPerBlock == 0:
		return errors.New("btcgen: MinTxs needs TxPerBlock")
	case c.Net.GenesisBlock == nil:
		return errors.New("btcgen: network has no genesis block")
	}
	if _, tries := txenc.CompactToTarget(c.Net.PowLimitBits); tries > 1<<16 && !c.SkipPoW {
		return fmt.Errorf("btcgen: %s needs ~%.3g hashes per block to meet its proof-of-work limit; set SkipPoW",
			c.Net.Name, tries)
	}
	return nil
}

// gen is the generator's state: the wallets, the block being built and
// the running totals.
type gen struct {
	cfg  Config
	rng  *rand.Rand
	keys *keyer
	hash *txenc.Hasher
	res  *Result

	users     []user
	funded    []int32 // Wallets holding at least one coin.
	pools     []int32
	exchanges []int32
	nextKey   uint64
	lastPayee int32
	immature  []pending // Coinbase outputs in height order.
	lostCount int64     // Outputs nobody spends: genesis, non-standard, worthless.
	lostValue int64

	// The transaction being planned.
	ins  []utxo
	outs []txOut

	// The block being built: transactions after the coinbase.
	body      []byte
	txids     []chainhash.Hash
	wtxids    []chainhash.Hash
	txEnd     []int   // End offset in body of each transaction.
	feeCum    []int64 // Fees of the transactions up to each one.
	blockFees int64
	blockRate float64
	weight    int
	sigops    int
	leaves    []chainhash.Hash
	scratch   []chainhash.Hash
	cb        []byte

	prevHash  chainhash.Hash
	prevTime  uint32
	target    [32]byte
	staleTip  chainhash.Hash // Last block of the stale branch being written.
	staleTime uint32
	staleLeft int // Blocks still to add to that branch.

	out chan<- blockRec
	w   *fileWriter
}

// pending is a coinbase output waiting to mature.
type pending struct {
	height int
	owner  int32
	coin   utxo
}

// newGen seeds the generator's random stream and key derivation from
// cfg.Seed and creates the wallet population.
func newGen(cfg Config) *gen {
	g := &gen{
		cfg:       cfg,
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x62746367656e)),
		keys:      newKeyer(cfg.Seed),
		hash:      txenc.NewHasher(),
		res:       &Result{},
		lastPayee: -1,
	}
	g.target, _ = txenc.CompactToTarget(cfg.Net.PowLimitBits)
	g.newPopulation(cfg.Users)
	return g
}
