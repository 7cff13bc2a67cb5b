package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
)

// chainFixture is a data directory with two real stores, built once for
// the package's tests: Bitcoin mainnet's first blocks and a small
// simulated EVM chain (querytest), opened read-only as chaintrace serve
// opens them, and labels on some of their addresses.
type chainFixture struct {
	dir    string
	eth    querytest.ETHWorld
	chains map[string]api.Chain
	labels *labels.Index
	close  []func() error
	err    error
}

var (
	fixtureOnce sync.Once
	fixture     chainFixture
)

// TestMain removes the shared chain fixture after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range fixture.close {
		_ = c()
	}
	if fixture.dir != "" {
		_ = os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// fixtureStoreBytes stands for the stores' size on disk in the answers,
// which Pebble's file layout makes vary from run to run.
const fixtureStoreBytes = 1048576

// exampleChains returns the fixture's chains and the labels of their
// parties, building them on first use.
func exampleChains(t testing.TB) (map[string]api.Chain, api.Labeler) {
	t.Helper()
	f := chains(t)
	return f.chains, f.labels
}

// chains returns the shared fixture, building it on first use.
func chains(t testing.TB) *chainFixture {
	t.Helper()
	fixtureOnce.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "chaintrace-api-chains-")
		if fixture.err != nil {
			return
		}
		querytest.BTC(t, fixture.dir)
		fixture.eth = querytest.ETH(t, fixture.dir)
		ctx := context.Background()
		open := func(dir string) *store.DB {
			db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
			if err != nil {
				fixture.err = err
				return nil
			}
			fixture.close = append(fixture.close, db.Close)
			return db
		}
		bdb := open(workspace.BTCStoreDir(fixture.dir, "mainnet"))
		edb := open(workspace.ETHStoreDir(fixture.dir, querytest.ETHNetwork))
		if fixture.err != nil {
			return
		}
		bq, err := query.NewBTC(bdb)
		if err != nil {
			fixture.err = err
			return
		}
		size := func() uint64 { return fixtureStoreBytes }
		fixture.chains = map[string]api.Chain{
			"btc":     {BTC: bq, Size: size},
			"eth-sim": {ETH: query.NewETH(edb), Size: size},
		}
		w := fixture.eth
		fixture.labels = labels.NewIndex([]labels.Label{
			{Chain: "btc", Address: querytest.Satoshi, Label: "Satoshi Nakamoto", Category: "miner", Confidence: "forensic", ConfidenceLevel: 80,
				Source: "https://en.bitcoin.it/wiki/Satoshi_Nakamoto", Dataset: "tagpack:early-bitcoin.yaml"},
			{Chain: "btc", Address: querytest.Hal, Label: "Hal Finney", Confidence: "forensic", ConfidenceLevel: 80,
				Source: "https://en.bitcoin.it/wiki/Hal_Finney", Dataset: "tagpack:early-bitcoin.yaml"},
			{Chain: "eth", Address: w.Pool.Hex(), Label: "Example swap pool", Category: "defi_dex", Confidence: "ownership", ConfidenceLevel: 100,
				Source: "https://example.org/pools", Dataset: "tagpack:pools.yaml"},
			{Chain: "eth", Address: w.Carol.Hex(), Label: "Carol's exchange deposit", Category: "exchange", Confidence: "web_crawl", ConfidenceLevel: 50,
				Source: "https://example.org/deposits", Dataset: "tagpack:deposits.yaml"},
		}, nil)
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	if fixture.chains == nil {
		t.Fatal("the chain fixture failed to build in an earlier test")
	}
	return &fixture
}

// chainServer returns a server over the fixture's chains.
func chainServer(t *testing.T) http.Handler {
	t.Helper()
	srv, _ := testServer(t, newWorld(t), true, func(c *api.Config) { c.Chains, c.ChainLabels = exampleChains(t) })
	return srv.Handler()
}

// checkChainGolden compares a recorded response with testdata/name.golden:
// request, status, the headers clients rely on and the indented body.
func checkChainGolden(t *testing.T, name, target string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var got bytes.Buffer
	fmt.Fprintf(&got, "GET %s\nstatus: %d\n", target, rec.Code)
	for _, k := range []string{"Content-Type", "ETag", "Cache-Control", "X-Request-Id"} {
		if v := rec.Header().Get(k); v != "" {
			fmt.Fprintf(&got, "%s: %s\n", k, v)
		}
	}
	got.WriteString("\n")
	if rec.Body.Len() > 0 {
		if err := json.Indent(&got, rec.Body.Bytes(), "", "  "); err != nil {
			t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
		}
		got.WriteString("\n")
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("response differs from %s (rerun with -update if intended)\n--- got\n%s\n--- want\n%s", path, got.Bytes(), want)
	}
}

