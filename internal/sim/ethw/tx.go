package ethw

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

// Effect is one value movement inside a contract call. Native value (Token
// zero) is written as an internal call (a traces row with a trace_address
// under the top-level call) from From, which must be a contract, since
// only code makes internal calls. A token movement is written as a
// Transfer log of Token (a token_transfers row), with From zero for a mint
// and To zero for a burn; when Token is not the called contract, a
// zero-value internal call from the called contract to Token is written
// too, as the EVM would trace it.
type Effect struct {
	// Token is the token contract, or the zero address for ether.
	Token common.Address
	// From pays and To receives.
	From, To common.Address
	// Amount is in wei or token base units; nil is zero.
	Amount *big.Int
}

// ptx is an accepted transaction of the block being built.
type ptx struct {
	hash   common.Hash
	from   common.Address
	to     common.Address // the created contract when create is set
	create bool
	nonce  uint64
	gas    uint64
	value  uint256.Int
	input  []byte
	frames []frame
	logs   []tlog
}

// frame is an internal call beneath a transaction's top-level call.
type frame struct {
	from, to common.Address
	value    uint256.Int
}

// tlog is a Transfer log.
type tlog struct {
	token, from, to common.Address
	amount          uint256.Int
}

// undoEntry restores one balance when a transaction is refused.
type undoEntry struct {
	kind    uint8 // undoNative, undoToken or undoSupply
	existed bool
	key     tokKey // native: key.holder; supply: key.token
	old     uint256.Int
}

const (
	undoNative = iota
	undoToken
	undoSupply
)

// Method selectors written as the input of token calls.
var (
	selTransfer = crypto.Keccak256([]byte("transfer(address,uint256)"))[:4]
	selMint     = crypto.Keccak256([]byte("mint(address,uint256)"))[:4]
	selCall     = crypto.Keccak256([]byte("execute()"))[:4]
)

// refusal formats the error of a refused transaction.
func refusal(op string, from, to common.Address, err error, format string, args ...any) error {
	return fmt.Errorf("ethw: %s from %s to %s: %s: %w", op, from.Hex(), to.Hex(), fmt.Sprintf(format, args...), err)
}

// toU256 converts a caller's amount (nil is zero).
func toU256(v *big.Int) (uint256.Int, bool) {
	var u uint256.Int
	if v == nil {
		return u, true
	}
	if v.Sign() < 0 || v.BitLen() > 256 {
		return u, false
	}
	u.SetFromBig(v)
	return u, true
}

// Send transfers wei from one EOA to any address in a plain transaction
// using GasSend.
func (c *Chain) Send(from, to common.Address, wei *big.Int) (common.Hash, error) {
	v, ok := toU256(wei)
	if !ok {
		return common.Hash{}, refusal("send", from, to, ErrInvalid, "amount %s is negative or over 256 bits", wei)
	}
	return c.submit("send", from, to, false, GasSend, &v, nil, nil)
}

// TokenTransfer moves amount of token from an EOA to any address: a
// transaction from the holder to the token contract calling
// transfer(to, amount), with one Transfer log.
func (c *Chain) TokenTransfer(from, token, to common.Address, amount *big.Int) (common.Hash, error) {
	if c.tokens[token] == nil {
		return common.Hash{}, refusal("token transfer", from, token, ErrInvalid, "%s is not a token deployed with DeployToken", token.Hex())
	}
	if _, ok := toU256(amount); !ok {
		return common.Hash{}, refusal("token transfer", from, token, ErrInvalid, "amount %s is negative or over 256 bits", amount)
	}
	eff := [1]Effect{{Token: token, From: from, To: to, Amount: amount}}
	return c.submit("token transfer", from, token, false, GasTokenTransfer, new(uint256.Int), tokenInput(selTransfer, to, amount), eff[:])
}

// Mint creates amount of token at to: a transaction from the token's
// owner (the deployer) to the token contract calling mint(to, amount),
// with a Transfer log from the zero address.
func (c *Chain) Mint(token, to common.Address, amount *big.Int) (common.Hash, error) {
	if c.tokens[token] == nil {
		return common.Hash{}, refusal("mint", c.deployer, token, ErrInvalid, "%s is not a token deployed with DeployToken", token.Hex())
	}
	if _, ok := toU256(amount); !ok {
		return common.Hash{}, refusal("mint", c.deployer, token, ErrInvalid, "amount %s is negative or over 256 bits", amount)
	}
	eff := [1]Effect{{Token: token, To: to, Amount: amount}}
	return c.submit("mint", c.deployer, token, false, GasMint, new(uint256.Int), tokenInput(selMint, to, amount), eff[:])
}

