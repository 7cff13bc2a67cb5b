// Package btcw is a deterministic, scriptable Bitcoin-like UTXO ledger
// that writes its chain as Bitcoin Core block files (blk00000.dat, ...).
// The world simulator scripts an economy on it: where package btcgen
// invents random traffic, btcw builds exactly the transactions its caller
// asks for, so that the simulator knows the ground truth of every coin.
//
// The chain starts at the network's real genesis block and is
// structurally valid: merkle roots and witness commitments are correct,
// headers link and meet the network's proof-of-work limit, coinbases carry
// their BIP34 height and claim exactly subsidy plus fees, every input
// spends an existing unspent output, coinbase maturity and lock times are
// respected, and blocks stay within the consensus weight and sigop
// limits. Signatures are random bytes of the right shape: nothing
// downstream verifies them.
//
// The same Config and the same sequence of calls always give
// byte-identical files. A Chain is not safe for concurrent use.
package btcw

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// Errors a caller can test for with errors.Is. Every error the package
// returns starts with "btcw: " and wraps one of these when it is about
// the caller's input.
var (
	// ErrBlockFull means the transaction does not fit in the block being
	// built (weight or sigops): mine it and try again.
	ErrBlockFull = errors.New("btcw: block full")
	// ErrTxTooLarge means the transaction would not fit even in an empty
	// block, so mining first would not help.
	ErrTxTooLarge = errors.New("btcw: transaction too large for any block")
	// ErrUnknownCoin means an input is not in the unspent set: the ledger
	// never made it, or it was spent in an earlier block.
	ErrUnknownCoin = errors.New("btcw: coin not unspent")
	// ErrDoubleSpend means an input was already spent in the block being
	// built, or appears twice in the same transaction.
	ErrDoubleSpend = errors.New("btcw: double spend")
	// ErrCoinMismatch means the caller's Coin disagrees with the ledger's
	// about its value or address, a sign of a bookkeeping bug.
	ErrCoinMismatch = errors.New("btcw: coin does not match the ledger")
	// ErrImmature means an input is a coinbase output younger than the
	// network's coinbase maturity.
	ErrImmature = errors.New("btcw: immature coinbase")
	// ErrOverspend means the outputs add up to more than the inputs.
	ErrOverspend = errors.New("btcw: outputs exceed inputs")
	// ErrBadOutput means an output's value is not positive or exceeds
	// 21 million BTC, or its address is not one the ledger made.
	ErrBadOutput = errors.New("btcw: bad output")
	// ErrLockTime means the transaction's lock time or an input's
	// relative lock time is not yet satisfied in the block being built.
	ErrLockTime = errors.New("btcw: lock time not final")
	// ErrEmptyTx means a transaction without inputs or outputs.
	ErrEmptyTx = errors.New("btcw: transaction needs inputs and outputs")
	// ErrClosed means the Chain was closed, or an earlier write failed
	// and left the files unusable.
	ErrClosed = errors.New("btcw: chain closed")
)

// Config describes the ledger. The zero value is a regtest ledger with
// seed 0.
type Config struct {
	// Net supplies the record magic, the genesis block, the
	// proof-of-work limit (every header uses PowLimitBits), the subsidy
	// schedule, coinbase maturity and address encoding. Nil means
	// regtest.
	Net *chaincfg.Params
	// Seed selects the addresses and the dummy signatures: the same
	// Config and calls give the same files, another Seed other ones.
	Seed int64
	// Start is the time of block 1 when Mine is given a zero time; later
	// zero times mean ten minutes after the previous block. Zero means
	// ten minutes after genesis.
	Start time.Time
	// FileSize is the most bytes written to one blk file, 8-byte record
	// headers included; 0 means 128 MiB, Core's limit. As in Core, a
	// block that does not fit starts a new file, and a block larger than
	// FileSize gets a file of its own.
	FileSize int64
	// XORKey, when set, is written to xor.dat and every byte of the blk
	// files is XORed with XORKey[offset%8], as Core (v28+) obfuscates
	// them.
	XORKey *[8]byte
	// SkipPoW leaves nonces unground, for networks whose proof-of-work
	// limit is too hard to meet here (mainnet's needs ~2^32 hashes a
	// block). New refuses such networks unless it is set.
	SkipPoW bool
}

// Coin is an unspent output of the ledger, as Spend and Mine return it
// and Spend takes it back.
type Coin struct {
	OutPoint wire.OutPoint
	Value    int64
	Addr     Addr
	// Height is the height of the block holding the coin, or of the
	// block being built while it is unmined.
	Height int32
	// Coinbase marks a block reward, spendable only once the block
	// being built is Maturity blocks above Height.
	Coinbase bool
}

// Output is one output a Spend creates.
type Output struct {
	Addr  Addr
	Value int64
}

