package trace

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// utxoTestChain is the chain id of the regtest stores tests build.
const utxoTestChain = "btc-regtest"

// utxoGraph is a hand-written (or generated) UTXO chain: blocks of
// transactions whose inputs name earlier outputs, paying named addresses.
type utxoGraph struct {
	blocks []utxoGBlock
	labels map[string][]labels.Label // by address name
	joins  map[string]string         // CoinJoin kind by tx name
	change map[string]utxoGChange    // change guess by tx name
}

type utxoGBlock struct {
	time time.Time
	txs  []utxoGTx
}

type utxoGTx struct {
	name     string
	coinbase bool
	ins      []utxoGRef
	outs     []utxoGOut
}

type utxoGRef struct {
	tx   string
	vout uint32
}

type utxoGOut struct {
	addr  string // "-" for OP_RETURN
	value int64
}

type utxoGChange struct {
	vout int
	conf float64
}

func newUTXOGraph() *utxoGraph {
	return &utxoGraph{labels: map[string][]labels.Label{}, joins: map[string]string{}, change: map[string]utxoGChange{}}
}

// parseUTXOGraph reads the graph language of testdata/utxo:
//
//	block 2024-01-02                       a new block at that time (or RFC 3339)
//	t1: cb1:0 t0:1 -> alice 300, bob 200   a tx spending outputs, paying addresses
//	cb1: coinbase -> miner 5000            a coinbase
//	t5: ext1:0 t1:1 -> dave 900            ext*: an input external to the store
//	t2: t1:0 -> - 0, carol 290             "-" is an OP_RETURN output
//	label ex exchange Big Exchange         a label: address, category, label text
//	coinjoin t3 wasabi                     the annotator calls t3 a CoinJoin
//	change t4 1 0.9                        the annotator guesses t4's change
func parseUTXOGraph(src string) (*utxoGraph, error) {
	g := newUTXOGraph()
	for n, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		bad := func(why string) error { return fmt.Errorf("graph line %d %q: %s", n+1, line, why) }
		switch {
		case f[0] == "block":
			if len(f) != 2 {
				return nil, bad("want block TIME")
			}
			at, err := utxoParseTime(f[1])
			if err != nil {
				return nil, bad(err.Error())
			}
			g.blocks = append(g.blocks, utxoGBlock{time: at})
		case f[0] == "label" && len(f) >= 4:
			g.labels[f[1]] = append(g.labels[f[1]], labels.Label{Chain: utxoTestChain, Category: f[2], Label: strings.Join(f[3:], " ")})
		case f[0] == "coinjoin" && len(f) == 3:
			g.joins[f[1]] = f[2]
		case f[0] == "change" && len(f) == 4:
			v, err1 := strconv.Atoi(f[2])
			c, err2 := strconv.ParseFloat(f[3], 64)
			if err1 != nil || err2 != nil {
				return nil, bad("want change TX VOUT CONFIDENCE")
			}
			g.change[f[1]] = utxoGChange{v, c}
		case strings.HasSuffix(f[0], ":"):
			if len(g.blocks) == 0 {
				return nil, bad("transaction before the first block")
			}
			tx := utxoGTx{name: strings.TrimSuffix(f[0], ":")}
			lhs, rhs, ok := strings.Cut(strings.Join(f[1:], " "), "->")
			if !ok {
				return nil, bad("no ->")
			}
			for _, in := range strings.Fields(lhs) {
				if in == "coinbase" {
					tx.coinbase = true
					continue
				}
				name, vs, ok := strings.Cut(in, ":")
				v, err := strconv.ParseUint(vs, 10, 32)
				if !ok || err != nil {
					return nil, bad("input " + in + ": want TX:VOUT")
				}
				tx.ins = append(tx.ins, utxoGRef{name, uint32(v)})
			}
			for _, out := range strings.Split(rhs, ",") {
				of := strings.Fields(out)
				if len(of) != 2 {
					return nil, bad("output " + out + ": want ADDRESS VALUE")
				}
				v, err := strconv.ParseInt(of[1], 10, 64)
				if err != nil || v < 0 {
					return nil, bad("output value " + of[1])
				}
				tx.outs = append(tx.outs, utxoGOut{of[0], v})
			}
			b := &g.blocks[len(g.blocks)-1]
			b.txs = append(b.txs, tx)
		default:
			return nil, bad("unknown line")
		}
	}
	return g, nil
}

func utxoParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// utxoTxID is the txid a test transaction name stands for.
func utxoTxID(name string) chainhash.Hash { return sha256.Sum256([]byte("tx:" + name)) }

// utxoAddrKey is the P2WPKH key a test address name stands for.
func utxoAddrKey(name string) btc.AddrKey {
	h := sha256.Sum256([]byte("addr:" + name))
	k, err := btc.NewAddrKey(btc.AddrWPKH, 0, h[:20])
	if err != nil {
		panic(err) // cannot happen: 20 bytes are a valid P2WPKH payload
	}
	return k
}

// utxoBuilt is a graph written into a real store, with the names of its
// addresses and transactions to print results with.
type utxoBuilt struct {
	db      *store.DB
	g       *utxoGraph
	names   map[string]string // bcrt1 address or txid -> name
	txnums  map[string]uint64 // tx name -> ordinal
	outVals map[utxoGRef]int64
}

// build writes g into a new regtest store in dir the way ingest does:
// blocks, transactions with resolved inputs, spends, addresses in order of
// first appearance and the address index.
func (g *utxoGraph) build(ctx context.Context, dir string) (*utxoBuilt, error) {
	db, err := store.Open(ctx, dir, store.ChainMeta{Chain: "btc", Network: "regtest"}, store.Options{})
	if err != nil {
		return nil, err
	}
	ub := &utxoBuilt{db: db, g: g, names: map[string]string{}, txnums: map[string]uint64{}, outVals: map[utxoGRef]int64{}}
	w := db.NewBatch()
	defer w.Close()
	addrIDs := map[string]uint64{}
	type utxo struct {
		value int64
		addr  uint64
		spent bool
	}
	utxos := map[utxoGRef]*utxo{}
	var txnum uint64
	var prev chainhash.Hash
	for h, b := range g.blocks {
		hash := chainhash.Hash(sha256.Sum256([]byte(fmt.Sprintf("block:%d", h))))
		w.PutBlock(&store.BlockRec{Height: uint64(h), Hash: hash, Prev: prev, Time: uint32(b.time.Unix()),
			TxNumMin: txnum, TxCount: uint32(len(b.txs)), AddrIDMin: uint64(len(addrIDs) + 1)})
		prev = hash
		for i, tx := range b.txs {
			if _, dup := ub.txnums[tx.name]; dup {
				return nil, fmt.Errorf("transaction %s defined twice", tx.name)
			}
			rec := &store.TxRec{TxNum: txnum, TxID: utxoTxID(tx.name), Height: uint64(h), Index: uint32(i), Version: 2, Coinbase: tx.coinbase}
			ub.names[rec.TxID.String()] = tx.name
			ub.txnums[tx.name] = txnum
			for vin, in := range tx.ins {
				if strings.HasPrefix(in.tx, "ext") {
					// An output from before the store's first block:
					// only its txid is known.
					rec.Ins = append(rec.Ins, store.InRec{External: true, PrevTxID: utxoTxID(in.tx), PrevVout: in.vout})
					continue
				}
				u := utxos[in]
				if u == nil || u.spent {
					return nil, fmt.Errorf("tx %s spends %s:%d, which is unknown or spent", tx.name, in.tx, in.vout)
				}
				u.spent = true
				rec.Ins = append(rec.Ins, store.InRec{PrevTxNum: ub.txnums[in.tx], PrevVout: in.vout, Value: u.value, AddrID: u.addr})
				w.PutSpend(ub.txnums[in.tx], in.vout, store.SpendRec{TxNum: txnum, Vin: uint32(vin)})
				if u.addr != 0 {
					w.PutEvent(store.Event{AddrID: u.addr, TxNum: txnum, Spent: true, Index: uint32(vin), Value: u.value})
				}
			}
			for vout, o := range tx.outs {
				or := store.OutRec{Value: o.value, Class: model.ScriptNullData}
				var id uint64
				if o.addr != "-" {
					or.Class = model.ScriptP2WPKH
					id = addrIDs[o.addr]
					if id == 0 {
						id = uint64(len(addrIDs) + 1)
						addrIDs[o.addr] = id
						k := utxoAddrKey(o.addr)
						w.PutAddr(id, k.Bytes())
						ub.names[k.Encode(&chaincfg.RegressionNetParams)] = o.addr
					}
					or.AddrIDs = []uint64{id}
					w.PutEvent(store.Event{AddrID: id, TxNum: txnum, Index: uint32(vout), Value: o.value})
				}
				rec.Outs = append(rec.Outs, or)
				ref := utxoGRef{tx.name, uint32(vout)}
				ub.outVals[ref] = o.value
				if o.addr != "-" {
					utxos[ref] = &utxo{value: o.value, addr: id}
				}
			}
			if !tx.coinbase {
				if fee, ok := rec.Fee(); ok && fee < 0 {
					return nil, fmt.Errorf("tx %s pays out more than it spends (fee %d)", tx.name, fee)
				}
			}
			w.PutTx(rec)
			txnum++
		}
		for _, stage := range []string{"blocks", "txs", "addrindex"} {
			w.SetProgress(stage, store.Progress{Height: uint64(h), Hash: hash})
		}
	}
	if err := w.Commit(ctx, false); err != nil {
		return nil, err
	}
	return ub, nil
}