// Call sends a transaction from an EOA to contract to with native value
// and the given effects, applied in order after the value, using gas (0:
// GasCall; at least GasSend). Every movement is checked against the
// balances at that point; if any would overdraw, nothing happens.
func (c *Chain) Call(from, to common.Address, value *big.Int, effects []Effect, gas uint64) (common.Hash, error) {
	if gas == 0 {
		gas = GasCall
	}
	if gas < GasSend {
		return common.Hash{}, refusal("call", from, to, ErrInvalid, "gas %d is below %d", gas, GasSend)
	}
	if !c.IsContract(to) {
		return common.Hash{}, refusal("call", from, to, ErrInvalid, "%s is not a contract (NewContract or DeployToken)", to.Hex())
	}
	v, ok := toU256(value)
	if !ok {
		return common.Hash{}, refusal("call", from, to, ErrInvalid, "value %s is negative or over 256 bits", value)
	}
	for i, e := range effects {
		if _, ok := toU256(e.Amount); !ok {
			return common.Hash{}, refusal("call", from, to, ErrInvalid, "effect %d: amount %s is negative or over 256 bits", i, e.Amount)
		}
		if e.Token == (common.Address{}) {
			if !c.IsContract(e.From) {
				return common.Hash{}, refusal("call", from, to, ErrInvalid, "effect %d: native value from %s, which is not a contract", i, e.From.Hex())
			}
		} else if c.tokens[e.Token] == nil {
			return common.Hash{}, refusal("call", from, to, ErrInvalid, "effect %d: %s is not a token deployed with DeployToken", i, e.Token.Hex())
		}
	}
	return c.submit("call", from, to, false, gas, &v, selCall, effects)
}

// NewContract creates a contract and returns its address, the CREATE
// address of the deployer and its nonce. The creation transaction (from
// the deployer, value CreationValue, GasCreate) goes into the block being
// built, and the contract can be called at once. name is kept for
// ContractName and enters the creation input. Should the deployer be
// unable to pay, the contract is not created and the next Mine reports
// why.
func (c *Chain) NewContract(name string) common.Address {
	addr, _ := c.create(name, GasCreate)
	return addr
}

// DeployToken creates an ERC-20 token contract (as NewContract, with
// GasCreateToken) and records it for tokens.csv, which gives the store its
// symbol, name and decimals. The deployer owns it and signs its mints.
func (c *Chain) DeployToken(symbol, name string, decimals uint8) common.Address {
	addr, ok := c.create("token:"+symbol+":"+name, GasCreateToken)
	if ok {
		c.tokens[addr] = &tokenInfo{symbol: symbol, name: name, decimals: decimals, block: c.height + 1}
		c.tokOrder = append(c.tokOrder, addr)
		c.names[addr] = symbol
	}
	return addr
}

func (c *Chain) create(name string, gas uint64) (common.Address, bool) {
	addr := crypto.CreateAddress(c.deployer, c.Nonce(c.deployer))
	input := append([]byte{0x60, 0x80, 0x60, 0x40}, []byte(name)...)
	if _, err := c.submit("create", c.deployer, addr, true, gas, uint256.NewInt(CreationValue), input, nil); err != nil {
		if c.deferred == nil {
			c.deferred = err
		}
		return addr, false
	}
	c.acct(addr).contract = true
	c.names[addr] = name
	return addr, true
}

// tokenInput encodes sel(address, uint256).
func tokenInput(sel []byte, to common.Address, amount *big.Int) []byte {
	b := make([]byte, 4+64)
	copy(b, sel)
	copy(b[4+12:], to[:])
	if amount != nil {
		amount.FillBytes(b[4+32:])
	}
	return b
}

