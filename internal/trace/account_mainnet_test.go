package trace

import (
	"cmp"
	"context"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth/ethtest"
	"github.com/chaintrace/chaintrace/internal/eth/etl"
	"github.com/chaintrace/chaintrace/internal/eth/rpc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
)

// acctETLDir is ethereum-etl's recorded stream export of Ethereum mainnet
// blocks 1,755,634-1,755,635 (transactions with receipts, logs, token
// transfers), shared by the ingest tests.
const acctETLDir = "../../../shared/data/eth/ethereum-etl/test_stream/blocks_1755634_1755635"

// TestAccountMainnet ingests real Ethereum blocks with the ingest code and
// checks forward haircut traces from every address taking part in a
// transfer against a reference: a plain simulation of every
// address's balance and taint over all the store's transfers in chain
// order. The engine instead starts from the source's cursor and joins
// addresses as taint reaches them, summing their earlier events, so the
// two agree only if the joins, cursors and arithmetic are right.
func TestAccountMainnet(t *testing.T) {
	if _, err := os.Stat(acctETLDir); err != nil {
		t.Skipf("shared ethereum-etl test data not available (%s): %v", acctETLDir, err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	for _, n := range []string{"blocks", "transactions", "logs", "token_transfers"} {
		abs, err := filepath.Abs(filepath.Join(acctETLDir, "expected_"+n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, n+".json")); err != nil {
			t.Fatal(err)
		}
	}
	src, err := etl.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "eth", Network: "ethereum"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.NewEthDecoded(db, src, ingest.Options{StartHeight: 1755634}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	acctCheckReference(t, db)
}

// TestAccountGethChain runs ethtest's scenario (native, internal, create
// and self-destruct transfers, an ERC-20, failed transactions, fees) and
// forty random payments on a real go-ethereum node, ingests it over JSON-RPC with traces and checks
// the engine against the reference simulation from every address.
func TestAccountGethChain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a go-ethereum node")
	}
	c := ethtest.Start(t)
	exp := ethtest.Scenario(t, c)
	// Then five blocks of payments among the accounts, in ether and in
	// the scenario's token (A and C hold it), so that taint spreads over
	// several hops and mixes with clean value.
	rng := rand.New(rand.NewPCG(3, 4))
	acc := c.Accounts
	for range 5 {
		for range 8 {
			from, to := acc[rng.IntN(len(acc))], acc[rng.IntN(len(acc))].Address
			amount := new(big.Int).Mul(big.NewInt(int64(1+rng.IntN(400))), big.NewInt(1e15))
			if rng.IntN(3) == 0 {
				from = acc[[]int{0, 2}[rng.IntN(2)]]
				c.SendTx(t, ethtest.Tx{From: from, To: &exp.Token, Data: ethtest.ERC20TransferData(to, amount), Gas: 100_000})
				continue
			}
			c.SendTx(t, ethtest.Tx{From: from, To: &to, Value: amount})
		}
		c.Commit(t)
	}
	ctx := context.Background()
	src, err := rpc.Dial(ctx, rpc.Config{URL: c.URL(), ChainID: c.ChainID.Uint64()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "eth", Network: "dev"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.NewEth(db, src, ingest.Options{}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	acctCheckReference(t, db)
}

// acctCheckReference runs a forward haircut trace (no hop limit, no swaps)
// from every address taking part in a transfer of db and compares the
// holdings and the source, fee and burnt totals with acctReference.
func acctCheckReference(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	eng, err := NewAccount(db, AccountOptions{Chain: "eth"})
	if err != nil {
		t.Fatal(err)
	}
	tip, err := eng.Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, err := db.EthBlockByHeight(ctx, tip)
	if err != nil {
		t.Fatal(err)
	}
	var txs []store.EthTxRec
	for n := uint64(0); n < last.TxNumMin+last.TxNums(); n++ {
		var rec store.EthTxRec
		if err := db.EthTx(ctx, n, &rec); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, rec)
	}
	sources := map[uint64]bool{}
	transfers := 0
	for _, rec := range txs {
		for _, tr := range rec.Transfers {
			transfers++
			sources[tr.From], sources[tr.To] = true, true
		}
	}
	delete(sources, 0)
	if len(sources) == 0 {
		t.Fatalf("no transfers in %d txs", len(txs))
	}
	ids := make([]uint64, 0, len(sources))
	for id := range sources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	t.Logf("%d txs, %d transfers, %d sources", len(txs), transfers, len(ids))
	compared := 0
	defer func() { t.Logf("%d tainted holdings compared", compared) }()
	for _, id := range ids {
		key, err := db.AddrKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		addr := common.BytesToAddress(key).Hex()
		res, err := eng.Run(ctx, Params{From: []string{addr}, Model: Haircut, Hops: 1000, NoSwaps: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, wantTot := acctReference(txs, id)
		got := map[acctKey]model.Amount{}
		for _, h := range res.Holdings {
			k := common.HexToAddress(h.Address)
			hid, err := db.AddrID(ctx, k[:])
			if err != nil {
				t.Fatal(err)
			}
			tok := uint64(0)
			if h.Asset != "ETH" {
				ta := common.HexToAddress(h.Asset)
				if tok, err = db.AddrID(ctx, ta[:]); err != nil {
					t.Fatal(err)
				}
			}
			got[acctKey{hid, tok}] = h.Amount
		}
		compared += len(want)
		if len(got) != len(want) {
			t.Errorf("source %s: %d holdings, reference %d", addr, len(got), len(want))
		}
		for k, v := range want {
			if got[k].Cmp(v) != 0 {
				t.Errorf("source %s: address #%d token #%d holds %s, reference %s", addr, k.addr, k.token, got[k], v)
			}
		}
		for _, tot := range res.Totals {
			if !tot.Balanced() {
				t.Errorf("source %s %s: not balanced: %+v", addr, tot.Asset, tot)
			}
			tok := uint64(0)
			if tot.Asset != "ETH" {
				ta := common.HexToAddress(tot.Asset)
				if tok, err = db.AddrID(ctx, ta[:]); err != nil {
					t.Fatal(err)
				}
			}
			w := wantTot[tok]
			if w == nil {
				w = &Totals{}
			}
			if tot.Source.Cmp(w.Source) != 0 || tot.Fees.Cmp(w.Fees) != 0 || tot.Burnt.Cmp(w.Burnt) != 0 {
				t.Errorf("source %s %s: source/fees/burnt %s/%s/%s, reference %s/%s/%s", addr, tot.Asset,
					tot.Source, tot.Fees, tot.Burnt, w.Source, w.Fees, w.Burnt)
			}
		}
	}
}

// acctReference simulates haircut taint from source over every transfer
// of txs, tracking every address's balance from the store's first block:
// every receipt of the source is tainted in full and stays there, other
// fees are counted and not followed, transfers to the zero address burn. It returns the taint left
// at each (address, token) and the totals per token.
func acctReference(txs []store.EthTxRec, source uint64) (map[acctKey]model.Amount, map[uint64]*Totals) {
	type pos struct{ bal, taint model.Amount }
	st := map[acctKey]*pos{}
	get := func(k acctKey) *pos {
		p := st[k]
		if p == nil {
			p = &pos{}
			st[k] = p
		}
		return p
	}
	tots := map[uint64]*Totals{}
	tot := func(tok uint64) *Totals {
		if tots[tok] == nil {
			tots[tok] = &Totals{}
		}
		return tots[tok]
	}
	for _, rec := range txs {
		// Fees after the other transfers, as the engine replays them.
		order := make([]int, len(rec.Transfers))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Compare(b2i(acctFee(rec.Transfers[a].Kind)), b2i(acctFee(rec.Transfers[b].Kind)))
		})
		for _, i := range order {
			tr := rec.Transfers[i]
			if !acctFungible(tr.Kind) || tr.From == tr.To {
				continue
			}
			var c model.Amount
			if tr.From != 0 {
				p := get(acctKey{tr.From, tr.Token})
				if tr.Amount.Cmp(p.bal) >= 0 {
					c, p.taint, p.bal = p.taint, model.Amount{}, model.Amount{}
				} else {
					c, _ = model.MulDiv(tr.Amount, p.taint, p.bal)
					p.taint, _ = p.taint.Sub(c)
					p.bal, _ = p.bal.Sub(tr.Amount)
				}
			}
			if tr.To == source {
				extra, _ := tr.Amount.Sub(c)
				tot(tr.Token).Source, _ = tot(tr.Token).Source.Add(extra)
				c = tr.Amount
			}
			switch {
			case tr.To == source:
				// The source keeps what it receives, fee tips included.
			case acctFee(tr.Kind):
				tot(tr.Token).Fees, _ = tot(tr.Token).Fees.Add(c)
				c = model.Amount{}
			case tr.To == 0:
				tot(tr.Token).Burnt, _ = tot(tr.Token).Burnt.Add(c)
				continue
			}
			p := get(acctKey{tr.To, tr.Token})
			p.bal, _ = p.bal.Add(tr.Amount)
			p.taint, _ = p.taint.Add(c)
		}
	}
	out := map[acctKey]model.Amount{}
	for k, p := range st {
		if !p.taint.IsZero() && k.addr != 0 {
			out[k] = p.taint
		}
	}
	return out, tots
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
