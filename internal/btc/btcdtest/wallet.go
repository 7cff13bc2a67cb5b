package btcdtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btc"
)

// AddressKind selects the script type of Wallet.NewAddress.
type AddressKind int

const (
	// P2PKH is a legacy pay-to-pubkey-hash address; the wallet can spend it.
	P2PKH AddressKind = iota
	// P2WPKH is a native segwit v0 key-hash address; the wallet can spend
	// it once segwit is active.
	P2WPKH
	// P2SH wraps a 1-of-2 multisig redeem script. Receive-only.
	P2SH
	// P2WSH commits to a 1-of-2 multisig witness script. Receive-only.
	P2WSH
	// P2TR is a key-path-only taproot output. Receive-only.
	P2TR
)

// feeRate is what the wallet pays, in satoshis per virtual byte: above
// btcd's 1 sat/vB relay minimum so every transaction is accepted.
const feeRate = 2

// dustLimit is the smallest change output the wallet creates; smaller change
// goes to the fee instead of making a non-standard output.
const dustLimit = 1000

// Coin is an unspent output the wallet can sign for.
type Coin struct {
	OutPoint wire.OutPoint
	Output   *wire.TxOut
	Height   uint64
	Coinbase bool
}

// Wallet tracks outputs paying to keys it holds (the node's mining key and
// addresses from NewAddress) on the node's best chain, and builds and signs
// spends with btcd's txscript. It rescans from the node on every query, so
// it follows reorganisations. It is safe for concurrent use.
type Wallet struct {
	node *Node

	mu      sync.Mutex
	keys    map[string]*btcec.PrivateKey // by pkScript
	chain   []chainhash.Hash
	blocks  map[chainhash.Hash]*wire.MsgBlock
	pending map[wire.OutPoint]bool // spent by our unconfirmed transactions
}

func newWallet(n *Node) *Wallet {
	w := &Wallet{node: n, keys: map[string]*btcec.PrivateKey{},
		blocks: map[chainhash.Hash]*wire.MsgBlock{}, pending: map[wire.OutPoint]bool{}}
	script, err := txscript.PayToAddrScript(n.MiningAddr)
	if err != nil {
		panic(err) // A P2PKH address always has a script.
	}
	w.keys[string(script)] = n.Key
	return w
}

// NewAddress returns a fresh address of kind. P2PKH and P2WPKH addresses are
// tracked, so outputs paying to them become spendable coins.
func (w *Wallet) NewAddress(kind AddressKind) (btcutil.Address, error) {
	params := w.node.Params
	key, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, err
	}
	pub := key.PubKey().SerializeCompressed()
	var addr btcutil.Address
	switch kind {
	case P2PKH:
		addr, err = btcutil.NewAddressPubKeyHash(btcutil.Hash160(pub), params)
	case P2WPKH:
		addr, err = btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(pub), params)
	case P2SH, P2WSH:
		var multisig []byte
		multisig, err = multisigScript(key, params)
		if err != nil {
			return nil, err
		}
		if kind == P2SH {
			addr, err = btcutil.NewAddressScriptHash(multisig, params)
		} else {
			sum := sha256.Sum256(multisig)
			addr, err = btcutil.NewAddressWitnessScriptHash(sum[:], params)
		}
	case P2TR:
		out := txscript.ComputeTaprootKeyNoScript(key.PubKey())
		addr, err = btcutil.NewAddressTaproot(schnorr.SerializePubKey(out), params)
	default:
		return nil, fmt.Errorf("btcdtest: unknown address kind %d", kind)
	}
	if err != nil {
		return nil, err
	}
	if kind == P2PKH || kind == P2WPKH {
		script, err := txscript.PayToAddrScript(addr)
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		w.keys[string(script)] = key
		w.mu.Unlock()
	}
	return addr, nil
}

// multisigScript is a 1-of-2 bare multisig of key and a second fresh key.
func multisigScript(key *btcec.PrivateKey, params *chaincfg.Params) ([]byte, error) {
	other, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, err
	}
	var pks []*btcutil.AddressPubKey
	for _, k := range []*btcec.PrivateKey{key, other} {
		pk, err := btcutil.NewAddressPubKey(k.PubKey().SerializeCompressed(), params)
		if err != nil {
			return nil, err
		}
		pks = append(pks, pk)
	}
	return txscript.MultiSigScript(pks, 1)
}

// PayTo returns an output paying amount to addr.
func PayTo(addr btcutil.Address, amount btcutil.Amount) (*wire.TxOut, error) {
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, err
	}
	return wire.NewTxOut(int64(amount), script), nil
}

// OpReturn returns a zero-value OP_RETURN output carrying data (at most 80
// bytes to stay standard).
func OpReturn(data []byte) (*wire.TxOut, error) {
	script, err := txscript.NullDataScript(data)
	if err != nil {
		return nil, err
	}
	return wire.NewTxOut(0, script), nil
}

