package main

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/eth/ethtest"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/params"
)

// TestCLIClusterShowETH pays two deposit addresses of a labelled exchange
// on a real go-ethereum chain, from two customers sharing one of them, and
// checks what `cluster show` says about a customer, a deposit address and
// a contract.
func TestCLIClusterShowETH(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a go-ethereum node")
	}
	c := ethtest.Start(t)
	ex, d1, d2, u1, u2 := c.Accounts[0], c.Accounts[1], c.Accounts[2], c.Accounts[3], c.Accounts[4]
	pay := func(from ethtest.Account, to common.Address, eth int64) common.Hash {
		return c.SendTx(t, ethtest.Tx{From: from, To: &to, Value: new(big.Int).Mul(big.NewInt(eth), big.NewInt(params.Ether))}).Hash()
	}
	deposit := pay(u1, d1.Address, 3)
	pay(u2, d1.Address, 4)
	pay(u2, d2.Address, 5)
	c.Commit(t)
	pay(d1, ex.Address, 7)
	pay(d2, ex.Address, 5)
	c.Commit(t)
	fwd, tx := c.Deploy(t, u1, ethtest.ForwarderCode, nil, 0)
	c.Mine(t, tx)
	// A creation without value leaves no transfer; the contract shows
	// itself by paying on from inside a call.
	call := c.SendTx(t, ethtest.Tx{From: u1, To: &fwd, Value: big.NewInt(params.Ether), Data: ethtest.ForwardData(u2.Address)})
	c.Mine(t, call)

	data := t.TempDir()
	if _, err := run(t, "--data", data, "--log-level", "warn", "ingest", "eth", "--rpc", c.URL(),
		"--chain", "ethereum", "--chain-id", c.ChainID.String()); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(t.TempDir(), "ex.csv")
	if err := os.WriteFile(csvPath, []byte("address,name\n"+ex.Address.Hex()+",Test Exchange hot wallet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", data, "--log-level", "warn", "labels", "import", "--format", "csv",
		"--csv-map", "address=address,label=name,chain=eth,category=exchange", csvPath); err != nil {
		t.Fatal(err)
	}
	show := func(a common.Address) ethClusterJSON {
		t.Helper()
		out, err := run(t, "--data", data, "--log-level", "warn", "cluster", "show", "--json", a.Hex())
		if err != nil {
			t.Fatal(err)
		}
		var s ethClusterJSON
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return s
	}
	s := show(u1.Address)
	want := []string{strings.ToLower(u1.Address.Hex()), strings.ToLower(u2.Address.Hex())}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if s.Kind != "eoa" || strings.Join(s.Entity, ",") != strings.Join(want, ",") || len(s.Deposits) != 2 || s.Services != 1 {
		t.Fatalf("u1: %+v; want an EOA linked with u2 through both deposit addresses", s)
	}
	if s := show(d2.Address); s.DepositOf == nil || s.DepositOf.Service != "Test Exchange hot wallet" || len(s.DepositOf.Sweeps) != 1 {
		t.Fatalf("d2: %+v; want the exchange's deposit address", s)
	}
	if s := show(fwd); s.Kind != "contract" || len(s.Entity) != 0 {
		t.Fatalf("forwarder: %+v; want a contract with no links", s)
	}
	out, err := run(t, "--data", data, "--log-level", "warn", "cluster", "show", u2.Address.Hex())
	if err != nil || !strings.Contains(out, "2 addresses linked by shared deposit addresses") {
		t.Fatalf("text form: %v\n%s", err, out)
	}

	// In the entity view of a trace of u1's deposit, the deposit address
	// and the hot wallet are one service node: the payment into the
	// deposit address reaches it and the sweep inside it disappears.
	out, err = run(t, "--data", data, "--log-level", "warn", "trace", "--chain", "eth", "--tx", deposit.Hex(),
		"--stop-at", "none", "--group", "cluster", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res trace.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	service := "eth:cluster:service-" + strings.ToLower(ex.Address.Hex())
	entity := "eth:cluster:entity-" + want[0]
	var edges []string
	for _, e := range res.Edges {
		edges = append(edges, e.From+" -> "+e.To)
		if e.From == service && e.To == service {
			t.Errorf("edge inside the service: %+v", e)
		}
	}
	if !slices.Contains(edges, entity+" -> "+service) {
		t.Fatalf("edges %v: want %s -> %s", edges, entity, service)
	}
}
