package ethw

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
)

// Mine closes the block being built (it may be empty) at time t with
// miner as its coinbase, credits the block's tips to the miner and its
// withdrawals to their addresses, writes its rows and returns its number.
// Times never go backwards (equal times are allowed). If an earlier
// NewContract or DeployToken was refused, Mine reports that instead and
// mines nothing; the next call mines.
func (c *Chain) Mine(ctx context.Context, t time.Time, miner common.Address) (uint64, error) {
	if c.closed {
		return 0, fmt.Errorf("ethw: mine: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ethw: mine: %w", err)
	}
	if err := c.deferred; err != nil {
		c.deferred = nil
		return 0, fmt.Errorf("ethw: mine: a contract creation was refused: %w", err)
	}
	ts := t.Unix()
	if ts < 0 {
		return 0, fmt.Errorf("ethw: mine: time %s is before the Unix epoch: %w", t.UTC().Format(time.RFC3339), ErrInvalid)
	}
	if !c.written && c.cfg.GenesisTime.IsZero() {
		if err := c.writeGenesisAt(uint64(ts)); err != nil {
			return 0, err
		}
	} else if err := c.writeGenesis(); err != nil {
		return 0, err
	}
	if uint64(ts) < c.prevTime {
		return 0, fmt.Errorf("ethw: mine: time %s is before block %d's (%s): %w", t.UTC().Format(time.RFC3339), c.height,
			time.Unix(int64(c.prevTime), 0).UTC().Format(time.RFC3339), ErrInvalid)
	}
	if c.writeErr != nil {
		return 0, c.writeErr
	}
	n := c.height + 1
	if !c.pendTips.IsZero() {
		m := c.acct(miner)
		m.bal.Add(&m.bal, &c.pendTips)
	}
	var wei uint256.Int
	for _, w := range c.pendWd {
		a := c.acct(w.addr)
		a.bal.Add(&a.bal, wei.Mul(uint256.NewInt(w.gwei), uint256.NewInt(1_000_000_000)))
	}
	hash := c.blockHash(n, c.prevHash, uint64(ts), miner, c.pending, c.pendWd)
	c.writeBlock(n, hash, c.prevHash, uint64(ts), miner, c.pending, c.pendWd)
	c.height, c.prevHash, c.prevTime = n, hash, uint64(ts)
	c.pending = c.pending[:0]
	c.pendWd = c.pendWd[:0]
	c.pendTips.Clear()
	return n, c.writeErr
}

// writeGenesis writes block 0 if it is not written yet, at the configured
// genesis time or the Unix epoch.
func (c *Chain) writeGenesis() error {
	var ts uint64
	if u := c.cfg.GenesisTime.Unix(); !c.cfg.GenesisTime.IsZero() && u > 0 {
		ts = uint64(u)
	}
	return c.writeGenesisAt(ts)
}

func (c *Chain) writeGenesisAt(ts uint64) error {
	if c.written {
		return nil
	}
	c.written = true
	hash := c.blockHash(0, common.Hash{}, ts, common.Address{}, nil, c.genesisWd)
	c.writeBlock(0, hash, common.Hash{}, ts, common.Address{}, nil, c.genesisWd)
	c.prevHash, c.prevTime = hash, ts
	return c.writeErr
}

// blockHash derives a block's hash from the chain id, its number, parent,
// time, miner, transaction hashes and withdrawals.
func (c *Chain) blockHash(n uint64, parent common.Hash, ts uint64, miner common.Address, txs []ptx, wds []withdrawal) common.Hash {
	h := c.hashState
	h.Reset()
	var b [8]byte
	h.Write([]byte("ethw/block"))
	for _, v := range []uint64{c.chainID, n, ts} {
		putU64(b[:], v)
		h.Write(b[:])
	}
	h.Write(parent[:])
	h.Write(miner[:])
	for i := range txs {
		h.Write(txs[i].hash[:])
	}
	for _, w := range wds {
		putU64(b[:], w.index)
		h.Write(b[:])
		h.Write(w.addr[:])
		putU64(b[:], w.gwei)
		h.Write(b[:])
	}
	var out common.Hash
	h.Read(out[:])
	return out
}

