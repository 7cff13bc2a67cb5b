package trace

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// acctBuild is a hand-written or generated account graph that tests write
// into a real store: blocks of transactions of transfers between named
// addresses. "0" names the zero address; assets are "ETH" or a token
// symbol, whose contract address is derived from the symbol.
type acctBuild struct {
	blocks []acctBBlock
	tokens []string
	labels map[string][]labels.Label // by EIP-55 address
	// names maps EIP-55 addresses and lower-case token addresses back to
	// names for rendering.
	names map[string]string
}

type acctBBlock struct {
	time int64
	txs  []acctBTx
}

type acctBTx struct {
	name   string
	failed bool
	trs    []acctBTr
}

type acctBTr struct {
	kind     eth.Kind
	from, to string
	token    string // "" native
	amount   model.Amount
}

func newAcctBuild() *acctBuild {
	return &acctBuild{labels: map[string][]labels.Label{}, names: map[string]string{}}
}

// acctTestAddr derives a name's 20-byte address.
func acctTestAddr(name string) common.Address {
	if name == "0" {
		return common.Address{}
	}
	h := sha256.Sum256([]byte("addr:" + name))
	return common.BytesToAddress(h[:20])
}

// acctTestHash derives a transaction name's hash.
func acctTestHash(name string) [32]byte { return sha256.Sum256([]byte("tx:" + name)) }

// addr returns a name's EIP-55 address, remembering the name.
func (g *acctBuild) addr(name string) string {
	s := acctTestAddr(name).Hex()
	g.names[s] = name
	g.names[strings.ToLower(s)] = name
	return s
}

// Lookup implements Labeler.
func (g *acctBuild) Lookup(chain, address string) []labels.Label {
	if chain != "eth" {
		return nil
	}
	return g.labels[address]
}

// label labels a name.
func (g *acctBuild) label(name, category, label string) {
	a := g.addr(name)
	g.labels[a] = append(g.labels[a], labels.Label{Chain: "eth", Address: a, Label: label, Category: category, ConfidenceLevel: 50})
}

// open writes the graph into a new store the way the ingest stages do:
// address ids from 1 in order of first appearance (transaction sender,
// then each transfer's from, to and token), ordinals in chain order, one
// incoming and one outgoing address-index event per transfer (none for
// the zero address), and progress at the last block.
func (g *acctBuild) open(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "eth", Network: "ethereum"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := db.NewAccountBatch()
	defer w.Close()
	ids := map[string]uint64{"0": 0}
	next := uint64(1)
	id := func(name string) uint64 {
		if v, ok := ids[name]; ok {
			return v
		}
		ids[name] = next
		a := acctTestAddr(name)
		w.PutAddr(next, a[:])
		g.addr(name)
		next++
		return ids[name]
	}
	for _, sym := range g.tokens {
		tid := id("token:" + sym)
		g.names[strings.ToLower(acctTestAddr("token:"+sym).Hex())] = sym
		w.PutToken(tid, store.TokenMeta{Standard: store.TokenERC20, Decimals: 0, HasDecimals: true, Name: sym, Symbol: sym})
	}
	miner := acctTestAddr("miner")
	var txnum uint64
	var parent [32]byte
	for h, b := range g.blocks {
		height := uint64(h)
		hash := sha256.Sum256([]byte(fmt.Sprintf("block:%d", h)))
		rec := store.EthBlockRec{Height: height, Hash: hash, Parent: parent, Time: uint64(b.time), Miner: miner,
			TxCount: uint32(len(b.txs)), TxNumMin: txnum, AddrIDMin: next}
		parent = hash
		w.PutEthBlock(&rec)
		for i, tx := range b.txs {
			tr := store.EthTxRec{TxNum: txnum, Height: height, Index: uint32(i), Hash: acctTestHash(tx.name), Status: store.EthTxOK}
			if tx.failed {
				tr.Status = store.EthTxFailed
			}
			if len(tx.trs) > 0 {
				tr.From = id(tx.trs[0].from)
			}
			for _, x := range tx.trs {
				e := store.EthTransferRec{Kind: uint8(x.kind), From: id(x.from), To: id(x.to), Amount: x.amount, LogIndex: -1}
				if x.token != "" {
					e.Token = id("token:" + x.token)
				}
				if x.kind == eth.ERC721 {
					one := model.AmountFromUint64(1)
					e.TokenID = &one
				}
				tr.Transfers = append(tr.Transfers, e)
			}
			w.PutEthTx(&tr)
			for k, x := range tr.Transfers {
				ev := store.EthEvent{TxNum: txnum, Index: uint32(k), Token: x.Token, Amount: x.Amount}
				if x.From != 0 {
					ev.AddrID, ev.Out = x.From, true
					w.PutEthEvent(ev)
				}
				if x.To != 0 {
					ev.AddrID, ev.Out = x.To, false
					w.PutEthEvent(ev)
				}
			}
			txnum++
		}
	}
	tip := store.Progress{Height: uint64(len(g.blocks) - 1), Hash: chainhash.Hash(parent)}
	for _, s := range []string{"eth-blocks", "eth-txs", "eth-addrindex"} {
		w.SetProgress(s, tip)
	}
	if err := w.Commit(ctx, false); err != nil {
		t.Fatal(err)
	}
	return db
}

// name renders an address or asset by its test name.
func (g *acctBuild) name(s string) string {
	s = strings.TrimPrefix(s, "eth:")
	if n, ok := g.names[s]; ok {
		return n
	}
	if n, ok := g.names[strings.ToLower(s)]; ok {
		return n
	}
	return s
}

// timeOf converts a block's unix time.
func timeOf(unix int64) time.Time { return time.Unix(unix, 0).UTC() }
