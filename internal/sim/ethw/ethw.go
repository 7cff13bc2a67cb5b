// Package ethw is a deterministic, scriptable Ethereum-like account ledger
// that writes its chain as an ethereum-etl export (blocks.csv,
// transactions.csv with the receipt_* columns, token_transfers.csv,
// traces.csv and tokens.csv), which chaintrace's ETL importer
// (internal/eth/etl) reads. Simulations script an economy on it (package
// internal/sim/world) and tests ingest the result through the real path.
//
// The ledger keeps balances, not code: a contract call is described by its
// value movements (Effect), each checked against the balances of that
// moment, so a refused call changes nothing. Every transaction succeeds or
// is refused; none is written as failed.
//
// Credits that depend on closing a block land when Mine closes it, after
// the block's transactions, as on Ethereum: the miner's tips and the
// beacon-chain withdrawals of that block. Debits and every other credit
// (values, internal calls, token transfers) take effect as soon as the
// transaction is accepted, so Balance includes the block being built.
//
// Contract-ness: every contract (NewContract, DeployToken) is created by a
// creation transaction from the chain's deployer EOA carrying CreationValue
// (1 wei). chaintrace's store indexes value transfers, not creations, so
// the value makes the creation a transfer into the contract, and
// ethcluster.Kind then classifies the address as a contract ("it was
// created by transaction ..."). Token contracts are also known to the
// store as tokens once tokens.csv is imported (etl.Source answers the
// ERC-20 metadata calls from it).
//
// The deployer is funded by a withdrawal of DeployerGrant in the genesis
// block, so contracts can be created without any set-up; it also signs
// every Mint.
//
// Files: the rows of a block are written (through buffers) when Mine
// closes it, so memory is bounded by the number of addresses and the size
// of one block; tokens.csv, which carries each token's current total
// supply, is rewritten by Flush and Close. Every transaction is a type-2
// transaction priced at BaseFee+Tip with a tip of Tip; its receipt says
// it used all its gas, so the fee chaintrace extracts is gas × BaseFee
// burnt and gas × Tip to the miner, exactly what the ledger charged.
// Block gas limits are not enforced. Roots, blooms and sizes are left
// empty; hashes are keccak digests of the chain id and the block's or
// transaction's fields, linked by parent hash.
package ethw

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

// Gas used by the kinds of transaction, so that callers can work out what
// an address needs for fees (see Chain.Fee).
const (
	// GasSend is the gas of a plain value transfer.
	GasSend = 21_000
	// GasTokenTransfer is the gas of an ERC-20 transfer(to, amount) call.
	GasTokenTransfer = 52_000
	// GasMint is the gas of a token owner's mint(to, amount) call.
	GasMint = 56_000
	// GasCall is the gas of Call when its gas argument is 0.
	GasCall = 60_000
	// GasCreate is the gas of the creation transaction of NewContract.
	GasCreate = 250_000
	// GasCreateToken is the gas of the creation transaction of DeployToken.
	GasCreateToken = 900_000
	// BlockGasLimit is the gas_limit written for every block; a block that
	// uses more (the ledger does not split blocks) is written with its gas
	// used as its limit.
	BlockGasLimit = 30_000_000
)

// DeployerGrant is the genesis withdrawal, in gwei, that funds the
// deployer's creation and mint transactions (one million ether).
const DeployerGrant = 1_000_000 * 1_000_000_000

// CreationValue is the wei every creation transaction sends into the new
// contract, so that the store sees the creation as a transfer.
const CreationValue = 1

// Errors that the refusals wrap, for errors.Is.
var (
	// ErrInsufficient is wrapped by refusals for want of funds: native
	// value and fees, or a token balance.
	ErrInsufficient = errors.New("insufficient balance")
	// ErrInvalid is wrapped by refusals of malformed requests: a negative
	// or oversized amount, a contract as a sender, an unknown token.
	ErrInvalid = errors.New("invalid request")
	// ErrClosed is returned once Close has been called.
	ErrClosed = errors.New("chain closed")
)

// Config fixes everything that output depends on besides the call
// sequence; the zero value is usable.
type Config struct {
	// ChainID enters every hash, so that chains with different ids never
	// share hashes; default 1337.
	ChainID uint64
	// Seed derives addresses (NewAddr, the deployer) and so every hash.
	Seed int64
	// BaseFee is the per-gas fee burnt by every transaction; default 10
	// gwei. It is the base_fee_per_gas of every block.
	BaseFee *big.Int
	// Tip is the per-gas fee paid to the block's miner; default 1 gwei.
	Tip *big.Int
	// GenesisTime is the timestamp of block 0; zero gives it the time of
	// the first mined block (or the Unix epoch if none is mined).
	GenesisTime time.Time
}

