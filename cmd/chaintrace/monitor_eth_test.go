package main

import (
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"

	"github.com/chaintrace/chaintrace/internal/eth/ethtest"
	"github.com/chaintrace/chaintrace/internal/monitor"
)

// TestMonitorETHEndToEnd watches an address on a real go-ethereum chain
// with the follower running, moves stolen ETH through two hops into an
// address labelled as an exchange, restarts the follower half-way, and
// sends stolen tokens on to the exchange: the loopback webhook must get
// every alert exactly once, signed, within 2 s of its block being mined,
// with the hops, the exchange's label and the token's symbol and amount.
func TestMonitorETHEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a go-ethereum node")
	}
	c := ethtest.Start(t)
	victim, thief, hop1, hop2, exch := c.Accounts[0], c.Accounts[1], c.Accounts[2], c.Accounts[3], c.Accounts[4]
	eth := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }
	send := func(from ethtest.Account, to common.Address, value *big.Int) time.Time {
		t.Helper()
		c.Mine(t, c.SendTx(t, ethtest.Tx{From: from, To: &to, Value: value}))
		return time.Now()
	}
	token, deploy := c.Deploy(t, victim, ethtest.ERC20Code, nil, 0, ethtest.Uint256Arg(eth(1_000_000)))
	c.Mine(t, deploy)
	sendToken := func(from ethtest.Account, to common.Address, amount *big.Int) time.Time {
		t.Helper()
		c.Mine(t, c.SendTx(t, ethtest.Tx{From: from, To: &token, Data: ethtest.ERC20TransferData(to, amount)}))
		return time.Now()
	}

	data := t.TempDir()
	base := []string{"--data", data, "--log-level", "warn"}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(t, append(append([]string(nil), base...), args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	csv := filepath.Join(t.TempDir(), "ex.csv")
	if err := os.WriteFile(csv, []byte("address,name\n"+exch.Address.Hex()+",Test Exchange\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun("labels", "import", "--format", "csv", "--csv-map", "address=address,label=name,chain=eth,category=exchange", csv)
	if _, err := run(t, append(base, "watch", "add", "--chain", "eth", "--address", "0x1234")...); err == nil {
		t.Fatal("an invalid address was accepted")
	}
	if _, err := run(t, append(base, "watch", "add", "--chain", "eth", "--address", thief.Address.Hex(), "--rule", "above:0.0000000000000000001")...); err == nil {
		t.Fatal("an amount below one wei was accepted")
	}
	mustRun("watch", "add", "--chain", "eth", "--address", strings.ToLower(thief.Address.Hex()), "--rule", "any", "--rule", "category:exchange",
		"--rule", "above:100:CTT", "--name", "theft")
	rcv := &hookReceiver{secret: "hook-secret", count: map[string]int{}, first: map[string]time.Time{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	mustRun("webhook", "add", srv.URL, "--secret", "hook-secret", "--allow-private")

	followArgs := append(append([]string(nil), base...), "ingest", "eth", "--rpc", c.URL(), "--chain", "ethereum",
		"--chain-id", c.ChainID.String(), "--follow", "--poll", "100ms")
	f := startFollower(t, followArgs...)

	var worst time.Duration
	step := func(want int, since time.Time) []monitor.Alert {
		t.Helper()
		got, lat := rcv.waitFor(t, want, since)
		if lat > 2*time.Second {
			t.Fatalf("alert %d arrived %v after its block", want, lat)
		}
		worst = max(worst, lat)
		return got
	}
	// The theft: 10 ETH into the watched address.
	got := step(1, send(victim, thief.Address, eth(10)))
	if a := got[0]; a.Direction != monitor.DirIn || a.Asset != "ETH" || a.Value != eth(10).String() || a.Chain != "eth" || a.Rule != "any" {
		t.Fatalf("theft alert %+v", a)
	}
	// First hop.
	step(2, send(thief, hop1.Address, eth(9)))
	// Restart the follower mid-way; the second hop is mined while it is
	// down. hop1 spends 8 of its 1009 ETH, all of them tainted first.
	f.halt(t)
	send(hop1, hop2.Address, eth(8))
	f = startFollower(t, followArgs...)
	got = step(3, time.Now())
	if a := got[2]; a.Direction != monitor.DirOut || a.Hop != 1 || a.Value != eth(8).String() {
		t.Fatalf("second hop alert %+v", a)
	}
	// Into the exchange: "any" and "category:exchange" at hop 2.
	got = step(5, send(hop2, exch.Address, eth(7)))
	for _, a := range got[3:5] {
		if a.Hop != 2 || a.Direction != monitor.DirOut || a.Counterparties[0].Address != exch.Address.Hex() || a.Value != eth(7).String() {
			t.Fatalf("exchange alert %+v", a)
		}
	}
	if got[3].Rule != "any" || got[4].Rule != "category:exchange" || got[4].Counterparties[0].Labels[0].Category != "exchange" {
		t.Fatalf("exchange alerts %+v", got[3:5])
	}
	// Tokens: 500 CTT stolen (any, above:100:CTT), 200 of them deposited
	// at the exchange (any, category, above).
	step(7, sendToken(victim, thief.Address, eth(500)))
	got = step(10, sendToken(thief, exch.Address, eth(200)))
	var rules []string
	for _, a := range got[7:10] {
		rules = append(rules, a.Rule)
		if a.Asset != "CTT" || a.Token != token.Hex() || a.Value != eth(200).String() || a.Direction != monitor.DirOut {
			t.Fatalf("token alert %+v", a)
		}
	}
	if strings.Join(rules, ",") != "any,category:exchange,above:100:CTT" {
		t.Fatalf("token deposit rules %v", rules)
	}
	f.halt(t)
	if stored := rcv.deliveredOnce(t, mustRun("alerts", "list", "--json", "--chain", "eth")); len(stored) != 10 {
		t.Fatalf("store has %d alerts, want 10", len(stored))
	}
	// The only store is the EVM one: the commands find it without --chain.
	listed := map[string]bool{}
	for _, line := range strings.Split(mustRun("alerts", "list"), "\n") {
		if f := strings.Fields(line); len(f) == 10 {
			listed[f[8]+" "+f[9]] = true
		}
	}
	if !listed[eth(200).String()+" CTT"] || !listed[eth(7).String()+" ETH"] {
		t.Fatalf("alerts list: %v", listed)
	}
	mustRun("alerts", "deliver", "--chain", "eth")
	if out := mustRun("alerts", "dead", "--chain", "eth"); out != "" {
		t.Fatalf("dead letters: %s", out)
	}
	t.Logf("worst alert latency from block mined to webhook received: %v", worst)
}