// writeBlock writes the rows of one block and counts them.
func (c *Chain) writeBlock(n uint64, hash, parent common.Hash, ts uint64, miner common.Address, txs []ptx, wds []withdrawal) {
	var gasUsed uint64
	for i := range txs {
		gasUsed += txs[i].gas
	}
	var wdRoot common.Hash
	if len(wds) == 0 {
		wdRoot = types.EmptyWithdrawalsHash
	} else {
		list := make(types.Withdrawals, len(wds))
		for i, w := range wds {
			list[i] = &types.Withdrawal{Index: w.index, Validator: w.validator, Address: w.addr, Amount: w.gwei}
		}
		wdRoot = types.DeriveSha(list, trie.NewStackTrie(nil))
	}
	b := c.buf[:0]
	b = appendUint(b, n)
	b = append(b, ',')
	b = appendHash(b, hash)
	b = append(b, ',')
	b = appendHash(b, parent)
	b = append(b, ",0x0000000000000000,"...)
	b = appendHash(b, types.EmptyUncleHash)
	b = append(b, ",,,,,"...) // logs_bloom and the roots are not computed
	b = appendAddr(b, miner)
	b = append(b, ",0,,,0x65746877,"...) // difficulty 0, no total difficulty or size, extra data "ethw"
	b = appendUint(b, max(BlockGasLimit, gasUsed))
	b = append(b, ',')
	b = appendUint(b, gasUsed)
	b = append(b, ',')
	b = appendUint(b, ts)
	b = append(b, ',')
	b = appendUint(b, uint64(len(txs)))
	b = append(b, ',')
	b = appendU256(b, &c.baseFee)
	b = append(b, ',')
	b = appendHash(b, wdRoot)
	b = append(b, ',')
	b = appendCSV(b, withdrawalsJSON(wds))
	b = append(b, '\n')
	c.write(fBlocks, b)
	c.stats.Blocks++
	c.stats.Withdrawals += uint64(len(wds))
	c.stats.Transfers += uint64(len(wds))

	var cum uint64
	logIndex := uint64(0)
	for i := range txs {
		t := &txs[i]
		cum += t.gas
		b = c.txRow(b[:0], t, n, uint64(i), hash, ts, cum)
		c.write(fTxs, b)
		b = c.traceRows(b[:0], t, n, uint64(i))
		c.write(fTraces, b)
		b = b[:0]
		for j := range t.logs {
			l := &t.logs[j]
			b = appendAddr(b, l.token)
			b = append(b, ',')
			b = appendAddr(b, l.from)
			b = append(b, ',')
			b = appendAddr(b, l.to)
			b = append(b, ',')
			b = appendU256(b, &l.amount)
			b = append(b, ',')
			b = appendHash(b, t.hash)
			b = append(b, ',')
			b = appendUint(b, logIndex)
			b = append(b, ',')
			b = appendUint(b, n)
			b = append(b, '\n')
			logIndex++
		}
		c.write(fTokenTransfers, b)
		c.stats.Txs++
		c.stats.Transfers += uint64(len(t.logs))
		if !t.value.IsZero() {
			c.stats.Transfers++
		}
		for k := range t.frames {
			if !t.frames[k].value.IsZero() {
				c.stats.Transfers++
			}
		}
		if !c.baseFee.IsZero() {
			c.stats.Transfers++
		}
		if !c.tip.IsZero() {
			c.stats.Transfers++
		}
	}
	c.buf = b
}

// txRow appends the transactions row of t.
func (c *Chain) txRow(b []byte, t *ptx, n, idx uint64, block common.Hash, ts, cum uint64) []byte {
	b = appendHash(b, t.hash)
	b = append(b, ',')
	b = appendUint(b, t.nonce)
	b = append(b, ',')
	b = appendHash(b, block)
	b = append(b, ',')
	b = appendUint(b, n)
	b = append(b, ',')
	b = appendUint(b, idx)
	b = append(b, ',')
	b = appendAddr(b, t.from)
	b = append(b, ',')
	if !t.create {
		b = appendAddr(b, t.to)
	}
	b = append(b, ',')
	b = appendU256(b, &t.value)
	b = append(b, ',')
	b = appendUint(b, t.gas)
	b = append(b, ',')
	b = appendU256(b, &c.price) // gas_price: the effective price, as nodes report it
	b = append(b, ',')
	b = appendHex(b, t.input)
	b = append(b, ',')
	b = appendUint(b, ts)
	b = append(b, ',')
	b = appendU256(b, &c.price)
	b = append(b, ',')
	b = appendU256(b, &c.tip)
	b = append(b, ",2,"...)
	b = appendUint(b, cum)
	b = append(b, ',')
	b = appendUint(b, t.gas)
	b = append(b, ',')
	if t.create {
		b = appendAddr(b, t.to)
	}
	b = append(b, ",,1,"...)
	b = appendU256(b, &c.price)
	return append(b, '\n')
}

