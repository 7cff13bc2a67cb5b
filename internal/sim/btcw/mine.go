package btcw

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// blockVersion is the header version: BIP9 signalling with no bit set.
const blockVersion = 0x20000000

// coinbaseTag is pushed after the BIP34 height in every coinbase
// scriptSig, which also keeps it at least two bytes long as consensus
// requires.
var coinbaseTag = [...]byte{6, '/', 'b', 't', 'c', 'w', '/'}

// Mine closes the block being built, possibly empty, and writes it. Its
// coinbase pays the subsidy plus the fees of its transactions to reward,
// which must be an address NewAddr made; it returns the block's height
// and the coinbase coin, spendable from height+Maturity() on. A coinbase
// worth nothing (no subsidy left, no fees) is a coin all the same, as in
// Core, so that callers need not tell such coins apart.
//
// The block's timestamp is t, bumped to a second after the previous
// block's if it is not later; a zero t means Config.Start for block 1
// (when set) and otherwise ten minutes after the previous block. The
// coinbase carries the BIP34 height and, when a transaction has a
// witness, the BIP141 witness commitment. The nonce is ground until the
// header meets the network's proof-of-work limit (about two tries on
// regtest).
//
// A refused reward address, a time past 2106 or ctx's cancellation leave
// the block being built untouched; a failed write leaves the ledger
// unusable (every later call returns ErrClosed).
func (c *Chain) Mine(ctx context.Context, t time.Time, reward Addr) (int32, Coin, error) {
	if err := c.usable(); err != nil {
		return 0, Coin{}, err
	}
	if !c.keys.owns(&reward) {
		return 0, Coin{}, fmt.Errorf("%w: the reward pays a %s address this ledger did not make", ErrBadOutput, reward.Kind)
	}
	if err := ctx.Err(); err != nil {
		return 0, Coin{}, fmt.Errorf("btcw: mining: %w", err)
	}
	h := c.height + 1
	prev := int64(c.prevTime())
	var ts int64
	switch {
	case !t.IsZero():
		ts = t.Unix()
	case h == 1 && !c.start.IsZero():
		ts = c.start.Unix()
	default:
		ts = prev + 600
	}
	ts = max(ts, prev+1)
	if ts > math.MaxUint32 {
		return 0, Coin{}, fmt.Errorf("btcw: block %d's time %v is past 2106", h, time.Unix(ts, 0).UTC())
	}
	value := c.Subsidy(h) + c.fees

	var commit *chainhash.Hash
	if c.segwit {
		// BIP141: the witness merkle root, whose first leaf (the
		// coinbase's wtxid) is zero, hashed with the coinbase's 32-byte
		// witness reserved value, here zero.
		c.leaves = append(append(c.leaves[:0], chainhash.Hash{}), c.wtxids...)
		var pre [64]byte
		var root chainhash.Hash
		root, c.scratch = txenc.MerkleRoot(c.leaves, c.scratch)
		copy(pre[:32], root[:])
		cm := chainhash.DoubleHashH(pre[:])
		commit = &cm
	}
	cbid := c.coinbase(h, value, &reward, commit)
	c.leaves = append(append(c.leaves[:0], cbid), c.txids...)
	var root chainhash.Hash
	root, c.scratch = txenc.MerkleRoot(c.leaves, c.scratch)

	var hdr [80]byte
	binary.LittleEndian.PutUint32(hdr[0:], blockVersion)
	copy(hdr[4:36], c.tip[:])
	copy(hdr[36:68], root[:])
	binary.LittleEndian.PutUint32(hdr[72:], c.net.PowLimitBits)
	hash, err := c.grind(ctx, &hdr, ts)
	if err != nil {
		return 0, Coin{}, err
	}

	head := append(c.rec[:0], hdr[:]...)
	head = txenc.AppendVarInt(head, uint64(len(c.txids)+1))
	head = append(head, c.cb...)
	c.rec = head
	if err := c.writeBlock(head, c.body); err != nil {
		c.err = err
		return 0, Coin{}, err
	}

	coin := Coin{OutPoint: wire.OutPoint{Hash: cbid}, Value: value, Addr: reward, Height: h, Coinbase: true}
	c.utxo[coin.OutPoint] = entry{value: value, height: h, coinbase: true, addr: reward}
	c.st.Unspent++
	c.st.UnspentValue += value
	c.st.Blocks++
	c.st.Txs++
	c.st.Inputs++
	c.st.Outputs++
	if commit != nil {
		c.st.Outputs++
	}
	c.height, c.tip = h, hash
	c.pushTime(binary.LittleEndian.Uint32(hdr[68:]))
	c.resetBlock()
	return h, coin, nil
}

