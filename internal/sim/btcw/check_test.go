package btcw

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/sim/btcgen"
	"github.com/chaintrace/chaintrace/internal/sim/simtest"
)

// This file is the tests' independent view of the ledger's files: a plain
// record reader and a validator that leans on btcd for everything it can
// (decoding, block sanity, merkle roots, witness commitments, proof of
// work, coinbase heights, weights, sigops) and tracks the UTXO set itself.

// readBlocks reads every block record of dir's blk files in order,
// undoing the obfuscation if xor.dat exists, and decodes each with btcd.
func readBlocks(t testing.TB, dir string, net *chaincfg.Params) []*wire.MsgBlock {
	t.Helper()
	var key [8]byte
	if k, err := os.ReadFile(filepath.Join(dir, "xor.dat")); err == nil {
		if len(k) != 8 {
			t.Fatalf("xor.dat has %d bytes", len(k))
		}
		copy(key[:], k)
	}
	var blocks []*wire.MsgBlock
	for n := 0; ; n++ {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("blk%05d.dat", n)))
		if errors.Is(err, os.ErrNotExist) {
			return blocks
		}
		if err != nil {
			t.Fatal(err)
		}
		btcgen.XOR(data, key, 0)
		for pos := 0; pos < len(data); {
			if pos+8 > len(data) || binary.LittleEndian.Uint32(data[pos:]) != uint32(net.Net) {
				t.Fatalf("blk%05d.dat: no record at offset %d", n, pos)
			}
			size := int(binary.LittleEndian.Uint32(data[pos+4:]))
			if pos+8+size > len(data) {
				t.Fatalf("blk%05d.dat: record at %d overruns the file", n, pos)
			}
			raw := data[pos+8 : pos+8+size]
			var b wire.MsgBlock
			if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
				t.Fatalf("blk%05d.dat at %d: %v", n, pos, err)
			}
			var again bytes.Buffer
			if err := b.Serialize(&again); err != nil || !bytes.Equal(again.Bytes(), raw) {
				t.Fatalf("blk%05d.dat at %d does not re-serialize to itself: %v", n, pos, err)
			}
			blocks = append(blocks, &b)
			pos += 8 + size
		}
	}
}

// vcoin is an unspent output in the validator's UTXO set.
type vcoin struct {
	value    int64
	height   int
	coinbase bool
	script   []byte
}

// verdict is what the validator found on the chain.
type verdict struct {
	txs, inputs, outputs int64
	utxos                map[wire.OutPoint]vcoin
	chained              int            // Inputs spending an output of the same block.
	spendKinds           map[string]int // Inputs by the kind of output they spend.
	maxWeight, maxSigops int
	commitments          int // Blocks with a witness commitment.
}

// validate checks the chain in dir from genesis to the tip, block by
// block, and returns what it counted.
func validate(t *testing.T, dir string, net *chaincfg.Params) *verdict {
	t.Helper()
	blocks := readBlocks(t, dir, net)
	if len(blocks) == 0 || blocks[0].BlockHash() != *net.GenesisHash {
		t.Fatal("the files do not start with the genesis block")
	}
	v := &verdict{utxos: make(map[wire.OutPoint]vcoin), spendKinds: make(map[string]int)}
	v.txs, v.inputs, v.outputs = 1, 1, 1 // Genesis, whose output nobody can spend.
	for h := 1; h < len(blocks); h++ {
		b, prev := blocks[h], blocks[h-1]
		if b.Header.PrevBlock != prev.BlockHash() || !b.Header.Timestamp.After(prev.Header.Timestamp) {
			t.Fatalf("block %d: bad link or timestamp", h)
		}
		validateBlock(t, net, b, h, v)
	}
	return v
}

