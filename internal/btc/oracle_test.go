package btc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/model"
)

// This file compares the package with btcd, used as the oracle. The
// helpers return a description of the first difference, or "".

// diffHeader compares a decoded header with btcd's.
func diffHeader(h *Header, w *wire.BlockHeader) string {
	switch {
	case h.Version != w.Version:
		return fmt.Sprintf("version %d, btcd %d", h.Version, w.Version)
	case h.PrevBlock != w.PrevBlock:
		return fmt.Sprintf("prev block %s, btcd %s", h.PrevBlock, w.PrevBlock)
	case h.MerkleRoot != w.MerkleRoot:
		return fmt.Sprintf("merkle root %s, btcd %s", h.MerkleRoot, w.MerkleRoot)
	case int64(h.Timestamp) != w.Timestamp.Unix():
		return fmt.Sprintf("timestamp %d, btcd %d", h.Timestamp, w.Timestamp.Unix())
	case h.Bits != w.Bits:
		return fmt.Sprintf("bits %08x, btcd %08x", h.Bits, w.Bits)
	case h.Nonce != w.Nonce:
		return fmt.Sprintf("nonce %d, btcd %d", h.Nonce, w.Nonce)
	case h.BlockHash() != w.BlockHash():
		return fmt.Sprintf("hash %s, btcd %s", h.BlockHash(), w.BlockHash())
	}
	return ""
}

// diffTx compares a decoded transaction with btcd's field by field.
func diffTx(tx *Tx, w *wire.MsgTx) string {
	switch {
	case tx.Version != w.Version:
		return fmt.Sprintf("version %d, btcd %d", tx.Version, w.Version)
	case tx.LockTime != w.LockTime:
		return fmt.Sprintf("lock time %d, btcd %d", tx.LockTime, w.LockTime)
	case tx.TxID() != w.TxHash():
		return fmt.Sprintf("txid %s, btcd %s", tx.TxID(), w.TxHash())
	case tx.WTxID() != w.WitnessHash():
		return fmt.Sprintf("wtxid %s, btcd %s", tx.WTxID(), w.WitnessHash())
	case tx.HasWitness() != w.HasWitness():
		return fmt.Sprintf("has witness %v, btcd %v", tx.HasWitness(), w.HasWitness())
	case tx.Size() != w.SerializeSize():
		return fmt.Sprintf("size %d, btcd %d", tx.Size(), w.SerializeSize())
	case tx.BaseSize() != w.SerializeSizeStripped():
		return fmt.Sprintf("base size %d, btcd %d", tx.BaseSize(), w.SerializeSizeStripped())
	case tx.IsCoinbase() != blockchain.IsCoinBaseTx(w):
		return fmt.Sprintf("coinbase %v, btcd %v", tx.IsCoinbase(), blockchain.IsCoinBaseTx(w))
	case len(tx.Ins) != len(w.TxIn):
		return fmt.Sprintf("%d inputs, btcd %d", len(tx.Ins), len(w.TxIn))
	case len(tx.Outs) != len(w.TxOut):
		return fmt.Sprintf("%d outputs, btcd %d", len(tx.Outs), len(w.TxOut))
	}
	weight := int(blockchain.GetTransactionWeight(btcutil.NewTx(w)))
	if tx.Weight() != weight {
		return fmt.Sprintf("weight %d, btcd %d", tx.Weight(), weight)
	}
	if tx.VSize() != (weight+3)/4 {
		return fmt.Sprintf("vsize %d, want %d", tx.VSize(), (weight+3)/4)
	}
	var items [][]byte
	for i := range tx.Ins {
		in, win := &tx.Ins[i], w.TxIn[i]
		switch {
		case in.PrevTxID != win.PreviousOutPoint.Hash:
			return fmt.Sprintf("input %d prev txid %s, btcd %s", i, in.PrevTxID, win.PreviousOutPoint.Hash)
		case in.PrevIndex != win.PreviousOutPoint.Index:
			return fmt.Sprintf("input %d prev index %d, btcd %d", i, in.PrevIndex, win.PreviousOutPoint.Index)
		case !bytes.Equal(in.Script, win.SignatureScript):
			return fmt.Sprintf("input %d script %x, btcd %x", i, in.Script, win.SignatureScript)
		case in.Sequence != win.Sequence:
			return fmt.Sprintf("input %d sequence %d, btcd %d", i, in.Sequence, win.Sequence)
		}
		items = in.WitnessItems(items[:0])
		if len(items) != len(win.Witness) {
			return fmt.Sprintf("input %d has %d witness items, btcd %d", i, len(items), len(win.Witness))
		}
		for j := range items {
			if !bytes.Equal(items[j], win.Witness[j]) {
				return fmt.Sprintf("input %d witness item %d %x, btcd %x", i, j, items[j], win.Witness[j])
			}
		}
		if (len(in.Witness) == 0) != (len(win.Witness) == 0) {
			return fmt.Sprintf("input %d raw witness %x, btcd %d items", i, in.Witness, len(win.Witness))
		}
	}
	for i := range tx.Outs {
		out, wout := &tx.Outs[i], w.TxOut[i]
		switch {
		case out.Value != wout.Value:
			return fmt.Sprintf("output %d value %d, btcd %d", i, out.Value, wout.Value)
		case !bytes.Equal(out.Script, wout.PkScript):
			return fmt.Sprintf("output %d script %x, btcd %x", i, out.Script, wout.PkScript)
		}
	}
	return ""
}