// Coins returns the wallet's spendable coins on the node's current best
// chain: mature for the next block and not spent by a transaction the wallet
// sent, largest first.
func (w *Wallet) Coins(ctx context.Context) ([]Coin, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.sync(ctx); err != nil {
		return nil, err
	}
	return w.spendable(), nil
}

// sync brings the wallet's copy of the best chain up to date: it drops
// blocks the node no longer has on its best chain and fetches new ones.
// Blocks stay cached by hash, so a reorganisation back costs nothing.
func (w *Wallet) sync(ctx context.Context) error {
	client := w.node.client
	var err error
	for range 5 {
		var tip uint64
		if tip, _, err = client.Tip(ctx); err != nil {
			return err
		}
		keep := min(uint64(len(w.chain)), tip+1)
		for keep > 0 {
			h, err := client.HashAt(ctx, keep-1)
			if err == nil && h == w.chain[keep-1] {
				break
			}
			if err != nil && !errors.Is(err, btc.ErrNotFound) {
				return err
			}
			keep--
		}
		w.chain = w.chain[:keep]
		err = client.Blocks(ctx, keep, tip, func(_ uint64, hash chainhash.Hash, raw []byte) error {
			if w.blocks[hash] == nil {
				var blk wire.MsgBlock
				if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
					return fmt.Errorf("btcdtest: decoding block %s: %w", hash, err)
				}
				w.blocks[hash] = &blk
			}
			w.chain = append(w.chain, hash)
			return nil
		})
		if !errors.Is(err, btc.ErrReorg) && !errors.Is(err, btc.ErrNotFound) {
			return err
		}
	}
	return fmt.Errorf("btcdtest: wallet could not catch up with a changing chain: %w", err)
}

// spendable computes the coins from the scanned chain and forgets pending
// spends that the chain has resolved.
func (w *Wallet) spendable() []Coin {
	utxo := map[wire.OutPoint]Coin{}
	for height, hash := range w.chain {
		for ti, tx := range w.blocks[hash].Transactions {
			if ti > 0 {
				for _, in := range tx.TxIn {
					delete(utxo, in.PreviousOutPoint)
				}
			}
			txid := tx.TxHash()
			for oi, out := range tx.TxOut {
				if w.keys[string(out.PkScript)] != nil {
					op := wire.OutPoint{Hash: txid, Index: uint32(oi)}
					utxo[op] = Coin{OutPoint: op, Output: out, Height: uint64(height), Coinbase: ti == 0}
				}
			}
		}
	}
	next := uint64(len(w.chain)) // Height of the block that would include a spend.
	maturity := uint64(w.node.Params.CoinbaseMaturity)
	var coins []Coin
	for op := range w.pending {
		if _, ok := utxo[op]; !ok {
			delete(w.pending, op)
		}
	}
	for op, c := range utxo {
		if w.pending[op] || (c.Coinbase && next-c.Height < maturity) {
			continue
		}
		coins = append(coins, c)
	}
	slices.SortFunc(coins, func(a, b Coin) int {
		if c := cmp.Compare(b.Output.Value, a.Output.Value); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Height, b.Height); c != 0 {
			return c
		}
		if c := bytes.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.OutPoint.Index, b.OutPoint.Index)
	})
	return coins
}

// Send pays outs from the wallet's coins (largest first), adds change to a
// fresh P2WPKH address, signs, and submits the transaction. Witness coins are
// used only once segwit is active.
func (w *Wallet) Send(ctx context.Context, outs ...*wire.TxOut) (*wire.MsgTx, error) {
	segwit, err := w.node.SegwitActive(ctx)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.sync(ctx); err != nil {
		return nil, err
	}
	var want int64
	for _, o := range outs {
		want += o.Value
	}
	var inputs []Coin
	var have int64
	for _, c := range w.spendable() {
		if !segwit && txscript.IsPayToWitnessPubKeyHash(c.Output.PkScript) {
			continue
		}
		inputs = append(inputs, c)
		have += c.Output.Value
		if have >= want+estimateVSize(inputs, outs, true)*feeRate {
			return w.signAndSend(ctx, inputs, outs)
		}
	}
	return nil, fmt.Errorf("btcdtest: wallet has %v spendable, needs %v plus fee (mine more blocks: coinbases mature after %d)",
		btcutil.Amount(have), btcutil.Amount(want), w.node.Params.CoinbaseMaturity)
}

// Spend is Send with the inputs chosen by the caller, for tests that need a
// particular script type on the input side.
func (w *Wallet) Spend(ctx context.Context, inputs []Coin, outs ...*wire.TxOut) (*wire.MsgTx, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.signAndSend(ctx, inputs, outs)
}