// grind sets the header's timestamp to ts and searches nonces until the
// header meets the target, checking ctx now and then. Should every nonce
// fail, the timestamp moves a second on and the search starts over.
func (c *Chain) grind(ctx context.Context, hdr *[80]byte, ts int64) (chainhash.Hash, error) {
	binary.LittleEndian.PutUint32(hdr[68:], uint32(ts))
	for i := uint64(0); ; i++ {
		nonce := uint32(i)
		if nonce == 0 && i > 0 {
			if ts++; ts > math.MaxUint32 {
				return chainhash.Hash{}, fmt.Errorf("btcw: no nonce meets the target before 2106")
			}
			binary.LittleEndian.PutUint32(hdr[68:], uint32(ts))
		}
		if i%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return chainhash.Hash{}, fmt.Errorf("btcw: mining: %w", err)
			}
		}
		binary.LittleEndian.PutUint32(hdr[76:], nonce)
		hash := chainhash.DoubleHashH(hdr[:])
		if c.skipPoW || txenc.HashMeetsTarget(&hash, &c.target) {
			return hash, nil
		}
	}
}

// coinbase builds the coinbase of the block at height h into c.cb,
// paying value to reward and committing to commit when it is not nil,
// and returns its txid.
func (c *Chain) coinbase(h int32, value int64, reward *Addr, commit *chainhash.Hash) chainhash.Hash {
	var zero [32]byte
	b := txenc.AppendU32(c.cb[:0], 2)
	if commit != nil {
		b = append(b, 0, 1)
	}
	b = append(b, 1)
	b = append(b, zero[:]...)
	b = txenc.AppendU32(b, 0xffffffff)
	lenAt := len(b)
	b = append(b, 0)
	b = txenc.AppendHeight(b, int64(h))
	b = append(b, coinbaseTag[:]...)
	b[lenAt] = byte(len(b) - lenAt - 1)
	b = txenc.AppendU32(b, 0xffffffff)
	if commit == nil {
		b = append(b, 1)
	} else {
		b = append(b, 2)
	}
	b = txenc.AppendU64(b, uint64(value))
	b = append(b, byte(scriptLen[reward.Kind]))
	b = appendPkScript(b, reward)
	witStart, witEnd := 0, 0
	if commit != nil {
		b = txenc.AppendU64(b, 0)
		b = append(b, 38, opReturn, 36, 0xaa, 0x21, 0xa9, 0xed)
		b = append(b, commit[:]...)
		witStart = len(b)
		b = append(b, 1, 32)
		b = append(b, zero[:]...)
		witEnd = len(b)
	}
	b = txenc.AppendU32(b, 0)
	c.cb = b
	return c.hash.TxID(b, witStart, witEnd)
}

// Subsidy returns the new coins the coinbase at height h may claim on
// the ledger's network. On regtest it halves every 150 blocks and is
// zero from height 4950 on, after which coinbases pay only fees.
func (c *Chain) Subsidy(h int32) int64 {
	halvings := int32(0)
	if iv := c.net.SubsidyReductionInterval; iv > 0 {
		halvings = h / iv
	}
	if halvings >= 63 || h < 0 {
		return 0
	}
	return (50 * 100_000_000) >> uint(halvings)
}

// resetBlock empties the block being built, keeping its buffers.
func (c *Chain) resetBlock() {
	c.body = c.body[:0]
	c.txids, c.wtxids = c.txids[:0], c.wtxids[:0]
	c.fees, c.weight, c.sigops, c.segwit = 0, 0, 0, false
	clear(c.spentHere)
}
