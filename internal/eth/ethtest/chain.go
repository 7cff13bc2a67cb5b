// Package ethtest runs a real go-ethereum chain inside a test process and
// serves it over HTTP JSON-RPC, so code that reads nodes (internal/eth/rpc
// and everything above it) can be tested against go-ethereum itself rather
// than recorded fixtures.
//
// The node is assembled from go-ethereum's own parts the way its simulated
// backend (ethclient/simulated) does it: an in-memory eth service driven by
// a catalyst.SimulatedBeacon that seals a block only when Commit is called.
// Unlike the simulated backend it also serves HTTP on 127.0.0.1 with the
// eth, net, web3 and debug (tracers: debug_traceBlockByNumber with the
// callTracer) namespaces, keeps every state (hash scheme, no pruning, so
// eth_getBalance works at any height) and pays priority fees to a
// dedicated coinbase (Chain.Coinbase) instead of the zero address, so the
// zero address only stands for burnt fees.
//
// The chain is params.AllDevChainProtocolChanges (chain id 1337): every
// fork through Osaka (and Bogota as go-ethereum v1.17.10 defines it) is
// active from genesis, so London base fees, Cancun's EIP-6780 SELFDESTRUCT
// (a contract not created in the same transaction only pays out its
// balance) and Prague's system contracts all apply. Shanghai withdrawals
// exist but the harness makes none.
package ethtest

import (
	"crypto/ecdsa"
	"fmt"
	"maps"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	gethEth "github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	// Registers the callTracer and the other native tracers.
	_ "github.com/ethereum/go-ethereum/eth/tracers/native"
)

// NumAccounts is how many funded accounts a Chain has.
const NumAccounts = 8

// FundedBalance is the genesis balance of every funded account: 1000 ether.
var FundedBalance = new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))

// Account is a funded externally owned account.
type Account struct {
	Key     *ecdsa.PrivateKey
	Address common.Address
}

// Chain is a running go-ethereum node. Its methods that take a testing.TB
// fail the test on error. Sending transactions and Commit are safe for
// concurrent use, but tests usually drive one chain from one goroutine.
type Chain struct {
	// ChainID is the chain id (1337).
	ChainID *big.Int
	// Accounts are funded with FundedBalance at genesis; their keys derive
	// from fixed seeds, so addresses are the same on every run.
	Accounts []Account
	// Coinbase receives the priority fees; it holds nothing at genesis.
	Coinbase common.Address
	// Client talks to the node over its HTTP endpoint.
	Client *ethclient.Client

	url    string
	stack  *node.Node
	beacon *catalyst.SimulatedBeacon

	mu     sync.Mutex
	nonces map[common.Address]uint64
}

