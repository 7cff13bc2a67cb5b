package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/eth/rpc"
	"github.com/chaintrace/chaintrace/internal/ingest"
	"github.com/chaintrace/chaintrace/internal/store"
)

var _ ingest.EthSource = (*rpc.Client)(nil)

// memEthSource serves RawBlocks from memory. Its chain can be switched
// (a reorg); with pending set, the switch happens when Blocks is first
// called, after Tip and HashAt still answered from the old chain, which is
// how a node that reorganises between calls looks.
type memEthSource struct {
	mu      sync.Mutex
	chain   []*eth.RawBlock // consecutive heights
	pending []*eth.RawBlock
}

func newMemEthSource(chain []*eth.RawBlock) *memEthSource { return &memEthSource{chain: chain} }

func (s *memEthSource) set(chain []*eth.RawBlock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chain = chain
}

func (s *memEthSource) at(h uint64) (*eth.RawBlock, bool) {
	if len(s.chain) == 0 || h < s.chain[0].Number || h-s.chain[0].Number >= uint64(len(s.chain)) {
		return nil, false
	}
	return s.chain[h-s.chain[0].Number], true
}

func (s *memEthSource) Tip(ctx context.Context) (uint64, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.chain[len(s.chain)-1]
	return last.Number, last.Hash, nil
}

func (s *memEthSource) HashAt(ctx context.Context, h uint64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.at(h)
	if !ok {
		return "", fmt.Errorf("block %d: %w", h, rpc.ErrNotFound)
	}
	return b.Hash, nil
}

func (s *memEthSource) Blocks(ctx context.Context, from, to uint64, fn func(*eth.RawBlock) error) error {
	s.mu.Lock()
	if s.pending != nil {
		s.chain, s.pending = s.pending, nil
	}
	s.mu.Unlock()
	for h := from; h <= to; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		b, ok := s.at(h)
		s.mu.Unlock()
		if !ok {
			return fmt.Errorf("block %d: %w", h, rpc.ErrNotFound)
		}
		c := *b
		if err := fn(&c); err != nil {
			return err
		}
	}
	return nil
}

// etlStreamDir is the recorded ethereum-etl stream test of blocks 1755634
// and 1755635.
func etlStreamDir(t testing.TB) string {
	t.Helper()
	return etlDataDir(t, "test_stream/blocks_1755634_1755635")
}

// etlDataDir returns a directory of the recorded ethereum-etl tests,
// skipping the test when the shared data is absent.
func etlDataDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("/work/shared/data/eth/ethereum-etl", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared ethereum-etl test data not available (%s): %v", dir, err)
	}
	return dir
}

// web3Result returns the result member of a recorded JSON-RPC response.
func web3Result(t testing.TB, path string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if resp.Result == nil {
		return bytes.TrimSpace(data)
	}
	return resp.Result
}

// recordedBlock assembles a RawBlock from a recorded block response and the
// recorded receipt of each of its transactions, in transaction order.
func recordedBlock(t testing.TB, dir string, height uint64) *eth.RawBlock {
	t.Helper()
	return recordedBlockFrom(t, dir, dir, height)
}