// traceRows appends the traces rows of t: the top-level call or creation
// and one child per internal call.
func (c *Chain) traceRows(b []byte, t *ptx, n, idx uint64) []byte {
	kind := "call"
	if t.create {
		kind = "create"
	}
	row := func(b []byte, from, to common.Address, v *uint256.Int, input []byte, callType string, gas, used uint64, subtraces int, addr int) []byte {
		b = appendUint(b, n)
		b = append(b, ',')
		b = appendHash(b, t.hash)
		b = append(b, ',')
		b = appendUint(b, idx)
		b = append(b, ',')
		b = appendAddr(b, from)
		b = append(b, ',')
		b = appendAddr(b, to)
		b = append(b, ',')
		b = appendU256(b, v)
		b = append(b, ',')
		b = appendHex(b, input)
		b = append(b, ",0x,"...)
		if addr < 0 {
			b = append(b, kind...)
		} else {
			b = append(b, "call"...)
		}
		b = append(b, ',')
		b = append(b, callType...)
		b = append(b, ",,"...)
		b = appendUint(b, gas)
		b = append(b, ',')
		b = appendUint(b, used)
		b = append(b, ',')
		b = appendUint(b, uint64(subtraces))
		b = append(b, ',')
		if addr >= 0 {
			b = appendUint(b, uint64(addr))
		}
		b = append(b, ",,1,"...)
		if addr < 0 {
			b = append(b, kind...)
		} else {
			b = append(b, "call"...)
		}
		b = append(b, '_')
		b = appendHash(b, t.hash)
		if addr >= 0 {
			b = append(b, '_')
			b = appendUint(b, uint64(addr))
		}
		return append(b, '\n')
	}
	callType := "call"
	if t.create {
		callType = ""
	}
	b = row(b, t.from, t.to, &t.value, t.input, callType, t.gas-GasSend, t.gas-GasSend, len(t.frames), -1)
	for k := range t.frames {
		f := &t.frames[k]
		b = row(b, f.from, f.to, &f.value, nil, "call", 0, 0, 0, k)
	}
	return b
}

// write appends b to file i, recording the first failure.
func (c *Chain) write(i int, b []byte) {
	if len(b) == 0 {
		return
	}
	if _, err := c.out[i].Write(b); err != nil {
		c.fail(err)
	}
}

// withdrawalsJSON renders withdrawals as ethereum-etl's withdrawals
// column: a JSON array of objects.
func withdrawalsJSON(wds []withdrawal) string {
	var s strings.Builder
	s.WriteByte('[')
	for i, w := range wds {
		if i > 0 {
			s.WriteString(", ")
		}
		fmt.Fprintf(&s, `{"index": %d, "validator_index": %d, "address": "%s", "amount": %d}`, w.index, w.validator,
			appendAddr(nil, w.addr), w.gwei)
	}
	s.WriteByte(']')
	return s.String()
}

func appendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

func appendU256(b []byte, v *uint256.Int) []byte {
	if v.IsUint64() {
		return strconv.AppendUint(b, v.Uint64(), 10)
	}
	return append(b, v.Dec()...)
}

func appendHex(b []byte, p []byte) []byte {
	b = append(b, '0', 'x')
	return hex.AppendEncode(b, p)
}

func appendAddr(b []byte, a common.Address) []byte { return appendHex(b, a[:]) }

func appendHash(b []byte, h common.Hash) []byte { return appendHex(b, h[:]) }

// appendCSV appends s as one CSV field, quoted when it must be.
func appendCSV(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}
