package ingest

import (
	"context"
	"fmt"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// FillTokenMeta asks the node for the metadata (symbol, name, decimals) of
// every token contract that moved in blocks from..to and has none stored
// yet, and stores it in one batch. Metadata is a cache, not chain data: it
// is outside the stages and their progress, and a token that answers
// nothing gets a record saying so, so it is not asked again. It returns the
// number of tokens added.
func FillTokenMeta(ctx context.Context, db EthGraph, c eth.Caller, from, to uint64) (int, error) {
	standard := map[uint64]uint8{}
	var t store.EthTxRec
	for h := from; h <= to; h++ {
		b, err := db.EthBlockByHeight(ctx, h)
		if err != nil {
			return 0, err
		}
		for i := uint64(0); i < b.TxNums(); i++ {
			if err := db.EthTx(ctx, b.TxNumMin+i, &t); err != nil {
				return 0, err
			}
			for _, tr := range t.Transfers {
				if tr.Token == 0 {
					continue
				}
				if _, ok := standard[tr.Token]; !ok {
					standard[tr.Token] = tokenStandard(eth.Kind(tr.Kind))
				}
			}
		}
	}
	w := db.NewAccountBatch()
	defer w.Close()
	added := 0
	for id, std := range standard {
		if _, ok, err := db.Token(ctx, id); err != nil {
			return 0, err
		} else if ok {
			continue
		}
		key, err := db.AddrKey(ctx, id)
		if err != nil {
			return 0, err
		}
		m, err := eth.FetchTokenMeta(ctx, c, common.BytesToAddress(key), "latest")
		if err != nil {
			return added, fmt.Errorf("ingest: token metadata: %w", err)
		}
		w.PutToken(id, store.TokenMeta{Standard: std, Decimals: m.Decimals, HasDecimals: m.HasDecimals, Name: m.Name, Symbol: m.Symbol})
		added++
	}
	if added == 0 {
		return 0, nil
	}
	return added, w.Commit(ctx, true)
}

func tokenStandard(k eth.Kind) uint8 {
	switch k {
	case eth.ERC20:
		return store.TokenERC20
	case eth.ERC721:
		return store.TokenERC721
	case eth.ERC1155Single, eth.ERC1155Batch:
		return store.TokenERC1155
	}
	return 0
}