// diffBlock compares a decoded block with btcd's: header, size, weight,
// every transaction and the merkle root, which must match the header when
// checkRoot is set.
func diffBlock(b *Block, w *wire.MsgBlock, checkRoot bool) string {
	if d := diffHeader(&b.Header, &w.Header); d != "" {
		return "header: " + d
	}
	if b.Size != w.SerializeSize() {
		return fmt.Sprintf("size %d, btcd %d", b.Size, w.SerializeSize())
	}
	if len(b.Txs) != len(w.Transactions) {
		return fmt.Sprintf("%d txs, btcd %d", len(b.Txs), len(w.Transactions))
	}
	ub := btcutil.NewBlock(w)
	if weight := int(blockchain.GetBlockWeight(ub)); b.Weight() != weight {
		return fmt.Sprintf("weight %d, btcd %d", b.Weight(), weight)
	}
	for i := range b.Txs {
		if d := diffTx(&b.Txs[i], w.Transactions[i]); d != "" {
			return fmt.Sprintf("tx %d: %s", i, d)
		}
	}
	txids := b.TxIDs(nil)
	if len(txids) == 0 {
		// btcd's CalcMerkleRoot panics without transactions.
		if MerkleRoot(txids) != (chainhash.Hash{}) {
			return "merkle root of no transactions is not zero"
		}
		return ""
	}
	if root := blockchain.CalcMerkleRoot(ub.Transactions(), false); MerkleRoot(txids) != root {
		return fmt.Sprintf("merkle root %s, btcd %s", MerkleRoot(txids), root)
	}
	if err := b.CheckMerkle(txids); checkRoot && err != nil {
		return err.Error()
	}
	return ""
}

// addrDivergence counts the scripts on which the package deliberately
// classifies differently from btcd, by reason.
type addrDivergence map[string]int

