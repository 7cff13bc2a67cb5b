package btcw

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// Per-kind costs toward the block's sigop limit (in weight-scaled units):
// spending a segwit v0 key hash costs one witness sigop, and a P2PKH
// output script's OP_CHECKSIG counts four, as legacy sigops do.
var (
	inSigops  = [numKinds]int{P2WPKH: 1, P2SHP2WPKH: 1}
	outSigops = [numKinds]int{P2PKH: 4}
)

// Transaction field values with a meaning of their own.
const (
	seqFinal          = 0xffffffff
	seqDisable        = 1 << 31 // BIP68: no relative lock.
	seqTypeTime       = 1 << 22 // BIP68: a relative lock in time units.
	seqMask           = 0xffff
	lockTimeThreshold = 500_000_000 // Lock times below are heights.
	smallTx           = 16          // Inputs checked pairwise for duplicates.
)

// Spend adds a transaction spending ins and paying outs to the block
// being built, and returns its txid and the new coins in output order.
// The new coins may be spent at once, in later transactions of the same
// block. Every input must be an unspent coin of this ledger, as Spend or
// Mine returned it (unmodified), and a coinbase must be mature (see
// Maturity and Spendable). Every output must pay a positive value to an
// address NewAddr made; dust limits are the caller's business. The
// outputs may add up to less than the inputs, the difference being the
// fee, which the next Mine claims.
//
// Inputs get dummy but well-shaped signatures for their kind: P2PKH a
// scriptSig pushing a 71- or 72-byte DER signature and a 33-byte public
// key, P2WPKH the witness [signature, public key], P2SH-P2WPKH a
// scriptSig pushing the redeem script and that witness, P2TR a 64-byte
// key-path signature.
//
// A transaction that would push the block being built over the consensus
// weight or sigop limit is refused with an error wrapping ErrBlockFull:
// mine the block and call again. Every refusal (see the Err variables)
// leaves the ledger exactly as it was, so the same calls always give the
// same chain whatever errors the caller provoked on the way.
func (c *Chain) Spend(ins []Coin, outs []Output, opts TxOpts) (chainhash.Hash, []Coin, error) {
	if err := c.usable(); err != nil {
		return chainhash.Hash{}, nil, err
	}
	if len(ins) == 0 || len(outs) == 0 {
		return chainhash.Hash{}, nil, fmt.Errorf("%w: got %d inputs and %d outputs", ErrEmptyTx, len(ins), len(outs))
	}
	version, seq := opts.Version, opts.Sequence
	if version == 0 {
		version = 2
	}
	if seq == 0 {
		seq = 0xfffffffd
	}
	in, wit, err := c.checkInputs(ins, version, seq)
	if err != nil {
		return chainhash.Hash{}, nil, err
	}
	var out int64
	for i := range outs {
		o := &outs[i]
		switch {
		case o.Value <= 0 || o.Value > maxSatoshi:
			return chainhash.Hash{}, nil, fmt.Errorf("%w: output %d has value %d", ErrBadOutput, i, o.Value)
		case !c.keys.owns(&o.Addr):
			return chainhash.Hash{}, nil, fmt.Errorf("%w: output %d pays a %s address this ledger did not make", ErrBadOutput, i, o.Addr.Kind)
		}
		out += o.Value
	}
	if out > in {
		return chainhash.Hash{}, nil, fmt.Errorf("%w: outputs pay %d, inputs hold %d", ErrOverspend, out, in)
	}
	if lt := opts.LockTime; lt != 0 && seq != seqFinal {
		building := uint32(c.height + 1)
		if lt < lockTimeThreshold && lt >= building {
			return chainhash.Hash{}, nil, fmt.Errorf("%w: lock time %d is not below the height %d of the block being built", ErrLockTime, lt, building)
		}
		if mtp := c.medianTimePast(); lt >= lockTimeThreshold && lt >= mtp {
			return chainhash.Hash{}, nil, fmt.Errorf("%w: lock time %d is not below the median time past %d", ErrLockTime, lt, mtp)
		}
	}

	saved := c.rng
	start := len(c.body)
	txid, wtxid, weight, sigops := c.encode(ins, outs, uint32(version), seq, opts.LockTime, wit)
	if c.weight+weight > c.maxW || c.sigops+sigops > maxBlockSigops-sigopRoom {
		c.body, c.rng = c.body[:start], saved
		if len(c.txids) == 0 {
			return chainhash.Hash{}, nil, fmt.Errorf("%w: weight %d, sigop cost %d", ErrTxTooLarge, weight, sigops)
		}
		return chainhash.Hash{}, nil, fmt.Errorf("%w: %d transactions weigh %d, this one %d more (sigop cost %d, this one %d more)",
			ErrBlockFull, len(c.txids), c.weight, weight, c.sigops, sigops)
	}

	for i := range ins {
		op := ins[i].OutPoint
		delete(c.utxo, op)
		c.spentHere[op] = txid
		c.st.UnspentValue -= ins[i].Value
	}
	h := c.height + 1
	coins := make([]Coin, len(outs))
	for i := range outs {
		o := &outs[i]
		op := wire.OutPoint{Hash: txid, Index: uint32(i)}
		c.utxo[op] = entry{value: o.Value, height: h, addr: o.Addr}
		coins[i] = Coin{OutPoint: op, Value: o.Value, Addr: o.Addr, Height: h}
		c.st.UnspentValue += o.Value
	}
	c.txids = append(c.txids, txid)
	c.wtxids = append(c.wtxids, wtxid)
	c.fees += in - out
	c.weight += weight
	c.sigops += sigops
	c.segwit = c.segwit || wit
	c.st.Txs++
	c.st.Inputs += int64(len(ins))
	c.st.Outputs += int64(len(outs))
	c.st.Unspent += int64(len(outs) - len(ins))
	c.st.Fees += in - out
	return txid, coins, nil
}

