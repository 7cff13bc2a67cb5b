// Package querytest builds small real chain stores for the tests of the
// look-ups and of what serves them (package api): Bitcoin mainnet's first
// blocks from the btcd module's test data, and a simulated EVM chain
// written by sim/ethw and imported through the ethereum-etl path, each by
// the real ingesters into a data directory laid out as chaintrace's own.
package querytest

import (
	"context"
	"math/big"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/blkfile"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/ethereum/go-ethereum/common"
)

// MainnetTip is the height BTC ingests Bitcoin mainnet to: past the first
// payment (block 170, Satoshi to Hal Finney) and the first multi-input
// transactions (block 546), with those of block 586 five blocks below the
// tip, short of six confirmations.
const MainnetTip = 590

// Famous mainnet objects of the first blocks, for tests to look up.
const (
	// Satoshi is the address of block 9's coinbase, which paid Hal
	// Finney in block 170.
	Satoshi = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
	// Hal is Hal Finney's address, the payee of the first payment.
	Hal = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
	// FirstPayment is the transaction of block 170.
	FirstPayment = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	// MultiInput is a two-input transaction of block 546, whose inputs
	// the clustering stage joins.
	MultiInput = "28204cad1d7fc1d199e8ef4fa22f182de6258a3eaafe1bbe56ebdcacd3069a5f"
	// MultiInputSpender is the first input's address of MultiInput.
	MultiInputSpender = "1DZTzaBHUDM7T3QvUKBz4qXMRpkg8jsfB5"
	// Shallow is a transaction of block 586, below six confirmations
	// at MainnetTip.
	Shallow = "4d6edbeb62735d45ff1565385a8b0045f066055c9425e21540ea7a8060f08bf2"
)

// BTC ingests Bitcoin mainnet blocks 0 to MainnetTip into the btc-mainnet
// store under data, which it closes before returning. It skips the test
// when the btcd module's test data is not available.
func BTC(t testing.TB, data string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil || len(out) == 0 {
		t.Skipf("btcd module not available: %v", err)
	}
	ctx := context.Background()
	src, err := blkfile.Open(ctx, filepath.Join(strings.TrimSpace(string(out)), "blockchain", "testdata", "blk_0_to_14131.dat"), wire.MainNet)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	db, err := store.Open(ctx, workspace.BTCStoreDir(data, "mainnet"), store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.NewBTC(db, src, ingest.Options{MaxHeight: MainnetTip}).Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// ETHWorld names what ETH's chain holds.
type ETHWorld struct {
	// Alice, Bob and Carol are externally owned accounts; Pool is a
	// contract; USDT is a token with 6 decimals.
	Alice, Bob, Carol, Pool, USDT common.Address
	// Send is Alice's payment of 1.5 ETH to Bob (block 2), Token Bob's
	// USDT transfer to Carol (block 2), Swap Carol's call to the pool,
	// which pays her 0.25 ETH back internally for 500 USDT (block 3);
	// Recent is Bob's payment of 0.1 ETH to Carol in the tip block.
	Send, Token, Swap, Recent common.Hash
	// Tip is the last block's number.
	Tip uint64
}

// ETHNetwork is the network name of ETH's store (chain id eth-sim).
const ETHNetwork = "sim"

// ETH writes a small simulated EVM chain and imports it into the eth-sim
// store under data through the ethereum-etl import: a send, a token
// transfer and a swap with an internal transfer, then empty blocks so
// that those are deep, and one recent payment at the tip.
func ETH(t testing.TB, data string) ETHWorld {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	c, err := ethw.New(dir, ethw.Config{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	eth := func(milli int64) *big.Int {
		return new(big.Int).Mul(big.NewInt(milli), big.NewInt(1_000_000_000_000_000))
	}
	var w ETHWorld
	w.Alice, w.Bob, w.Carol = c.NewAddr(), c.NewAddr(), c.NewAddr()
	miner := c.NewAddr()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	mine := func() {
		t.Helper()
		now = now.Add(12 * time.Second)
		if _, err := c.Mine(ctx, now, miner); err != nil {
			t.Fatal(err)
		}
	}
	must := func(h common.Hash, err error) common.Hash {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, a := range []common.Address{w.Alice, w.Bob, w.Carol} {
		c.Withdraw(a, 5_000_000_000) // 5 ETH
	}
	w.USDT = c.DeployToken("USDT", "Tether USD", 6)
	w.Pool = c.NewContract("swap pool")
	mine()
	must(c.Mint(w.USDT, w.Bob, big.NewInt(2_000_000_000)))
	must(c.Call(w.Alice, w.Pool, eth(1000), nil, 0))
	mine()
	w.Send = must(c.Send(w.Alice, w.Bob, eth(1500)))
	w.Token = must(c.TokenTransfer(w.Bob, w.USDT, w.Carol, big.NewInt(750_000_000)))
	mine()
	w.Swap = must(c.Call(w.Carol, w.Pool, nil, []ethw.Effect{
		{Token: w.USDT, From: w.Carol, To: w.Pool, Amount: big.NewInt(500_000_000)},
		{From: w.Pool, To: w.Carol, Amount: eth(250)},
	}, 130_000))
	mine()
	for range 8 {
		mine()
	}
	w.Recent = must(c.Send(w.Bob, w.Carol, eth(100)))
	mine()
	w.Tip = c.Height()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := workspace.IngestETL(ctx, data, dir, ETHNetwork, workspace.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	return w
}
