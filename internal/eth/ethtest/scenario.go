package ethtest

import (
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/chaintrace/chaintrace/internal/eth"
)

// Transfer is a value movement a scenario expects Extract to find. Fees
// are not listed: they follow from the receipts.
type Transfer struct {
	Kind     eth.Kind
	TxHash   common.Hash
	From, To common.Address
	// Token is the token contract, zero for native value.
	Token  common.Address
	Amount *big.Int
}

// Expected is what Scenario did to the chain.
type Expected struct {
	// LastBlock is the head after the scenario; it starts at block 1.
	LastBlock uint64
	// Txs are all scenario transactions in sending order; Failed the ones
	// that must have status 0 (they move no value but pay fees).
	Txs    []common.Hash
	Failed []common.Hash
	// Transfers are every non-fee transfer, in no particular order.
	Transfers []Transfer
	// Token is the ERC-20 contract, TokenSupply its minted supply and
	// TokenHolders the accounts whose token balance the scenario changes.
	Token        common.Address
	TokenSupply  *big.Int
	TokenHolders []common.Address
	// Forwarder and PiggyBank are the other contracts deployed.
	Forwarder, PiggyBank common.Address
	// Accounts are the addresses whose native balance the scenario
	// changes, including the contracts and the coinbase.
	Accounts []common.Address
	// RevertedValueFrames is how many value-carrying frames sit in
	// reverted subtrees.
	RevertedValueFrames int
}

func ether(milli int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(milli), big.NewInt(params.Ether/1000))
}

// Scenario runs a fixed series of transactions on a fresh chain, mining
// blocks 1 to 4, and returns what an extractor must find:
//
//	block 1: native A→B; A deploys the ERC-20 (mint 0x0→A)
//	block 2: token A→C; B deploys the Forwarder; B deploys the piggy bank
//	         with value (create B→piggy)
//	block 3: A→Forwarder.forward(D) with value (native A→Forwarder,
//	         internal Forwarder→D); C's token transfer over its balance
//	         (fails); D→Forwarder.forwardAndRevert(E) with value (fails, one
//	         reverted value frame); native A→piggy
//	block 4: C calls piggy.destroy(F) (selfdestruct piggy→F of its balance)
//
// where A..F are Accounts[0..5].
func Scenario(t testing.TB, c *Chain) Expected {
	t.Helper()
	A, B, C, D, E, F := c.Accounts[0], c.Accounts[1], c.Accounts[2], c.Accounts[3], c.Accounts[4], c.Accounts[5]
	var exp Expected
	sent := func(txs ...*types.Transaction) {
		for _, tx := range txs {
			exp.Txs = append(exp.Txs, tx.Hash())
		}
	}
	want := func(k eth.Kind, tx *types.Transaction, from, to, token common.Address, amount *big.Int) {
		exp.Transfers = append(exp.Transfers, Transfer{Kind: k, TxHash: tx.Hash(), From: from, To: to, Token: token, Amount: amount})
	}
	const failGas = 200_000

	// Block 1.
	toB := ether(1500)
	tx1 := c.SendTx(t, Tx{From: A, To: &B.Address, Value: toB})
	exp.TokenSupply = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	token, tx2 := c.Deploy(t, A, ERC20Code, nil, 0, Uint256Arg(exp.TokenSupply))
	exp.Token = token
	sent(tx1, tx2)
	c.Mine(t, tx1, tx2)
	want(eth.Native, tx1, A.Address, B.Address, common.Address{}, toB)
	want(eth.ERC20, tx2, common.Address{}, A.Address, token, exp.TokenSupply)

	// Block 2.
	toC := new(big.Int).Mul(big.NewInt(250), big.NewInt(params.Ether))
	tx3 := c.SendTx(t, Tx{From: A, To: &token, Data: ERC20TransferData(C.Address, toC)})
	fwd, tx4 := c.Deploy(t, B, ForwarderCode, nil, 0)
	piggyStake := ether(2000)
	piggy, tx5 := c.Deploy(t, B, PiggyBankCode, piggyStake, 0)
	exp.Forwarder, exp.PiggyBank = fwd, piggy
	sent(tx3, tx4, tx5)
	c.Mine(t, tx3, tx4, tx5)
	want(eth.ERC20, tx3, A.Address, C.Address, token, toC)
	want(eth.Create, tx5, B.Address, piggy, common.Address{}, piggyStake)

	// Block 3.
	forwarded := ether(750)
	tx6 := c.SendTx(t, Tx{From: A, To: &fwd, Value: forwarded, Data: ForwardData(D.Address)})
	tooMuch := new(big.Int).Add(exp.TokenSupply, big.NewInt(1))
	tx7 := c.SendTx(t, Tx{From: C, To: &token, Data: ERC20TransferData(A.Address, tooMuch), Gas: failGas})
	tx8 := c.SendTx(t, Tx{From: D, To: &fwd, Value: ether(100), Data: ForwardAndRevertData(E.Address), Gas: failGas})
	topUp := ether(500)
	tx9 := c.SendTx(t, Tx{From: A, To: &piggy, Value: topUp})
	sent(tx6, tx7, tx8, tx9)
	rs := c.Mine(t, tx6, tx7, tx8, tx9)
	for i, ok := range []bool{true, false, false, true} {
		if got := rs[i].Status == types.ReceiptStatusSuccessful; got != ok {
			t.Fatalf("ethtest: scenario tx %s: success %v, want %v", rs[i].TxHash, got, ok)
		}
	}
	exp.Failed = append(exp.Failed, tx7.Hash(), tx8.Hash())
	exp.RevertedValueFrames = 1 // tx8's Forwarder→E call
	want(eth.Native, tx6, A.Address, fwd, common.Address{}, forwarded)
	want(eth.Internal, tx6, fwd, D.Address, common.Address{}, forwarded)
	want(eth.Native, tx9, A.Address, piggy, common.Address{}, topUp)

	// Block 4.
	tx10 := c.SendTx(t, Tx{From: C, To: &piggy, Data: DestroyData(F.Address)})
	sent(tx10)
	c.Mine(t, tx10)
	want(eth.SelfDestruct, tx10, piggy, F.Address, common.Address{}, new(big.Int).Add(piggyStake, topUp))

	exp.LastBlock = 4
	exp.TokenHolders = []common.Address{A.Address, C.Address}
	exp.Accounts = []common.Address{A.Address, B.Address, C.Address, D.Address, E.Address, F.Address,
		token, fwd, piggy, c.Coinbase}
	for _, r := range rsOf(t, c, exp.Txs) {
		if r.Status != types.ReceiptStatusSuccessful && !slices.Contains(exp.Failed, r.TxHash) {
			t.Fatalf("ethtest: scenario tx %s failed", r.TxHash)
		}
	}
	return exp
}

// rsOf fetches the receipts of hashes.
func rsOf(t testing.TB, c *Chain, hashes []common.Hash) []*types.Receipt {
	t.Helper()
	out := make([]*types.Receipt, len(hashes))
	for i, h := range hashes {
		out[i] = c.Receipt(t, h)
	}
	return out
}