// TxOpts sets a transaction's header fields; zero fields take the usual
// values of a modern wallet.
type TxOpts struct {
	// Version is the transaction version; 0 means 2.
	Version int32
	// LockTime is nLockTime; Spend refuses one not yet final in the block
	// being built unless Sequence is 0xffffffff.
	LockTime uint32
	// Sequence is every input's nSequence; 0 means 0xfffffffd
	// (replaceable, no relative lock). A relative lock in blocks
	// (version 2 or more, bit 31 clear) must be met by every input;
	// time-based relative locks are refused.
	Sequence uint32
}

// Stats counts what the ledger has written, so callers and tests can
// report and cross-check it. Genesis counts as a block with one
// transaction, input and output, as an ingester sees it; its output is
// not in the unspent set, being nobody's.
type Stats struct {
	Blocks  int64
	Txs     int64 // Coinbases and genesis included.
	Inputs  int64 // A coinbase has one.
	Outputs int64 // Witness commitments included.
	Bytes   int64 // Size of the blk files.
	Files   int
	// Unspent and UnspentValue describe the unspent set, coins of the
	// block being built included.
	Unspent      int64
	UnspentValue int64
	// Fees is the sum of the fees of every transaction, mined or not.
	Fees int64
}

// entry is a coin in the unspent set; the outpoint is its key.
type entry struct {
	value    int64
	height   int32
	coinbase bool
	addr     Addr
}

// Chain is the ledger: the unspent set, the block being built, and the
// blk file being written.
type Chain struct {
	net     *chaincfg.Params
	dir     string
	start   time.Time
	maxFile int64
	xor     [8]byte
	skipPoW bool
	target  [32]byte

	keys    keyer
	nextKey uint64
	rng     rand.PCG
	hash    *txenc.Hasher

	utxo      map[wire.OutPoint]entry
	spentHere map[wire.OutPoint]chainhash.Hash // Spent in the block being built, by which tx.
	dups      map[wire.OutPoint]struct{}       // Scratch for duplicate inputs of large txs.

	// The block being built: the transactions after its coinbase.
	body    []byte
	txids   []chainhash.Hash
	wtxids  []chainhash.Hash
	fees    int64
	weight  int
	sigops  int
	segwit  bool
	leaves  []chainhash.Hash
	scratch []chainhash.Hash
	cb      []byte
	rec     []byte

	height int32
	tip    chainhash.Hash
	times  [11]uint32 // Timestamps of the last blocks, for the median time past.
	ntimes int

	f    *os.File
	num  int
	pos  int64
	st   Stats
	err  error // Sticky: set when a write failed or Close was called.
	maxW int   // Weight a block's transactions may reach.
}

// Consensus limits, and the room kept for the header, the transaction
// count and the coinbase, whose sizes are known only when mining.
const (
	maxBlockWeight = 4_000_000
	maxBlockSigops = 80_000
	blockRoom      = 4 * (80 + 9 + 250)
	sigopRoom      = 100
	maxSatoshi     = 21_000_000 * 100_000_000
)

// New creates the ledger in dir (created if needed), which must not hold
// blk files yet, and writes the network's genesis block as height 0.
func New(dir string, cfg Config) (*Chain, error) {
	if cfg.Net == nil {
		cfg.Net = &chaincfg.RegressionNetParams
	}
	if cfg.FileSize == 0 {
		cfg.FileSize = 128 << 20
	}
	switch {
	case cfg.FileSize < 0:
		return nil, errors.New("btcw: negative FileSize")
	case cfg.Net.GenesisBlock == nil:
		return nil, fmt.Errorf("btcw: network %s has no genesis block", cfg.Net.Name)
	}
	target, tries := txenc.CompactToTarget(cfg.Net.PowLimitBits)
	if tries > 1<<16 && !cfg.SkipPoW {
		return nil, fmt.Errorf("btcw: %s needs ~%.3g hashes a block to meet its proof-of-work limit; set SkipPoW",
			cfg.Net.Name, tries)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("btcw: %w", err)
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "blk*.dat")); len(old) > 0 {
		return nil, fmt.Errorf("btcw: %s already holds block files", dir)
	}
	c := &Chain{
		net:       cfg.Net,
		dir:       dir,
		start:     cfg.Start,
		maxFile:   cfg.FileSize,
		skipPoW:   cfg.SkipPoW,
		target:    target,
		keys:      newKeyer(cfg.Seed),
		rng:       *rand.NewPCG(uint64(cfg.Seed), 0x6274637773696773),
		hash:      txenc.NewHasher(),
		utxo:      make(map[wire.OutPoint]entry),
		spentHere: make(map[wire.OutPoint]chainhash.Hash),
		dups:      make(map[wire.OutPoint]struct{}),
		maxW:      maxBlockWeight - blockRoom,
	}
	if cfg.XORKey != nil {
		c.xor = *cfg.XORKey
		if err := os.WriteFile(filepath.Join(dir, "xor.dat"), c.xor[:], 0o644); err != nil {
			return nil, fmt.Errorf("btcw: %w", err)
		}
	}
	gb := cfg.Net.GenesisBlock
	var buf bytes.Buffer
	if err := gb.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("btcw: genesis: %w", err)
	}
	if err := c.writeBlock(buf.Bytes(), nil); err != nil {
		c.f.Close()
		return nil, err
	}
	for _, tx := range gb.Transactions {
		c.st.Txs++
		c.st.Inputs += int64(len(tx.TxIn))
		c.st.Outputs += int64(len(tx.TxOut))
	}
	c.st.Blocks = 1
	c.tip = gb.BlockHash()
	c.pushTime(uint32(gb.Header.Timestamp.Unix()))
	c.resetBlock()
	return c, nil
}

