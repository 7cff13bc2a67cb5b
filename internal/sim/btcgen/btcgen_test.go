package btcgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// smallConfig is the chain most tests generate: 200 blocks, the last 100
// of which carry transactions, with stale branches.
func smallConfig() Config {
	return Config{Seed: 7, Blocks: 200, TxPerBlock: 120, Users: 800, StaleEvery: 25, StaleDepth: 2}
}

func generate(t *testing.T, cfg Config) (string, *Result) {
	t.Helper()
	dir := t.TempDir()
	res, err := Generate(context.Background(), dir, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

// hashDir returns the SHA-256 of dir's files, names included.
func hashDir(t *testing.T, dir string) [32]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(filepath.Base(n)))
		h.Write(data)
	}
	return [32]byte(h.Sum(nil))
}

func TestValidChain(t *testing.T) {
	cfg := smallConfig()
	dir, res := generate(t, cfg)
	st := checkChain(t, dir, &chaincfg.RegressionNetParams, res)
	t.Logf("%d txs, %d inputs, %d outputs, %d bytes, %d stale; spends %v; by class %v",
		res.Txs, res.Inputs, res.Outputs, res.Bytes, res.StaleBlocks, st.spendKinds, res.ByClass)

	if res.Height != cfg.Blocks || len(res.Hashes) != cfg.Blocks+1 {
		t.Errorf("tip height %d, want %d", res.Height, cfg.Blocks)
	}
	// 100 blocks of transactions at ~120 each, less what the first blocks
	// after maturity lack the coins for.
	if res.Txs < 8000 {
		t.Errorf("only %d transactions", res.Txs)
	}
	want := 0 // Branches start at multiples of StaleEvery and end below the tip.
	for h := cfg.StaleEvery; h+cfg.StaleDepth-1 < cfg.Blocks; h += cfg.StaleEvery {
		want += cfg.StaleDepth
	}
	if res.StaleBlocks != want {
		t.Errorf("%d stale blocks, want %d", res.StaleBlocks, want)
	}
	for i, r := range res.Records {
		// A stale block sits right next to the main block of its height.
		if r.Stale && !(i > 0 && !res.Records[i-1].Stale && res.Records[i-1].Height == r.Height ||
			i+1 < len(res.Records) && !res.Records[i+1].Stale && res.Records[i+1].Height == r.Height) {
			t.Errorf("stale block at height %d written at record %d, away from its rival", r.Height, i)
		}
	}
	for _, k := range []string{"p2pkh", "p2wpkh", "p2sh-p2wpkh", "p2sh-multisig", "p2wsh", "p2tr"} {
		if st.spendKinds[k] == 0 {
			t.Errorf("no %s spend", k)
		}
	}
	for _, c := range []Class{P2PKH, P2SH, P2WPKH, P2WSH, P2TR, NullData} {
		if res.ByClass[c] == 0 {
			t.Errorf("no %v output", c)
		}
	}
	nonCoinbase := res.Txs - int64(cfg.Blocks) - 1
	switch {
	case st.maxIns < 10:
		t.Errorf("no consolidation: at most %d inputs", st.maxIns)
	case st.maxOuts < 10:
		t.Errorf("no batch payout: at most %d outputs", st.maxOuts)
	case float64(st.smallTxs) < 0.8*float64(nonCoinbase):
		t.Errorf("only %d of %d transactions have 1-3 inputs", st.smallTxs, nonCoinbase)
	case res.ChainedSpends == 0 || st.coinbaseSpends == 0 || st.reused == 0:
		t.Errorf("chained spends %d, coinbase spends %d, reused scripts %d", res.ChainedSpends, st.coinbaseSpends, st.reused)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := smallConfig()
	cfg.Blocks = 130
	dirA, resA := generate(t, cfg)
	dirB, resB := generate(t, cfg)
	if hashDir(t, dirA) != hashDir(t, dirB) || !reflect.DeepEqual(resA, resB) {
		t.Fatal("two runs with the same seed differ")
	}
	cfg.Seed++
	dirC, resC := generate(t, cfg)
	if hashDir(t, dirA) == hashDir(t, dirC) || resA.Tip == resC.Tip {
		t.Fatal("a different seed gave the same chain")
	}
}

func TestXOR(t *testing.T) {
	cfg := smallConfig()
	cfg.Blocks, cfg.FileSize = 130, 200_000
	plainDir, plain := generate(t, cfg)
	key := [8]byte{0x5e, 0x01, 0xa7, 0x33, 0x00, 0xff, 0x12, 0x9c}
	cfg.XORKey = &key
	xorDir, obf := generate(t, cfg)
	if !reflect.DeepEqual(plain, obf) {
		t.Fatal("obfuscation changed the chain")
	}
	if k, err := os.ReadFile(filepath.Join(xorDir, "xor.dat")); err != nil || !bytes.Equal(k, key[:]) {
		t.Fatalf("xor.dat = %x, %v", k, err)
	}
	if plain.Files < 2 {
		t.Fatalf("want several files, got %d", plain.Files)
	}
	for n := range plain.Files {
		name := blkName(n)
		a, _ := os.ReadFile(filepath.Join(plainDir, name))
		b, _ := os.ReadFile(filepath.Join(xorDir, name))
		if bytes.Equal(a, b) {
			t.Fatalf("%s is not obfuscated", name)
		}
		XOR(b, key, 0)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s does not deobfuscate to the plain file", name)
		}
	}
	checkChain(t, xorDir, &chaincfg.RegressionNetParams, obf)
}

