package btcgen

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/sim/txenc"
)

// txOut is a planned output.
type txOut struct {
	value int64
	key   uint64 // First key index; the data length for kNullData.
	owner int32  // Wallet that receives it, or -1 when nobody will spend it.
	kind  kind
}

// consolidateAt is the wallet size, per role, above which a wallet
// usually merges coins when it next transacts. It is what keeps the UTXO
// set, and so the generator's memory, bounded.
var consolidateAt = [...]int{roleUser: 30, roleExchange: 300, rolePool: 60}

// makeTx plans and writes one transaction into the current block. It
// reports false when the chosen wallet could not pay for anything.
func (g *gen) makeTx(h int) bool {
	u, chained := g.pickSender()
	if u < 0 {
		return false
	}
	us := &g.users[u]
	n := len(us.utxos)
	g.ins, g.outs = g.ins[:0], g.outs[:0]
	var ok bool
	switch {
	case !chained && (n >= consolidateAt[us.role] && g.rng.IntN(2) == 0 || n >= 10 && g.rng.IntN(100) == 0):
		ok = g.planConsolidation(u)
	case !chained && us.role == roleExchange && g.rng.IntN(100) < 8,
		!chained && us.role == rolePool && g.rng.IntN(100) < 80:
		ok = g.planBatch(u)
	default:
		ok = g.planPayment(u, chained)
	}
	if ok {
		g.writeTx(h)
	}
	return ok
}

// changeKey picks the address change goes to: a fresh one most of the
// time, as modern wallets do, but the wallet's fixed address for wallets
// that reuse, and now and then the address of the first coin spent.
func (g *gen) changeKey(u int32) uint64 {
	us := &g.users[u]
	switch {
	case us.reuse && g.rng.IntN(10) < 7:
		return us.addr
	case g.rng.IntN(100) < 8 && g.ins[0].kind == us.kind:
		return g.ins[0].key
	}
	return g.freshKey(us.kind)
}

// planPayment plans an ordinary payment: usually one payee (sometimes a
// few) plus change, funded by one to three coins and occasionally more.
func (g *gen) planPayment(u int32, chained bool) bool {
	us := &g.users[u]
	rate := g.feeRate()
	nPay := 1
	switch r := g.rng.IntN(100); {
	case r < 8:
		nPay = 2 + g.rng.IntN(2)
	case r < 10:
		nPay = 4 + g.rng.IntN(6)
	}
	var total int64
	for range nPay {
		p := g.pickPayee(u)
		o := txOut{value: g.amount(1e4, 1e9), owner: p, kind: g.users[p].kind, key: g.receiveKey(p)}
		total += o.value
		g.outs = append(g.outs, o)
	}
	recent := 0.35
	if chained {
		recent = 1
	}
	// A wallet forwarding what it just received, emptying itself or
	// holding too little to split pays all the coins it picks to one
	// payee, without change.
	if poor := us.bal < 50_000; poor || chained && g.rng.IntN(2) == 0 || g.rng.IntN(100) < 6 {
		g.outs = g.outs[:1]
		g.ins = append(g.ins, g.pickCoin(u, recent))
		for len(us.utxos) > 0 && len(g.ins) < 8 && (poor || g.rng.IntN(4) == 0) {
			g.ins = append(g.ins, g.pickCoin(u, 0.35))
		}
		return g.sweep(u, rate)
	}
	// People pay what they can afford: scale the amounts down to a part
	// of the wallet's balance when they would exceed it.
	if total > us.bal*9/10 {
		f := float64(us.bal) * (0.05 + 0.75*g.rng.Float64()) / float64(total)
		total = 0
		for i := range g.outs {
			g.outs[i].value = max(dust, roundTo(int64(float64(g.outs[i].value)*f), 2))
			total += g.outs[i].value
		}
	}
	// A few payments carry an extra output: an OP_RETURN (timestamping,
	// protocol markers), a dust bare multisig (data-carrying protocols)
	// or, rarely, a non-standard script.
	switch r := g.rng.IntN(1000); {
	case r < 15:
		n := 4 + g.rng.IntN(40)
		if g.rng.IntN(5) == 0 {
			n = 80
		}
		g.outs = append(g.outs, txOut{key: uint64(n), owner: -1, kind: kNullData})
	case r < 17:
		g.outs = append(g.outs, txOut{value: 1000, owner: u, kind: kBareMultisig, key: g.freshKey(kBareMultisig)})
		total += 1000
	case r < 18:
		g.outs = append(g.outs, txOut{value: 1000 + int64(g.rng.IntN(9000)), owner: -1, kind: kNonStandard})
		total += g.outs[len(g.outs)-1].value
	}
	g.outs = append(g.outs, txOut{owner: u, kind: us.kind}) // Change, valued below.

	g.ins = append(g.ins, g.pickCoin(u, recent))
	maxIns := 3
	if g.rng.IntN(10) == 0 {
		maxIns = 8
	}
	for len(g.ins) < maxIns && len(us.utxos) > 0 && g.sumIns() < total+rate*g.vsize()+dust {
		g.ins = append(g.ins, g.pickCoin(u, 0.35))
	}
	sum := g.sumIns()
	fee := rate * g.vsize()
	if sum < total+fee+dust {
		// The coins picked fall short: pay the first payee part of them.
		g.outs[1] = g.outs[len(g.outs)-1]
		g.outs = g.outs[:2]
		fee = rate * g.vsize()
		pay := roundTo(int64(float64(sum-fee)*(0.2+0.75*g.rng.Float64())), 2)
		if pay < dust || sum-fee-pay < dust {
			g.outs = g.outs[:1]
			return g.sweep(u, rate)
		}
		g.outs[0].value = pay
		g.outs[1].value, g.outs[1].key = sum-fee-pay, g.changeKey(u)
	} else {
		change := &g.outs[len(g.outs)-1]
		if v := sum - total - fee; v >= dust {
			change.value, change.key = v, g.changeKey(u)
		} else {
			g.outs = g.outs[:len(g.outs)-1] // Too small to keep: fee.
		}
	}
	g.lastPayee = g.outs[0].owner
	g.shuffleOuts()
	return true
}