// checkInputs checks that every input may be spent by a transaction of
// the given version and sequence in the block being built, and returns
// their total value and whether any needs a witness.
func (c *Chain) checkInputs(ins []Coin, version int32, seq uint32) (total int64, wit bool, err error) {
	building := c.height + 1
	maturity := c.Maturity()
	// BIP68 relative lock times: Core enforces them for versions that
	// are 2 or more read as unsigned, so negative versions too.
	relative := uint32(version) >= 2 && seq&seqDisable == 0
	if relative && seq&seqTypeTime != 0 {
		return 0, false, fmt.Errorf("%w: sequence %#x asks for a time-based relative lock, which btcw does not support", ErrLockTime, seq)
	}
	for i := range ins {
		op := ins[i].OutPoint
		e, ok := c.utxo[op]
		switch {
		case !ok:
			if by, spent := c.spentHere[op]; spent {
				return 0, false, fmt.Errorf("%w: input %d spends %v, already spent by %v in the block being built", ErrDoubleSpend, i, op, by)
			}
			return 0, false, fmt.Errorf("%w: input %d spends %v, which is unknown or was spent in an earlier block", ErrUnknownCoin, i, op)
		case e.value != ins[i].Value || e.addr != ins[i].Addr:
			return 0, false, fmt.Errorf("%w: input %d spends %v, which holds %d at a %s address, not %d at a %s address",
				ErrCoinMismatch, i, op, e.value, e.addr.Kind, ins[i].Value, ins[i].Addr.Kind)
		case e.coinbase && building-e.height < maturity:
			return 0, false, fmt.Errorf("%w: input %d spends %v, the coinbase of block %d, spendable from block %d; building block %d",
				ErrImmature, i, op, e.height, e.height+maturity, building)
		case relative && building-e.height < int32(seq&seqMask):
			return 0, false, fmt.Errorf("%w: input %d spends %v from block %d, locked for %d blocks; building block %d",
				ErrLockTime, i, op, e.height, seq&seqMask, building)
		}
		total += e.value
		wit = wit || e.addr.Kind != P2PKH
	}
	if i, j := c.duplicate(ins); i >= 0 {
		return 0, false, fmt.Errorf("%w: inputs %d and %d both spend %v", ErrDoubleSpend, i, j, ins[i].OutPoint)
	}
	return total, wit, nil
}