// Net returns the network parameters the ledger writes for.
func (c *Chain) Net() *chaincfg.Params { return c.net }

// Maturity returns the number of blocks a coinbase must wait: a coinbase
// of height h is spendable in the block at height h+Maturity() and later.
func (c *Chain) Maturity() int32 { return int32(c.net.CoinbaseMaturity) }

// Spendable reports whether coin could be spent in the block being
// built as far as maturity goes, so callers can skip young coinbases
// without provoking an error.
func (c *Chain) Spendable(coin Coin) bool {
	return !coin.Coinbase || c.height+1-coin.Height >= c.Maturity()
}

// Height returns the height of the last mined block (0: genesis only).
func (c *Chain) Height() int32 { return c.height }

// TipHash returns the hash of the last mined block.
func (c *Chain) TipHash() chainhash.Hash { return c.tip }

// Pending returns the number of transactions in the block being built.
func (c *Chain) Pending() int { return len(c.txids) }

// Weight returns the weight the transactions of the block being built
// add up to, so callers can tell how full it is (a block holds about
// 3,990,000).
func (c *Chain) Weight() int { return c.weight }

// Stats returns what the ledger has written and holds so far.
func (c *Chain) Stats() Stats { return c.st }

// Unspent returns the unspent coin at op, including coins created in the
// block being built, and whether there is one.
func (c *Chain) Unspent(op wire.OutPoint) (Coin, bool) {
	e, ok := c.utxo[op]
	if !ok {
		return Coin{}, false
	}
	return Coin{OutPoint: op, Value: e.value, Addr: e.addr, Height: e.height, Coinbase: e.coinbase}, true
}

// Close closes the blk file. It mines nothing: a block being built that
// holds transactions is an error (they are lost), though the files are
// closed all the same and hold every mined block. Closing twice is a
// no-op.
func (c *Chain) Close() error {
	if errors.Is(c.err, ErrClosed) {
		return nil
	}
	var err error
	if n := len(c.txids); n > 0 {
		err = fmt.Errorf("btcw: closed with %d transactions in the block being built; Mine first", n)
	}
	if c.f != nil {
		if cerr := c.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("btcw: %w", cerr)
		}
		c.f = nil
	}
	c.err = ErrClosed
	return err
}

// usable returns the error that stops the ledger from taking calls, if
// any.
func (c *Chain) usable() error {
	if c.err != nil {
		if errors.Is(c.err, ErrClosed) {
			return c.err
		}
		return fmt.Errorf("%w: an earlier write failed: %w", ErrClosed, c.err)
	}
	return nil
}

// writeBlock appends one block record, head then body, starting a new
// file first when the record would overflow the open one. It obfuscates
// head and body in place.
func (c *Chain) writeBlock(head, body []byte) error {
	size := int64(btcgen.RecordHeaderSize + len(head) + len(body))
	if c.f != nil && c.pos > 0 && c.pos+size > c.maxFile {
		err := c.f.Close()
		c.f = nil
		if err != nil {
			return fmt.Errorf("btcw: %w", err)
		}
		c.num++
	}
	if c.f == nil {
		f, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("blk%05d.dat", c.num)))
		if err != nil {
			return fmt.Errorf("btcw: %w", err)
		}
		c.f, c.pos = f, 0
		c.st.Files++
	}
	var hdr [btcgen.RecordHeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(c.net.Net))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(head)+len(body)))
	btcgen.XOR(hdr[:], c.xor, c.pos)
	btcgen.XOR(head, c.xor, c.pos+btcgen.RecordHeaderSize)
	btcgen.XOR(body, c.xor, c.pos+btcgen.RecordHeaderSize+int64(len(head)))
	for _, b := range [][]byte{hdr[:], head, body} {
		if _, err := c.f.Write(b); err != nil {
			return fmt.Errorf("btcw: %w", err)
		}
	}
	c.pos += size
	c.st.Bytes += size
	return nil
}

// pushTime records the timestamp of a new block for the median time past.
func (c *Chain) pushTime(t uint32) {
	c.times[c.ntimes%len(c.times)] = t
	c.ntimes++
}

// prevTime returns the timestamp of the last mined block.
func (c *Chain) prevTime() uint32 { return c.times[(c.ntimes-1)%len(c.times)] }

// medianTimePast returns the median timestamp of the last eleven blocks
// (fewer near genesis), against which time lock times are judged.
func (c *Chain) medianTimePast() uint32 {
	n := min(c.ntimes, len(c.times))
	var ts [11]uint32
	copy(ts[:], c.times[:n])
	s := ts[:n]
	for i := 1; i < n; i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[n/2]
}
