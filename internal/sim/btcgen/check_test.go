package btcgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/sim/simtest"
)

// This file is the tests' independent view of the generated files: a
// plain record reader, and a validator that leans on btcd for everything
// it can (decoding, merkle roots, witness commitments, proof of work,
// coinbase heights, block sanity) and tracks the UTXO set itself.

// fileRec is one record read back from a blk file.
type fileRec struct {
	file   int
	offset int64 // Of the block, after the record header.
	raw    []byte
}

// readRecords reads every record of dir's blk files in order, undoing
// the obfuscation if xor.dat exists. Reading stops in each file at the
// first position not holding the network's magic, which must be the
// start of zero preallocation padding.
func readRecords(t testing.TB, dir string, net wire.BitcoinNet) []fileRec {
	t.Helper()
	var key [8]byte
	if k, err := os.ReadFile(filepath.Join(dir, "xor.dat")); err == nil {
		if len(k) != 8 {
			t.Fatalf("xor.dat has %d bytes", len(k))
		}
		copy(key[:], k)
	}
	var recs []fileRec
	for n := 0; ; n++ {
		obf, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("blk%05d.dat", n)))
		if errors.Is(err, os.ErrNotExist) {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Clone(obf)
		XOR(data, key, 0)
		pos := 0
		for pos < len(data) {
			if pos+8 > len(data) || binary.LittleEndian.Uint32(data[pos:]) != uint32(net) {
				if bytes.ContainsFunc(obf[pos:], func(r rune) bool { return r != 0 }) {
					t.Fatalf("blk%05d.dat: garbage at offset %d", n, pos)
				}
				break
			}
			size := int(binary.LittleEndian.Uint32(data[pos+4:]))
			if pos+8+size > len(data) {
				t.Fatalf("blk%05d.dat: record at %d overruns the file", n, pos)
			}
			recs = append(recs, fileRec{file: n, offset: int64(pos + 8), raw: data[pos+8 : pos+8+size]})
			pos += 8 + size
		}
	}
}

// coin is an unspent output in the validator's UTXO set.
type coin struct {
	value    int64
	height   int
	coinbase bool
	script   []byte
}

// chainStats is what the validator counted on the main chain.
type chainStats struct {
	txs, inputs, outputs, chained, fees, subsidy int64
	byClass                                      [NumClasses]int64
	spendKinds                                   map[string]int
	coinbaseSpends                               int
	maxIns, maxOuts, smallTxs, reused            int
}