// Start runs a chain for the test and stops it in t.Cleanup.
func Start(t testing.TB) *Chain {
	t.Helper()
	c := &Chain{
		ChainID:  new(big.Int).Set(params.AllDevChainProtocolChanges.ChainID),
		Coinbase: common.HexToAddress("0xc014ba5ec014ba5ec014ba5ec014ba5ec014ba5e"),
		nonces:   map[common.Address]uint64{},
	}
	alloc := core.SystemContractAllocs()
	for i := range NumAccounts {
		key, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("chaintrace/ethtest/account/%d", i))))
		if err != nil {
			t.Fatalf("ethtest: key %d: %v", i, err)
		}
		a := Account{Key: key, Address: crypto.PubkeyToAddress(key.PublicKey)}
		c.Accounts = append(c.Accounts, a)
		alloc[a.Address] = types.Account{Balance: new(big.Int).Set(FundedBalance)}
	}

	nodeConf := node.DefaultConfig
	nodeConf.DataDir = "" // in memory
	nodeConf.IPCPath = "" // no socket in the temp dir
	nodeConf.P2P = p2p.Config{NoDiscovery: true}
	nodeConf.HTTPHost = "127.0.0.1"
	nodeConf.HTTPPort = 0 // any free port; HTTPEndpoint reports it
	nodeConf.HTTPModules = []string{"eth", "net", "web3", "debug"}
	nodeConf.HTTPVirtualHosts = []string{"*"}
	nodeConf.WSHost = ""
	stack, err := node.New(&nodeConf)
	if err != nil {
		t.Fatalf("ethtest: node: %v", err)
	}

	ethConf := ethconfig.Defaults
	ethConf.Genesis = &core.Genesis{
		Config:   params.AllDevChainProtocolChanges,
		GasLimit: ethconfig.Defaults.Miner.GasCeil,
		Alloc:    maps.Clone(alloc),
	}
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true
	ethConf.StateScheme = rawdb.HashScheme
	ethConf.NoPruning = true // archive: balances at every height
	backend, err := gethEth.New(stack, &ethConf)
	if err != nil {
		stack.Close()
		t.Fatalf("ethtest: eth service: %v", err)
	}
	stack.RegisterAPIs(tracers.APIs(backend.APIBackend))
	stack.RegisterAPIs([]rpc.API{{
		Namespace: "eth",
		Service:   filters.NewFilterAPI(filters.NewFilterSystem(backend.APIBackend, filters.Config{})),
	}})
	if err := stack.Start(); err != nil {
		stack.Close()
		t.Fatalf("ethtest: start node: %v", err)
	}
	c.stack = stack
	t.Cleanup(c.stop)

	beacon, err := catalyst.NewSimulatedBeacon(0, c.Coinbase, backend)
	if err != nil {
		t.Fatalf("ethtest: beacon: %v", err)
	}
	c.beacon = beacon
	if err := beacon.Fork(backend.BlockChain().GetCanonicalHash(0)); err != nil {
		t.Fatalf("ethtest: beacon fork: %v", err)
	}

	c.url = stack.HTTPEndpoint()
	c.Client, err = ethclient.DialContext(t.Context(), c.url)
	if err != nil {
		t.Fatalf("ethtest: dial %s: %v", c.url, err)
	}
	return c
}

// stop shuts the chain down.
func (c *Chain) stop() {
	if c.Client != nil {
		c.Client.Close()
	}
	if c.beacon != nil {
		_ = c.beacon.Stop()
	}
	_ = c.stack.Close()
}

// URL is the node's HTTP JSON-RPC endpoint, http://127.0.0.1:port.
func (c *Chain) URL() string { return c.url }

// Commit seals a block with the pending transactions and returns its
// number.
func (c *Chain) Commit(t testing.TB) uint64 {
	t.Helper()
	c.mu.Lock()
	hash := c.beacon.Commit()
	c.mu.Unlock()
	h, err := c.Client.HeaderByHash(t.Context(), hash)
	if err != nil {
		t.Fatalf("ethtest: head after commit: %v", err)
	}
	return h.Number.Uint64()
}

// Tx describes a transaction for SendTx.
type Tx struct {
	From Account
	// To is nil for a contract creation.
	To    *common.Address
	Value *big.Int
	Data  []byte
	// Gas is the gas limit; zero estimates it (which fails for a call that
	// reverts, so failing transactions need an explicit limit).
	Gas uint64
}

// TipCap is the priority fee per gas of every transaction SendTx sends.
var TipCap = big.NewInt(params.GWei)