// diffAddrs compares ExtractAddrs and Encode with txscript's
// ExtractPkScriptAddrs and EncodeAddress on net. btcd's P2PK maps to the
// P2PKH address of the key, and btcd's multisig to the P2PKH addresses of
// its distinct keys. Where the package is deliberately different (it
// follows Bitcoin Core's solver, which is wider than btcd's for null data,
// multisig and witness programs) the difference is checked independently
// and recorded in div.
func diffAddrs(script []byte, net *chaincfg.Params, div addrDivergence) string {
	class, keys := ExtractAddrs(script, nil)
	ours := make([]string, len(keys))
	for i, k := range keys {
		ours[i] = k.Encode(net)
		back, err := ParseAddress(ours[i], net)
		if err != nil || back != k {
			return fmt.Sprintf("address %s does not parse back to %v: %v", ours[i], k, err)
		}
		if kb, err := AddrKeyFromBytes(k.Bytes()); err != nil || kb != k {
			return fmt.Sprintf("key %v does not round-trip through Bytes: %v", k, err)
		}
	}
	bclass, baddrs, _, err := txscript.ExtractPkScriptAddrs(script, net)
	if err != nil {
		return "btcd: " + err.Error()
	}
	var theirs []string
	for _, a := range baddrs {
		if pk, ok := a.(*btcutil.AddressPubKey); ok {
			a = pk.AddressPubKeyHash()
		}
		if s := a.EncodeAddress(); !slices.Contains(theirs, s) {
			theirs = append(theirs, s)
		}
	}
	same := func(want model.ScriptClass) string {
		if class != want || !slices.Equal(ours, theirs) {
			return fmt.Sprintf("script %x: %s %v, btcd %s %v", script, class, ours, bclass, theirs)
		}
		return ""
	}
	switch bclass {
	case txscript.PubKeyHashTy:
		return same(model.ScriptP2PKH)
	case txscript.ScriptHashTy:
		return same(model.ScriptP2SH)
	case txscript.WitnessV0PubKeyHashTy:
		return same(model.ScriptP2WPKH)
	case txscript.WitnessV0ScriptHashTy:
		return same(model.ScriptP2WSH)
	case txscript.WitnessV1TaprootTy:
		return same(model.ScriptP2TR)
	case txscript.PubKeyTy:
		if script[1] == 0x06 || script[1] == 0x07 {
			div["hybrid pubkey p2pk: nonstandard"]++
			return expectNonStandard(script, class, keys)
		}
		if len(theirs) == 0 {
			// btcd drops keys that are not on the curve; the package
			// only checks the prefix, so it still derives the address.
			div["off-curve p2pk key: still indexed"]++
			theirs = []string{base58PKH(btcutil.Hash160(script[1:len(script)-1]), net)}
		}
		return same(model.ScriptP2PK)
	case txscript.MultiSigTy:
		if class == model.ScriptMultisig {
			// btcd drops keys that are not on the curve; the package,
			// like Bitcoin Core's solver, only checks their size.
			pushes, _ := txscript.PushedData(script)
			var want []string
			offCurve := false
			for _, p := range pushes {
				if !validPubKey(p) {
					continue
				}
				if _, err := btcec.ParsePubKey(p); err != nil {
					offCurve = true
				}
				if a := base58PKH(btcutil.Hash160(p), net); !slices.Contains(want, a) {
					want = append(want, a)
				}
			}
			if offCurve {
				for _, a := range theirs {
					if !slices.Contains(want, a) {
						return fmt.Sprintf("script %x: btcd key %s not among %v", script, a, want)
					}
				}
				div["off-curve multisig key: still indexed"]++
				theirs = want
			}
			return same(model.ScriptMultisig)
		}
		// btcd accepts m = 0 and counts pushes that are not valid keys;
		// Bitcoin Core's solver does not.
		div["btcd-only multisig (m=0 or invalid key): nonstandard"]++
		return expectNonStandard(script, class, keys)
	case txscript.NullDataTy:
		return same(model.ScriptNullData)
	}
	// btcd calls everything else non-standard.
	switch class {
	case model.ScriptNonStandard:
		return expectNonStandard(script, class, keys)
	case model.ScriptNullData:
		if script[0] != 0x6a {
			return fmt.Sprintf("script %x: nulldata without OP_RETURN", script)
		}
		div["core-only nulldata (long or several pushes)"]++
		return ""
	case model.ScriptWitnessUnknown:
		v := int(script[0]) - 0x50
		if len(keys) != 1 || v < 1 || v > 16 || int(script[1]) != len(script)-2 ||
			!bytes.Equal(keys[0].Payload(), script[2:]) {
			return fmt.Sprintf("script %x: bad witness_unknown %v", script, keys)
		}
		div["witness_unknown"]++
		return ""
	case model.ScriptMultisig:
		div["core-only multisig (17..20 keys)"]++
		return ""
	}
	return fmt.Sprintf("script %x: %s %v, btcd non-standard", script, class, ours)
}

// expectNonStandard checks the pseudo-address of a non-standard script.
func expectNonStandard(script []byte, class model.ScriptClass, keys []AddrKey) string {
	sum := sha256.Sum256(script)
	want := "nonstandard:" + hex.EncodeToString(sum[:20])
	if class != model.ScriptNonStandard || len(keys) != 1 || keys[0].Encode(nil) != want {
		return fmt.Sprintf("script %x: %s %v, want nonstandard %s", script, class, keys, want)
	}
	return ""
}

// base58PKH encodes a pubkey hash with btcutil.
func base58PKH(h []byte, net *chaincfg.Params) string {
	a, err := btcutil.NewAddressPubKeyHash(h, net)
	if err != nil {
		return "error: " + err.Error()
	}
	return a.EncodeAddress()
}
