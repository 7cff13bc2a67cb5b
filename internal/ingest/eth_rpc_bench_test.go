package ingest_test

import (
	"context"
	"log/slog"
	"math/big"
	"testing"

	"github.com/chaintrace/chaintrace/internal/eth/ethtest"
	"github.com/chaintrace/chaintrace/internal/eth/rpc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// BenchmarkEthIngestRPC measures end-to-end ingest against a real local
// go-ethereum node over HTTP JSON-RPC: blocks with receipts and callTracer
// traces fetched, decoded, extracted and committed. The chain holds 20
// blocks of 60 ERC-20 transfers and 20 native transfers each (every
// transaction also pays two fee transfers). The node runs in the same
// process and shares the two cores, so this is a floor for the ingester
// against a local node, not its ceiling. Run with -benchtime 3x.
func BenchmarkEthIngestRPC(b *testing.B) {
	c := ethtest.Start(b)
	a := c.Accounts[0]
	supply := new(big.Int).Mul(big.NewInt(1_000_000_000), big.NewInt(1e18))
	token, deploy := c.Deploy(b, a, ethtest.ERC20Code, nil, 0, ethtest.Uint256Arg(supply))
	c.Mine(b, deploy)
	for blk := 0; blk < 20; blk++ {
		for i := 0; i < 60; i++ {
			to := c.Accounts[1+i%7].Address
			c.SendTx(b, ethtest.Tx{From: a, To: &token, Data: ethtest.ERC20TransferData(to, big.NewInt(int64(1000+i))), Gas: 60_000})
		}
		for i := 0; i < 20; i++ {
			to := common.BigToAddress(big.NewInt(int64(0x1000 + blk*100 + i)))
			c.SendTx(b, ethtest.Tx{From: c.Accounts[1+i%7], To: &to, Value: big.NewInt(int64(1e15)), Gas: 21_000})
		}
		c.Commit(b)
	}
	ctx := context.Background()
	var transfers, blocks uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := store.Open(ctx, b.TempDir(), store.ChainMeta{Chain: "eth", Network: "dev"}, store.Options{Bulk: true})
		if err != nil {
			b.Fatal(err)
		}
		src, err := rpc.Dial(ctx, rpc.Config{URL: c.URL(), ChainID: c.ChainID.Uint64(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := ingest.NewEth(db, src, ingest.Options{}).Run(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		blocks = st.Blocks
		transfers = 0
		for h := uint64(1); h <= st.Height; h++ {
			blk, err := db.EthBlockByHeight(ctx, h)
			if err != nil {
				b.Fatal(err)
			}
			var t store.EthTxRec
			for k := uint64(0); k < blk.TxNums(); k++ {
				if err := db.EthTx(ctx, blk.TxNumMin+k, &t); err != nil {
					b.Fatal(err)
				}
				transfers += uint64(len(t.Transfers))
			}
		}
		src.Close()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(transfers)*float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	b.ReportMetric(float64(blocks)*float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}
