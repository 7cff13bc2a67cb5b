package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
)

// TestServeChains serves a data directory with a Bitcoin and an EVM
// store and reads both through the chain routes, as chaintrace serve
// wires them: the stores opened once, read-only, and their sizes on
// disk.
func TestServeChains(t *testing.T) {
	data := t.TempDir()
	querytest.BTC(t, data)
	w := querytest.ETH(t, data)
	base, _ := startServe(t, data, 0)
	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	var list api.ChainList
	if code := get("/api/v1/chains", &list); code != http.StatusOK || len(list.Chains) != 2 {
		t.Fatalf("chains: %d %+v", code, list)
	}
	for _, c := range list.Chains {
		if c.Tip == nil || c.StoreBytes == nil || *c.StoreBytes == 0 || len(c.Stages) < 3 {
			t.Errorf("chain %+v", c)
		}
	}
	if list.Chains[0].Chain != "btc" || list.Chains[0].Tip.Height != querytest.MainnetTip || list.Chains[1].Chain != "eth-sim" || list.Chains[1].Tip.Height != w.Tip {
		t.Errorf("chains %+v", list.Chains)
	}
	var tx api.ChainTx
	if code := get("/api/v1/chains/btc/txs/"+querytest.FirstPayment, &tx); code != http.StatusOK || len(tx.Outputs) != 2 || tx.Outputs[0].Address != querytest.Hal {
		t.Errorf("btc tx: %d %+v", code, tx)
	}
	if code := get("/api/v1/chains/eth/txs/"+w.Swap.Hex(), &tx); code != http.StatusOK || tx.Chain != "eth-sim" || len(tx.Transfers) == 0 {
		t.Errorf("eth tx: %d %+v", code, tx)
	}
	var a api.ChainAddress
	if code := get("/api/v1/chains/btc/addresses/"+querytest.MultiInputSpender, &a); code != http.StatusOK || a.Cluster == nil || a.Cluster.Size < 2 {
		t.Errorf("address: %d %+v", code, a)
	}
}
