package etl

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
)

// TestTokensFile checks that a tokens file answers eth.FetchTokenMeta as a
// node would: the file's symbol, name and decimals, unset fields for a
// token it lacks or a column left empty, and no error either way.
func TestTokensFile(t *testing.T) {
	dir := writeExport(t, "")
	tokens := "address,symbol,name,decimals,total_supply,block_number\n" +
		c1 + ",USDT,\"Tether, USD\",6,1000,100\n" +
		c2 + ",ODD,,,0,101\n"
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !src.HasTokens() {
		t.Fatal("tokens file not seen")
	}
	ctx := context.Background()
	cases := map[string]eth.TokenMeta{
		c1: {Symbol: "USDT", Name: "Tether, USD", Decimals: 6, HasSymbol: true, HasName: true, HasDecimals: true},
		c2: {Symbol: "ODD", HasSymbol: true},
		a1: {},
	}
	for addr, want := range cases {
		got, err := eth.FetchTokenMeta(ctx, src, common.HexToAddress(addr), "latest")
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if got != want {
			t.Errorf("%s: %+v, want %+v", addr, got, want)
		}
	}
	if _, err := src.Call(ctx, "eth_getBalance", a1, "latest"); err == nil {
		t.Error("an export answered eth_getBalance")
	}
	plain, err := Open(writeExport(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if plain.HasTokens() {
		t.Error("an export without a tokens file claims tokens")
	}
}
