package btcgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strconv"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// Consensus limits a block must respect, and the room kept free for one
// more transaction: a block stops taking transactions once less than that
// is left, since a transaction's size is known only once it is written.
const (
	maxBlockWeight = 4_000_000
	maxBlockSigops = 80_000
	txWeightRoom   = 64_000 // 50 P2SH multisig inputs and change.
	txSigopRoom    = 1_000  // 100 P2PKH outputs and 20 P2SH multisig inputs.
	baseWeight     = 4 * (80 + 3 + 250)
)

// run writes the genesis block, then mines and writes blocks until the
// configured height and transaction count are reached and the last stale
// branch lies below the tip.
func (g *gen) run(ctx context.Context, progress func(blocks, txs int)) error {
	if err := g.genesis(ctx); err != nil {
		return err
	}
	if progress != nil {
		progress(1, int(g.res.Txs))
	}
	next := uint64(g.prevTime) + 600
	if !g.cfg.Start.IsZero() {
		next = uint64(max(g.cfg.Start.Unix(), int64(g.prevTime)+1))
	}
	staleEnd, idle := 0, 0
	for h := 1; h <= g.cfg.Blocks || g.res.Txs < g.cfg.MinTxs || h <= staleEnd+1; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if next > math.MaxUint32 {
			return errors.New("btcgen: block timestamps passed 2106")
		}
		before := g.res.Txs
		end, err := g.mine(ctx, h, uint32(next))
		if err != nil {
			return err
		}
		staleEnd = max(staleEnd, end)
		if progress != nil {
			progress(h+1, int(g.res.Txs))
		}
		if g.cfg.MinTxs > 0 && g.res.Txs == before+1 && h > int(g.cfg.Net.CoinbaseMaturity) {
			if idle++; idle > 2000 {
				return errors.New("btcgen: no wallet could pay for 2000 blocks")
			}
		} else {
			idle = 0
		}
		next += uint64(max(1, math.Round(-600*math.Log(1-g.rng.Float64()))))
	}
	g.finish()
	return nil
}

// genesis writes the network's genesis block and counts it.
func (g *gen) genesis(ctx context.Context) error {
	gb := g.cfg.Net.GenesisBlock
	var buf bytes.Buffer
	if err := gb.Serialize(&buf); err != nil {
		return err
	}
	hash := gb.BlockHash()
	for _, tx := range gb.Transactions {
		g.res.Txs++
		g.res.Inputs += int64(len(tx.TxIn))
		g.res.Outputs += int64(len(tx.TxOut))
		for _, o := range tx.TxOut {
			c := classify(o.PkScript)
			g.res.ByClass[c]++
			g.res.Subsidy += o.Value
			if c != NullData {
				g.lostCount++ // Nobody holds the genesis output's key.
				g.lostValue += o.Value
			}
		}
	}
	g.res.Hashes = append(g.res.Hashes, hash)
	g.prevHash, g.prevTime = hash, uint32(gb.Header.Timestamp.Unix())
	return g.emit(ctx, blockRec{raw: buf.Bytes(), hash: hash})
}

// classify maps btcd's script classes onto Class.
func classify(script []byte) Class {
	switch txscript.GetScriptClass(script) {
	case txscript.PubKeyTy:
		return P2PK
	case txscript.PubKeyHashTy:
		return P2PKH
	case txscript.ScriptHashTy:
		return P2SH
	case txscript.WitnessV0PubKeyHashTy:
		return P2WPKH
	case txscript.WitnessV0ScriptHashTy:
		return P2WSH
	case txscript.WitnessV1TaprootTy:
		return P2TR
	case txscript.MultiSigTy:
		return Multisig
	case txscript.NullDataTy:
		return NullData
	}
	return NonStandard
}

// subsidy returns the block reward at height h.
func (g *gen) subsidy(h int) int64 {
	halvings := 0
	if iv := int(g.cfg.Net.SubsidyReductionInterval); iv > 0 {
		halvings = h / iv
	}
	if halvings >= 64 {
		return 0
	}
	return 50_0000_0000 >> uint(halvings)
}