// validateBlock checks block b at height h against the validator's UTXO
// set, which it updates.
func validateBlock(t *testing.T, net *chaincfg.Params, b *wire.MsgBlock, h int, v *verdict) {
	t.Helper()
	blk := btcutil.NewBlock(b)
	if err := blockchain.CheckBlockSanity(blk, net.PowLimit, blockchain.NewMedianTime()); err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	if root := blockchain.CalcMerkleRoot(blk.Transactions(), false); root != b.Header.MerkleRoot {
		t.Fatalf("block %d: merkle root %v, header says %v", h, root, b.Header.MerkleRoot)
	}
	if err := blockchain.ValidateWitnessCommitment(blk); err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	segwit := false
	for _, tx := range b.Transactions[1:] {
		segwit = segwit || tx.HasWitness()
	}
	if _, has := blockchain.ExtractWitnessCommitment(blk.Transactions()[0]); has != segwit {
		t.Fatalf("block %d: witness commitment %v, segwit spends %v", h, has, segwit)
	} else if has {
		v.commitments++
	}
	w := int(blockchain.GetBlockWeight(blk))
	if w > blockchain.MaxBlockWeight {
		t.Fatalf("block %d weighs %d", h, w)
	}
	v.maxWeight = max(v.maxWeight, w)
	if b.Header.Bits != net.PowLimitBits {
		t.Fatalf("block %d: bits %x", h, b.Header.Bits)
	}
	if got, err := blockchain.ExtractCoinbaseHeight(blk.Transactions()[0]); err != nil || int(got) != h {
		t.Fatalf("block %d: coinbase height %d, %v", h, got, err)
	}
	var fees int64
	sigops := 0
	for ti, tx := range b.Transactions {
		sigops += blockchain.WitnessScaleFactor * blockchain.CountSigOps(blk.Transactions()[ti])
		if ti == 0 {
			continue
		}
		var in, out int64
		for _, txin := range tx.TxIn {
			c, ok := v.utxos[txin.PreviousOutPoint]
			if !ok {
				t.Fatalf("block %d: input %v missing or spent", h, txin.PreviousOutPoint)
			}
			if c.coinbase && h-c.height < int(net.CoinbaseMaturity) {
				t.Fatalf("block %d spends the coinbase of block %d", h, c.height)
			}
			if c.height == h {
				v.chained++
			}
			kind := simtest.CheckSpend(t, txin, c.script)
			if kind == "p2wpkh" || kind == "p2sh-p2wpkh" {
				sigops++
			}
			v.spendKinds[kind]++
			delete(v.utxos, txin.PreviousOutPoint)
			in += c.value
		}
		for _, o := range tx.TxOut {
			out += o.Value
		}
		if out > in || tx.LockTime >= uint32(h) && tx.LockTime < 500_000_000 && tx.TxIn[0].Sequence != wire.MaxTxInSequenceNum {
			t.Fatalf("block %d tx %d: in %d, out %d, locktime %d", h, ti, in, out, tx.LockTime)
		}
		fees += in - out
		v.inputs += int64(len(tx.TxIn))
		addOutputs(tx, h, false, v)
	}
	if sigops > blockchain.MaxBlockSigOpsCost {
		t.Fatalf("block %d has sigop cost %d", h, sigops)
	}
	v.maxSigops = max(v.maxSigops, sigops)
	cb := b.Transactions[0]
	var claimed int64
	for _, o := range cb.TxOut {
		claimed += o.Value
	}
	if subsidy := blockchain.CalcBlockSubsidy(int32(h), net); claimed != subsidy+fees {
		t.Fatalf("block %d: coinbase claims %d, subsidy %d + fees %d", h, claimed, subsidy, fees)
	}
	v.inputs++
	addOutputs(cb, h, true, v)
	v.txs += int64(len(b.Transactions))
}

// addOutputs adds tx's outputs to the UTXO set, leaving out OP_RETURNs.
func addOutputs(tx *wire.MsgTx, h int, coinbase bool, v *verdict) {
	hash := tx.TxHash()
	for i, o := range tx.TxOut {
		v.outputs++
		if txscript.GetScriptClass(o.PkScript) == txscript.NullDataTy {
			continue
		}
		v.utxos[wire.OutPoint{Hash: hash, Index: uint32(i)}] = vcoin{value: o.Value, height: h, coinbase: coinbase, script: o.PkScript}
	}
}

// fileSums returns the SHA-256 of every file in dir, by name.
func fileSums(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sums := make(map[string][32]byte)
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sums[e.Name()] = sha256.Sum256(data)
	}
	return sums
}
