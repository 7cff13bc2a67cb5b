package world

import (
	"fmt"
	"math/big"

	"github.com/chaintrace/chaintrace/internal/sim/ethw"
	"github.com/ethereum/go-ethereum/common"
)

// Ethereum fees: every transaction pays gas × (base fee + tip).
const (
	baseFeeWei = 10_000_000_000
	tipWei     = 1_000_000_000
	gweiPerETH = 1_000_000_000
)

// Gas of the contract calls the world makes.
const (
	gasSwap    = 150_000
	gasBridge  = 80_000
	gasDeposit = 900_000
	gasRelease = 90_000
	gasDrain   = 400_000
)

var zeroAddr = common.Address{}

// ether returns x ether in wei, to a millionth of an ether.
func ether(x float64) *big.Int {
	v := big.NewInt(int64(x * 1e6))
	return v.Mul(v, big.NewInt(1_000_000_000_000))
}

// usdt returns x USDT in base units (6 decimals).
func usdt(x float64) *big.Int { return big.NewInt(int64(x * 1e6)) }

// mulDiv returns a×n/d.
func mulDiv(a *big.Int, n, d int64) *big.Int {
	v := new(big.Int).Mul(a, big.NewInt(n))
	return v.Quo(v, big.NewInt(d))
}

func (w *world) ethBal(a common.Address) *big.Int  { return w.e.Balance(a, zeroAddr) }
func (w *world) usdtBal(a common.Address) *big.Int { return w.e.Balance(a, w.usdt) }

// gasFee is what a transaction of gas costs its sender.
func (w *world) gasFee(gas uint64) *big.Int { return w.e.Fee(gas) }

// canPay reports whether a holds v wei plus the fee of gas.
func (w *world) canPay(a common.Address, v *big.Int, gas uint64) bool {
	need := new(big.Int).Add(v, w.gasFee(gas))
	return w.ethBal(a).Cmp(need) >= 0
}

// send transfers wei from an EOA.
func (w *world) send(from, to common.Address, wei *big.Int) (common.Hash, error) {
	h, err := w.e.Send(from, to, wei)
	if err != nil {
		return h, fmt.Errorf("world: eth send at step %d: %w", w.step, err)
	}
	w.ethTxs++
	return h, nil
}

// tokenTransfer moves USDT from an EOA.
func (w *world) tokenTransfer(from, to common.Address, amount *big.Int) (common.Hash, error) {
	h, err := w.e.TokenTransfer(from, w.usdt, to, amount)
	if err != nil {
		return h, fmt.Errorf("world: usdt transfer at step %d: %w", w.step, err)
	}
	w.ethTxs++
	return h, nil
}

// call sends a contract call with its value movements.
func (w *world) call(from, to common.Address, value *big.Int, effects []ethw.Effect, gas uint64) (common.Hash, error) {
	h, err := w.e.Call(from, to, value, effects, gas)
	if err != nil {
		return h, fmt.Errorf("world: eth call at step %d: %w", w.step, err)
	}
	w.ethTxs++
	return h, nil
}

// mint creates USDT at to.
func (w *world) mint(to common.Address, amount *big.Int) error {
	if _, err := w.e.Mint(w.usdt, to, amount); err != nil {
		return fmt.Errorf("world: usdt mint at step %d: %w", w.step, err)
	}
	w.ethTxs++
	return nil
}

// swapOutUSDT is what the DEX pays for wei of ETH: the fixed price less
// its 0.3% fee.
func swapOutUSDT(wei *big.Int) *big.Int {
	v := new(big.Int).Quo(wei, big.NewInt(WeiPerUSDTUnit))
	return mulDiv(v, 997, 1000)
}

// swapOutETH is what the DEX pays for units of USDT.
func swapOutETH(units *big.Int) *big.Int {
	v := new(big.Int).Mul(units, big.NewInt(WeiPerUSDTUnit))
	return mulDiv(v, 997, 1000)
}

// swapETH swaps wei of ETH from an EOA for USDT on the DEX and returns
// the USDT received.
func (w *world) swapETH(from common.Address, wei *big.Int) (common.Hash, *big.Int, error) {
	got := swapOutUSDT(wei)
	h, err := w.call(from, w.dex.addr, wei, []ethw.Effect{{Token: w.usdt, From: w.dex.addr, To: from, Amount: got}}, gasSwap)
	return h, got, err
}

// swapUSDT swaps units of USDT from an EOA for ETH on the DEX and returns
// the ETH received.
func (w *world) swapUSDT(from common.Address, units *big.Int) (common.Hash, *big.Int, error) {
	got := swapOutETH(units)
	h, err := w.call(from, w.dex.addr, new(big.Int), []ethw.Effect{
		{Token: w.usdt, From: from, To: w.dex.addr, Amount: units},
		{Token: zeroAddr, From: w.dex.addr, To: from, Amount: got},
	}, gasSwap)
	return h, got, err
}

// spare returns a's ETH less the fee of gas and a reserve of reserve
// further fees of gasSend, or zero.
func (w *world) spare(a common.Address, gas uint64, reserve int64) *big.Int {
	v := w.ethBal(a)
	v.Sub(v, w.gasFee(gas))
	v.Sub(v, new(big.Int).Mul(w.gasFee(ethw.GasTokenTransfer), big.NewInt(reserve)))
	if v.Sign() < 0 {
		return new(big.Int)
	}
	return v
}