// sweep pays the selected coins, less the fee, to the single planned
// output.
func (g *gen) sweep(u int32, rate int64) bool {
	pay := g.sumIns() - rate*g.vsize()
	if pay < dust {
		g.putBack(u)
		return false
	}
	g.outs[0].value = pay
	g.lastPayee = g.outs[0].owner
	return true
}

// planBatch plans a batch payout of an exchange or pool: 10 to 100
// payees and change, funded by as many coins as needed (up to 20),
// dropping payees that the coins cannot cover.
func (g *gen) planBatch(u int32) bool {
	us := &g.users[u]
	rate := g.feeRate()
	n := 10 + g.rng.IntN(91)
	lo, hi := 5e4, 5e7
	if us.role == rolePool {
		lo, hi = 1e5, 2e8
	}
	var total int64
	for range n {
		p := g.pickPayee(u)
		o := txOut{value: g.amount(lo, hi), owner: p, kind: g.users[p].kind, key: g.receiveKey(p)}
		total += o.value
		g.outs = append(g.outs, o)
	}
	g.outs = append(g.outs, txOut{owner: u, kind: us.kind})
	for len(g.ins) < 20 && len(us.utxos) > 0 && g.sumIns() < total+rate*g.vsize()+dust {
		g.ins = append(g.ins, g.pickCoin(u, 0.2))
	}
	sum := g.sumIns()
	for len(g.outs) > 3 && sum < total+rate*g.vsize()+dust {
		last := len(g.outs) - 2 // Drop the last payee, keep change.
		total -= g.outs[last].value
		g.outs[last] = g.outs[last+1]
		g.outs = g.outs[:last+1]
	}
	fee := rate * g.vsize()
	if sum < total+fee+dust {
		g.putBack(u)
		return false
	}
	change := &g.outs[len(g.outs)-1]
	if v := sum - total - fee; v >= dust {
		change.value, change.key = v, g.changeKey(u)
	} else {
		g.outs = g.outs[:len(g.outs)-1]
	}
	g.lastPayee = g.outs[0].owner
	g.shuffleOuts()
	return true
}