func blkName(n int) string { return fmt.Sprintf("blk%05d.dat", n) }

func TestXORFunc(t *testing.T) {
	key := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	for off := int64(0); off < 20; off++ {
		for n := range 30 {
			data := bytes.Repeat([]byte{0xaa}, n)
			XOR(data, key, off)
			for i, b := range data {
				if b != 0xaa^key[(off+int64(i))%8] {
					t.Fatalf("offset %d len %d: byte %d = %x", off, n, i, b)
				}
			}
		}
	}
}

func TestFilesAndPrealloc(t *testing.T) {
	cfg := smallConfig()
	cfg.Blocks, cfg.FileSize, cfg.Prealloc = 130, 150_000, true
	cfg.XORKey = &[8]byte{9, 8, 7, 6, 5, 4, 3, 2}
	dir, res := generate(t, cfg)
	checkChain(t, dir, &chaincfg.RegressionNetParams, res)
	var total int64
	for n := range res.Files {
		fi, err := os.Stat(filepath.Join(dir, blkName(n)))
		if err != nil {
			t.Fatal(err)
		}
		size, last := fi.Size(), n == res.Files-1
		var used int64
		for _, r := range res.Records {
			if r.File == n {
				used = r.Offset + int64(r.Size)
			}
		}
		total += used
		switch {
		case !last && size != used, last && size%cfg.FileSize != 0, size > cfg.FileSize:
			t.Fatalf("blk%05d.dat is %d bytes, records end at %d", n, size, used)
		}
	}
	if total != res.Bytes {
		t.Fatalf("files hold %d bytes of records, Result says %d", total, res.Bytes)
	}
}

func TestShuffle(t *testing.T) {
	cfg := smallConfig()
	cfg.Blocks, cfg.ShuffleWindow = 130, 16
	dir, res := generate(t, cfg)
	checkChain(t, dir, &chaincfg.RegressionNetParams, res)
	heights := make([]int, len(res.Records))
	for i, r := range res.Records {
		heights[i] = r.Height
	}
	if slices.IsSorted(heights) || heights[0] != 0 {
		t.Fatalf("heights in file order %v", heights)
	}
	for i, h := range heights {
		if d := i - h; d > cfg.ShuffleWindow+res.StaleBlocks || -d > cfg.ShuffleWindow {
			t.Fatalf("block %d written at position %d", h, i)
		}
	}
}