// mine builds and writes the main-chain block at height h with timestamp
// t, and the stale block competing with it, if any. It returns the
// height of the last block of the stale branch it started, or 0.
func (g *gen) mine(ctx context.Context, h int, t uint32) (staleEnd int, err error) {
	g.release(h)
	g.body, g.txids, g.wtxids = g.body[:0], g.txids[:0], g.wtxids[:0]
	g.txEnd, g.feeCum = g.txEnd[:0], g.feeCum[:0]
	g.blockFees, g.weight, g.sigops = 0, baseWeight, 4
	// The block's prevailing fee rate, log-uniform over 1-80 sat/vB.
	g.blockRate = math.Exp(g.rng.Float64() * math.Log(80))
	want := 0
	if tpb := g.cfg.TxPerBlock; tpb > 0 && g.rng.IntN(100) != 0 {
		want = tpb/2 + g.rng.IntN(tpb+1)
	}
	for made, tries := 0, 0; made < want && tries < 2*want+100; tries++ {
		if g.weight > maxBlockWeight-txWeightRoom || g.sigops > maxBlockSigops-txSigopRoom {
			break
		}
		if g.makeTx(h) {
			made++
		}
	}
	n := len(g.txids)

	pool := g.pools[g.rng.IntN(len(g.pools))]
	raw, hash, cb := g.buildBlock(h, g.prevHash, t, n, pool)
	g.res.Txs++
	g.res.Inputs++
	g.res.Outputs += 2
	g.res.ByClass[kinds[cb.kind].class]++
	g.res.ByClass[NullData]++
	g.res.Subsidy += g.subsidy(h)
	if cb.value > 0 {
		g.immature = append(g.immature, pending{height: h, owner: pool, coin: cb})
	} else {
		g.lostCount++ // A worthless coin, never worth spending.
	}
	main := blockRec{raw: raw, hash: hash, height: h}

	// The competing block, if any, goes right before or after this one.
	var stale *blockRec
	other := g.pools[(int(pool)+1+g.rng.IntN(len(g.pools)))%len(g.pools)]
	switch {
	case g.staleLeft > 0:
		st := g.staleTime + 1 + uint32(g.rng.IntN(600))
		sraw, shash, _ := g.buildBlock(h, g.staleTip, st, 0, other)
		stale = &blockRec{raw: sraw, hash: shash, height: h, stale: true}
		g.staleTip, g.staleTime = shash, st
		g.staleLeft--
	case g.cfg.StaleEvery > 0 && h%g.cfg.StaleEvery == 0 &&
		(h+g.cfg.StaleDepth-1 < g.cfg.Blocks || g.cfg.MinTxs > 0):
		k := n/2 + g.rng.IntN(n-n/2+1)
		st := g.prevTime + 1 + uint32(g.rng.IntN(1200))
		sraw, shash, _ := g.buildBlock(h, g.prevHash, st, k, other)
		stale = &blockRec{raw: sraw, hash: shash, height: h, stale: true}
		g.staleTip, g.staleTime = shash, st
		g.staleLeft = g.cfg.StaleDepth - 1
		staleEnd = h + g.staleLeft
	}
	g.res.Hashes = append(g.res.Hashes, hash)
	g.prevHash, g.prevTime = hash, t
	if stale != nil {
		g.res.StaleBlocks++
		if g.rng.IntN(2) == 0 {
			if err := g.emit(ctx, *stale); err != nil {
				return 0, err
			}
			stale = nil
		}
	}
	if err := g.emit(ctx, main); err != nil {
		return 0, err
	}
	if stale != nil {
		return staleEnd, g.emit(ctx, *stale)
	}
	return staleEnd, nil
}

// release moves the coinbase outputs that mature at height h into their
// pools' wallets: a coinbase of height c is spendable from c+maturity on.
func (g *gen) release(h int) {
	maturity := int(g.cfg.Net.CoinbaseMaturity)
	i := 0
	for ; i < len(g.immature) && g.immature[i].height+maturity <= h; i++ {
		g.credit(g.immature[i].owner, g.immature[i].coin)
	}
	g.immature = g.immature[i:]
}