// Stats counts what the chain has written so far.
type Stats struct {
	// Blocks is the number of blocks written, genesis included.
	Blocks uint64
	// Txs is the number of transactions written.
	Txs uint64
	// Transfers counts the value transfers chaintrace's extraction finds
	// in the written blocks: native values, internal calls with value,
	// token transfers, burnt fees, tips and withdrawals.
	Transfers uint64
	// Withdrawals is the number of withdrawals written.
	Withdrawals uint64
	// Bytes is the size of the CSV files written, buffered bytes included
	// (tokens.csv, rewritten by Flush and Close, is not counted).
	Bytes uint64
	// Burnt is the wei burnt by base fees so far (a copy).
	Burnt *big.Int
}

// account is the ledger's state of one address.
type account struct {
	bal      uint256.Int
	nonce    uint64
	contract bool
}

// tokKey names a token balance: the token contract and the holder.
type tokKey struct{ token, holder common.Address }

// tokenInfo is a deployed token.
type tokenInfo struct {
	symbol, name string
	decimals     uint8
	supply       uint256.Int
	block        uint64
}

// file indexes of Chain.out.
const (
	fBlocks = iota
	fTxs
	fTokenTransfers
	fTraces
	numFiles
)

var fileNames = [numFiles]string{"blocks.csv", "transactions.csv", "token_transfers.csv", "traces.csv"}

var fileHeaders = [numFiles]string{
	"number,hash,parent_hash,nonce,sha3_uncles,logs_bloom,transactions_root,state_root,receipts_root,miner,difficulty,total_difficulty,size,extra_data,gas_limit,gas_used,timestamp,transaction_count,base_fee_per_gas,withdrawals_root,withdrawals\n",
	"hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type,receipt_cumulative_gas_used,receipt_gas_used,receipt_contract_address,receipt_root,receipt_status,receipt_effective_gas_price\n",
	"token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n",
	"block_number,transaction_hash,transaction_index,from_address,to_address,value,input,output,trace_type,call_type,reward_type,gas,gas_used,subtraces,trace_address,error,status,trace_id\n",
}

// countWriter counts the bytes that reach a file.
type countWriter struct {
	w io.Writer
	n *uint64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += uint64(n)
	return n, err
}

// Chain is a ledger being built. It is not safe for concurrent use.
type Chain struct {
	dir     string
	cfg     Config
	chainID uint64
	baseFee uint256.Int
	tip     uint256.Int
	price   uint256.Int // baseFee + tip

	accts     map[common.Address]*account
	tokBal    map[tokKey]*uint256.Int
	tokens    map[common.Address]*tokenInfo
	tokOrder  []common.Address
	names     map[common.Address]string
	deployer  common.Address
	eoas      uint64
	burnt     uint256.Int
	undo      []undoEntry
	hashState crypto.KeccakState

	// The chain written so far.
	height    uint64 // of the last written block
	written   bool   // genesis written
	prevHash  common.Hash
	prevTime  uint64
	wdIndex   uint64
	stats     Stats
	files     [numFiles]*os.File
	out       [numFiles]*bufio.Writer
	buf       []byte
	closed    bool
	deferred  error // a failure of NewContract or DeployToken, reported by Mine
	writeErr  error // the first write failure; the export is then unusable
	pending   []ptx
	pendTips  uint256.Int
	pendWd    []withdrawal
	genesisWd []withdrawal
}

// withdrawal is one beacon-chain withdrawal of a block.
type withdrawal struct {
	index, validator uint64
	addr             common.Address
	gwei             uint64
}

