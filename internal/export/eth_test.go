package export

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/ethereum/go-ethereum/common"
)

// TestETHEdgeCases writes records the simulated chain never makes (NFTs,
// amounts past 64 bits, failed and pre-Byzantium receipts, a token
// without metadata, a contract creation) straight into an EVM store and
// checks how they export.
func TestETHEdgeCases(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := store.Open(ctx, workspace.ETHStoreDir(data, "unit"), store.ChainMeta{Chain: "eth", Network: "unit"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	amt := func(s string) model.Amount {
		a, err := model.ParseAmount(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	addr := func(i byte) []byte { return common.Address{19: i}.Bytes() }
	max256 := amt("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	w := db.NewAccountBatch()
	for id := byte(1); id <= 5; id++ {
		w.PutAddr(uint64(id), addr(id))
	}
	w.PutToken(4, store.TokenMeta{Standard: store.TokenERC721, Name: "Kitties", Symbol: "CK"})
	w.PutEthBlock(&store.EthBlockRec{Height: 0, Hash: [32]byte{0xa0}, Time: 1438269988, TxCount: 2, TxNumMin: 0, AddrIDMin: 1})
	w.PutEthTx(&store.EthTxRec{TxNum: 0, Height: 0, Index: 0, Hash: [32]byte{1}, From: 1, Created: 3, Value: amt("0"),
		Status: store.EthTxUnknown, GasUsed: 53000})
	w.PutEthTx(&store.EthTxRec{TxNum: 1, Height: 0, Index: 1, Hash: [32]byte{2}, From: 1, To: 4, Value: max256,
		Status: store.EthTxFailed, GasUsed: 21000, Transfers: []store.EthTransferRec{
			{Kind: uint8(eth.ERC721), From: 0, To: 2, Token: 4, Amount: model.AmountFromUint64(1), TokenID: &max256, LogIndex: 7},
			{Kind: uint8(eth.ERC20), From: 2, To: 0, Token: 5, Amount: max256, LogIndex: 8},
		}})
	w.PutEthBlock(&store.EthBlockRec{Height: 1, Hash: [32]byte{0xa1}, Parent: [32]byte{0xa0}, Time: 1438270000,
		BaseFee: amt("7"), TxNumMin: 2, AddrIDMin: 6, Withdrawals: 1})
	w.PutEthTx(&store.EthTxRec{TxNum: 2, Height: 1, Index: 0, Transfers: []store.EthTransferRec{
		{Kind: uint8(eth.Withdrawal), To: 2, Amount: amt("32000000000000000000"), LogIndex: -1},
	}})
	w.SetProgress("eth-blocks", store.Progress{Height: 1})
	if err := w.Commit(ctx, true); err != nil {
		t.Fatal(err)
	}
	w.Close()
	db.Close()

	out := t.TempDir()
	if _, err := Run(ctx, data, out, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, "eth-unit")
	blocks := readAll[ETHBlock](t, filepath.Join(dir, "blocks"))
	if len(blocks) != 2 || blocks[0].BaseFeePerGas != "" || blocks[1].BaseFeePerGas != "7" || blocks[1].WithdrawalCount != 1 ||
		blocks[0].Timestamp != 1438269988_000000 || blocks[1].ParentHash != blocks[0].BlockHash {
		t.Errorf("blocks %+v", blocks)
	}
	txs := readAll[ETHTransaction](t, filepath.Join(dir, "transactions"))
	if len(txs) != 2 {
		t.Fatalf("txs %+v", txs)
	}
	if c := txs[0]; c.ReceiptStatus != nil || c.ToAddress != "" || c.ContractAddress != common.BytesToAddress(addr(3)).Hex() {
		t.Errorf("creation %+v", c)
	}
	if f := txs[1]; f.ReceiptStatus == nil || *f.ReceiptStatus != 0 || f.Value != max256.String() || f.ValueF64 != math.Pow(2, 256) {
		t.Errorf("failed tx %+v", f)
	}
	trs := readAll[ETHTransfer](t, filepath.Join(dir, "transfers"))
	if len(trs) != 3 {
		t.Fatalf("transfers %+v", trs)
	}
	zero := common.Address{}.Hex()
	if n := trs[0]; n.Kind != "erc721" || n.FromAddress != zero || n.TokenID != max256.String() || n.Amount != "1" ||
		n.LogIndex == nil || *n.LogIndex != 7 || n.TraceAddress != "" {
		t.Errorf("nft %+v", n)
	}
	if b := trs[1]; b.ToAddress != zero || b.Amount != max256.String() || b.AmountF64 != math.Pow(2, 256) || b.TransferIndex != 1 {
		t.Errorf("burn %+v", b)
	}
	if wd := trs[2]; wd.Kind != "withdrawal" || wd.TransactionHash != "" || wd.TransactionIndex != nil || wd.AmountF64 != 32e18 {
		t.Errorf("withdrawal %+v", wd)
	}
	tokens := readAll[ETHToken](t, filepath.Join(dir, "tokens"))
	if len(tokens) != 2 || tokens[0].Standard != "erc721" || tokens[0].Symbol != "CK" || tokens[0].Decimals != nil ||
		tokens[1].TokenAddress != common.BytesToAddress(addr(5)).Hex() || tokens[1].Standard != "" || tokens[1].Symbol != "" {
		t.Errorf("tokens %+v", tokens)
	}
}
