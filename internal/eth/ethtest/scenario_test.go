package ethtest

import (
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/eth/rpc"
)

// fetchBlocks reads blocks 0..last over JSON-RPC with internal/eth/rpc,
// decodes them and returns blocks 1..last. Starting at genesis, which geth
// refuses to trace, checks that the client still picks the callTracer.
func fetchBlocks(t *testing.T, c *Chain, last uint64) ([]*eth.Block, *rpc.Client) {
	t.Helper()
	cl, err := rpc.Dial(t.Context(), rpc.Config{
		URL:     c.URL(),
		ChainID: c.ChainID.Uint64(),
		Traces:  rpc.TracesAuto,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(cl.Close)
	// Fetch from genesis, which geth cannot trace: the client must still
	// choose the callTracer for the blocks after it.
	var blocks []*eth.Block
	err = cl.Blocks(t.Context(), 0, last, func(raw *eth.RawBlock) error {
		b, err := eth.Decode(raw)
		if err != nil {
			return err
		}
		if raw.Number > 0 {
			blocks = append(blocks, b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("blocks: %v", err)
	}
	if uint64(len(blocks)) != last {
		t.Fatalf("got %d blocks, want %d", len(blocks), last)
	}
	return blocks, cl
}

func amt(a interface{ String() string }) *big.Int {
	v, ok := new(big.Int).SetString(a.String(), 10)
	if !ok {
		panic("bad amount " + a.String())
	}
	return v
}

func key(k eth.Kind, tx common.Hash, from, to, token common.Address, amount *big.Int) string {
	return fmt.Sprintf("%s tx=%s %s->%s token=%s %s", k, tx.Hex()[:10], from.Hex(), to.Hex(), token.Hex(), amount)
}

func TestTransfersOnRealChain(t *testing.T) {
	c := Start(t)
	exp := Scenario(t, c)
	blocks, cl := fetchBlocks(t, c, exp.LastBlock)
	if got := cl.Traces(); got != eth.TraceGethCall {
		t.Errorf("trace API %q, want %q", got, eth.TraceGethCall)
	}

	var all []eth.Transfer
	var txs, failed, reverted int
	for _, b := range blocks {
		trs, st := eth.Extract(b)
		if !st.InternalKnown {
			t.Errorf("block %d: internal transfers unknown", b.Number())
		}
		if st.FeeAnomalies+st.MalformedTokenLogs+st.UnknownStatusTxs+st.CallCodeValueFrames != 0 {
			t.Errorf("block %d: unexpected stats %+v", b.Number(), st)
		}
		txs += st.Txs
		failed += st.FailedTxs
		reverted += st.RevertedValueFrames
		all = append(all, trs...)

		// Fees: burnt + tip is gasUsed × effectiveGasPrice from the node's
		// own receipt, burnt is gasUsed × baseFee, the tip goes to the
		// coinbase.
		for _, tx := range b.Txs {
			r := c.Receipt(t, tx.Hash)
			gas := new(big.Int).SetUint64(r.GasUsed)
			wantTotal := new(big.Int).Mul(gas, r.EffectiveGasPrice)
			wantBurnt := new(big.Int).Mul(gas, b.Header.BaseFee)
			burnt, tip := new(big.Int), new(big.Int)
			for _, tr := range trs {
				if tr.TxHash != tx.Hash {
					continue
				}
				if tr.From != tx.From && tr.Kind >= eth.FeeBurnt {
					t.Errorf("tx %s: fee from %s, want sender %s", tx.Hash, tr.From, tx.From)
				}
				switch tr.Kind {
				case eth.FeeBurnt:
					burnt.Add(burnt, amt(tr.Amount))
				case eth.FeeTip:
					tip.Add(tip, amt(tr.Amount))
					if tr.To != c.Coinbase {
						t.Errorf("tx %s: tip to %s, want coinbase %s", tx.Hash, tr.To, c.Coinbase)
					}
				}
			}
			if burnt.Cmp(wantBurnt) != 0 {
				t.Errorf("tx %s: burnt %s, want %s", tx.Hash, burnt, wantBurnt)
			}
			if got := new(big.Int).Add(burnt, tip); got.Cmp(wantTotal) != 0 {
				t.Errorf("tx %s: burnt+tip %s, want gasUsed×effectiveGasPrice %s", tx.Hash, got, wantTotal)
			}
			if tip.Sign() == 0 {
				t.Errorf("tx %s: no tip", tx.Hash)
			}
		}
	}
	if txs != len(exp.Txs) || failed != len(exp.Failed) || reverted != exp.RevertedValueFrames {
		t.Errorf("txs/failed/reverted frames = %d/%d/%d, want %d/%d/%d",
			txs, failed, reverted, len(exp.Txs), len(exp.Failed), exp.RevertedValueFrames)
	}

	// Exactly the expected non-fee transfers.
	var got, want []string
	for _, tr := range all {
		if tr.Kind >= eth.FeeBurnt {
			continue
		}
		got = append(got, key(tr.Kind, tr.TxHash, tr.From, tr.To, tr.Token, amt(tr.Amount)))
		if slices.Contains(exp.Failed, tr.TxHash) {
			t.Errorf("failed tx %s has a %s transfer", tr.TxHash, tr.Kind)
		}
	}
	for _, tr := range exp.Transfers {
		want = append(want, key(tr.Kind, tr.TxHash, tr.From, tr.To, tr.Token, tr.Amount))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("transfers:\n got  %q\n want %q", got, want)
	}
	// Failed transactions still pay their fees.
	for _, h := range exp.Failed {
		if !slices.ContainsFunc(all, func(tr eth.Transfer) bool { return tr.TxHash == h && tr.Kind == eth.FeeBurnt }) {
			t.Errorf("failed tx %s: no fee", h)
		}
	}

	// Native flows: for every account, received − sent (fees included)
	// equals the balance change from genesis to the head. The zero address
	// only receives burnt fees, which no account holds.
	native := map[common.Address]*big.Int{}
	flow := func(a common.Address, v *big.Int) {
		if native[a] == nil {
			native[a] = new(big.Int)
		}
		native[a].Add(native[a], v)
	}
	tokens := map[common.Address]*big.Int{}
	for _, tr := range all {
		v := amt(tr.Amount)
		if tr.Kind.IsToken() {
			if tr.Token != exp.Token || tr.Kind != eth.ERC20 {
				t.Errorf("unexpected token transfer %+v", tr)
				continue
			}
			for _, p := range []struct {
				a common.Address
				v *big.Int
			}{{tr.From, new(big.Int).Neg(v)}, {tr.To, v}} {
				if tokens[p.a] == nil {
					tokens[p.a] = new(big.Int)
				}
				tokens[p.a].Add(tokens[p.a], p.v)
			}
			continue
		}
		flow(tr.From, new(big.Int).Neg(v))
		flow(tr.To, v)
	}
	for _, a := range exp.Accounts {
		flow(a, new(big.Int)) // check accounts without flows too
	}
	delete(native, common.Address{})
	head := new(big.Int).SetUint64(exp.LastBlock)
	for a, v := range native {
		before, after := c.Balance(t, a, big.NewInt(0)), c.Balance(t, a, head)
		if d := new(big.Int).Sub(after, before); d.Cmp(v) != 0 {
			t.Errorf("account %s: balance change %s, extracted flows %s", a, d, v)
		}
	}
	// A few balances by hand: the piggy bank is empty after paying out
	// everything to F, and E, the target of the reverted forward, got
	// nothing.
	if b := c.Balance(t, exp.PiggyBank, head); b.Sign() != 0 {
		t.Errorf("piggy bank holds %s after self-destruct", b)
	}
	payout := exp.Transfers[len(exp.Transfers)-1].Amount
	if d := new(big.Int).Sub(c.Balance(t, c.Accounts[5].Address, head), FundedBalance); d.Cmp(payout) != 0 {
		t.Errorf("beneficiary gained %s, want %s", d, payout)
	}
	if b := c.Balance(t, c.Accounts[4].Address, head); b.Cmp(FundedBalance) != 0 {
		t.Errorf("reverted forward's target holds %s, want %s", b, FundedBalance)
	}

	// Token flows equal balanceOf; the mint's zero sender nets −supply.
	if v := tokens[common.Address{}]; v == nil || new(big.Int).Neg(v).Cmp(exp.TokenSupply) != 0 {
		t.Errorf("minted %v, want %s", v, exp.TokenSupply)
	}
	delete(tokens, common.Address{})
	for _, h := range exp.TokenHolders {
		if tokens[h] == nil {
			t.Errorf("holder %s: no token flows", h)
		}
	}
	for a, v := range tokens {
		if bal := c.TokenBalance(t, exp.Token, a); bal.Cmp(v) != 0 {
			t.Errorf("holder %s: balanceOf %s, extracted flows %s", a, bal, v)
		}
	}
}

// TestTokenMetadataOnRealChain reads the token's metadata with
// eth.FetchTokenMeta over JSON-RPC; the Forwarder, which reverts on every
// unknown selector, has none.
func TestTokenMetadataOnRealChain(t *testing.T) {
	c := Start(t)
	A := c.Accounts[0]
	token, tx1 := c.Deploy(t, A, ERC20Code, nil, 0, Uint256Arg(big.NewInt(1000)))
	fwd, tx2 := c.Deploy(t, A, ForwarderCode, nil, 0)
	c.Mine(t, tx1, tx2)
	cl, err := rpc.Dial(t.Context(), rpc.Config{URL: c.URL(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	m, err := eth.FetchTokenMeta(t.Context(), cl, token, "latest")
	if err != nil {
		t.Fatal(err)
	}
	want := eth.TokenMeta{Symbol: TokenSymbol, Name: TokenName, Decimals: TokenDecimals, HasSymbol: true, HasName: true, HasDecimals: true}
	if m != want {
		t.Errorf("token meta %+v, want %+v", m, want)
	}
	if got := c.TokenBalance(t, token, A.Address); got.Cmp(big.NewInt(1000)) != 0 {
		t.Errorf("deployer holds %s, want 1000", got)
	}
	if out := c.Call(t, token, CallData("totalSupply()")); new(big.Int).SetBytes(out).Cmp(big.NewInt(1000)) != 0 {
		t.Errorf("totalSupply %x", out)
	}
	m, err = eth.FetchTokenMeta(t.Context(), cl, fwd, "latest")
	if err != nil {
		t.Fatal(err)
	}
	if m != (eth.TokenMeta{}) {
		t.Errorf("forwarder meta %+v, want none", m)
	}
}