// checkChain validates the files in dir against res and returns the
// statistics of the main chain.
func checkChain(t *testing.T, dir string, net *chaincfg.Params, res *Result) *chainStats {
	t.Helper()
	recs := readRecords(t, dir, net.Net)
	if len(recs) != len(res.Records) {
		t.Fatalf("read %d records, Result lists %d", len(recs), len(res.Records))
	}
	if want := len(res.Hashes) + res.StaleBlocks; len(recs) != want {
		t.Fatalf("read %d records, want %d main and %d stale", len(recs), len(res.Hashes), res.StaleBlocks)
	}
	blocks := make(map[chainhash.Hash]*wire.MsgBlock)
	var stale []Record
	for i, r := range recs {
		want := res.Records[i]
		if r.file != want.File || r.offset != want.Offset || len(r.raw) != want.Size {
			t.Fatalf("record %d at %d/%d size %d, Result says %+v", i, r.file, r.offset, len(r.raw), want)
		}
		var b wire.MsgBlock
		if err := b.Deserialize(bytes.NewReader(r.raw)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		var again bytes.Buffer
		if err := b.Serialize(&again); err != nil || !bytes.Equal(again.Bytes(), r.raw) {
			t.Fatalf("record %d does not re-serialize to itself: %v", i, err)
		}
		if b.BlockHash() != want.Hash {
			t.Fatalf("record %d hashes to %v, Result says %v", i, b.BlockHash(), want.Hash)
		}
		if _, dup := blocks[want.Hash]; dup {
			t.Fatalf("block %v written twice", want.Hash)
		}
		blocks[want.Hash] = &b
		if want.Stale {
			stale = append(stale, want)
		}
	}
	if res.Hashes[0] != *net.GenesisHash || res.Tip != res.Hashes[res.Height] {
		t.Fatalf("genesis %v or tip %v wrong", res.Hashes[0], res.Tip)
	}

	st := &chainStats{spendKinds: make(map[string]int)}
	utxos := make(map[wire.OutPoint]coin)
	seen := make(map[string]int) // Output scripts, to detect reuse.
	staleByParent := make(map[chainhash.Hash][]Record)
	for _, s := range stale {
		staleByParent[blocks[s.Hash].Header.PrevBlock] = append(staleByParent[blocks[s.Hash].Header.PrevBlock], s)
	}
	checkedStale := 0
	var checkStale func(parent chainhash.Hash, h int, view map[wire.OutPoint]coin)
	checkStale = func(parent chainhash.Hash, h int, view map[wire.OutPoint]coin) {
		for _, s := range staleByParent[parent] {
			if s.Height != h || h >= res.Height {
				t.Fatalf("stale block %v at height %d (parent's child height %d, tip %d)", s.Hash, s.Height, h, res.Height)
			}
			v := maps.Clone(view)
			validateBlock(t, net, blocks[s.Hash], h, v, &chainStats{spendKinds: map[string]int{}}, nil)
			checkedStale++
			checkStale(s.Hash, h+1, v)
		}
	}
	for h, hash := range res.Hashes {
		b := blocks[hash]
		if b == nil {
			t.Fatalf("main block %d (%v) not in the files", h, hash)
		}
		if h > 0 {
			prev := blocks[res.Hashes[h-1]]
			if b.Header.PrevBlock != res.Hashes[h-1] || !b.Header.Timestamp.After(prev.Header.Timestamp) {
				t.Fatalf("block %d: bad link or timestamp", h)
			}
			checkStale(res.Hashes[h-1], h, utxos)
			validateBlock(t, net, b, h, utxos, st, seen)
			continue
		}
		for _, tx := range b.Transactions { // Genesis: count it, spend nothing.
			st.txs++
			st.inputs += int64(len(tx.TxIn))
			for i, o := range tx.TxOut {
				st.outputs++
				st.subsidy += o.Value
				st.byClass[testClass(o.PkScript)]++
				utxos[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] = coin{value: o.Value, coinbase: true, script: o.PkScript}
			}
		}
	}
	if checkedStale != res.StaleBlocks {
		t.Fatalf("validated %d stale blocks, Result says %d", checkedStale, res.StaleBlocks)
	}

	var unspent int64
	for _, c := range utxos {
		unspent += c.value
	}
	for _, n := range seen {
		if n > 1 {
			st.reused++
		}
	}
	got := [...]int64{st.txs, st.inputs, st.outputs, st.chained, st.fees, st.subsidy, int64(len(utxos)), unspent}
	want := [...]int64{res.Txs, res.Inputs, res.Outputs, res.ChainedSpends, res.Fees, res.Subsidy, res.Unspent, res.UnspentValue}
	if got != want || st.byClass != res.ByClass {
		t.Fatalf("counted txs, inputs, outputs, chained, fees, subsidy, utxos, utxo value = %v, by class %v;\nResult says %v, %v",
			got, st.byClass, want, res.ByClass)
	}
	if res.UnspentValue != res.Subsidy {
		t.Fatalf("UTXO set holds %d, subsidy created %d", res.UnspentValue, res.Subsidy)
	}
	return st
}

// validateBlock checks block b at height h against the UTXO set utxos,
// which it updates, and counts it into st. seen, if not nil, counts
// output scripts.
func validateBlock(t *testing.T, net *chaincfg.Params, b *wire.MsgBlock, h int, utxos map[wire.OutPoint]coin, st *chainStats, seen map[string]int) {
	t.Helper()
	blk := btcutil.NewBlock(b)
	if err := blockchain.CheckBlockSanity(blk, net.PowLimit, blockchain.NewMedianTime()); err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	if err := blockchain.ValidateWitnessCommitment(blk); err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	if w := blockchain.GetBlockWeight(blk); w > blockchain.MaxBlockWeight {
		t.Fatalf("block %d weighs %d", h, w)
	}
	if b.Header.Bits != net.PowLimitBits || b.Header.Version < 4 {
		t.Fatalf("block %d: bits %x, version %d", h, b.Header.Bits, b.Header.Version)
	}
	if got, err := blockchain.ExtractCoinbaseHeight(blk.Transactions()[0]); err != nil || int(got) != h {
		t.Fatalf("block %d: coinbase height %d, %v", h, got, err)
	}
	var fees int64
	for ti, tx := range b.Transactions[1:] {
		var in, out int64
		for _, ti := range tx.TxIn {
			c, ok := utxos[ti.PreviousOutPoint]
			if !ok {
				t.Fatalf("block %d: input %v missing or spent", h, ti.PreviousOutPoint)
			}
			if c.coinbase {
				if h-c.height < int(net.CoinbaseMaturity) {
					t.Fatalf("block %d spends the coinbase of block %d", h, c.height)
				}
				st.coinbaseSpends++
			}
			if c.height == h {
				st.chained++
			}
			st.spendKinds[simtest.CheckSpend(t, ti, c.script)]++
			delete(utxos, ti.PreviousOutPoint)
			in += c.value
		}
		for _, o := range tx.TxOut {
			out += o.Value
		}
		if out > in || tx.LockTime >= uint32(h) && tx.LockTime != 0 {
			t.Fatalf("block %d tx %d: in %d, out %d, locktime %d", h, ti+1, in, out, tx.LockTime)
		}
		fees += in - out
		st.maxIns = max(st.maxIns, len(tx.TxIn))
		st.maxOuts = max(st.maxOuts, len(tx.TxOut))
		if len(tx.TxIn) <= 3 {
			st.smallTxs++
		}
		addOutputs(t, tx, h, false, utxos, st, seen)
	}
	cb := b.Transactions[0]
	var claimed int64
	for _, o := range cb.TxOut {
		claimed += o.Value
	}
	subsidy := blockchain.CalcBlockSubsidy(int32(h), net)
	if claimed != subsidy+fees {
		t.Fatalf("block %d: coinbase claims %d, subsidy %d + fees %d", h, claimed, subsidy, fees)
	}
	addOutputs(t, cb, h, true, utxos, st, seen)
	st.fees += fees
	st.subsidy += subsidy
	st.txs += int64(len(b.Transactions))
	st.inputs++
}

// addOutputs adds tx's spendable outputs to utxos and counts them.
// Public keys in output scripts must be points on the curve, which btcd's
// address extraction checks.
func addOutputs(t *testing.T, tx *wire.MsgTx, h int, coinbase bool, utxos map[wire.OutPoint]coin, st *chainStats, seen map[string]int) {
	t.Helper()
	hash := tx.TxHash()
	for i, o := range tx.TxOut {
		st.outputs++
		c := testClass(o.PkScript)
		st.byClass[c]++
		if c == P2PK || c == Multisig {
			_, addrs, _, err := txscript.ExtractPkScriptAddrs(o.PkScript, &chaincfg.RegressionNetParams)
			if err != nil || len(addrs) != map[Class]int{P2PK: 1, Multisig: 3}[c] {
				t.Fatalf("output script %x has addresses %v, %v", o.PkScript, addrs, err)
			}
		}
		if seen != nil {
			seen[string(o.PkScript)]++
		}
		if c != NullData {
			utxos[wire.OutPoint{Hash: hash, Index: uint32(i)}] = coin{value: o.Value, height: h, coinbase: coinbase, script: o.PkScript}
		}
	}
	if !coinbase {
		st.inputs += int64(len(tx.TxIn))
	}
}

// testClass classifies an output script with btcd.
func testClass(script []byte) Class {
	return map[txscript.ScriptClass]Class{
		txscript.PubKeyTy: P2PK, txscript.PubKeyHashTy: P2PKH, txscript.ScriptHashTy: P2SH,
		txscript.WitnessV0PubKeyHashTy: P2WPKH, txscript.WitnessV0ScriptHashTy: P2WSH,
		txscript.WitnessV1TaprootTy: P2TR, txscript.MultiSigTy: Multisig, txscript.NullDataTy: NullData,
	}[txscript.GetScriptClass(script)]
}