// TestChainsGolden pins every chain route's answers on real stores: the
// happy paths of both kinds of chain and each kind of bad request.
func TestChainsGolden(t *testing.T) {
	h := chainServer(t)
	w := chains(t).eth
	eth := "/api/v1/chains/eth-sim"
	btc := "/api/v1/chains/btc"
	// The second page of Satoshi's history and of block 546, with the
	// cursors the first pages hand out.
	next := func(target string) string {
		rec := do(h, "GET", target, "")
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		decode(t, rec, &page)
		if page.NextCursor == "" {
			t.Fatalf("%s: no next cursor: %s", target, rec.Body)
		}
		return page.NextCursor
	}
	satoshiTxs := btc + "/addresses/" + querytest.Satoshi + "/txs?limit=3"
	block546 := btc + "/blocks/546?limit=2"
	cases := []struct{ name, target string }{
		{"chains_list", "/api/v1/chains"},
		{"chain_btc", btc},
		{"chain_by_name", "/api/v1/chains/eth"},
		{"chain_unknown", "/api/v1/chains/doge"},
		{"chain_bad_param", btc + "?verbose=1"},
		{"block_btc_height", block546},
		{"block_btc_page2", block546 + "&cursor=" + next(block546)},
		{"block_btc_hash", btc + "/blocks/00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"},
		{"block_btc_tip", btc + "/blocks/590"},
		{"block_eth", eth + "/blocks/3"},
		{"block_not_found", btc + "/blocks/591"},
		{"block_bad_ref", btc + "/blocks/0x12"},
		{"block_bad_limit", block546[:len(block546)-1] + "0"},
		{"block_bad_cursor", block546 + "&cursor=AQ"},
		{"block_foreign_cursor", btc + "/blocks/547?cursor=" + next(block546)},
		{"tx_btc", btc + "/txs/" + querytest.FirstPayment},
		{"tx_btc_shallow", btc + "/txs/" + querytest.Shallow},
		{"tx_btc_coinbase", btc + "/txs/0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"},
		{"tx_eth_token", eth + "/txs/" + w.Token.Hex()},
		{"tx_eth_swap", eth + "/txs/" + w.Swap.Hex()},
		{"tx_eth_recent", eth + "/txs/" + w.Recent.Hex()},
		{"tx_not_found", btc + "/txs/" + strings.Repeat("0", 64)},
		{"tx_malformed", btc + "/txs/f4184fc5"},
		{"tx_wrong_chain", eth + "/txs/" + querytest.FirstPayment},
		{"address_btc", btc + "/addresses/" + querytest.MultiInputSpender},
		{"address_btc_labelled", btc + "/addresses/" + querytest.Hal},
		{"address_eth", eth + "/addresses/" + strings.ToLower(w.Carol.Hex())},
		{"address_not_found", btc + "/addresses/1BitcoinEaterAddressDontSendf59kuE"},
		{"address_malformed", btc + "/addresses/1BitcoinEater"},
		{"address_wrong_chain", btc + "/addresses/" + w.Carol.Hex()},
		{"address_txs_btc", satoshiTxs},
		{"address_txs_btc_page2", satoshiTxs + "&cursor=" + next(satoshiTxs)},
		{"address_txs_eth", eth + "/addresses/" + w.Bob.Hex() + "/txs"},
		{"address_txs_bad_limit", satoshiTxs[:len(satoshiTxs)-1] + "501"},
		{"address_txs_bad_cursor", satoshiTxs + "&cursor=not-a-cursor"},
		{"address_txs_foreign_cursor", btc + "/addresses/" + querytest.Hal + "/txs?cursor=" + next(satoshiTxs)},
		{"address_txs_not_found", eth + "/addresses/0x000000000000000000000000000000000000dEaD/txs"},
		{"neighbors_btc_out", btc + "/addresses/" + querytest.Satoshi + "/neighbors?direction=out&limit=3"},
		{"neighbors_btc_in", btc + "/addresses/" + querytest.Hal + "/neighbors?direction=in"},
		{"neighbors_eth_in", eth + "/addresses/" + w.Carol.Hex() + "/neighbors?direction=in"},
		{"neighbors_bad_direction", btc + "/addresses/" + querytest.Hal + "/neighbors?direction=sideways"},
		{"neighbors_bad_limit", btc + "/addresses/" + querytest.Hal + "/neighbors?limit=0"},
		{"neighbors_malformed", eth + "/addresses/0x1234/neighbors"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, "GET", tc.target, "", "X-Request-Id", "golden-"+tc.name)
			checkChainGolden(t, tc.name, tc.target, rec)
		})
	}
}

