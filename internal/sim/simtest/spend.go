// Package simtest holds the checks the simulators' tests share: what a
// generated block's inputs must look like to pass for real spends.
package simtest

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// CheckSpend checks that input in has the shape a real spend of script
// has, with keys and scripts that hash to what the output commits to,
// and returns the kind of spend
// ("p2pkh", "p2wpkh", "p2sh-p2wpkh", "p2tr", ...). Nothing verifies the
// simulators' signatures, so this is what keeps their inputs honest: the
// shapes a real spend has, DER signatures, and keys and scripts that hash
// to what the spent output commits to.
func CheckSpend(t testing.TB, in *wire.TxIn, script []byte) string {
	t.Helper()
	pushes, err := txscript.PushedData(in.SignatureScript)
	if err != nil {
		t.Fatalf("input %v: scriptSig does not parse: %v", in.PreviousOutPoint, err)
	}
	wit := in.Witness
	fail := func(what string) {
		t.Fatalf("input %v spending %x: %s (scriptSig %x, witness %x)", in.PreviousOutPoint, script, what, in.SignatureScript, wit)
	}
	sig := func(s []byte) {
		if len(s) < 71 || len(s) > 72 || s[len(s)-1] != 0x01 {
			fail("signature size or sighash")
		}
		if _, err := ecdsa.ParseDERSignature(s[:len(s)-1]); err != nil {
			fail("signature is not DER: " + err.Error())
		}
	}
	key := func(pk, hash []byte) {
		if len(pk) != 33 || pk[0] != 2 && pk[0] != 3 || !bytes.Equal(btcutil.Hash160(pk), hash) {
			fail("public key does not match")
		}
	}
	multisig := func(items [][]byte) {
		if len(items) != 4 || len(items[0]) != 0 || txscript.GetScriptClass(items[3]) != txscript.MultiSigTy {
			fail("not a 2-of-3 multisig spend")
		}
		sig(items[1])
		sig(items[2])
	}
	switch txscript.GetScriptClass(script) {
	case txscript.PubKeyTy:
		if len(pushes) != 1 || len(wit) != 0 {
			fail("not a P2PK spend")
		}
		sig(pushes[0])
		return "p2pk"
	case txscript.PubKeyHashTy:
		if len(pushes) != 2 || len(wit) != 0 {
			fail("not a P2PKH spend")
		}
		sig(pushes[0])
		key(pushes[1], script[3:23])
		return "p2pkh"
	case txscript.MultiSigTy:
		if len(pushes) != 2 || len(pushes[0]) != 0 || len(wit) != 0 {
			fail("not a bare multisig spend")
		}
		sig(pushes[1])
		return "multisig"
	case txscript.WitnessV0PubKeyHashTy:
		if len(pushes) != 0 || len(wit) != 2 {
			fail("not a P2WPKH spend")
		}
		sig(wit[0])
		key(wit[1], script[2:22])
		return "p2wpkh"
	case txscript.WitnessV0ScriptHashTy:
		if len(pushes) != 0 || len(wit) != 4 {
			fail("not a P2WSH spend")
		}
		if ws := sha256.Sum256(wit[3]); !bytes.Equal(ws[:], script[2:34]) {
			fail("witness script does not match")
		}
		multisig(wit)
		return "p2wsh"
	case txscript.WitnessV1TaprootTy:
		if len(pushes) != 0 || len(wit) != 1 || len(wit[0]) != 64 && len(wit[0]) != 65 {
			fail("not a taproot key-path spend")
		}
		return "p2tr"
	case txscript.ScriptHashTy:
		if len(pushes) == 0 || !bytes.Equal(btcutil.Hash160(pushes[len(pushes)-1]), script[2:22]) {
			fail("redeem script does not match")
		}
		redeem := pushes[len(pushes)-1]
		if txscript.GetScriptClass(redeem) == txscript.WitnessV0PubKeyHashTy {
			if len(pushes) != 1 || len(wit) != 2 {
				fail("not a P2SH-P2WPKH spend")
			}
			sig(wit[0])
			key(wit[1], redeem[2:22])
			return "p2sh-p2wpkh"
		}
		if len(wit) != 0 {
			fail("witness on a legacy P2SH spend")
		}
		multisig(pushes)
		return "p2sh-multisig"
	}
	fail("spends an unspendable output")
	return ""
}