// New creates the export files in dir (creating dir, truncating the
// files) and starts a chain whose genesis block 0 has no transactions and
// one withdrawal funding the deployer; block 1 is the first being built.
func New(dir string, cfg Config) (*Chain, error) {
	c := &Chain{dir: dir, cfg: cfg, chainID: cfg.ChainID,
		accts: map[common.Address]*account{}, tokBal: map[tokKey]*uint256.Int{},
		tokens: map[common.Address]*tokenInfo{}, names: map[common.Address]string{},
		hashState: crypto.NewKeccakState()}
	if c.chainID == 0 {
		c.chainID = 1337
	}
	var err error
	if err = setFee(&c.baseFee, cfg.BaseFee, 10_000_000_000, "base fee"); err != nil {
		return nil, err
	}
	if err = setFee(&c.tip, cfg.Tip, 1_000_000_000, "tip"); err != nil {
		return nil, err
	}
	if _, over := c.price.AddOverflow(&c.baseFee, &c.tip); over {
		return nil, fmt.Errorf("ethw: base fee plus tip overflows 256 bits: %w", ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ethw: %w", err)
	}
	for i, name := range fileNames {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			c.closeFiles()
			return nil, fmt.Errorf("ethw: %w", err)
		}
		c.files[i] = f
		c.out[i] = bufio.NewWriterSize(countWriter{f, &c.stats.Bytes}, 256<<10)
		c.out[i].WriteString(fileHeaders[i])
	}
	c.deployer = c.derive("deployer", 0)
	d := c.acct(c.deployer)
	d.bal.Mul(uint256.NewInt(DeployerGrant), uint256.NewInt(1_000_000_000))
	c.genesisWd = []withdrawal{{index: 0, validator: validatorOf(c.deployer), addr: c.deployer, gwei: DeployerGrant}}
	c.wdIndex = 1
	return c, nil
}

// setFee sets dst from v, or from def when v is nil.
func setFee(dst *uint256.Int, v *big.Int, def uint64, what string) error {
	if v == nil {
		dst.SetUint64(def)
		return nil
	}
	if v.Sign() < 0 || v.BitLen() > 256 {
		return fmt.Errorf("ethw: %s %s is negative or over 256 bits: %w", what, v, ErrInvalid)
	}
	dst.SetFromBig(v)
	return nil
}

// derive returns the address numbered n of the given kind, from the
// chain's seed.
func (c *Chain) derive(kind string, n uint64) common.Address {
	var b [16]byte
	putU64(b[:8], uint64(c.cfg.Seed))
	putU64(b[8:], n)
	h := crypto.Keccak256([]byte("ethw/"+kind), b[:])
	return common.BytesToAddress(h[12:])
}

func putU64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

// validatorOf is a deterministic validator index for withdrawals to addr.
func validatorOf(addr common.Address) uint64 {
	return (uint64(addr[0])<<16 | uint64(addr[1])<<8 | uint64(addr[2])) + 1
}

// acct returns addr's account, creating it.
func (c *Chain) acct(addr common.Address) *account {
	a := c.accts[addr]
	if a == nil {
		a = &account{}
		c.accts[addr] = a
	}
	return a
}

// Forget drops addr's account and token balances from the ledger, for an
// address its owner has abandoned, so that a long simulation's ledger
// does not grow with every address it ever retired. Nothing written
// changes: the export holds transactions, not state. A later credit to
// addr starts a fresh account holding only that credit and nonce 0, so
// the caller must never make addr sign again (its transactions would
// reuse nonces, and so hashes) nor rely on its balance. Contracts are
// kept.
func (c *Chain) Forget(addr common.Address) {
	if a := c.accts[addr]; a == nil || a.contract {
		return
	}
	delete(c.accts, addr)
	for _, tok := range c.tokOrder {
		delete(c.tokBal, tokKey{tok, addr})
	}
}

// NewAddr returns a fresh externally owned address, derived from the seed
// and a counter so that the same script gives the same addresses.
func (c *Chain) NewAddr() common.Address {
	c.eoas++
	return c.derive("eoa", c.eoas)
}

// Deployer returns the EOA that creates every contract and signs every
// Mint; it is funded with DeployerGrant gwei in the genesis block.
func (c *Chain) Deployer() common.Address { return c.deployer }

// IsContract reports whether addr was created by NewContract or
// DeployToken.
func (c *Chain) IsContract(addr common.Address) bool {
	a := c.accts[addr]
	return a != nil && a.contract
}

// ContractName returns the name given to NewContract (or the symbol of a
// token), so that simulations and reports can show what an address is.
func (c *Chain) ContractName(addr common.Address) string { return c.names[addr] }

// Fee returns what a transaction of the given gas costs its sender:
// gas × (BaseFee + Tip), in wei.
func (c *Chain) Fee(gas uint64) *big.Int {
	var f uint256.Int
	f.Mul(uint256.NewInt(gas), &c.price)
	return f.ToBig()
}