// addr returns the bcrt1 address of a name.
func (ub *utxoBuilt) addr(name string) string {
	return utxoAddrKey(name).Encode(&chaincfg.RegressionNetParams)
}

// name maps an address, node id or txid back to its test name.
func (ub *utxoBuilt) name(s string) string {
	s = strings.TrimPrefix(s, utxoTestChain+":")
	if n, ok := ub.names[s]; ok {
		return n
	}
	if rest, ok := strings.CutPrefix(s, "coinjoin:"); ok {
		return "coinjoin:" + ub.name(rest)
	}
	if txid, vout, ok := strings.Cut(s, ":"); ok {
		return ub.name(txid) + ":" + vout
	}
	return s
}

// utxoFakeLabels is a Labeler over a built graph's labels.
type utxoFakeLabels map[string][]labels.Label // by bcrt1 address

func (f utxoFakeLabels) Lookup(chain, address string) []labels.Label {
	if chain != utxoTestChain {
		return nil
	}
	return f[address]
}

// utxoFakeAnnotator is a TxAnnotator over a built graph's marks.
type utxoFakeAnnotator struct {
	joins  map[chainhash.Hash]string
	change map[chainhash.Hash]utxoGChange
}

func (f *utxoFakeAnnotator) CoinJoin(t *store.TxRec) string { return f.joins[t.TxID] }

func (f *utxoFakeAnnotator) Change(ctx context.Context, t *store.TxRec) (int, float64, bool) {
	c, ok := f.change[t.TxID]
	return c.vout, c.conf, ok
}

// engine returns a UTXO engine over the built store with the graph's
// labels and annotations.
func (ub *utxoBuilt) engine(tb testing.TB, maxTxs int) *UTXO {
	tb.Helper()
	ls := utxoFakeLabels{}
	for name, l := range ub.g.labels {
		a := ub.addr(name)
		for _, x := range l {
			x.Address = a
			ls[a] = append(ls[a], x)
		}
	}
	ann := &utxoFakeAnnotator{joins: map[chainhash.Hash]string{}, change: map[chainhash.Hash]utxoGChange{}}
	for n, k := range ub.g.joins {
		ann.joins[utxoTxID(n)] = k
	}
	for n, c := range ub.g.change {
		ann.change[utxoTxID(n)] = c
	}
	e, err := NewUTXO(ub.db, UTXOOptions{Labels: ls, Annotator: ann, MaxTxs: maxTxs})
	if err != nil {
		tb.Fatal(err)
	}
	if e.Chain() != utxoTestChain {
		tb.Fatalf("engine chain %q, want %q", e.Chain(), utxoTestChain)
	}
	return e
}
