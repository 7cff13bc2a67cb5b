package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/btc/btcdtest"
	"github.com/chaintrace/chaintrace/internal/eth/ethtest"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// TestCLITraceAcrossBridge steals bitcoin on a real btcd regtest node,
// sends it into a bridge custodian's deposit address, has the bridge's
// minter release the wrapped token on a real go-ethereum chain, and moves
// half of it to an exchange. Both chains are ingested over JSON-RPC through
// the CLI; the trace from the thief's address must cross the bridge by the
// pegged rule and end at the exchange with the exact token amount, with
// every chain's totals balanced.
func TestCLITraceAcrossBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btcd and go-ethereum")
	}
	ctx := t.Context()
	n, w, newAddr, pay := regtestNode(t)
	thief, custody := newAddr(), newAddr()
	loot, err := w.Send(ctx, pay(thief, 200_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	coins, err := w.Coins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stolen []btcdtest.Coin
	for _, c := range coins {
		if c.OutPoint.Hash == loot.TxHash() && c.Output.Value == 200_000_000 {
			stolen = append(stolen, c)
		}
	}
	if len(stolen) != 1 {
		t.Fatalf("wallet holds %d coins of the theft", len(stolen))
	}
	deposit, err := w.Spend(ctx, stolen, pay(custody, 150_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Block times have one-second resolution: the release must not share
	// the deposit's second, or it could sort before it.
	time.Sleep(1100 * time.Millisecond)

	c := ethtest.Start(t)
	minter, recv, exch := c.Accounts[0], c.Accounts[1], c.Accounts[2]
	supply := new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)
	token, tx := c.Deploy(t, minter, ethtest.ERC20Code, nil, 0, ethtest.Uint256Arg(supply))
	c.Mine(t, tx)
	// 1.5 BTC less a 0.1% bridge fee, in 18-decimal token units.
	released := new(big.Int).Mul(big.NewInt(149_850_000), big.NewInt(10_000_000_000))
	half := new(big.Int).Div(released, big.NewInt(2))
	rel := c.SendTx(t, ethtest.Tx{From: minter, To: &token, Data: ethtest.ERC20TransferData(recv.Address, released)})
	c.Mine(t, rel)
	fwd := c.SendTx(t, ethtest.Tx{From: recv, To: &token, Data: ethtest.ERC20TransferData(exch.Address, half)})
	c.Mine(t, fwd)

	data := t.TempDir()
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "btc", "--network", "regtest",
		"--rpc", "http://"+n.RPCAddr, "--rpc-user", n.User, "--rpc-password", n.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "eth", "--rpc", c.URL(),
		"--chain", "ethereum", "--chain-id", c.ChainID.String()); err != nil {
		t.Fatal(err)
	}
	exchHex := strings.ToLower(exch.Address.Hex())
	csvPath := filepath.Join(t.TempDir(), "exchanges.csv")
	if err := os.WriteFile(csvPath, []byte("address,name\n"+exchHex+",Test Exchange\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", data, "--log-level", "warn", "labels", "import", "--format", "csv",
		"--csv-map", "address=address,label=name,chain=eth,category=exchange", csvPath); err != nil {
		t.Fatal(err)
	}
	bridges := filepath.Join(t.TempDir(), "bridges.yaml")
	if err := os.WriteFile(bridges, []byte(fmt.Sprintf(`bridges:
  - name: Test wrapped-BTC bridge
    deposit: {chain: btc-regtest, asset: BTC, addresses: [%s]}
    release: {chain: eth, asset: "%s", addresses: ["%s"]}
    rate: 10000000000/1
    max_fee: 0.01
    window: 1h
`, custody.EncodeAddress(), strings.ToLower(token.Hex()), strings.ToLower(minter.Address.Hex()))), 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := run(t, "--data", data, "--log-level", "warn", "trace", "--chain", "btc", "--from", thief.EncodeAddress(),
		"--bridges", bridges, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res trace.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Crossings) != 1 || res.Crossings[0].Tx != deposit.TxHash().String() ||
		res.Crossings[0].Continued != fmt.Sprintf("eth:%s:0", strings.ToLower(rel.Hash().Hex())) {
		t.Fatalf("crossings %+v; want the deposit %s continued at the release %s", res.Crossings, deposit.TxHash(), rel.Hash().Hex())
	}
	for _, tot := range res.Totals {
		if !tot.Balanced() {
			t.Errorf("totals of %s %s do not balance: %+v", tot.Chain, tot.Asset, tot)
		}
	}
	want := model.AmountFromUint64(0)
	want, _ = want.Add(mustAmount(t, half.String()))
	var found bool
	for _, e := range res.Endpoints {
		if e.Chain == "eth" && strings.EqualFold(e.Address, exchHex) {
			found = true
			if e.Tainted.Cmp(want) != 0 || e.Category != "exchange" {
				t.Errorf("exchange endpoint %+v; want %s tainted", e, want)
			}
		}
	}
	if !found {
		t.Fatalf("no endpoint at the exchange %s: %+v", exchHex, res.Endpoints)
	}
	if res.Heights["btc-regtest"] == 0 || res.Heights["eth"] == 0 {
		t.Errorf("heights %v: want both chains", res.Heights)
	}
	// The text, CSV and DOT forms render the same trace.
	for _, format := range []string{"text", "csv", "dot"} {
		out, err := run(t, "--data", data, "--log-level", "warn", "trace", "--chain", "btc", "--from", thief.EncodeAddress(),
			"--bridges", bridges, "--format", format)
		if err != nil || !strings.Contains(strings.ToLower(out), exchHex[:10]) {
			t.Errorf("--format %s: %v\n%s", format, err, out)
		}
	}
}

func mustAmount(t *testing.T, s string) model.Amount {
	t.Helper()
	a, err := model.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestCLITraceMainnetGroups traces the coins of a real 2009 address six
// hops forward and checks the cluster view of the flow graph against
// `cluster show`: every cluster node stands for a multi-member cluster
// that holds the node's address, and no cluster has two nodes.
func TestCLITraceMainnetGroups(t *testing.T) {
	data := t.TempDir()
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "btc", "--blocks", mainnetBlk(t)); err != nil {
		t.Fatal(err)
	}
	traceJSON := func(group string) trace.Result {
		t.Helper()
		out, err := run(t, "--data", data, "--log-level", "warn", "trace", "--chain", "btc", "--from",
			"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--hops", "6", "--group", group, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var r trace.Result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		for _, tot := range r.Totals {
			if !tot.Balanced() {
				t.Fatalf("--group %s: totals do not balance: %+v", group, tot)
			}
		}
		return r
	}
	byAddr, byCluster := traceJSON("address"), traceJSON("cluster")
	clusters := 0
	seen := map[string]bool{}
	for _, n := range byCluster.Nodes {
		if seen[n.ID] {
			t.Fatalf("node %s twice", n.ID)
		}
		seen[n.ID] = true
		if n.Cluster == "" {
			continue
		}
		clusters++
		out, err := run(t, "--data", data, "cluster", "show", "--json", "--limit", "0", n.Address)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			ClusterID uint64   `json:"cluster_id"`
			Size      int      `json:"size"`
			Addresses []string `json:"addresses"`
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(s.ClusterID) != n.Cluster || s.Size < 2 {
			t.Errorf("node %s: cluster show says #%d of %d members", n.ID, s.ClusterID, s.Size)
		}
	}
	if clusters == 0 || len(byCluster.Nodes) >= len(byAddr.Nodes) {
		t.Fatalf("%d cluster nodes; %d nodes by cluster vs %d by address: grouping merged nothing", clusters, len(byCluster.Nodes), len(byAddr.Nodes))
	}
}

// TestTraceIncidentSources checks that --incident takes the registry's
// attacker addresses for the chain and records the incident, and that an
// unknown incident or one with nothing on the chain is an error.
func TestTraceIncidentSources(t *testing.T) {
	ctx := t.Context()
	p := trace.Params{Chain: "eth"}
	if err := addIncidentSources(ctx, &p, "2022-03-ronin-bridge"); err != nil {
		t.Fatal(err)
	}
	if p.Incident != "2022-03-ronin-bridge" || !slices.Contains(p.From, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96") {
		t.Fatalf("params %+v: want the Ronin exploiter as a source", p)
	}
	if err := addIncidentSources(ctx, &trace.Params{Chain: "btc"}, "2022-03-ronin-bridge"); err == nil || !strings.Contains(err.Error(), "no attacker addresses") {
		t.Fatalf("Ronin on btc: %v", err)
	}
	if err := addIncidentSources(ctx, &trace.Params{Chain: "eth"}, "2099-01-nothing"); err == nil || !strings.Contains(err.Error(), "no incident") {
		t.Fatalf("unknown incident: %v", err)
	}
}