// signAndSend builds, signs, verifies and submits the transaction, then
// marks its inputs pending. The caller holds w.mu.
func (w *Wallet) signAndSend(ctx context.Context, inputs []Coin, outs []*wire.TxOut) (*wire.MsgTx, error) {
	tx, err := w.build(inputs, outs)
	if err != nil {
		return nil, err
	}
	if _, err := w.node.SendRaw(ctx, tx); err != nil {
		return nil, err
	}
	for _, c := range inputs {
		w.pending[c.OutPoint] = true
	}
	return tx, nil
}

// build assembles and signs a transaction spending inputs to outs plus
// change, and checks every input with the script engine so a signing bug
// shows up here rather than as a vague mempool rejection.
func (w *Wallet) build(inputs []Coin, outs []*wire.TxOut) (*wire.MsgTx, error) {
	if len(inputs) == 0 {
		return nil, errors.New("btcdtest: no inputs")
	}
	tx := wire.NewMsgTx(wire.TxVersion)
	prevOuts := map[wire.OutPoint]*wire.TxOut{}
	var in, out int64
	for _, c := range inputs {
		tx.AddTxIn(wire.NewTxIn(&c.OutPoint, nil, nil))
		prevOuts[c.OutPoint] = c.Output
		in += c.Output.Value
	}
	for _, o := range outs {
		tx.AddTxOut(o)
		out += o.Value
	}
	fee := estimateVSize(inputs, outs, true) * feeRate
	if change := in - out - fee; change >= dustLimit {
		addr, err := w.newChangeAddress()
		if err != nil {
			return nil, err
		}
		script, err := txscript.PayToAddrScript(addr)
		if err != nil {
			return nil, err
		}
		tx.AddTxOut(wire.NewTxOut(change, script))
	} else if in-out < estimateVSize(inputs, outs, false)*feeRate {
		return nil, fmt.Errorf("btcdtest: inputs of %v do not cover outputs of %v plus fee",
			btcutil.Amount(in), btcutil.Amount(out))
	}

	fetcher := txscript.NewMultiPrevOutFetcher(prevOuts)
	sigHashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, c := range inputs {
		key := w.keys[string(c.Output.PkScript)]
		if key == nil {
			return nil, fmt.Errorf("btcdtest: input %d (%v) pays to a script the wallet has no key for", i, c.OutPoint)
		}
		script := c.Output.PkScript
		switch {
		case txscript.IsPayToPubKeyHash(script):
			sig, err := txscript.SignatureScript(tx, i, script, txscript.SigHashAll, key, true)
			if err != nil {
				return nil, err
			}
			tx.TxIn[i].SignatureScript = sig
		case txscript.IsPayToWitnessPubKeyHash(script):
			wit, err := txscript.WitnessSignature(tx, sigHashes, i, c.Output.Value, script,
				txscript.SigHashAll, key, true)
			if err != nil {
				return nil, err
			}
			tx.TxIn[i].Witness = wit
		default:
			return nil, fmt.Errorf("btcdtest: input %d has unsupported script %x", i, script)
		}
	}
	for i, c := range inputs {
		vm, err := txscript.NewEngine(c.Output.PkScript, tx, i, txscript.StandardVerifyFlags, nil,
			sigHashes, c.Output.Value, fetcher)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			return nil, fmt.Errorf("btcdtest: signed input %d does not verify: %w", i, err)
		}
	}
	if vsize := (tx.SerializeSizeStripped()*3 + tx.SerializeSize() + 3) / 4; int64(vsize) > estimateVSize(inputs, outs, true) {
		return nil, fmt.Errorf("btcdtest: fee estimate too low: vsize %d", vsize)
	}
	return tx, nil
}

// newChangeAddress registers a fresh P2WPKH key; the caller holds w.mu.
func (w *Wallet) newChangeAddress() (btcutil.Address, error) {
	key, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, err
	}
	addr, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(key.PubKey().SerializeCompressed()), w.node.Params)
	if err != nil {
		return nil, err
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, err
	}
	w.keys[string(script)] = key
	return addr, nil
}

// estimateVSize is an upper bound on the virtual size of a transaction with
// these inputs and outputs (plus a P2WPKH change output if change), used to
// set the fee before signing.
func estimateVSize(inputs []Coin, outs []*wire.TxOut, change bool) int64 {
	size := int64(11) // version, locktime, counts, segwit marker and flag
	for _, c := range inputs {
		if txscript.IsPayToWitnessPubKeyHash(c.Output.PkScript) {
			size += 69 // 41 bytes outpoint/sequence/empty script + 109/4 witness
		} else {
			size += 149 // outpoint, sequence, 107-byte signature script
		}
	}
	for _, o := range outs {
		size += 8 + int64(wire.VarIntSerializeSize(uint64(len(o.PkScript)))) + int64(len(o.PkScript))
	}
	if change {
		size += 31
	}
	return size
}
