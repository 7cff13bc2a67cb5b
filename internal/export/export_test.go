package export

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/parquet-go/parquet-go"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.golden")

// fixture is a data directory with mainnet's first blocks, a simulated
// EVM chain and a label database, built once by the real ingesters and
// exported once with default options.
type fixture struct {
	data, out string
	world     querytest.ETHWorld
	sum       Summary
	err       error
}

var (
	fixOnce sync.Once
	fix     fixture
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fix.data != "" {
		_ = os.RemoveAll(filepath.Dir(fix.data))
	}
	os.Exit(code)
}

// built returns the shared fixture, building it on first use.
func built(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		root, err := os.MkdirTemp("", "export-test-")
		if err != nil {
			fix.err = err
			return
		}
		fix.data, fix.out = filepath.Join(root, "data"), filepath.Join(root, "out")
		querytest.BTC(t, fix.data)
		fix.world = querytest.ETH(t, fix.data)
		fix.err = applyLabels(context.Background(), fix.data, fix.world)
		if fix.err == nil {
			fix.sum, fix.err = Run(context.Background(), fix.data, fix.out, Options{})
		}
	})
	if fix.err != nil {
		t.Fatal(fix.err)
	}
	if fix.out == "" || len(fix.sum.Tables) == 0 {
		t.Skip("fixture not built (btcd test data missing)")
	}
	return &fix
}

// applyLabels imports a dataset labelling Hal Finney and Bob, with an
// actor, then re-imports it without Bob's label, which retires it.
func applyLabels(ctx context.Context, data string, w querytest.ETHWorld) error {
	st, err := labels.Open(ctx, workspace.LabelsDir(data))
	if err != nil {
		return err
	}
	defer st.Close()
	d := labels.Dataset{Name: "test:people", Format: "test",
		Labels: []labels.Label{
			{Chain: "btc", Address: querytest.Hal, Label: "Hal Finney", Category: "user", Actor: "hal",
				Confidence: "ownership", ConfidenceLevel: 100, Source: "https://example.org/hal", Dataset: "test:people"},
			{Chain: "eth", Address: w.Bob.Hex(), Label: "Bob", Category: "exchange", Confidence: "web_crawl",
				ConfidenceLevel: 30, Source: "test", Dataset: "test:people"},
		},
		Actors: []labels.Actor{{ID: "hal", Label: "Hal Finney", Aliases: []string{"halfin"}, Dataset: "test:people"}},
	}
	if _, err := st.Apply(ctx, d); err != nil {
		return err
	}
	d.Labels = d.Labels[:1]
	_, err = st.Apply(ctx, d)
	return err
}

// readAll reads every part file of a table directory back in order.
func readAll[T any](t testing.TB, dir string) []T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no part files in %s (%v)", dir, err)
	}
	var out []T
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}

