package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

// addrOf returns the address of id, the zero address for id 0.
func addrOf(t *testing.T, db *store.DB, id uint64) common.Address {
	t.Helper()
	if id == 0 {
		return common.Address{}
	}
	k, err := db.AddrKey(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 20 {
		t.Fatalf("address #%d has a %d-byte key", id, len(k))
	}
	return common.Address(k)
}

type holding struct {
	addr, token common.Address
}

// checkAgainstExtract checks that the store holds every block of raws,
// every transaction, every transfer eth.Extract finds (with the right
// addresses and amounts) and an address index whose per-address, per-token
// net (received - sent) equals what the transfers imply.
func checkAgainstExtract(t *testing.T, db *store.DB, raws []*eth.RawBlock) (txs, transfers int) {
	t.Helper()
	ctx := context.Background()
	want := map[holding]*big.Int{}
	add := func(a, tok common.Address, amt *big.Int, sign int) {
		if a == (common.Address{}) {
			return
		}
		k := holding{a, tok}
		if want[k] == nil {
			want[k] = new(big.Int)
		}
		if sign > 0 {
			want[k].Add(want[k], amt)
		} else {
			want[k].Sub(want[k], amt)
		}
	}
	for _, raw := range raws {
		b, err := eth.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		trs, _ := eth.Extract(b)
		rec, err := db.EthBlockByHeight(ctx, raw.Number)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Hash != b.Hash || rec.Parent != b.Header.ParentHash || int(rec.TxCount) != len(b.Txs) ||
			int(rec.Withdrawals) != len(b.Withdrawals) || rec.Time != b.Header.Time || rec.Miner != b.Header.Coinbase {
			t.Fatalf("block %d record %+v does not match the block", raw.Number, rec)
		}
		if byHash, err := db.EthBlockByHash(ctx, b.Hash); err != nil || byHash != rec {
			t.Fatalf("block %d by hash: %+v %v", raw.Number, byHash, err)
		}
		txs += len(b.Txs)
		transfers += len(trs)
		got := map[int][]store.EthTransferRec{}
		for i, tx := range b.Txs {
			n, err := db.EthTxNum(ctx, tx.Hash)
			if err != nil {
				t.Fatalf("block %d tx %d: %v", raw.Number, i, err)
			}
			if n != rec.TxNumMin+uint64(i) {
				t.Fatalf("block %d tx %d has txnum %d, block starts at %d", raw.Number, i, n, rec.TxNumMin)
			}
			var r store.EthTxRec
			if err := db.EthTx(ctx, n, &r); err != nil {
				t.Fatal(err)
			}
			if r.Hash != tx.Hash || r.Height != raw.Number || int(r.Index) != i || addrOf(t, db, r.From) != tx.From {
				t.Fatalf("block %d tx %d record %+v", raw.Number, i, r)
			}
			if to := tx.Tx.To(); to != nil && addrOf(t, db, r.To) != *to {
				t.Fatalf("block %d tx %d: to %s, want %s", raw.Number, i, addrOf(t, db, r.To), to)
			}
			if r.Value.String() != tx.Tx.Value().String() || r.GasUsed != tx.Receipt.GasUsed {
				t.Fatalf("block %d tx %d: value %s gas %d", raw.Number, i, r.Value, r.GasUsed)
			}
			got[i] = r.Transfers
		}
		if len(b.Withdrawals) > 0 {
			var r store.EthTxRec
			if err := db.EthTx(ctx, rec.TxNumMin+uint64(len(b.Txs)), &r); err != nil {
				t.Fatal(err)
			}
			if int(r.Index) != len(b.Txs) || r.Hash != ([32]byte{}) {
				t.Fatalf("block %d withdrawals record %+v", raw.Number, r)
			}
			got[-1] = r.Transfers
		}
		seen := map[int]int{}
		for _, tr := range trs {
			k := seen[tr.TxIndex]
			seen[tr.TxIndex]++
			if k >= len(got[tr.TxIndex]) {
				t.Fatalf("block %d tx %d: transfer %d (%s) not stored", raw.Number, tr.TxIndex, k, tr.Kind)
			}
			s := got[tr.TxIndex][k]
			if eth.Kind(s.Kind) != tr.Kind || addrOf(t, db, s.From) != tr.From || addrOf(t, db, s.To) != tr.To ||
				addrOf(t, db, s.Token) != tr.Token || s.Amount != tr.Amount || int(s.LogIndex) != tr.LogIndex ||
				(s.TokenID == nil) != (tr.TokenID == nil) || len(s.TraceAddress) != len(tr.TraceAddress) {
				t.Fatalf("block %d tx %d transfer %d: stored %+v, extracted %+v", raw.Number, tr.TxIndex, k, s, tr)
			}
			amt, _ := new(big.Int).SetString(tr.Amount.String(), 10)
			add(tr.From, tr.Token, amt, -1)
			add(tr.To, tr.Token, amt, +1)
		}
		for i, g := range got {
			if len(g) != seen[i] {
				t.Fatalf("block %d tx %d: %d stored transfers, %d extracted", raw.Number, i, len(g), seen[i])
			}
		}
	}
	// The address index, summed per address and token.
	have := map[holding]*big.Int{}
	err := db.AddrsFrom(ctx, 1, func(id uint64, key []byte) error {
		a := common.Address(key)
		return db.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
			k := holding{a, addrOf(t, db, e.Token)}
			if have[k] == nil {
				have[k] = new(big.Int)
			}
			amt, _ := new(big.Int).SetString(e.Amount.String(), 10)
			if e.Out {
				have[k].Sub(have[k], amt)
			} else {
				have[k].Add(have[k], amt)
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != len(want) {
		t.Fatalf("address index has %d address/token pairs, transfers imply %d", len(have), len(want))
	}
	for k, w := range want {
		if h := have[k]; h == nil || h.Cmp(w) != 0 {
			t.Fatalf("%s token %s: index nets %v, transfers imply %v", k.addr, k.token, h, w)
		}
	}
	return txs, transfers
}

func TestEthIngestRecordedBlocks(t *testing.T) {
	dir := etlStreamDir(t)
	raws := []*eth.RawBlock{recordedBlock(t, dir, 1755634), recordedBlock(t, dir, 1755635)}
	src := newMemEthSource(raws)
	db, st := ingestEth(t, src, ingest.Options{StartHeight: 1755634})
	txs, transfers := checkAgainstExtract(t, db, raws)
	if st.Blocks != 2 || st.Txs != uint64(txs) || st.Height != 1755635 {
		t.Fatalf("status %+v, want 2 blocks and %d txs", st, txs)
	}
	if txs == 0 || transfers == 0 {
		t.Fatalf("recorded blocks hold %d txs and %d transfers", txs, transfers)
	}
	t.Logf("%d txs, %d transfers", txs, transfers)

	// Incremental: one block, then the rest, gives the same store.
	one := openEthStore(t, t.TempDir())
	defer one.Close()
	if _, err := ingest.NewEth(one, src, ingest.Options{StartHeight: 1755634, MaxHeight: 1755634}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := one.Progress(context.Background(), "eth-addrindex"); p.Height != 1755634 {
		t.Fatalf("MaxHeight run stopped at %d", p.Height)
	}
	st2, err := ingest.NewEth(one, src, ingest.Options{}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st2.Blocks != 1 || st2.Starting != 1755634 {
		t.Fatalf("second run status %+v", st2)
	}
	if ethDigest(t, one) != ethDigest(t, db) {
		t.Fatal("incremental ingest differs from one run")
	}
	// Running again is a no-op.
	if st3, err := ingest.NewEth(one, src, ingest.Options{}).Run(context.Background()); err != nil || st3.Blocks != 0 {
		t.Fatalf("third run: %+v %v", st3, err)
	}
	if ethDigest(t, one) != ethDigest(t, db) {
		t.Fatal("no-op run changed the store")
	}
}

// TestEthIngestRecordedLogs ingests block 483920, recorded with the
// receipts (and token logs) of its transactions.
func TestEthIngestRecordedLogs(t *testing.T) {
	raw := recordedBlockFrom(t, etlDataDir(t, "test_export_blocks_job/block_with_logs"),
		etlDataDir(t, "test_export_receipts_job/receipts_with_logs"), 483920)
	db, _ := ingestEth(t, newMemEthSource([]*eth.RawBlock{raw}), ingest.Options{StartHeight: 483920})
	txs, transfers := checkAgainstExtract(t, db, []*eth.RawBlock{raw})
	if txs == 0 || transfers == 0 {
		t.Fatalf("recorded block holds %d txs and %d transfers", txs, transfers)
	}
	t.Logf("%d txs, %d transfers", txs, transfers)
}

func TestEthIngestSynthetic(t *testing.T) {
	raws := synthChain(t, 0, common.Hash{}, 12, synthConfig{txs: 6, logs: 3, seed: 1})
	db, st := ingestEth(t, newMemEthSource(raws), ingest.Options{})
	txs, transfers := checkAgainstExtract(t, db, raws)
	if st.Txs != uint64(txs) || txs != 72 {
		t.Fatalf("status %+v, %d txs", st, txs)
	}
	// 6 txs × (native + 3 tokens + burnt + tip) per block, plus withdrawals.
	if want := 12*6*6 + 4*2; transfers != want {
		t.Fatalf("%d transfers, want %d", transfers, want)
	}
	// Tiny batches (a background commit after every block) and block-by-
	// block runs give the same store.
	small, _ := ingestEth(t, newMemEthSource(raws), ingest.Options{BatchBytes: 1})
	if ethDigest(t, small) != ethDigest(t, db) {
		t.Fatal("tiny batches give a different store")
	}
	steps := openEthStore(t, t.TempDir())
	defer steps.Close()
	for h := range uint64(12) {
		// MaxHeight 0 means no limit, so the first step covers genesis
		// through a positive height.
		if h == 0 {
			continue
		}
		if _, err := ingest.NewEth(steps, newMemEthSource(raws), ingest.Options{MaxHeight: h}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if ethDigest(t, steps) != ethDigest(t, db) {
		t.Fatal("block-by-block runs give a different store")
	}
}

func TestEthReorgEqualsFreshIngest(t *testing.T) {
	ctx := context.Background()
	cfg := synthConfig{txs: 4, logs: 2, seed: 1}
	a := synthChain(t, 0, common.Hash{}, 10, cfg)
	cfg.seed = 2
	fork := common.HexToHash(a[5].Hash)
	b := append(append([]*eth.RawBlock{}, a[:6]...), synthChain(t, 6, fork, 6, cfg)...)
	fresh, _ := ingestEth(t, newMemEthSource(b), ingest.Options{})

	src := newMemEthSource(a)
	db := openEthStore(t, t.TempDir())
	defer db.Close()
	if _, err := ingest.NewEth(db, src, ingest.Options{}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	src.set(b)
	st, err := ingest.NewEth(db, src, ingest.Options{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unwound != 4 || st.Blocks != 6 || st.Height != 11 {
		t.Fatalf("status %+v, want 4 unwound and 6 applied", st)
	}
	if ethDigest(t, db) != ethDigest(t, fresh) {
		t.Fatal("reorganised store differs from a fresh ingest of the new branch")
	}
	checkAgainstExtract(t, db, b)

	// Back to a (shorter) branch, with the switch happening between the
	// ingester's reconcile and its block fetch: the parent check catches it
	// and the run reconciles again.
	cfg.seed = 3
	a2 := append(append([]*eth.RawBlock{}, a...), synthChain(t, 10, common.HexToHash(a[9].Hash), 3, cfg)...)
	freshA, _ := ingestEth(t, newMemEthSource(a2), ingest.Options{})
	// The source reports b with one more block, and switches to a2 when
	// the ingester fetches that block.
	c := append(append([]*eth.RawBlock{}, b...), synthChain(t, 12, common.HexToHash(b[11].Hash), 1, cfg)...)
	src.set(c)
	src.mu.Lock()
	src.pending = a2
	src.mu.Unlock()
	st, err = ingest.NewEth(db, src, ingest.Options{}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unwound != 6 || st.Height != 12 {
		t.Fatalf("status %+v, want 6 unwound and height 12", st)
	}
	if ethDigest(t, db) != ethDigest(t, freshA) {
		t.Fatal("store after a mid-run reorg differs from a fresh ingest")
	}
}

func TestEthReorgBelowStartRejected(t *testing.T) {
	a := synthChain(t, 100, common.Hash{1}, 3, synthConfig{txs: 1, logs: 1, seed: 1})
	b := synthChain(t, 100, common.Hash{2}, 3, synthConfig{txs: 1, logs: 1, seed: 2})
	db, _ := ingestEth(t, newMemEthSource(a), ingest.Options{StartHeight: 100})
	before := ethDigest(t, db)
	_, err := ingest.NewEth(db, newMemEthSource(b), ingest.Options{}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "first block 100") {
		t.Fatalf("reorg below the start: %v", err)
	}
	if ethDigest(t, db) != before {
		t.Fatal("refused reorg changed the store")
	}
}

func TestEthBadBlockKeepsPrefix(t *testing.T) {
	ctx := context.Background()
	raws := synthChain(t, 0, common.Hash{}, 10, synthConfig{txs: 3, logs: 2, seed: 1})
	prefix, _ := ingestEth(t, newMemEthSource(raws), ingest.Options{MaxHeight: 5})
	full, _ := ingestEth(t, newMemEthSource(raws), ingest.Options{})
	for _, tc := range []struct {
		name    string
		corrupt func(b *eth.RawBlock)
	}{
		{"malformed block JSON", func(b *eth.RawBlock) { b.Block = json.RawMessage(`{"number":`) }},
		{"receipt count", func(b *eth.RawBlock) { b.Receipts = json.RawMessage(`[]`) }},
		{"wrong hash", func(b *eth.RawBlock) { b.Hash = common.Hash{9}.Hex() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := append([]*eth.RawBlock{}, raws...)
			c := *bad[6]
			tc.corrupt(&c)
			bad[6] = &c
			src := newMemEthSource(bad)
			db := openEthStore(t, t.TempDir())
			defer db.Close()
			for _, bb := range []int{0, 1} { // default batches, and a commit per block
				_, err := ingest.NewEth(db, src, ingest.Options{BatchBytes: bb}).Run(ctx)
				if err == nil || !strings.Contains(err.Error(), "block 6") {
					t.Fatalf("error does not name block 6: %v", err)
				}
				if ethDigest(t, db) != ethDigest(t, prefix) {
					t.Fatal("store after the error is not blocks 0..5 exactly")
				}
			}
			src.set(raws)
			if _, err := ingest.NewEth(db, src, ingest.Options{}).Run(ctx); err != nil {
				t.Fatal(err)
			}
			if ethDigest(t, db) != ethDigest(t, full) {
				t.Fatal("resumed store differs from a clean ingest")
			}
		})
	}
}

// failingSource fails Blocks at a height after delivering the ones below.
type failingSource struct {
	*memEthSource
	failAt uint64
}

var errSourceDown = errors.New("source down")

func (s failingSource) Blocks(ctx context.Context, from, to uint64, fn func(*eth.RawBlock) error) error {
	if to >= s.failAt {
		if from < s.failAt {
			if err := s.memEthSource.Blocks(ctx, from, s.failAt-1, fn); err != nil {
				return err
			}
		}
		return errSourceDown
	}
	return s.memEthSource.Blocks(ctx, from, to, fn)
}

func TestEthSourceFailureKeepsPrefix(t *testing.T) {
	raws := synthChain(t, 0, common.Hash{}, 8, synthConfig{txs: 2, logs: 1, seed: 1})
	prefix, _ := ingestEth(t, newMemEthSource(raws), ingest.Options{MaxHeight: 4})
	db := openEthStore(t, t.TempDir())
	defer db.Close()
	_, err := ingest.NewEth(db, failingSource{newMemEthSource(raws), 5}, ingest.Options{}).Run(context.Background())
	if !errors.Is(err, errSourceDown) || !strings.Contains(err.Error(), "block 5") {
		t.Fatalf("source failure: %v", err)
	}
	if ethDigest(t, db) != ethDigest(t, prefix) {
		t.Fatal("store after a source failure is not blocks 0..4 exactly")
	}
}

func TestEthFollow(t *testing.T) {
	raws := synthChain(t, 0, common.Hash{}, 6, synthConfig{txs: 2, logs: 1, seed: 1})
	src := newMemEthSource(raws[:3])
	db := openEthStore(t, t.TempDir())
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	grown := false
	opts := ingest.Options{Follow: true, PollInterval: 5 * time.Millisecond, Progress: func(s ingest.Status) {
		if s.Height == 2 && !grown {
			grown = true
			src.set(raws)
		}
		if s.Height == 5 {
			cancel()
		}
	}}
	go func() {
		_, err := ingest.NewEth(db, src, opts).Run(ctx)
		done <- err
	}()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	full, _ := ingestEth(t, newMemEthSource(raws), ingest.Options{})
	if ethDigest(t, db) != ethDigest(t, full) {
		t.Fatal("followed store differs from one run")
	}
}
