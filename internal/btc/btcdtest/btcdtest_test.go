package btcdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/btc/rpc"
)

// syncBuffer is a log sink safe for the client's concurrent goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newClient returns an rpc.Client for n with small windows, so a few hundred
// blocks exercise batching, pipelining and ordering, and a captured log.
func newClient(t *testing.T, n *Node) (*rpc.Client, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	c, err := rpc.New(rpc.Config{URL: n.URL(), Concurrency: 2, BatchSize: 16, BlockBatchSize: 2,
		Timeout: 30 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, logs
}

// fetchAll runs Blocks over [from, to] and returns hashes and decoded blocks.
func fetchAll(ctx context.Context, t *testing.T, c *rpc.Client, from, to uint64) ([]chainhash.Hash, []*wire.MsgBlock) {
	t.Helper()
	var hashes []chainhash.Hash
	var blocks []*wire.MsgBlock
	err := c.Blocks(ctx, from, to, func(h uint64, hash chainhash.Hash, raw []byte) error {
		if want := from + uint64(len(hashes)); h != want {
			t.Fatalf("got height %d, want %d", h, want)
		}
		var blk wire.MsgBlock
		if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		if blk.BlockHash() != hash {
			t.Fatalf("height %d: block hashes to %s, delivered as %s", h, blk.BlockHash(), hash)
		}
		hashes = append(hashes, hash)
		blocks = append(blocks, &blk)
		return nil
	})
	if err != nil {
		t.Fatalf("Blocks(%d, %d): %v", from, to, err)
	}
	return hashes, blocks
}

func mustPay(t *testing.T, addr btcutil.Address, amount btcutil.Amount) *wire.TxOut {
	t.Helper()
	out, err := PayTo(addr, amount)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustAddr(t *testing.T, w *Wallet, kind AddressKind) btcutil.Address {
	t.Helper()
	a, err := w.NewAddress(kind)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func containsTx(blk *wire.MsgBlock, txid chainhash.Hash) bool {
	return slices.ContainsFunc(blk.Transactions, func(tx *wire.MsgTx) bool { return tx.TxHash() == txid })
}

// TestSpendsAndClient mines past segwit activation, sends a legacy spend
// with every output type and then a segwit spend, and checks that the rpc
// client sees the tip and fetches every block intact.
func TestSpendsAndClient(t *testing.T) {
	ctx := t.Context()
	n := MustStart(ctx, t, Options{})
	began := time.Now()
	if err := n.ActivateSegwit(ctx); err != nil {
		t.Fatal(err)
	}
	w := n.Wallet()
	p2pkh, p2wpkh := mustAddr(t, w, P2PKH), mustAddr(t, w, P2WPKH)
	opReturn, err := OpReturn([]byte("chaintrace test"))
	if err != nil {
		t.Fatal(err)
	}
	outs := []*wire.TxOut{
		mustPay(t, p2pkh, btcutil.SatoshiPerBitcoin),
		mustPay(t, p2wpkh, 2*btcutil.SatoshiPerBitcoin),
		opReturn,
		mustPay(t, mustAddr(t, w, P2SH), 10_000_000),
		mustPay(t, mustAddr(t, w, P2WSH), 10_000_000),
		mustPay(t, mustAddr(t, w, P2TR), 10_000_000),
	}
	tx1, err := w.Send(ctx, outs...)
	if err != nil {
		t.Fatalf("legacy spend: %v", err)
	}
	if len(tx1.TxOut) != len(outs)+1 {
		t.Errorf("legacy spend has %d outputs, want %d plus change", len(tx1.TxOut), len(outs))
	}
	mined1, err := n.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}

	// Spend the P2PKH, P2WPKH and change outputs of tx1 together.
	coins, err := w.Coins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []Coin
	for _, c := range coins {
		if c.OutPoint.Hash == tx1.TxHash() {
			inputs = append(inputs, c)
		}
	}
	if len(inputs) != 3 {
		t.Fatalf("wallet sees %d coins from tx1, want 3 (P2PKH, P2WPKH, change)", len(inputs))
	}
	tx2, err := w.Spend(ctx, inputs, mustPay(t, mustAddr(t, w, P2PKH), btcutil.SatoshiPerBitcoin/2))
	if err != nil {
		t.Fatalf("segwit spend: %v", err)
	}
	if !tx2.HasWitness() {
		t.Error("spend of P2WPKH inputs has no witness")
	}
	mined2, err := n.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}

	c, logs := newClient(t, n)
	tip, tipHash, err := c.Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	var best string
	if raw, err := n.RPC(ctx, "getblockcount"); err != nil || json.Unmarshal(raw, &count) != nil {
		t.Fatalf("getblockcount: %s %v", raw, err)
	}
	if raw, err := n.RPC(ctx, "getbestblockhash"); err != nil || json.Unmarshal(raw, &best) != nil {
		t.Fatalf("getbestblockhash: %s %v", raw, err)
	}
	t.Logf("mined %d blocks and two spends in %v", tip, time.Since(began))
	if tip != count || tipHash.String() != best || tipHash != mined2[0] {
		t.Errorf("Tip = %d %s; node says %d %s", tip, tipHash, count, best)
	}

	fetchStart := time.Now()
	hashes, blocks := fetchAll(ctx, t, c, 0, tip)
	t.Logf("fetched %d blocks in %v", len(blocks), time.Since(fetchStart))
	if uint64(len(hashes)) != tip+1 {
		t.Fatalf("fetched %d blocks, want %d", len(hashes), tip+1)
	}
	for _, h := range []uint64{0, 1, tip / 2, tip - 1, tip} {
		got, err := c.HashAt(ctx, h)
		if err != nil || got != hashes[h] {
			t.Errorf("HashAt(%d) = %s, %v; Blocks gave %s", h, got, err, hashes[h])
		}
	}
	if hashes[0] != *n.Params.GenesisHash {
		t.Errorf("block 0 is %s, want the simnet genesis %s", hashes[0], n.Params.GenesisHash)
	}
	if hashes[tip-1] != mined1[0] || !containsTx(blocks[tip-1], tx1.TxHash()) || !containsTx(blocks[tip], tx2.TxHash()) {
		t.Error("the two spends are not in the last two blocks")
	}
	if _, err := c.HashAt(ctx, tip+1); !errors.Is(err, btc.ErrNotFound) {
		t.Errorf("HashAt(tip+1) = %v, want btc.ErrNotFound", err)
	}
	if strings.Contains(logs.String(), "does not support") || strings.Contains(logs.String(), "verbose=false") {
		t.Errorf("btcd v0.24.2 supports batches and integer verbosity, but the client fell back:\n%s", logs)
	}
	var classes []string
	for _, o := range tx1.TxOut {
		classes = append(classes, txscript.GetScriptClass(o.PkScript).String())
	}
	t.Logf("legacy spend output classes: %v", classes)
}

// TestReorgInvalidateBlock reorganises one node with invalidateblock and
// checks Tip, HashAt and Blocks follow, and that a switch of branch during
// Blocks is reported as btc.ErrReorg.
func TestReorgInvalidateBlock(t *testing.T) {
	ctx := t.Context()
	n := MustStart(ctx, t, Options{})
	if _, err := n.Generate(ctx, 110); err != nil {
		t.Fatal(err)
	}
	tx, err := n.Wallet().Send(ctx, mustPay(t, mustAddr(t, n.Wallet(), P2PKH), 5*btcutil.SatoshiPerBitcoin))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, n)
	oldTip, _, err := c.Tip(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Replace the top 3 blocks (the last holds tx) with 5 new ones.
	detached, attached, err := n.Reorg(ctx, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	fork := oldTip - 2
	tip, tipHash, err := c.Tip(ctx)
	if err != nil || tip != oldTip+2 || tipHash != attached[4] {
		t.Fatalf("after Reorg: Tip = %d %s, %v; want %d %s", tip, tipHash, err, oldTip+2, attached[4])
	}
	if h, err := c.HashAt(ctx, fork); err != nil || h != attached[0] || h == detached[0] {
		t.Errorf("HashAt(fork) = %s, %v; want the new %s", h, err, attached[0])
	}
	hashes, blocks := fetchAll(ctx, t, c, fork-1, tip)
	if !slices.Equal(hashes[1:], attached) {
		t.Errorf("Blocks after reorg = %v, want %v", hashes[1:], attached)
	}
	if !slices.ContainsFunc(blocks[1:], func(b *wire.MsgBlock) bool { return containsTx(b, tx.TxHash()) }) {
		t.Error("the transaction from the detached branch was not mined again")
	}

	// The old branch becomes valid again but has less work: no switch.
	if err := n.ReconsiderBlock(ctx, detached[0]); err != nil {
		t.Fatal(err)
	}
	if _, h, err := c.Tip(ctx); err != nil || h != attached[4] {
		t.Fatalf("after reconsiderblock the tip moved to %s, %v", h, err)
	}

	// Switch back to the old branch while Blocks runs. With windows of
	// BlockBatchSize*Concurrency = 4 blocks, [fork-3, fork+2] puts the fork
	// at the last height of the first window: the block delivered there is
	// replaced, so the rest of the run must notice.
	var switched bool
	err = c.Blocks(ctx, fork-3, fork+2, func(h uint64, _ chainhash.Hash, _ []byte) error {
		if h == fork && !switched {
			switched = true
			return n.InvalidateBlock(ctx, attached[0])
		}
		return nil
	})
	switch {
	case errors.Is(err, btc.ErrReorg):
		t.Logf("branch switch during Blocks: %v", err)
	case errors.Is(err, btc.ErrNotFound):
		// Listing can land inside the node's own reorganisation, when its
		// chain is briefly shorter; that is reported as not found.
		t.Logf("branch switch during Blocks caught mid-reorganisation: %v", err)
	default:
		t.Fatalf("Blocks across a branch switch returned %v, want btc.ErrReorg", err)
	}
	hashes, _ = fetchAll(ctx, t, c, fork, oldTip)
	if !slices.Equal(hashes, detached) {
		t.Errorf("after switching back, Blocks = %v, want the old branch %v", hashes, detached)
	}
	if tip, h, err := c.Tip(ctx); err != nil || tip != oldTip || h != detached[2] {
		t.Errorf("after switching back, Tip = %d %s, %v", tip, h, err)
	}
}

// TestTwoNodeReorg builds competing branches on two connected nodes, the
// way a reorganisation happens on a real network, and checks that the node
// with the shorter branch switches to the longer one after reconnecting.
func TestTwoNodeReorg(t *testing.T) {
	ctx := t.Context()
	began := time.Now()
	step := func(what string) { t.Logf("%-28s at %v", what, time.Since(began).Round(time.Millisecond)) }
	a := MustStart(ctx, t, Options{})
	b := MustStart(ctx, t, Options{Peers: []string{a.P2PAddr}})
	step("started two nodes")
	common, err := a.Generate(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WaitForTip(ctx, common[4], 20*time.Second); err != nil {
		t.Fatalf("b did not sync a's blocks: %v", err)
	}
	step("b synced")
	if err := b.Disconnect(ctx, a); err != nil {
		t.Fatal(err)
	}
	step("disconnected")
	short, err := a.Generate(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	long, err := b.Generate(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitForTip(ctx, long[3], 20*time.Second); err != nil {
		t.Fatalf("a did not switch to b's longer branch: %v", err)
	}
	step("a switched branch")
	c, _ := newClient(t, a)
	if h, err := c.HashAt(ctx, 6); err != nil || h != long[0] || h == short[0] {
		t.Errorf("a's HashAt(6) = %s, %v; want b's %s", h, err, long[0])
	}
	hashes, _ := fetchAll(ctx, t, c, 6, 9)
	if !slices.Equal(hashes, long) {
		t.Errorf("a's Blocks(6, 9) = %v, want %v", hashes, long)
	}
}