// Balance returns addr's balance of token (the zero address: ether, in
// wei) as a copy. It includes the transactions of the block being built
// but not its tips and withdrawals, which Mine credits.
func (c *Chain) Balance(addr, token common.Address) *big.Int {
	if token == (common.Address{}) {
		if a := c.accts[addr]; a != nil {
			return a.bal.ToBig()
		}
		return new(big.Int)
	}
	if b := c.tokBal[tokKey{token, addr}]; b != nil {
		return b.ToBig()
	}
	return new(big.Int)
}

// Nonce returns the nonce addr's next transaction will carry.
func (c *Chain) Nonce(addr common.Address) uint64 {
	if a := c.accts[addr]; a != nil {
		return a.nonce
	}
	return 0
}

// TotalSupply returns the minted minus burnt amount of token, or nil if
// token was not deployed with DeployToken.
func (c *Chain) TotalSupply(token common.Address) *big.Int {
	if t := c.tokens[token]; t != nil {
		return t.supply.ToBig()
	}
	return nil
}

// Height returns the number of the last block written (0: only genesis,
// which New writes logically even though its row waits for a timestamp).
func (c *Chain) Height() uint64 { return c.height }

// Stats returns the counters of what has been written.
func (c *Chain) Stats() Stats {
	s := c.stats
	for _, w := range c.out {
		s.Bytes += uint64(w.Buffered())
	}
	s.Burnt = c.burnt.ToBig()
	return s
}

// Withdraw credits gwei to addr through a beacon-chain withdrawal in the
// block being built; this is how new ether enters the chain. As on
// Ethereum, the credit lands when Mine closes the block, after its
// transactions: addr can spend it from the next block on. A zero amount
// is ignored.
func (c *Chain) Withdraw(addr common.Address, gwei uint64) {
	if gwei == 0 || c.closed {
		return
	}
	c.pendWd = append(c.pendWd, withdrawal{index: c.wdIndex, validator: validatorOf(addr), addr: addr, gwei: gwei})
	c.wdIndex++
}

// Flush writes the buffered rows of the mined blocks and tokens.csv, so
// that the directory is a valid export of the blocks mined so far.
func (c *Chain) Flush() error {
	if c.closed {
		return fmt.Errorf("ethw: flush: %w", ErrClosed)
	}
	if err := c.writeGenesis(); err != nil {
		return err
	}
	for _, w := range c.out {
		if err := w.Flush(); err != nil {
			c.fail(err)
		}
	}
	if c.writeErr != nil {
		return c.writeErr
	}
	return c.writeTokens()
}

// Close flushes the export, writes tokens.csv and closes the files. A
// block being built that holds transactions or withdrawals is not written
// (Mine it first); Close reports it as an error after closing.
func (c *Chain) Close() error {
	if c.closed {
		return nil
	}
	err := c.Flush()
	c.closed = true
	if cerr := c.closeFiles(); err == nil {
		err = cerr
	}
	if err == nil && (len(c.pending) > 0 || len(c.pendWd) > 0) {
		err = fmt.Errorf("ethw: close: the block being built holds %d transactions and %d withdrawals that were never mined: %w",
			len(c.pending), len(c.pendWd), ErrInvalid)
	}
	return err
}

func (c *Chain) closeFiles() error {
	var errs []error
	for i, f := range c.files {
		if f != nil {
			errs = append(errs, f.Close())
			c.files[i] = nil
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ethw: close: %w", err)
	}
	return nil
}

// fail records the first write failure.
func (c *Chain) fail(err error) {
	if c.writeErr == nil {
		c.writeErr = fmt.Errorf("ethw: writing %s: %w", c.dir, err)
	}
}

// writeTokens writes tokens.csv in ethereum-etl's layout with each
// token's current total supply, in order of deployment.
func (c *Chain) writeTokens() error {
	b := []byte("address,symbol,name,decimals,total_supply,block_number\n")
	for _, a := range c.tokOrder {
		t := c.tokens[a]
		b = appendAddr(b, a)
		b = append(b, ',')
		b = appendCSV(b, t.symbol)
		b = append(b, ',')
		b = appendCSV(b, t.name)
		b = append(b, ',')
		b = appendUint(b, uint64(t.decimals))
		b = append(b, ',')
		b = appendU256(b, &t.supply)
		b = append(b, ',')
		b = appendUint(b, t.block)
		b = append(b, '\n')
	}
	if err := os.WriteFile(filepath.Join(c.dir, "tokens.csv"), b, 0o644); err != nil {
		c.fail(err)
		return c.writeErr
	}
	return nil
}
