package service

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// t0 is the time of the first block of the test stores.
var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// ---- Account stores ----

// acct is a hand-written account chain: transfers between named
// addresses, each in a block of its own at a time after t0. Token "" is
// the native coin; any other name is an ERC-20 contract of that name.
type acct struct{ trs []acctTr }

type acctTr struct {
	at       time.Duration
	from, to string
	token    string
	amount   uint64
}

func (a *acct) pay(at time.Duration, from, to string, amount uint64) {
	a.trs = append(a.trs, acctTr{at, from, to, "", amount})
}

func (a *acct) token(at time.Duration, from, to, token string, amount uint64) {
	a.trs = append(a.trs, acctTr{at, from, to, token, amount})
}

// ethAddr is a name's address.
func ethAddr(name string) common.Address {
	h := sha256.Sum256([]byte("addr:" + name))
	return common.BytesToAddress(h[:20])
}

// open writes the chain into a new store the way the ingest stages do:
// address ids in order of first appearance, one transaction per block in
// time order, index events both ways, progress at the last block.
func (a *acct) open(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "eth", Network: "ethereum"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := db.NewAccountBatch()
	defer w.Close()
	ids := map[string]uint64{}
	id := func(name string) uint64 {
		if v, ok := ids[name]; ok {
			return v
		}
		ids[name] = uint64(len(ids) + 1)
		addr := ethAddr(name)
		w.PutAddr(ids[name], addr[:])
		return ids[name]
	}
	var parent [32]byte
	for h, tr := range a.trs {
		if h > 0 && tr.at < a.trs[h-1].at {
			t.Fatalf("transfer %d is earlier than the one before", h)
		}
		hash := sha256.Sum256([]byte(fmt.Sprintf("block:%d", h)))
		w.PutEthBlock(&store.EthBlockRec{Height: uint64(h), Hash: hash, Parent: parent, Time: uint64(t0.Add(tr.at).Unix()),
			TxCount: 1, TxNumMin: uint64(h), AddrIDMin: uint64(len(ids) + 1)})
		parent = hash
		rec := store.EthTxRec{TxNum: uint64(h), Height: uint64(h), Hash: sha256.Sum256([]byte(fmt.Sprintf("tx:%d", h))),
			Status: store.EthTxOK, From: id(tr.from)}
		x := store.EthTransferRec{Kind: uint8(eth.Native), From: id(tr.from), To: id(tr.to), Amount: model.AmountFromUint64(tr.amount), LogIndex: -1}
		if tr.token != "" {
			x.Kind, x.Token, rec.To = uint8(eth.ERC20), id(tr.token), id(tr.token)
		} else {
			rec.To, rec.Value = x.To, x.Amount
		}
		rec.Transfers = []store.EthTransferRec{x}
		w.PutEthTx(&rec)
		ev := store.EthEvent{TxNum: uint64(h), Token: x.Token, Amount: x.Amount}
		ev.AddrID, ev.Out = x.From, true
		w.PutEthEvent(ev)
		ev.AddrID, ev.Out = x.To, false
		w.PutEthEvent(ev)
	}
	tip := store.Progress{Height: uint64(len(a.trs) - 1), Hash: chainhash.Hash(parent)}
	for _, s := range []string{"eth-blocks", "eth-txs", "eth-addrindex"} {
		w.SetProgress(s, tip)
	}
	if err := w.Commit(ctx, false); err != nil {
		t.Fatal(err)
	}
	return db
}

// ---- UTXO stores ----

// chain is a hand-written Bitcoin chain: transactions, each in a block
// of its own at a time after t0. A transaction spends outputs of earlier
// ones by name and output index; one without inputs is a coinbase.
type chain struct{ txs []utx }

type utx struct {
	name string
	at   time.Duration
	ins  []ref
	outs []uout
}

type ref struct {
	tx   string
	vout uint32
}

type uout struct {
	addr  string
	value int64
}

func (c *chain) tx(name string, at time.Duration, ins []ref, outs ...uout) {
	c.txs = append(c.txs, utx{name, at, ins, outs})
}