// submit checks and applies one transaction; on any refusal every balance
// is restored and nothing is recorded.
func (c *Chain) submit(op string, from, to common.Address, create bool, gas uint64, value *uint256.Int, input []byte, effects []Effect) (common.Hash, error) {
	if c.closed {
		return common.Hash{}, refusal(op, from, to, ErrClosed, "closed")
	}
	if from == (common.Address{}) {
		return common.Hash{}, refusal(op, from, to, ErrInvalid, "the zero address cannot sign")
	}
	sender := c.acct(from)
	if sender.contract {
		return common.Hash{}, refusal(op, from, to, ErrInvalid, "%s is a contract and cannot sign", from.Hex())
	}
	var fee, need uint256.Int
	fee.Mul(uint256.NewInt(gas), &c.price)
	if _, over := need.AddOverflow(&fee, value); over {
		return common.Hash{}, refusal(op, from, to, ErrInvalid, "value plus fee overflows 256 bits")
	}
	if sender.bal.Lt(&need) {
		var short uint256.Int
		short.Sub(&need, &sender.bal)
		return common.Hash{}, refusal(op, from, to, ErrInsufficient, "%s holds %s wei but needs %s (value %s + fee %s): short by %s wei",
			from.Hex(), sender.bal.Dec(), need.Dec(), value.Dec(), fee.Dec(), short.Dec())
	}
	c.undo = c.undo[:0]
	c.saveNative(from, true)
	sender.bal.Sub(&sender.bal, &need)
	if err := c.addNative(to, value); err != nil {
		c.rollback()
		return common.Hash{}, refusal(op, from, to, ErrInvalid, "%v", err)
	}
	t := c.nextTx()
	t.from, t.to, t.create, t.nonce, t.gas = from, to, create, sender.nonce, gas
	t.value = *value
	t.input = append(t.input, input...)
	for i := range effects {
		if err := c.apply(t, &effects[i]); err != nil {
			c.rollback()
			c.pending = c.pending[:len(c.pending)-1]
			return common.Hash{}, refusal(op, from, to, err, "effect %d (%s)", i, describe(&effects[i]))
		}
	}
	sender.nonce++
	var part uint256.Int
	c.burnt.Add(&c.burnt, part.Mul(uint256.NewInt(gas), &c.baseFee))
	c.pendTips.Add(&c.pendTips, part.Mul(uint256.NewInt(gas), &c.tip))
	t.hash = c.txHash(t)
	c.dropZeroTokens()
	return t.hash, nil
}

// dropZeroTokens removes the token balances the accepted transaction
// emptied: a missing balance reads as zero, and keeping them would grow
// the ledger with every deposit address ever swept.
func (c *Chain) dropZeroTokens() {
	for i := range c.undo {
		e := &c.undo[i]
		if e.kind != undoToken {
			continue
		}
		if b := c.tokBal[e.key]; b != nil && b.IsZero() {
			delete(c.tokBal, e.key)
		}
	}
	c.undo = c.undo[:0]
}

// describe names an effect in an error.
func describe(e *Effect) string {
	asset := "wei"
	if e.Token != (common.Address{}) {
		asset = "of token " + e.Token.Hex()
	}
	return fmt.Sprintf("%s %s from %s to %s", e.Amount, asset, e.From.Hex(), e.To.Hex())
}

// nextTx appends a pending transaction, reusing the storage of an earlier
// block's.
func (c *Chain) nextTx() *ptx {
	n := len(c.pending)
	if n < cap(c.pending) {
		c.pending = c.pending[:n+1]
		t := &c.pending[n]
		*t = ptx{input: t.input[:0], frames: t.frames[:0], logs: t.logs[:0]}
		return t
	}
	c.pending = append(c.pending, ptx{})
	return &c.pending[n]
}