// planConsolidation plans the merge of 10 to 50 of a wallet's coins into
// one output of its own, at a low fee rate as such transactions wait for
// quiet blocks.
func (g *gen) planConsolidation(u int32) bool {
	us := &g.users[u]
	k := min(len(us.utxos), 10+g.rng.IntN(41))
	for range k {
		g.ins = append(g.ins, g.pickCoin(u, 0))
	}
	g.outs = append(g.outs, txOut{owner: u, kind: us.kind})
	v := g.sumIns() - int64(1+g.rng.IntN(3))*g.vsize()
	if v < dust {
		g.putBack(u)
		return false
	}
	g.outs[0].value = v
	if us.reuse {
		g.outs[0].key = us.addr
	} else {
		g.outs[0].key = g.freshKey(us.kind)
	}
	return true
}

// shuffleOuts puts the outputs in random order most of the time, as
// privacy-minded wallets do, and leaves change last otherwise.
func (g *gen) shuffleOuts() {
	if g.rng.IntN(4) == 0 {
		return
	}
	g.rng.Shuffle(len(g.outs), func(i, j int) { g.outs[i], g.outs[j] = g.outs[j], g.outs[i] })
}

// writeTx serializes the planned transaction at the end of the block
// body, computes its txid and wtxid, credits its outputs to their wallets
// (spendable from the next transaction on, even in the same block) and
// updates the block and run totals.
func (g *gen) writeTx(h int) {
	version := uint32(2)
	if g.rng.IntN(100) < 15 {
		version = 1
	}
	// Core-like wallets set nLockTime to the tip height against fee
	// sniping and signal replaceability; others use final sequences.
	seq, lock := uint32(0xffffffff), uint32(0)
	switch r := g.rng.IntN(10); {
	case r < 5:
		seq, lock = 0xfffffffd, uint32(h-1)
	case r < 7:
		seq, lock = 0xfffffffe, uint32(h-1)
	}
	wit := false
	for _, c := range g.ins {
		wit = wit || kinds[c.kind].witness
	}

	start := len(g.body)
	b := txenc.AppendU32(g.body, version)
	if wit {
		b = append(b, 0, 1)
	}
	sigops := 0
	b = txenc.AppendVarInt(b, uint64(len(g.ins)))
	for _, c := range g.ins {
		b = append(b, c.txid[:]...)
		b = txenc.AppendU32(b, c.vout)
		b = g.keys.appendScriptSig(b, c.kind, c.key, g.rng)
		b = txenc.AppendU32(b, seq)
		sigops += kinds[c.kind].inSigop
	}
	b = txenc.AppendVarInt(b, uint64(len(g.outs)))
	for _, o := range g.outs {
		b = txenc.AppendU64(b, uint64(o.value))
		b = g.keys.appendOutScript(b, o.kind, o.key, g.rng)
		sigops += kinds[o.kind].outSigop
	}
	witStart, witEnd := 0, 0
	if wit {
		witStart = len(b) - start
		for _, c := range g.ins {
			b = g.keys.appendWitness(b, c.kind, c.key, g.rng)
		}
		witEnd = len(b) - start
	}
	b = txenc.AppendU32(b, lock)
	g.body = b
	tx := b[start:]

	txid := g.hash.TxID(tx, witStart, witEnd)
	wtxid := txid
	base := len(tx)
	if wit {
		wtxid = chainhash.DoubleHashH(tx)
		base -= witEnd - witStart + 2
	}
	g.weight += 3*base + len(tx)
	g.sigops += sigops

	var in, out int64
	for _, c := range g.ins {
		in += c.value
		if int(c.born) == h {
			g.res.ChainedSpends++
		}
	}
	for i, o := range g.outs {
		out += o.value
		g.res.ByClass[kinds[o.kind].class]++
		switch {
		case o.kind == kNullData:
		case o.owner < 0:
			g.lostCount++
			g.lostValue += o.value
		default:
			g.credit(o.owner, utxo{txid: txid, value: o.value, key: o.key, vout: uint32(i), born: int32(h), kind: o.kind})
		}
	}
	fee := in - out
	g.blockFees += fee
	g.txids = append(g.txids, txid)
	g.wtxids = append(g.wtxids, wtxid)
	g.txEnd = append(g.txEnd, len(g.body))
	g.feeCum = append(g.feeCum, g.blockFees)
	g.res.Txs++
	g.res.Inputs += int64(len(g.ins))
	g.res.Outputs += int64(len(g.outs))
	g.res.Fees += fee
}