// in is a shorthand for the inputs of a transaction: "tx:vout" names.
func in(refs ...string) []ref {
	var out []ref
	for _, r := range refs {
		var v uint32
		name := r
		for i := len(r) - 1; i >= 0; i-- {
			if r[i] == ':' {
				name = r[:i]
				fmt.Sscanf(r[i+1:], "%d", &v)
				break
			}
		}
		out = append(out, ref{name, v})
	}
	return out
}

// btcKey is a name's P2WPKH address key.
func btcKey(name string) btc.AddrKey {
	h := sha256.Sum256([]byte("addr:" + name))
	k, err := btc.NewAddrKey(btc.AddrWPKH, 0, h[:20])
	if err != nil {
		panic(err) // cannot happen: 20 bytes are a valid P2WPKH payload
	}
	return k
}

// btcAddrOf is a name's regtest address.
func btcAddrOf(name string) string { return btcKey(name).Encode(&chaincfg.RegressionNetParams) }

// open writes the chain into a new regtest store the way ingest does:
// blocks, transactions with resolved inputs, spends, addresses in order
// of first appearance, the address index and progress.
func (c *chain) open(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := db.NewBatch()
	defer w.Close()
	ids := map[string]uint64{}
	txnums := map[string]uint64{}
	type coin struct {
		value int64
		addr  uint64
		spent bool
	}
	coins := map[ref]*coin{}
	var prev chainhash.Hash
	for h, tx := range c.txs {
		if h > 0 && tx.at < c.txs[h-1].at {
			t.Fatalf("transaction %s is earlier than the one before", tx.name)
		}
		hash := chainhash.Hash(sha256.Sum256([]byte(fmt.Sprintf("block:%d", h))))
		w.PutBlock(&store.BlockRec{Height: uint64(h), Hash: hash, Prev: prev, Time: uint32(t0.Add(tx.at).Unix()),
			TxNumMin: uint64(h), TxCount: 1, AddrIDMin: uint64(len(ids) + 1)})
		prev = hash
		n := uint64(h)
		txnums[tx.name] = n
		rec := &store.TxRec{TxNum: n, TxID: sha256.Sum256([]byte("tx:" + tx.name)), Height: n, Version: 2, Coinbase: len(tx.ins) == 0}
		for vin, r := range tx.ins {
			u := coins[r]
			if u == nil || u.spent {
				t.Fatalf("%s spends %s:%d, which is unknown or spent", tx.name, r.tx, r.vout)
			}
			u.spent = true
			rec.Ins = append(rec.Ins, store.InRec{PrevTxNum: txnums[r.tx], PrevVout: r.vout, Value: u.value, AddrID: u.addr})
			w.PutSpend(txnums[r.tx], r.vout, store.SpendRec{TxNum: n, Vin: uint32(vin)})
			w.PutEvent(store.Event{AddrID: u.addr, TxNum: n, Spent: true, Index: uint32(vin), Value: u.value})
		}
		for vout, o := range tx.outs {
			id, ok := ids[o.addr]
			if !ok {
				id = uint64(len(ids) + 1)
				ids[o.addr] = id
				w.PutAddr(id, btcKey(o.addr).Bytes())
			}
			rec.Outs = append(rec.Outs, store.OutRec{Value: o.value, Class: model.ScriptP2WPKH, AddrIDs: []uint64{id}})
			w.PutEvent(store.Event{AddrID: id, TxNum: n, Index: uint32(vout), Value: o.value})
			coins[ref{tx.name, uint32(vout)}] = &coin{value: o.value, addr: id}
		}
		if fee, ok := rec.Fee(); !rec.Coinbase && ok && fee < 0 {
			t.Fatalf("%s pays out more than it spends", tx.name)
		}
		w.PutTx(rec)
		for _, stage := range []string{"blocks", "txs", "addrindex"} {
			w.SetProgress(stage, store.Progress{Height: n, Hash: hash})
		}
	}
	if err := w.Commit(ctx, false); err != nil {
		t.Fatal(err)
	}
	return db
}
