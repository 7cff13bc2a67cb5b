package ethw

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/eth/etl"
	"github.com/chaintrace/chaintrace/internal/ethcluster"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/store"
)

var (
	t0    = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ether = big.NewInt(1_000_000_000_000_000_000)
)

func ethers(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), ether) }

// world is what a script built, for the checks.
type world struct {
	c               *Chain
	users, miners   []common.Address
	pool            common.Address
	usdt, dai       common.Address
	buys, sells     []common.Hash // ETH -> USDT and USDT -> ETH swaps
	refused, blocks int
}

// script builds a chain of some hundred blocks in dir: withdrawals, sends,
// two tokens with mints and transfers, and swaps against a pool contract
// in both directions. Refusals for want of funds are expected now and
// then and counted; any other error fails the test.
func script(t testing.TB, dir string, seed int64) *world {
	t.Helper()
	c, err := New(dir, Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{c: c}
	ctx := context.Background()
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	for range 3 {
		w.miners = append(w.miners, c.NewAddr())
	}
	for range 24 {
		w.users = append(w.users, c.NewAddr())
	}
	now := t0
	mine := func() {
		now = now.Add(12 * time.Second)
		if _, err := c.Mine(ctx, now, w.miners[int(c.Height())%len(w.miners)]); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range w.users {
		c.Withdraw(u, 5_000_000_000+uint64(r.IntN(1_000_000_000))) // 5-6 ETH
	}
	w.usdt = c.DeployToken("USDT", "Tether USD", 6)
	w.dai = c.DeployToken("DAI", "Dai Stablecoin", 18)
	w.pool = c.NewContract("uniswap-like pool")
	mine()
	must := func(_ common.Hash, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Mint(w.usdt, w.pool, big.NewInt(50_000_000_000_000))) // 50M USDT
	for _, u := range w.users[:12] {
		must(c.Mint(w.usdt, u, big.NewInt(int64(1_000_000_000+r.IntN(5_000_000_000)))))
		must(c.Mint(w.dai, u, ethers(int64(100+r.IntN(1000)))))
	}
	// Seed the pool with ether through a call (native value into a contract).
	must(c.Call(w.users[0], w.pool, ethers(2), nil, 0))
	mine()
	try := func(h common.Hash, err error) bool {
		t.Helper()
		if errors.Is(err, ErrInsufficient) {
			w.refused++
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	const price = 3000 // USDT per ETH
	for b := 0; b < 200; b++ {
		for range 1 + r.IntN(12) {
			u := w.users[r.IntN(len(w.users))]
			v := w.users[r.IntN(len(w.users))]
			switch op := r.IntN(10); {
			case op < 3:
				try(c.Send(u, v, new(big.Int).Div(ether, big.NewInt(int64(2+r.IntN(40))))))
			case op < 5:
				try(c.TokenTransfer(u, w.usdt, v, big.NewInt(int64(r.IntN(200_000_000)))))
			case op == 5:
				try(c.TokenTransfer(u, w.dai, v, new(big.Int).Div(ethers(int64(1+r.IntN(50))), big.NewInt(3))))
			case op < 8: // buy USDT with ETH
				in := new(big.Int).Div(ether, big.NewInt(int64(5+r.IntN(20))))
				out := new(big.Int).Div(new(big.Int).Mul(in, big.NewInt(price*1_000_000)), ether)
				h, err := c.Call(u, w.pool, in, []Effect{{Token: w.usdt, From: w.pool, To: u, Amount: out}}, 120_000)
				if try(h, err) {
					w.buys = append(w.buys, h)
				}
			default: // sell USDT for ETH
				in := big.NewInt(int64(10_000_000 + r.IntN(300_000_000)))
				out := new(big.Int).Div(new(big.Int).Mul(in, ether), big.NewInt(price*1_000_000))
				h, err := c.Call(u, w.pool, nil, []Effect{
					{Token: w.usdt, From: u, To: w.pool, Amount: in},
					{From: w.pool, To: u, Amount: out},
				}, 130_000)
				if try(h, err) {
					w.sells = append(w.sells, h)
				}
			}
		}
		if b%25 == 0 {
			c.Withdraw(w.users[r.IntN(len(w.users))], uint64(1+r.IntN(3))*1_000_000_000)
		}
		if b%40 == 7 {
			// An empty block now and then.
			mine()
		}
		mine()
	}
	w.blocks = int(c.Height()) + 1
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

// importExport loads dir with etl.Open, ingests it into a new store as
// the ETL import path does, and fills the token metadata from the export.
func importExport(t testing.TB, dir string) (*store.DB, *etl.Source, ingest.Status) {
	t.Helper()
	ctx := context.Background()
	src, err := etl.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, t.TempDir(), store.ChainMeta{Chain: "eth", Network: "sim"}, store.Options{Bulk: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := ingest.NewEthDecoded(db, src, ingest.Options{StartHeight: src.First()}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !src.HasTokens() {
		t.Fatal("the export has no tokens file")
	}
	if _, err := ingest.FillTokenMeta(ctx, db, src, src.First(), st.Height); err != nil {
		t.Fatal(err)
	}
	return db, src, st
}

// checkBalances compares, for every address and asset, the store's net
// flow with the ledger's balance.
func checkBalances(t *testing.T, c *Chain, db *store.DB, addrs []common.Address, tokens []common.Address) {
	t.Helper()
	ctx := context.Background()
	q := query.NewETH(db)
	for _, a := range addrs {
		sum, err := q.Address(ctx, a.Hex(), 0)
		if errors.Is(err, query.ErrNotFound) {
			for _, tok := range append([]common.Address{{}}, tokens...) {
				if c.Balance(a, tok).Sign() != 0 {
					t.Errorf("%s holds %s of %s in the ledger but is not in the store", a.Hex(), c.Balance(a, tok), tok.Hex())
				}
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		net := map[common.Address]string{}
		for _, f := range sum.Assets {
			tok := common.Address{}
			if f.Token != "" {
				tok = common.HexToAddress(f.Token)
				if want := c.ContractName(tok); f.Symbol != want {
					t.Errorf("%s: token %s has symbol %q in the store, want %q", a.Hex(), f.Token, f.Symbol, want)
				}
			}
			net[tok] = f.Net
		}
		for _, tok := range append([]common.Address{{}}, tokens...) {
			want := c.Balance(a, tok).String()
			got, ok := net[tok]
			if !ok {
				got = "0"
			}
			if got != want {
				t.Errorf("%s: asset %s: store net %s, ledger balance %s", a.Hex(), tok.Hex(), got, want)
			}
		}
	}
}

// TestIngestBalances scripts a chain, imports its export through the real
// ETL path and checks balances, fees, tips, contract-ness, token metadata
// and the shape of swaps.
func TestIngestBalances(t *testing.T) {
	dir := t.TempDir()
	w := script(t, dir, 42)
	c := w.c
	if len(w.buys) < 50 || len(w.sells) < 50 || w.refused == 0 {
		t.Fatalf("script too thin: %d buys, %d sells, %d refused", len(w.buys), len(w.sells), w.refused)
	}
	db, src, st := importExport(t, dir)
	cs := c.Stats()
	if st.Height != c.Height() || st.Blocks != cs.Blocks || cs.Blocks != uint64(w.blocks) {
		t.Fatalf("store has %d blocks up to %d; ledger wrote %d up to %d", st.Blocks, st.Height, cs.Blocks, c.Height())
	}
	// Transfers as chaintrace's extraction finds them equal the ledger's count.
	var transfers uint64
	var withdrawalBlocks uint64
	if err := src.Blocks(context.Background(), 0, c.Height(), func(b *eth.Block) error {
		trs, _ := eth.Extract(b)
		transfers += uint64(len(trs))
		if len(b.Withdrawals) > 0 {
			withdrawalBlocks++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if transfers != cs.Transfers {
		t.Errorf("extraction finds %d transfers, ledger counted %d", transfers, cs.Transfers)
	}
	if st.Txs != cs.Txs || withdrawalBlocks < 10 {
		t.Errorf("store has %d txs, ledger %d; %d blocks with withdrawals", st.Txs, cs.Txs, withdrawalBlocks)
	}
	addrs := append(append([]common.Address{c.Deployer(), w.pool, w.usdt, w.dai}, w.users...), w.miners...)
	tokens := []common.Address{w.usdt, w.dai}
	checkBalances(t, c, db, addrs, tokens)
	// Miners earned tips, and the fees reached the store.
	for _, m := range w.miners {
		if c.Balance(m, common.Address{}).Sign() <= 0 {
			t.Errorf("miner %s earned no tips", m.Hex())
		}
	}
	// Contract-ness as ethcluster sees it.
	ctx := context.Background()
	kinds := map[common.Address]ethcluster.AccountKind{w.pool: ethcluster.Contract, w.usdt: ethcluster.Contract,
		w.users[0]: ethcluster.EOA, c.Deployer(): ethcluster.EOA}
	for a, want := range kinds {
		id, err := db.AddrID(ctx, a.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got, why, err := ethcluster.Kind(ctx, db, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s (%s): kind %s (%s), want %s", a.Hex(), c.ContractName(a), got, why, want)
		}
	}
	// Every swap is one the account tracer treats as a swap: the user
	// sends one fungible asset and receives another in the same tx.
	usdtID, _ := db.AddrID(ctx, w.usdt.Bytes())
	checkSwap := func(h common.Hash, sent, received uint64) {
		t.Helper()
		num, err := db.EthTxNum(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		var rec store.EthTxRec
		if err := db.EthTx(ctx, num, &rec); err != nil {
			t.Fatal(err)
		}
		var sends, receives bool
		for _, tr := range rec.Transfers {
			k := eth.Kind(tr.Kind)
			if k == eth.FeeBurnt || k == eth.FeeTip {
				continue
			}
			if tr.From == rec.From && tr.Token == sent {
				sends = true
			}
			if tr.To == rec.From && tr.From != rec.From && tr.Token == received {
				receives = true
			}
		}
		if !sends || !receives {
			t.Fatalf("swap %s: sends token #%d %v, receives token #%d %v; transfers %+v", h.Hex(), sent, sends, received, receives, rec.Transfers)
		}
	}
	for _, h := range w.buys {
		checkSwap(h, 0, usdtID)
	}
	for _, h := range w.sells {
		checkSwap(h, usdtID, 0)
	}
}

// TestRefusals checks that overdrafts and unpayable fees are refused with
// a clear error, change nothing, and leave a valid chain.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	c, err := New(dir, Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, b, m := c.NewAddr(), c.NewAddr(), c.NewAddr()
	tok := c.DeployToken("TKN", "Token", 18)
	pool := c.NewContract("pool")
	c.Withdraw(a, 1_000_000_000) // 1 ETH
	if _, err := c.Mine(ctx, t0, m); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mint(tok, a, big.NewInt(1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mint(tok, pool, big.NewInt(500)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(a, b, big.NewInt(1)); err != nil { // b can pay no fee
		t.Fatal(err)
	}
	if _, err := c.Mine(ctx, t0.Add(12*time.Second), m); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	before := digest(t, dir)
	snap := func() string {
		s := fmt.Sprint(c.Stats(), len(c.pending), c.Nonce(a), c.Nonce(b), c.TotalSupply(tok))
		for _, x := range []common.Address{a, b, pool, m, c.Deployer()} {
			s += fmt.Sprint(" ", c.Balance(x, common.Address{}), c.Balance(x, tok))
		}
		return s
	}
	state := snap()
	cases := []struct {
		name string
		do   func() (common.Hash, error)
		want []string
	}{
		{"native overdraft", func() (common.Hash, error) { return c.Send(a, b, ethers(2)) }, []string{"send from " + a.Hex(), "short by"}},
		{"token overdraft", func() (common.Hash, error) { return c.TokenTransfer(a, tok, b, big.NewInt(1001)) }, []string{"token transfer from " + a.Hex(), "holds 1000: short by 1"}},
		{"fee not payable", func() (common.Hash, error) { return c.Send(b, a, big.NewInt(0)) }, []string{"send from " + b.Hex(), "holds 1 wei", "fee 231000000000000"}},
		{"value plus fee", func() (common.Hash, error) { return c.Send(a, b, c.Balance(a, common.Address{})) }, []string{"short by 231000000000000 wei"}},
		{"pool token overdraft after a good effect", func() (common.Hash, error) {
			return c.Call(a, pool, big.NewInt(5), []Effect{
				{Token: tok, From: a, To: pool, Amount: big.NewInt(100)},
				{Token: tok, From: pool, To: a, Amount: big.NewInt(601)},
			}, 0)
		}, []string{"call from " + a.Hex() + " to " + pool.Hex(), "effect 1", "short by 1"}},
		{"pool native overdraft", func() (common.Hash, error) {
			return c.Call(a, pool, big.NewInt(5), []Effect{{From: pool, To: a, Amount: big.NewInt(1 + 5 + CreationValue)}}, 0)
		}, []string{"effect 0", "short by 1 wei"}},
	}
	for _, tc := range cases {
		_, err := tc.do()
		if !errors.Is(err, ErrInsufficient) {
			t.Errorf("%s: %v, want ErrInsufficient", tc.name, err)
			continue
		}
		for _, s := range append(tc.want, "ethw: ") {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", tc.name, err, s)
			}
		}
		if now := snap(); now != state {
			t.Errorf("%s changed the ledger:\n%s\n%s", tc.name, state, now)
		}
	}
	invalid := map[string]func() (common.Hash, error){
		"from contract": func() (common.Hash, error) { return c.Send(pool, a, big.NewInt(1)) },
		"native from EOA": func() (common.Hash, error) {
			return c.Call(a, pool, nil, []Effect{{From: b, To: a, Amount: big.NewInt(1)}}, 0)
		},
		"negative":           func() (common.Hash, error) { return c.Send(a, b, big.NewInt(-1)) },
		"unknown token":      func() (common.Hash, error) { return c.TokenTransfer(a, b, a, big.NewInt(1)) },
		"call to EOA":        func() (common.Hash, error) { return c.Call(a, b, nil, nil, 0) },
		"gas too low":        func() (common.Hash, error) { return c.Call(a, pool, nil, nil, 100) },
		"zero address signs": func() (common.Hash, error) { return c.Send(common.Address{}, a, nil) },
	}
	for name, do := range invalid {
		if _, err := do(); !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "ethw: ") {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		if now := snap(); now != state {
			t.Errorf("%s changed the ledger", name)
		}
	}
	if _, err := c.Mine(ctx, t0, m); err == nil {
		t.Error("a block earlier than its parent was mined")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if after := digest(t, dir); after != before {
		t.Fatal("refusals wrote to the export")
	}
	// The chain goes on and stays valid.
	if _, err := c.TokenTransfer(a, tok, b, big.NewInt(1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mine(ctx, t0.Add(24*time.Second), m); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	db, _, _ := importExport(t, dir)
	checkBalances(t, c, db, []common.Address{a, b, m, pool, tok, c.Deployer()}, []common.Address{tok})
}

// TestDeterminism checks that the same script gives byte-identical files
// and another seed different ones.
func TestDeterminism(t *testing.T) {
	d1, d2, d3 := t.TempDir(), t.TempDir(), t.TempDir()
	script(t, d1, 9)
	script(t, d2, 9)
	script(t, d3, 10)
	h1, h2, h3 := digest(t, d1), digest(t, d2), digest(t, d3)
	if h1 != h2 {
		t.Fatalf("same script, different files:\n%s\n%s", h1, h2)
	}
	if h1 == h3 {
		t.Fatal("different seeds, same files")
	}
}

// digest hashes every file of dir.
func digest(t testing.TB, dir string) string {
	t.Helper()
	var s []string
	for _, name := range append(fileNames[:], "tokens.csv") {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		s = append(s, fmt.Sprintf("%s %x", name, sha256.Sum256(b)))
	}
	return strings.Join(s, "\n")
}

// BenchmarkSend measures plain sends, mining every 200 transactions.
func BenchmarkSend(b *testing.B) {
	c, err := New(b.TempDir(), Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	users := make([]common.Address, 1000)
	for i := range users {
		users[i] = c.NewAddr()
		c.Withdraw(users[i], 1_000_000_000_000) // 1000 ETH
	}
	miner := c.NewAddr()
	now := t0
	if _, err := c.Mine(ctx, now, miner); err != nil {
		b.Fatal(err)
	}
	wei := big.NewInt(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Send(users[i%len(users)], users[(i*7+1)%len(users)], wei); err != nil {
			b.Fatal(err)
		}
		if i%200 == 199 {
			now = now.Add(12 * time.Second)
			if _, err := c.Mine(ctx, now, miner); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := c.Mine(ctx, now.Add(12*time.Second), miner); err != nil {
		b.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}