func TestMinTxsAndProgress(t *testing.T) {
	cfg := Config{Seed: 3, TxPerBlock: 300, MinTxs: 5000, Users: 500, StaleEvery: 7}
	var calls, lastBlocks, lastTxs int
	dir := t.TempDir()
	res, err := Generate(context.Background(), dir, cfg, func(blocks, txs int) {
		if blocks != lastBlocks+1 || txs < lastTxs {
			t.Fatalf("progress(%d, %d) after (%d, %d)", blocks, txs, lastBlocks, lastTxs)
		}
		calls, lastBlocks, lastTxs = calls+1, blocks, txs
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Txs < cfg.MinTxs || lastBlocks != res.Height+1 || lastTxs != int(res.Txs) {
		t.Fatalf("%d txs at height %d; last progress (%d, %d)", res.Txs, res.Height, lastBlocks, lastTxs)
	}
	checkChain(t, dir, &chaincfg.RegressionNetParams, res)
}

func TestMainnetSkipPoW(t *testing.T) {
	cfg := Config{Seed: 1, Net: &chaincfg.MainNetParams, Blocks: 3}
	if _, err := Generate(context.Background(), t.TempDir(), cfg, nil); err == nil || !strings.Contains(err.Error(), "SkipPoW") {
		t.Fatalf("mainnet without SkipPoW: %v", err)
	}
	cfg.SkipPoW = true
	dir, res := generate(t, cfg)
	recs := readRecords(t, dir, wire.MainNet)
	if len(recs) != 4 || res.Hashes[0] != *chaincfg.MainNetParams.GenesisHash {
		t.Fatalf("%d records, genesis %v", len(recs), res.Hashes[0])
	}
	var buf bytes.Buffer
	if err := WriteRecords(&buf, wire.MainNet, chaincfg.MainNetParams.GenesisBlock); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(filepath.Join(dir, blkName(0)))
	if !bytes.HasPrefix(file, buf.Bytes()) || !bytes.HasPrefix(file, []byte{0xf9, 0xbe, 0xb4, 0xd9}) {
		t.Fatal("WriteRecords and Generate disagree on the genesis record")
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(context.Background(), dir, Config{Blocks: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), dir, Config{Blocks: 1}, nil); err == nil {
		t.Fatal("overwrote existing block files")
	}
	if _, err := Generate(context.Background(), t.TempDir(), Config{Blocks: -1}, nil); err == nil {
		t.Fatal("accepted negative Blocks")
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Generate(ctx, t.TempDir(), smallConfig(), func(blocks, _ int) {
		if blocks == 50 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run returned %v", err)
	}
}

func TestTinyPopulation(t *testing.T) {
	cfg := Config{Seed: 5, Blocks: 130, TxPerBlock: 60, Users: 10, StaleEvery: 9}
	dir, res := generate(t, cfg)
	checkChain(t, dir, &chaincfg.RegressionNetParams, res)
	if res.Txs < 1000 {
		t.Fatalf("ten wallets made only %d transactions", res.Txs)
	}
	if _, err := Generate(context.Background(), t.TempDir(), Config{Users: 9}, nil); err == nil {
		t.Fatal("accepted nine wallets")
	}
}

func TestFullBlocks(t *testing.T) {
	cfg := Config{Seed: 11, Blocks: 106, TxPerBlock: 8000, Users: 3000}
	dir, res := generate(t, cfg)
	checkChain(t, dir, &chaincfg.RegressionNetParams, res) // Checks weight and sigops.
	var biggest int
	for _, r := range res.Records {
		biggest = max(biggest, r.Size)
	}
	if biggest < 1_000_000 {
		t.Fatalf("largest block %d bytes: blocks are not filling up", biggest)
	}
}