// duplicate returns the indices of two inputs spending the same coin, or
// -1, -1: pairwise for small transactions, with a scratch set for large
// ones.
func (c *Chain) duplicate(ins []Coin) (int, int) {
	if len(ins) <= smallTx {
		for j := 1; j < len(ins); j++ {
			for i := range j {
				if ins[i].OutPoint == ins[j].OutPoint {
					return i, j
				}
			}
		}
		return -1, -1
	}
	defer clear(c.dups)
	for j := range ins {
		if _, dup := c.dups[ins[j].OutPoint]; dup {
			for i := range j {
				if ins[i].OutPoint == ins[j].OutPoint {
					return i, j
				}
			}
		}
		c.dups[ins[j].OutPoint] = struct{}{}
	}
	return -1, -1
}

// encode appends the transaction to the block body and returns its txid,
// wtxid, weight and sigop cost. The inputs have been checked; their
// addresses are the ledger's.
func (c *Chain) encode(ins []Coin, outs []Output, version, seq, lockTime uint32, wit bool) (txid, wtxid chainhash.Hash, weight, sigops int) {
	start := len(c.body)
	b := txenc.AppendU32(c.body, version)
	if wit {
		b = append(b, 0, 1)
	}
	b = txenc.AppendVarInt(b, uint64(len(ins)))
	for i := range ins {
		a := &ins[i].Addr
		b = append(b, ins[i].OutPoint.Hash[:]...)
		b = txenc.AppendU32(b, ins[i].OutPoint.Index)
		switch a.Kind {
		case P2PKH:
			at := len(b)
			b = append(b, 0)
			b = appendSig(b, &c.rng)
			pk := c.keys.Pub(keyIndex(a))
			b = append(b, 33)
			b = append(b, pk[:]...)
			b[at] = byte(len(b) - at - 1)
		case P2SHP2WPKH:
			prog := c.keys.wpkhProgram(keyIndex(a))
			b = append(b, 23, 22)
			b = append(b, prog[:]...)
		default:
			b = append(b, 0)
		}
		b = txenc.AppendU32(b, seq)
		sigops += inSigops[a.Kind]
	}
	b = txenc.AppendVarInt(b, uint64(len(outs)))
	for i := range outs {
		a := &outs[i].Addr
		b = txenc.AppendU64(b, uint64(outs[i].Value))
		b = append(b, byte(scriptLen[a.Kind]))
		b = appendPkScript(b, a)
		sigops += outSigops[a.Kind]
	}
	witStart, witEnd := 0, 0
	if wit {
		witStart = len(b) - start
		for i := range ins {
			a := &ins[i].Addr
			switch a.Kind {
			case P2WPKH, P2SHP2WPKH:
				b = append(b, 2)
				b = appendSig(b, &c.rng)
				pk := c.keys.Pub(keyIndex(a))
				b = append(b, 33)
				b = append(b, pk[:]...)
			case P2TR:
				b = append(b, 1)
				b = appendSchnorr(b, &c.rng)
			default:
				b = append(b, 0) // A legacy input's empty stack.
			}
		}
		witEnd = len(b) - start
	}
	b = txenc.AppendU32(b, lockTime)
	c.body = b
	tx := b[start:]
	txid = c.hash.TxID(tx, witStart, witEnd)
	wtxid, base := txid, len(tx)
	if wit {
		wtxid = chainhash.DoubleHashH(tx)
		base -= witEnd - witStart + 2
	}
	return txid, wtxid, 3*base + len(tx), sigops
}