// buildBlock assembles a block at height h on prev with timestamp t
// holding a new coinbase paid to pool followed by the first n transactions
// of the body, grinds its nonce, and returns its serialization, hash and
// coinbase output.
func (g *gen) buildBlock(h int, prev chainhash.Hash, t uint32, n int, pool int32) ([]byte, chainhash.Hash, utxo) {
	var fees int64
	end := 0
	if n > 0 {
		fees, end = g.feeCum[n-1], g.txEnd[n-1]
	}
	us := &g.users[pool]
	cb := utxo{value: g.subsidy(h) + fees, key: g.receiveKey(pool), born: int32(h), kind: us.kind}

	// BIP141 commitment: the witness merkle root, whose first leaf (the
	// coinbase's wtxid) is zero, hashed with the coinbase's 32-byte
	// witness reserved value, here zero.
	var pre [64]byte
	g.leaves = append(append(g.leaves[:0], chainhash.Hash{}), g.wtxids[:n]...)
	var root chainhash.Hash
	root, g.scratch = txenc.MerkleRoot(g.leaves, g.scratch)
	copy(pre[:32], root[:])
	commit := chainhash.DoubleHashH(pre[:])
	g.cb, cb.txid = g.coinbase(g.cb[:0], h, pool, &cb, &commit)

	g.leaves = append(append(g.leaves[:0], cb.txid), g.txids[:n]...)
	root, g.scratch = txenc.MerkleRoot(g.leaves, g.scratch)
	var hdr [80]byte
	version := uint32(0x20000000)
	if pool%2 == 0 {
		// Version rolling (overt ASICBoost) uses bits 13-28.
		version |= g.rng.Uint32() & 0x1fffe000
	}
	binary.LittleEndian.PutUint32(hdr[0:], version)
	copy(hdr[4:36], prev[:])
	copy(hdr[36:68], root[:])
	binary.LittleEndian.PutUint32(hdr[68:], t)
	binary.LittleEndian.PutUint32(hdr[72:], g.cfg.Net.PowLimitBits)
	nonce := g.rng.Uint32()
	var hash chainhash.Hash
	for {
		binary.LittleEndian.PutUint32(hdr[76:], nonce)
		hash = chainhash.DoubleHashH(hdr[:])
		if g.cfg.SkipPoW || txenc.HashMeetsTarget(&hash, &g.target) {
			break
		}
		nonce++
	}

	raw := g.buffer(len(hdr) + 9 + len(g.cb) + end)
	raw = append(raw, hdr[:]...)
	raw = txenc.AppendVarInt(raw, uint64(n+1))
	raw = append(raw, g.cb...)
	raw = append(raw, g.body[:end]...)
	return raw, hash, cb
}

// coinbase appends the coinbase transaction paying cb to pool and
// committing to commit, and returns it with its txid. Its scriptSig holds
// the BIP34 height, an extranonce and the pool's tag, which makes stale
// coinbases differ from main-chain ones at the same height.
func (g *gen) coinbase(dst []byte, h int, pool int32, cb *utxo, commit *chainhash.Hash) ([]byte, chainhash.Hash) {
	dst = txenc.AppendU32(dst, uint32(1+pool%2))
	dst = append(dst, 0, 1)
	dst = txenc.AppendVarInt(dst, 1)
	dst = append(dst, make([]byte, 32)...)
	dst = txenc.AppendU32(dst, 0xffffffff)
	lenAt := len(dst)
	dst = append(dst, 0)
	dst = txenc.AppendHeight(dst, int64(h))
	dst = append(dst, 8)
	dst = appendRandom(dst, 8, g.rng)
	tagAt := len(dst)
	dst = append(dst, 0, '/', 's', 'i', 'm', 'p', 'o', 'o', 'l')
	dst = strconv.AppendInt(dst, int64(pool), 10)
	dst = append(dst, '/')
	dst[tagAt] = byte(len(dst) - tagAt - 1)
	dst[lenAt] = byte(len(dst) - lenAt - 1)
	dst = txenc.AppendU32(dst, 0xffffffff)

	dst = txenc.AppendVarInt(dst, 2)
	dst = txenc.AppendU64(dst, uint64(cb.value))
	dst = g.keys.appendOutScript(dst, cb.kind, cb.key, g.rng)
	dst = txenc.AppendU64(dst, 0)
	dst = append(dst, 38, opReturn, 36, 0xaa, 0x21, 0xa9, 0xed)
	dst = append(dst, commit[:]...)

	witStart := len(dst)
	dst = append(dst, 1, 32)
	dst = append(dst, make([]byte, 32)...)
	witEnd := len(dst)
	dst = txenc.AppendU32(dst, 0)
	return dst, g.hash.TxID(dst, witStart, witEnd)
}

// buffer returns an empty slice with at least n bytes of capacity,
// reusing one the writer has finished with when it can.
func (g *gen) buffer(n int) []byte {
	select {
	case b := <-g.w.free:
		if cap(b) >= n {
			return b[:0]
		}
	default:
	}
	return make([]byte, 0, n+n/4)
}

// emit hands a block to the writer.
func (g *gen) emit(ctx context.Context, rec blockRec) error {
	select {
	case g.out <- rec:
		return nil
	case <-g.w.done:
		return g.w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish computes the UTXO-set totals from the wallets' contents.
func (g *gen) finish() {
	n, v := g.lostCount, g.lostValue
	for i := range g.users {
		for _, c := range g.users[i].utxos {
			n++
			v += c.value
		}
	}
	for _, p := range g.immature {
		n++
		v += p.coin.value
	}
	g.res.Unspent, g.res.UnspentValue = n, v
}