func stat(t *testing.T, s Summary, chain, table string) TableStats {
	t.Helper()
	for _, ts := range s.Tables {
		if ts.Chain == chain && ts.Name == table {
			return ts
		}
	}
	t.Fatalf("no table %s/%s in the summary", chain, table)
	return TableStats{}
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.ChainMeta{}, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestBTCAgainstStore checks the Bitcoin tables against the store: row
// counts, value sums, fees balancing inputs and outputs, and every
// transaction's rows against the query package's reading of it.
func TestBTCAgainstStore(t *testing.T) {
	f := built(t)
	ctx := context.Background()
	out := filepath.Join(f.out, "btc")
	blocks := readAll[BTCBlock](t, filepath.Join(out, "blocks"))
	txs := readAll[BTCTransaction](t, filepath.Join(out, "transactions"))
	ins := readAll[BTCInput](t, filepath.Join(out, "inputs"))
	outs := readAll[BTCOutput](t, filepath.Join(out, "outputs"))

	db := openStore(t, workspace.BTCStoreDir(f.data, "mainnet"))
	var nTx, nIn, nOut, outSum int64
	tip, err := db.BlockByHeight(ctx, querytest.MainnetTip)
	if err != nil {
		t.Fatal(err)
	}
	err = db.ScanTxs(ctx, 0, tip.TxNumMin+uint64(tip.TxCount), func(tx *store.TxRec) error {
		nTx++
		nIn += int64(len(tx.Ins))
		nOut += int64(len(tx.Outs))
		for _, o := range tx.Outs {
			outSum += o.Value
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != querytest.MainnetTip+1 || int64(len(txs)) != nTx || int64(len(ins)) != nIn || int64(len(outs)) != nOut {
		t.Fatalf("rows: %d blocks, %d txs, %d inputs, %d outputs; store has %d, %d, %d, %d",
			len(blocks), len(txs), len(ins), len(outs), querytest.MainnetTip+1, nTx, nIn, nOut)
	}
	for name, n := range map[string]int{"blocks": len(blocks), "transactions": len(txs), "inputs": len(ins), "outputs": len(outs)} {
		if s := stat(t, f.sum, "btc", name); s.Rows != int64(n) || s.Bytes <= 0 || s.Files != 1 {
			t.Errorf("summary of %s: %+v, want %d rows", name, s, n)
		}
	}

	var sumOut, sumIn, sumFee, sumCoinbase int64
	for _, o := range outs {
		sumOut += o.Value
	}
	for _, in := range ins {
		sumIn += *in.Value
	}
	for _, tx := range txs {
		if tx.Fee == nil || tx.InputValue == nil {
			t.Fatalf("tx %s: fee unknown in a store from genesis", tx.TransactionHash)
		}
		if !tx.IsCoinbase && *tx.InputValue-tx.OutputValue != *tx.Fee {
			t.Errorf("tx %s: inputs %d - outputs %d != fee %d", tx.TransactionHash, *tx.InputValue, tx.OutputValue, *tx.Fee)
		}
		if tx.IsCoinbase {
			sumCoinbase += tx.OutputValue
		}
		sumFee += *tx.Fee
	}
	// Each transaction's inputs sum to its input_value, and every spent
	// output has exactly the input row its spent_by columns name.
	perTx := map[string]int64{}
	type outpoint struct {
		hash  string
		index int32
	}
	spenders := map[outpoint]outpoint{}
	for _, in := range ins {
		perTx[in.TransactionHash] += *in.Value
		op := outpoint{in.SpentTransactionHash, in.SpentOutputIndex}
		if _, dup := spenders[op]; dup {
			t.Errorf("output %v spent twice", op)
		}
		spenders[op] = outpoint{in.TransactionHash, in.InputIndex}
	}
	for _, tx := range txs {
		if !tx.IsCoinbase && perTx[tx.TransactionHash] != *tx.InputValue {
			t.Errorf("tx %s: inputs sum to %d, input_value %d", tx.TransactionHash, perTx[tx.TransactionHash], *tx.InputValue)
		}
	}
	spent := 0
	for _, o := range outs {
		by, ok := spenders[outpoint{o.TransactionHash, o.OutputIndex}]
		if ok != (o.SpentByTransactionHash != "") || ok && (by.hash != o.SpentByTransactionHash || by.index != *o.SpentByInputIndex) {
			t.Errorf("output %s:%d spent by %q, inputs say %v", o.TransactionHash, o.OutputIndex, o.SpentByTransactionHash, by)
		}
		if ok {
			spent++
		}
	}
	if spent != len(ins) {
		t.Errorf("%d outputs spent, %d inputs", spent, len(ins))
	}
	if sumOut != outSum {
		t.Errorf("outputs sum to %d, store to %d", sumOut, outSum)
	}
	if sumIn-(sumOut-sumCoinbase) != sumFee {
		t.Errorf("inputs %d - non-coinbase outputs %d = %d, fees sum to %d", sumIn, sumOut-sumCoinbase, sumIn-(sumOut-sumCoinbase), sumFee)
	}

	// Every transaction against the query package's reading of it.
	q, err := query.NewBTC(db)
	if err != nil {
		t.Fatal(err)
	}
	in, o := 0, 0
	for _, tx := range txs {
		m, err := q.Tx(ctx, tx.TransactionHash)
		if err != nil {
			t.Fatal(err)
		}
		b := blocks[tx.BlockNumber]
		if uint64(tx.BlockNumber) != m.Height || tx.BlockHash != m.BlockHash || b.BlockHash != m.BlockHash ||
			int(tx.TransactionIndex) != m.Index || tx.BlockTimestamp != m.Time.UnixMicro() || int(tx.Size) != m.Size ||
			int(tx.VirtualSize) != m.VSize || tx.IsCoinbase != m.Coinbase || *tx.Fee != m.Fee {
			t.Fatalf("tx row %+v, query %+v", tx, m)
		}
		for _, mi := range m.Inputs {
			if mi.Coinbase {
				continue
			}
			r := ins[in]
			in++
			if r.TransactionHash != m.TxID || uint32(r.InputIndex) != mi.Index || r.SpentTransactionHash != mi.PrevTxID ||
				uint32(r.SpentOutputIndex) != mi.PrevOut || *r.Value != mi.Value || r.Address != mi.Address {
				t.Fatalf("input row %+v, query %+v", r, mi)
			}
		}
		for _, mo := range m.Outputs {
			r := outs[o]
			o++
			if r.TransactionHash != m.TxID || uint32(r.OutputIndex) != mo.Index || r.Value != mo.Value ||
				r.ScriptType != mo.Script.String() || strings.Join(r.Addresses, ",") != mo.Address {
				t.Fatalf("output row %+v, query %+v", r, mo)
			}
			if (mo.Spent == nil) != (r.SpentByTransactionHash == "") {
				t.Fatalf("output row %+v spent_by, query %+v", r, mo.Spent)
			}
			if mo.Spent != nil && (r.SpentByTransactionHash != mo.Spent.TxID || uint32(*r.SpentByInputIndex) != mo.Spent.Input ||
				uint64(*r.SpentBlockNumber) != mo.Spent.Height) {
				t.Fatalf("output row %+v spent_by, query %+v", r, mo.Spent)
			}
		}
	}

	// The first payment, by hand: block 9's coinbase paid to Hal and back.
	var pay []BTCOutput
	for _, r := range outs {
		if r.TransactionHash == querytest.FirstPayment {
			pay = append(pay, r)
		}
	}
	if len(pay) != 2 || pay[0].BlockNumber != 170 || pay[0].Address != querytest.Hal || pay[0].Value != 10_0000_0000 ||
		pay[1].Address != querytest.Satoshi || pay[1].Value != 40_0000_0000 || pay[0].ScriptType != "p2pk" {
		t.Errorf("first payment's outputs: %+v", pay)
	}
	if b := blocks[170]; b.BlockNumber != 170 || b.TransactionCount != 2 || b.Bits != "1d00ffff" || b.Timestamp != 1231731025_000000 {
		t.Errorf("block 170: %+v", b)
	}
}

// TestETHAgainstStore checks the EVM tables against the store and the
// simulated world's known transactions.
func TestETHAgainstStore(t *testing.T) {
	f := built(t)
	ctx := context.Background()
	w := f.world
	out := filepath.Join(f.out, "eth-sim")
	blocks := readAll[ETHBlock](t, filepath.Join(out, "blocks"))
	txs := readAll[ETHTransaction](t, filepath.Join(out, "transactions"))
	trs := readAll[ETHTransfer](t, filepath.Join(out, "transfers"))
	tokens := readAll[ETHToken](t, filepath.Join(out, "tokens"))

	db := openStore(t, workspace.ETHStoreDir(f.data, querytest.ETHNetwork))
	p, _, err := db.Progress(ctx, "eth-blocks")
	if err != nil {
		t.Fatal(err)
	}
	var nBlocks, nTx, nTr int
	for h := blocks[0].BlockNumber; uint64(h) <= p.Height; h++ {
		b, err := db.EthBlockByHeight(ctx, uint64(h))
		if err != nil {
			t.Fatal(err)
		}
		nBlocks++
		nTx += int(b.TxCount)
		for n := range b.TxNums() {
			var rec store.EthTxRec
			if err := db.EthTx(ctx, b.TxNumMin+n, &rec); err != nil {
				t.Fatal(err)
			}
			nTr += len(rec.Transfers)
		}
	}
	if uint64(blocks[len(blocks)-1].BlockNumber) != w.Tip || len(blocks) != nBlocks || len(txs) != nTx || len(trs) != nTr {
		t.Fatalf("rows: %d blocks to %d, %d txs, %d transfers; store has %d blocks to %d, %d, %d",
			len(blocks), blocks[len(blocks)-1].BlockNumber, len(txs), len(trs), nBlocks, w.Tip, nTx, nTr)
	}

	q := query.NewETH(db)
	byTx := map[string][]ETHTransfer{}
	withdrawals, nWithdrawals := 0, 0
	for _, b := range blocks {
		nWithdrawals += int(b.WithdrawalCount)
	}
	for _, r := range trs {
		if r.TransactionHash == "" {
			if r.Kind != eth.Withdrawal.String() || r.TransactionIndex != nil {
				t.Errorf("transfer without a transaction: %+v", r)
			}
			withdrawals++
			continue
		}
		byTx[r.TransactionHash] = append(byTx[r.TransactionHash], r)
	}
	if withdrawals < 3 || withdrawals != nWithdrawals {
		t.Errorf("%d withdrawal transfers, blocks count %d, the world made at least 3", withdrawals, nWithdrawals)
	}
	for _, tx := range txs {
		m, err := q.Tx(ctx, tx.TransactionHash)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(tx.BlockNumber) != m.Block || tx.BlockHash != m.BlockHash || uint32(tx.TransactionIndex) != m.Index ||
			tx.FromAddress != m.From || tx.ToAddress != m.To || tx.ContractAddress != m.Created || tx.Value != m.Value ||
			tx.BlockTimestamp != m.Time.UnixMicro() || uint64(tx.GasUsed) != m.GasUsed || int(tx.TransferCount) != len(m.Transfers) {
			t.Fatalf("tx row %+v, query %+v", tx, m)
		}
		got := byTx[tx.TransactionHash]
		if len(got) != len(m.Transfers) {
			t.Fatalf("tx %s: %d transfer rows, query has %d", tx.TransactionHash, len(got), len(m.Transfers))
		}
		for i, mt := range m.Transfers {
			r := got[i]
			li := int32(-1)
			if r.LogIndex != nil {
				li = *r.LogIndex
			}
			if int(r.TransferIndex) != i || r.Kind != mt.Kind || r.FromAddress != mt.From || r.ToAddress != mt.To ||
				r.TokenAddress != mt.Token || r.Amount != mt.Amount || r.TokenID != mt.TokenID || li != mt.LogIndex {
				t.Fatalf("transfer row %+v, query %+v", r, mt)
			}
		}
	}

	find := func(hash, kind string) ETHTransfer {
		t.Helper()
		for _, r := range byTx[hash] {
			if r.Kind == kind {
				return r
			}
		}
		t.Fatalf("no %s transfer in %s", kind, hash)
		return ETHTransfer{}
	}
	if r := find(w.Send.Hex(), "native"); r.FromAddress != w.Alice.Hex() || r.ToAddress != w.Bob.Hex() ||
		r.Amount != "1500000000000000000" || r.AmountF64 != 1.5e18 || r.TokenAddress != "" || r.TransactionIndex == nil {
		t.Errorf("send: %+v", r)
	}
	if r := find(w.Token.Hex(), "erc20"); r.FromAddress != w.Bob.Hex() || r.ToAddress != w.Carol.Hex() ||
		r.Amount != "750000000" || r.TokenAddress != w.USDT.Hex() || r.LogIndex == nil {
		t.Errorf("token transfer: %+v", r)
	}
	if r := find(w.Swap.Hex(), "internal"); r.FromAddress != w.Pool.Hex() || r.ToAddress != w.Carol.Hex() ||
		r.Amount != "250000000000000000" || r.TraceAddress == "" {
		t.Errorf("swap's internal transfer: %+v", r)
	}
	if len(tokens) != 1 || tokens[0].TokenAddress != w.USDT.Hex() || tokens[0].Symbol != "USDT" ||
		tokens[0].Name != "Tether USD" || tokens[0].Decimals == nil || *tokens[0].Decimals != 6 {
		t.Errorf("tokens: %+v", tokens)
	}
	for _, tx := range txs {
		if tx.ReceiptStatus == nil || *tx.ReceiptStatus != 1 {
			t.Errorf("tx %s: receipt status %v", tx.TransactionHash, tx.ReceiptStatus)
		}
	}
}

// TestLabels checks that active labels and actors are exported and the
// retired label is not.
func TestLabels(t *testing.T) {
	f := built(t)
	ls := readAll[LabelRow](t, filepath.Join(f.out, "labels"))
	as := readAll[ActorRow](t, filepath.Join(f.out, "actors"))
	if len(ls) != 1 || ls[0].Chain != "btc" || ls[0].Address != querytest.Hal || ls[0].Label != "Hal Finney" ||
		ls[0].Actor != "hal" || ls[0].ConfidenceLevel != 100 || ls[0].Dataset != "test:people" || ls[0].FirstImported == nil {
		t.Errorf("labels: %+v", ls)
	}
	if len(as) != 1 || as[0].ActorID != "hal" || !slices.Equal(as[0].Aliases, []string{"halfin"}) {
		t.Errorf("actors: %+v", as)
	}
}

// TestRangeAndSplit exports a height range into tiny files and checks
// that the rows are the range's and survive the split.
func TestRangeAndSplit(t *testing.T) {
	f := built(t)
	out := t.TempDir()
	sum, err := Run(context.Background(), f.data, out, Options{Chains: []string{"btc"}, FromHeight: 100, ToHeight: 200, HasToHeight: true,
		NoLabels: true, RowGroupRows: 16, FileBytes: 1, Compression: "snappy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Tables) != 4 {
		t.Fatalf("tables %+v, want btc's four", sum.Tables)
	}
	blocks := readAll[BTCBlock](t, filepath.Join(out, "btc", "blocks"))
	if len(blocks) != 101 || blocks[0].BlockNumber != 100 || blocks[100].BlockNumber != 200 {
		t.Fatalf("%d blocks from %d", len(blocks), blocks[0].BlockNumber)
	}
	all := readAll[BTCOutput](t, filepath.Join(f.out, "btc", "outputs"))
	var want []BTCOutput
	for _, o := range all {
		if o.BlockNumber >= 100 && o.BlockNumber <= 200 {
			want = append(want, o)
		}
	}
	got := readAll[BTCOutput](t, filepath.Join(out, "btc", "outputs"))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("range outputs differ from the whole export's: %d rows, want %d", len(got), len(want))
	}
	if s := stat(t, sum, "btc", "outputs"); s.Files < 2 || s.Rows != int64(len(want)) {
		t.Errorf("outputs split into %d files of %d rows in all", s.Files, s.Rows)
	}
	if _, err := os.Stat(filepath.Join(out, "labels")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("labels exported despite NoLabels: %v", err)
	}

	// A second, smaller export into the same directory leaves no stale
	// part files behind.
	if _, err := Run(context.Background(), f.data, out, Options{Chains: []string{"btc"}, FromHeight: 590, NoLabels: true}); err != nil {
		t.Fatal(err)
	}
	if got := readAll[BTCBlock](t, filepath.Join(out, "btc", "blocks")); len(got) != 1 || got[0].BlockNumber != 590 {
		t.Errorf("re-export: %+v", got)
	}
	if files, _ := filepath.Glob(filepath.Join(out, "btc", "outputs", "part-*")); len(files) != 1 {
		t.Errorf("re-export left %d output files", len(files))
	}
}

// TestInterrupted cancels an export into a directory holding an earlier
// one: the earlier tables stay whole and no staging directory is left.
func TestInterrupted(t *testing.T) {
	f := built(t)
	out := t.TempDir()
	if _, err := Run(context.Background(), f.data, out, Options{Chains: []string{"btc"}, NoLabels: true}); err != nil {
		t.Fatal(err)
	}
	before := readAll[BTCOutput](t, filepath.Join(out, "btc", "outputs"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Run(ctx, f.data, out, Options{Chains: []string{"btc"}, NoLabels: true, FromHeight: 300,
		Progress: func(chain string, done, total int64) {
			if done == 10 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want cancelled", err)
	}
	if after := readAll[BTCOutput](t, filepath.Join(out, "btc", "outputs")); !reflect.DeepEqual(after, before) {
		t.Errorf("interrupted export changed the outputs: %d rows, had %d", len(after), len(before))
	}
	if left, _ := filepath.Glob(filepath.Join(out, "btc", "*.partial")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

// TestEmptyStores exports stores that were created but hold no block:
// every table has one readable file without rows.
func TestEmptyStores(t *testing.T) {
	ctx := context.Background()
	data, out := t.TempDir(), t.TempDir()
	for _, m := range []store.ChainMeta{{Chain: "btc", Network: "regtest"}, {Chain: "eth", Network: "sim"}} {
		dir := workspace.BTCStoreDir(data, m.Network)
		if m.Chain == "eth" {
			dir = workspace.ETHStoreDir(data, m.Network)
		}
		db, err := store.Open(ctx, dir, m, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	sum, err := Run(ctx, data, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Tables) != 8 || sum.Rows() != 0 {
		t.Fatalf("tables %+v", sum.Tables)
	}
	for _, ts := range sum.Tables {
		if ts.Files != 1 || ts.Bytes == 0 {
			t.Errorf("%s/%s: %+v", ts.Chain, ts.Name, ts)
		}
	}
	if rows := readAll[BTCOutput](t, filepath.Join(out, "btc-regtest", "outputs")); len(rows) != 0 {
		t.Errorf("%d rows", len(rows))
	}
	if rows := readAll[ETHTransfer](t, filepath.Join(out, "eth-sim", "transfers")); len(rows) != 0 {
		t.Errorf("%d rows", len(rows))
	}
}

// TestBadOptions covers an output path that is a file, a chain without a
// store and an inverted height range.
func TestBadOptions(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(ctx, data, file, Options{})
	if !errors.Is(err, ErrBadOut) || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Errorf("out is a file: %v", err)
	}
	if _, err := Run(ctx, data, t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "nothing to export") {
		t.Errorf("empty data directory: %v", err)
	}
	if _, err := Run(ctx, data, t.TempDir(), Options{Chains: []string{"btc"}}); err == nil || !strings.Contains(err.Error(), `no store of chain "btc"`) {
		t.Errorf("missing chain: %v", err)
	}
	if _, err := Run(ctx, data, t.TempDir(), Options{FromHeight: 10, ToHeight: 5, HasToHeight: true}); err == nil {
		t.Error("inverted range accepted")
	}
	if _, err := Run(ctx, data, t.TempDir(), Options{Compression: "lzo"}); err == nil {
		t.Error("unknown compression accepted")
	}
}

// TestSchemaGolden pins every table's Parquet schema: a change of a
// column's name or type shows here and must be made in docs/parquet.md
// too. Run with -update to rewrite the file.
func TestSchemaGolden(t *testing.T) {
	var sb strings.Builder
	for _, s := range []struct {
		name string
		row  any
	}{
		{"bitcoin blocks", BTCBlock{}}, {"bitcoin transactions", BTCTransaction{}}, {"bitcoin inputs", BTCInput{}},
		{"bitcoin outputs", BTCOutput{}}, {"evm blocks", ETHBlock{}}, {"evm transactions", ETHTransaction{}},
		{"evm transfers", ETHTransfer{}}, {"evm tokens", ETHToken{}}, {"labels", LabelRow{}}, {"actors", ActorRow{}},
	} {
		sb.WriteString("# " + s.name + "\n")
		sb.WriteString(parquet.SchemaOf(s.row).String())
		sb.WriteString("\n\n")
	}
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if sb.String() != string(want) {
		t.Errorf("schemas changed (go test -run SchemaGolden ./internal/export/ -args -update to accept):\n%s", sb.String())
	}
}

// TestLateStart exports a store whose ingest began at height 100: the
// blocks start there, inputs spending older outputs have no value or
// address, and their transactions no fee.
func TestLateStart(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	src := mainnetSource(t)
	db, err := store.Open(ctx, workspace.BTCStoreDir(data, "mainnet"), store.ChainMeta{Chain: "btc", Network: "mainnet"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.NewBTC(db, src, ingest.Options{StartHeight: 100, MaxHeight: 300}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := t.TempDir()
	if _, err := Run(ctx, data, out, Options{}); err != nil {
		t.Fatal(err)
	}
	blocks := readAll[BTCBlock](t, filepath.Join(out, "btc", "blocks"))
	if len(blocks) != 201 || blocks[0].BlockNumber != 100 {
		t.Fatalf("%d blocks from %d, want 201 from 100", len(blocks), blocks[0].BlockNumber)
	}
	ins := readAll[BTCInput](t, filepath.Join(out, "btc", "inputs"))
	external := map[string]bool{}
	for _, in := range ins {
		if in.Value == nil {
			if in.Address != "" || len(in.SpentTransactionHash) != 64 {
				t.Errorf("external input %+v", in)
			}
			external[in.TransactionHash] = true
		}
	}
	if len(external) == 0 {
		t.Fatal("no input spends an output from before height 100")
	}
	for _, tx := range readAll[BTCTransaction](t, filepath.Join(out, "btc", "transactions")) {
		if external[tx.TransactionHash] != (tx.Fee == nil) || (tx.Fee == nil) != (tx.InputValue == nil) {
			t.Errorf("tx %s: external inputs %v, fee %v, input value %v", tx.TransactionHash, external[tx.TransactionHash], tx.Fee, tx.InputValue)
		}
	}
}

// TestLabelsHeld exports while another holder has the label store open:
// the export waits for it to let go.
func TestLabelsHeld(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "labels")
	st, err := labels.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(200 * time.Millisecond)
		st.Close()
		close(released)
	}()
	start := time.Now()
	got, err := openLabels(ctx, dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("opened after %s, while the store was held", el)
	}
	got.Close()
	<-released

	st, err = labels.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := openLabels(ctx, dir, 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "held by another process") {
		t.Errorf("held past the wait: %v", err)
	}
}

// TestDocsListEveryColumn checks that docs/parquet.md lists every table's
// columns, in the files' order, so the document cannot fall behind the
// schemas the golden file pins.
func TestDocsListEveryColumn(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "parquet.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Columns listed per "## part / ### table" heading pair.
	listed := map[string][]string{}
	var part, table string
	for line := range strings.SplitSeq(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			part, table = strings.TrimPrefix(line, "## "), ""
		case strings.HasPrefix(line, "### "):
			table = part + "/" + strings.TrimPrefix(line, "### ")
		case table != "" && strings.HasPrefix(line, "| `"):
			col, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
			listed[table] = append(listed[table], col)
		}
	}
	for key, row := range map[string]any{
		"Bitcoin/blocks": BTCBlock{}, "Bitcoin/transactions": BTCTransaction{}, "Bitcoin/inputs": BTCInput{},
		"Bitcoin/outputs": BTCOutput{}, "EVM chains/blocks": ETHBlock{}, "EVM chains/transactions": ETHTransaction{},
		"EVM chains/transfers": ETHTransfer{}, "EVM chains/tokens": ETHToken{}, "Labels/labels": LabelRow{}, "Labels/actors": ActorRow{},
	} {
		var cols []string
		for _, f := range parquet.SchemaOf(row).Fields() {
			cols = append(cols, f.Name())
		}
		if !slices.Equal(listed[key], cols) {
			t.Errorf("docs/parquet.md %s lists %v, the table has %v", key, listed[key], cols)
		}
	}
}