// apply performs one effect of transaction t.
func (c *Chain) apply(t *ptx, e *Effect) error {
	amt, _ := toU256(e.Amount)
	if e.Token == (common.Address{}) {
		a := c.accts[e.From]
		var have uint256.Int
		if a != nil {
			have = a.bal
		}
		if have.Lt(&amt) {
			var short uint256.Int
			short.Sub(&amt, &have)
			return fmt.Errorf("%w: %s holds %s wei: short by %s wei", ErrInsufficient, e.From.Hex(), have.Dec(), short.Dec())
		}
		c.saveNative(e.From, a != nil)
		if a == nil {
			a = c.acct(e.From)
		}
		a.bal.Sub(&a.bal, &amt)
		if err := c.addNative(e.To, &amt); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		t.frames = append(t.frames, frame{from: e.From, to: e.To, value: amt})
		return nil
	}
	info := c.tokens[e.Token]
	if e.From == (common.Address{}) {
		c.saveSupply(e.Token, info)
		if _, over := info.supply.AddOverflow(&info.supply, &amt); over {
			return fmt.Errorf("%w: total supply overflows 256 bits", ErrInvalid)
		}
	} else {
		k := tokKey{e.Token, e.From}
		b := c.tokBal[k]
		var have uint256.Int
		if b != nil {
			have = *b
		}
		if have.Lt(&amt) {
			var short uint256.Int
			short.Sub(&amt, &have)
			return fmt.Errorf("%w: %s holds %s: short by %s", ErrInsufficient, e.From.Hex(), have.Dec(), short.Dec())
		}
		c.saveToken(k, b)
		b.Sub(b, &amt)
	}
	if e.To == (common.Address{}) {
		c.saveSupply(e.Token, info)
		info.supply.Sub(&info.supply, &amt) // cannot underflow: the burnt amount was held
	} else {
		k := tokKey{e.Token, e.To}
		b := c.tokBal[k]
		c.saveToken(k, b)
		if b == nil {
			b = new(uint256.Int)
			c.tokBal[k] = b
		}
		b.Add(b, &amt) // cannot overflow: bounded by the total supply
	}
	if e.Token != t.to {
		t.frames = append(t.frames, frame{from: t.to, to: e.Token})
	}
	t.logs = append(t.logs, tlog{token: e.Token, from: e.From, to: e.To, amount: amt})
	return nil
}

// addNative credits v to addr.
func (c *Chain) addNative(addr common.Address, v *uint256.Int) error {
	a := c.accts[addr]
	c.saveNative(addr, a != nil)
	if a == nil {
		a = c.acct(addr)
	}
	if _, over := a.bal.AddOverflow(&a.bal, v); over {
		return fmt.Errorf("the balance of %s would overflow 256 bits", addr.Hex())
	}
	return nil
}

func (c *Chain) saveNative(addr common.Address, existed bool) {
	e := undoEntry{kind: undoNative, existed: existed, key: tokKey{holder: addr}}
	if existed {
		e.old = c.accts[addr].bal
	}
	c.undo = append(c.undo, e)
}

func (c *Chain) saveToken(k tokKey, b *uint256.Int) {
	e := undoEntry{kind: undoToken, existed: b != nil, key: k}
	if b != nil {
		e.old = *b
	}
	c.undo = append(c.undo, e)
}

func (c *Chain) saveSupply(token common.Address, info *tokenInfo) {
	c.undo = append(c.undo, undoEntry{kind: undoSupply, existed: true, key: tokKey{token: token}, old: info.supply})
}

// rollback restores what the undo log saved, latest first.
func (c *Chain) rollback() {
	for i := len(c.undo) - 1; i >= 0; i-- {
		e := &c.undo[i]
		switch e.kind {
		case undoNative:
			if !e.existed {
				delete(c.accts, e.key.holder)
			} else {
				c.accts[e.key.holder].bal = e.old
			}
		case undoToken:
			if !e.existed {
				delete(c.tokBal, e.key)
			} else {
				*c.tokBal[e.key] = e.old
			}
		case undoSupply:
			c.tokens[e.key.token].supply = e.old
		}
	}
	c.undo = c.undo[:0]
}

// txHash derives t's hash from the chain id and the transaction's fields;
// the sender and nonce alone make it unique.
func (c *Chain) txHash(t *ptx) common.Hash {
	var b [8 + 20 + 20 + 8 + 8 + 32 + 1]byte
	putU64(b[0:], c.chainID)
	copy(b[8:], t.from[:])
	copy(b[28:], t.to[:])
	putU64(b[48:], t.nonce)
	putU64(b[56:], t.gas)
	v := t.value.Bytes32()
	copy(b[64:], v[:])
	if t.create {
		b[96] = 1
	}
	h := c.hashState
	h.Reset()
	h.Write([]byte("ethw/tx"))
	h.Write(b[:])
	h.Write(t.input)
	var out common.Hash
	h.Read(out[:])
	return out
}