// SendTx signs tx as an EIP-1559 transaction (tip TipCap, fee cap twice the
// latest base fee plus the tip), sends it to the pool and returns it. It
// is included by the next Commit. Nonces are tracked by the Chain, so
// several transactions from one account can wait for the same block.
func (c *Chain) SendTx(t testing.TB, tx Tx) *types.Transaction {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	cx := t.Context()
	nonce, ok := c.nonces[tx.From.Address]
	if !ok {
		n, err := c.Client.PendingNonceAt(cx, tx.From.Address)
		if err != nil {
			t.Fatalf("ethtest: nonce: %v", err)
		}
		nonce = n
	}
	value := tx.Value
	if value == nil {
		value = new(big.Int)
	}
	gas := tx.Gas
	if gas == 0 {
		var err error
		gas, err = c.Client.EstimateGas(cx, ethereum.CallMsg{From: tx.From.Address, To: tx.To, Value: value, Data: tx.Data})
		if err != nil {
			t.Fatalf("ethtest: estimate gas: %v", err)
		}
	}
	head, err := c.Client.HeaderByNumber(cx, nil)
	if err != nil {
		t.Fatalf("ethtest: head: %v", err)
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), TipCap)
	signed, err := types.SignNewTx(tx.From.Key, types.LatestSignerForChainID(c.ChainID), &types.DynamicFeeTx{
		ChainID:   c.ChainID,
		Nonce:     nonce,
		GasTipCap: TipCap,
		GasFeeCap: feeCap,
		Gas:       gas,
		To:        tx.To,
		Value:     value,
		Data:      tx.Data,
	})
	if err != nil {
		t.Fatalf("ethtest: sign: %v", err)
	}
	if err := c.Client.SendTransaction(cx, signed); err != nil {
		t.Fatalf("ethtest: send: %v", err)
	}
	c.nonces[tx.From.Address] = nonce + 1
	return signed
}

// Deploy sends a creation transaction of code followed by the encoded
// constructor args, with value and gas (zero: estimate), and returns the
// address the contract will have and the transaction. Commit mines it.
func (c *Chain) Deploy(t testing.TB, from Account, code []byte, value *big.Int, gas uint64, args ...[]byte) (common.Address, *types.Transaction) {
	t.Helper()
	data := append([]byte(nil), code...)
	for _, a := range args {
		data = append(data, a...)
	}
	tx := c.SendTx(t, Tx{From: from, Value: value, Data: data, Gas: gas})
	return crypto.CreateAddress(from.Address, tx.Nonce()), tx
}

// Receipt waits (up to ten seconds) for the receipt of a mined
// transaction. It does not Commit.
func (c *Chain) Receipt(t testing.TB, hash common.Hash) *types.Receipt {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := c.Client.TransactionReceipt(t.Context(), hash)
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("ethtest: receipt of %s: %v", hash, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mine commits a block and returns the receipts of txs, failing the test
// unless each is in that block with the wanted status.
func (c *Chain) Mine(t testing.TB, txs ...*types.Transaction) []*types.Receipt {
	t.Helper()
	n := c.Commit(t)
	out := make([]*types.Receipt, len(txs))
	for i, tx := range txs {
		r := c.Receipt(t, tx.Hash())
		if r.BlockNumber.Uint64() != n {
			t.Fatalf("ethtest: tx %s mined in block %d, want %d", tx.Hash(), r.BlockNumber, n)
		}
		out[i] = r
	}
	return out
}

// Balance returns addr's balance at block n (nil: latest).
func (c *Chain) Balance(t testing.TB, addr common.Address, n *big.Int) *big.Int {
	t.Helper()
	b, err := c.Client.BalanceAt(t.Context(), addr, n)
	if err != nil {
		t.Fatalf("ethtest: balance of %s: %v", addr, err)
	}
	return b
}

// Call runs an eth_call of data on contract to at the latest block.
func (c *Chain) Call(t testing.TB, to common.Address, data []byte) []byte {
	t.Helper()
	out, err := c.Client.CallContract(t.Context(), ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		t.Fatalf("ethtest: call %s: %v", to, err)
	}
	return out
}

// TokenBalance returns owner's balance of the ERC-20 token at the latest
// block.
func (c *Chain) TokenBalance(t testing.TB, token, owner common.Address) *big.Int {
	t.Helper()
	out := c.Call(t, token, ERC20BalanceOfData(owner))
	if len(out) != 32 {
		t.Fatalf("ethtest: balanceOf returned %d bytes", len(out))
	}
	return new(big.Int).SetBytes(out)
}