// recordedBlockFrom is recordedBlock with the block response in blockDir
// and the receipts in receiptDir.
func recordedBlockFrom(t testing.TB, blockDir, dir string, height uint64) *eth.RawBlock {
	t.Helper()
	block := web3Result(t, filepath.Join(blockDir, fmt.Sprintf("web3_response.eth_getBlockByNumber_%#x_true.json", height)))
	var head struct {
		Number hexutil.Uint64 `json:"number"`
		Hash   string         `json:"hash"`
		Txs    []struct {
			Hash string `json:"hash"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal(block, &head); err != nil {
		t.Fatal(err)
	}
	if uint64(head.Number) != height {
		t.Fatalf("recorded block %d has number %d", height, head.Number)
	}
	receipts := make([]json.RawMessage, len(head.Txs))
	for i, tx := range head.Txs {
		receipts[i] = web3Result(t, filepath.Join(dir, "web3_response.eth_getTransactionReceipt_"+tx.Hash+".json"))
	}
	rj, err := json.Marshal(receipts)
	if err != nil {
		t.Fatal(err)
	}
	return &eth.RawBlock{Number: height, Hash: head.Hash, Block: block, Receipts: rj}
}

// transferTopic is keccak256("Transfer(address,address,uint256)").
var transferTopic = common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")

// synthConfig shapes a synthetic chain.
type synthConfig struct {
	txs, logs int  // per block, per transaction
	seed      byte // varies hashes and the branch's own addresses
	pool      int  // shared address pool size
}

func synthAddr(group byte, k int) common.Address {
	return common.Address{0: 0x10, 1: group, 18: byte(k >> 8), 19: byte(k)}
}

// synthChain makes n linked blocks from height start on parent, each with
// cfg.txs legacy transactions carrying value and cfg.logs ERC-20 transfer
// logs, London fees, and (every third block) two withdrawals.
func synthChain(t testing.TB, start uint64, parent common.Hash, n int, cfg synthConfig) []*eth.RawBlock {
	t.Helper()
	if cfg.pool <= 0 {
		cfg.pool = 50
	}
	out := make([]*eth.RawBlock, 0, n)
	price := big.NewInt(2_000_000_000)
	logIndex := uint(0)
	for i := range n {
		num := start + uint64(i)
		h := &types.Header{
			ParentHash: parent, UncleHash: types.EmptyUncleHash, Coinbase: synthAddr(0xc0, int(cfg.seed)),
			Difficulty: big.NewInt(0), Number: new(big.Int).SetUint64(num), GasLimit: 30_000_000,
			GasUsed: uint64(cfg.txs) * 50_000, Time: 1_700_000_000 + num*12, Extra: []byte{cfg.seed},
			BaseFee: big.NewInt(1_000_000_000),
		}
		var withdrawals []*types.Withdrawal
		if num%3 == 0 {
			withdrawals = []*types.Withdrawal{
				{Index: num * 2, Validator: 7, Address: synthAddr(0xa0, int(num%5)), Amount: 32_000_000},
				{Index: num*2 + 1, Validator: 8, Address: synthAddr(cfg.seed, 1), Amount: 1},
			}
		}
		hash := h.Hash()
		txs := make([]json.RawMessage, cfg.txs)
		receipts := make([]json.RawMessage, cfg.txs)
		logIndex = 0
		for j := range cfg.txs {
			from := synthAddr(0, (i*7+j)%cfg.pool)
			to := synthAddr(cfg.seed, (i+j*3)%cfg.pool)
			tx := types.NewTx(&types.LegacyTx{Nonce: num<<16 | uint64(j), GasPrice: price, Gas: 100_000, To: &to,
				Value: big.NewInt(int64(1000 + j)), Data: []byte{cfg.seed}})
			txs[j] = withFields(t, tx, map[string]any{"from": from, "transactionIndex": hexutil.Uint64(j),
				"blockHash": hash, "blockNumber": hexutil.Uint64(num)})
			r := &types.Receipt{Type: types.LegacyTxType, Status: types.ReceiptStatusSuccessful,
				CumulativeGasUsed: uint64(j+1) * 50_000, GasUsed: 50_000, TxHash: tx.Hash(), BlockHash: hash,
				BlockNumber: new(big.Int).SetUint64(num), TransactionIndex: uint(j), EffectiveGasPrice: price, Logs: []*types.Log{}}
			for k := range cfg.logs {
				amt := common.BigToHash(big.NewInt(int64(1 + k + j)))
				r.Logs = append(r.Logs, &types.Log{
					Address: synthAddr(0x70, k%3),
					Topics:  []common.Hash{transferTopic, common.BytesToHash(from[:]), common.BytesToHash(synthAddr(cfg.seed, (j+k)%cfg.pool).Bytes())},
					Data:    amt[:], BlockNumber: num, TxHash: tx.Hash(), TxIndex: uint(j), BlockHash: hash, Index: logIndex,
				})
				logIndex++
			}
			rj, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			receipts[j] = rj
		}
		block := withFields(t, h, map[string]any{"transactions": txs})
		if withdrawals != nil {
			block = withFields(t, block, map[string]any{"withdrawals": withdrawals})
		}
		rj, err := json.Marshal(receipts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &eth.RawBlock{Number: num, Hash: hash.Hex(), Block: block, Receipts: rj})
		parent = hash
	}
	return out
}

// withFields marshals v and adds or replaces top-level fields.
func withFields(t testing.TB, v any, fields map[string]any) json.RawMessage {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k, f := range fields {
		if m[k], err = json.Marshal(f); err != nil {
			t.Fatal(err)
		}
	}
	data, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func openEthStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.ChainMeta{Chain: "eth", Network: "ethereum"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// ingestEth runs one ingest of src into a new store and returns it open.
func ingestEth(t testing.TB, src ingest.EthSource, opts ingest.Options) (*store.DB, ingest.Status) {
	t.Helper()
	db := openEthStore(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	st, err := ingest.NewEth(db, src, opts).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return db, st
}

func ethDigest(t testing.TB, db *store.DB) [32]byte {
	t.Helper()
	d, _, err := db.Digest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
