package ethtest

import (
	_ "embed"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The contract sources: annotated assembly listings in contracts/.
var (
	//go:embed contracts/erc20.asm
	erc20Source string
	//go:embed contracts/forwarder.asm
	forwarderSource string
	//go:embed contracts/piggybank.asm
	piggyBankSource string
)

// Creation code of the test contracts, assembled from contracts/*.asm.
var (
	// ERC20Code deploys the minimal ERC-20 token; its constructor takes
	// one argument, the supply (Uint256Arg), minted to the deployer.
	ERC20Code = MustAssemble(erc20Source)
	// ForwarderCode deploys the Forwarder (forward, forwardAndRevert).
	ForwarderCode = MustAssemble(forwarderSource)
	// PiggyBankCode deploys the self-destructing piggy bank (payable
	// constructor and receive, destroy(beneficiary)).
	PiggyBankCode = MustAssemble(piggyBankSource)
)

// Token metadata of the ERC-20 contract.
const (
	TokenName     = "Chaintrace Test Token"
	TokenSymbol   = "CTT"
	TokenDecimals = 18
)

// TransferTopic is the topic of Transfer(address,address,uint256).
var TransferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// Selector returns the 4-byte selector of a function signature such as
// "transfer(address,uint256)".
func Selector(sig string) []byte { return crypto.Keccak256([]byte(sig))[:4] }

// Uint256Arg ABI-encodes v as one 32-byte word.
func Uint256Arg(v *big.Int) []byte { return common.LeftPadBytes(v.Bytes(), 32) }

// AddressArg ABI-encodes a as one 32-byte word.
func AddressArg(a common.Address) []byte { return common.LeftPadBytes(a.Bytes(), 32) }

// CallData concatenates the selector of sig and the encoded arguments.
func CallData(sig string, args ...[]byte) []byte {
	out := Selector(sig)
	for _, a := range args {
		out = append(out, a...)
	}
	return out
}

// ERC20TransferData is the call data of transfer(to, amount).
func ERC20TransferData(to common.Address, amount *big.Int) []byte {
	return CallData("transfer(address,uint256)", AddressArg(to), Uint256Arg(amount))
}

// ERC20BalanceOfData is the call data of balanceOf(owner).
func ERC20BalanceOfData(owner common.Address) []byte {
	return CallData("balanceOf(address)", AddressArg(owner))
}

// ForwardData is the call data of forward(to).
func ForwardData(to common.Address) []byte { return CallData("forward(address)", AddressArg(to)) }

// ForwardAndRevertData is the call data of forwardAndRevert(to).
func ForwardAndRevertData(to common.Address) []byte {
	return CallData("forwardAndRevert(address)", AddressArg(to))
}

// DestroyData is the call data of the piggy bank's destroy(beneficiary).
func DestroyData(beneficiary common.Address) []byte {
	return CallData("destroy(address)", AddressArg(beneficiary))
}