// TestChainETags checks the caching of final answers: a block or
// transaction six blocks deep has a strong ETag that a revalidation
// answers with 304 and no body; a shallower one has none.
func TestChainETags(t *testing.T) {
	h := chainServer(t)
	w := chains(t).eth
	for _, target := range []string{
		"/api/v1/chains/btc/txs/" + querytest.FirstPayment,
		"/api/v1/chains/btc/blocks/170",
		"/api/v1/chains/eth-sim/txs/" + w.Swap.Hex(),
	} {
		first := do(h, "GET", target, "")
		etag := first.Header().Get("ETag")
		if first.Code != http.StatusOK || !strings.HasPrefix(etag, `"`) {
			t.Fatalf("%s: %d, ETag %q", target, first.Code, etag)
		}
		if again := do(h, "GET", target, ""); again.Header().Get("ETag") != etag || again.Body.String() != first.Body.String() {
			t.Errorf("%s: a second answer differs", target)
		}
		for _, inm := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
			rec := do(h, "GET", target, "", "If-None-Match", inm)
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag || rec.Header().Get("X-Request-Id") == "" {
				t.Errorf("%s If-None-Match %s: %d %v %q", target, inm, rec.Code, rec.Header(), rec.Body)
			}
		}
		if rec := do(h, "GET", target, "", "If-None-Match", `"stale"`); rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("%s with a stale ETag: %d", target, rec.Code)
		}
	}
	for _, target := range []string{
		"/api/v1/chains/btc/txs/" + querytest.Shallow,
		"/api/v1/chains/btc/blocks/586",
		"/api/v1/chains/eth-sim/txs/" + w.Recent.Hex(),
	} {
		rec := do(h, "GET", target, "", "If-None-Match", "*")
		if rec.Code != http.StatusOK || rec.Header().Get("ETag") != "" {
			t.Errorf("%s below %d confirmations: %d, ETag %q", target, api.Confirmations, rec.Code, rec.Header().Get("ETag"))
		}
	}
}

// TestChainPagesConcatenate walks Satoshi's history and block 546 page
// by page with the cursors handed out, and checks the pages add up to
// the whole.
func TestChainPagesConcatenate(t *testing.T) {
	h := chainServer(t)
	walk := func(base, field string) []string {
		var all []string
		target := base
		for pages := 0; ; pages++ {
			rec := do(h, "GET", target, "")
			if rec.Code != http.StatusOK || pages > 100 {
				t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
			}
			var page map[string]json.RawMessage
			decode(t, rec, &page)
			var items []json.RawMessage
			if err := json.Unmarshal(page[field], &items); err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				all = append(all, string(it))
			}
			var next string
			if raw, ok := page["next_cursor"]; ok {
				_ = json.Unmarshal(raw, &next)
			}
			if next == "" {
				return all
			}
			target = base + "&cursor=" + next
		}
	}
	whole := walk("/api/v1/chains/btc/addresses/"+querytest.Satoshi+"/txs?limit=500", "txs")
	paged := walk("/api/v1/chains/btc/addresses/"+querytest.Satoshi+"/txs?limit=1", "txs")
	if len(whole) < 5 || strings.Join(whole, "\n") != strings.Join(paged, "\n") {
		t.Errorf("history: %d rows whole, %d paged", len(whole), len(paged))
	}
	whole = walk("/api/v1/chains/btc/blocks/546?limit=1000", "txs")
	paged = walk("/api/v1/chains/btc/blocks/546?limit=1", "txs")
	if len(whole) != 4 || strings.Join(whole, "\n") != strings.Join(paged, "\n") {
		t.Errorf("block: %v whole, %v paged", whole, paged)
	}
}

// TestChainsNone checks a server without chain stores: an empty list,
// and every chain unknown.
func TestChainsNone(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), true, nil)
	h := srv.Handler()
	rec := do(h, "GET", "/api/v1/chains", "")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"chains":[]}` {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/chains/btc/blocks/0", ""); rec.Code != http.StatusNotFound {
		t.Errorf("block of no chain: %d %s", rec.Code, rec.Body)
	}
}

// slowChain is a Bitcoin chain whose transactions take until the
// request's deadline.
type slowChain struct{ api.BTCChain }

// Tx implements api.BTCChain by waiting for ctx.
func (slowChain) Tx(ctx context.Context, _ string) (model.Tx, error) {
	<-ctx.Done()
	return model.Tx{}, fmt.Errorf("query: %w", ctx.Err())
}

// TestChainTimeout checks a look-up that outlasts the request timeout
// answers 504 with a timeout problem.
func TestChainTimeout(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), true, func(c *api.Config) {
		c.Chains = map[string]api.Chain{"btc": {BTC: slowChain{}}}
		c.RequestTimeout = 20 * time.Millisecond
	})
	rec := do(srv.Handler(), "GET", "/api/v1/chains/btc/txs/"+querytest.FirstPayment, "")
	var p api.Problem
	decode(t, rec, &p)
	if rec.Code != http.StatusGatewayTimeout || p.Type != "urn:chaintrace:problem:timeout" || !strings.Contains(p.Detail, "20ms") {
		t.Errorf("%d %+v", rec.Code, p)
	}
}
