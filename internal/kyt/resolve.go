package kyt

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// Chains are the chain stores transfers are resolved in, by chain id:
// Bitcoin stores under btc.ChainID of their network, EVM stores under
// workspace.ETHChainID of theirs. A store a following ingest holds may be
// opened read-only.
type Chains struct {
	BTC map[string]store.Reader
	EVM map[string]store.AccountReader
	// Offline are chains whose store exists but is held by another
	// process (a following ingest), by id, true for Bitcoin: their
	// transfers are registered as pending until the store can be read.
	Offline map[string]bool
}

// ids returns the chain ids, sorted, for error messages.
func (c *Chains) ids() []string {
	var out []string
	for id := range c.BTC {
		out = append(out, id)
	}
	for id := range c.EVM {
		out = append(out, id)
	}
	for id := range c.Offline {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// chainOf finds the store of a chain as a user names it: its id, or a
// chain family (btc, eth) that names exactly one store.
func (c *Chains) chainOf(name string) (id string, isBTC bool, err error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if _, ok := c.BTC[name]; ok {
		return name, true, nil
	}
	if _, ok := c.EVM[name]; ok {
		return name, false, nil
	}
	if isBTC, ok := c.Offline[name]; ok {
		return name, isBTC, nil
	}
	var found []string
	for _, id := range c.ids() {
		if name != "" && strings.HasPrefix(id, name+"-") {
			found = append(found, id)
		}
	}
	if len(found) == 1 {
		_, isBTC = c.BTC[found[0]]
		return found[0], isBTC || c.Offline[found[0]], nil
	}
	if len(found) > 1 {
		return "", false, fmt.Errorf("%w: chain %q matches several stores (%s): give the full chain id", ErrInvalid, name, strings.Join(found, ", "))
	}
	have := strings.Join(c.ids(), ", ")
	if have == "" {
		have = "none"
	}
	return "", false, fmt.Errorf("%w: unknown chain %q (stores: %s)", ErrInvalid, name, have)
}

// screenChain is the chain id that labels and screening use for a
// store's chain: an EVM store of a network package addrs does not know
// (a simulated "eth-sim") has Ethereum's addresses, labelled as eth.
func screenChain(id string, isBTC bool) string {
	if !isBTC && !addrs.IsEVM(id) {
		return "eth"
	}
	return id
}

// resolved is what a transfer's transaction says about it.
type resolved struct {
	address, asset, token, amount string
	senders                       []Sender // screening not filled yet
}

// normalizeTx checks a transaction hash (64 hex digits, 0x allowed on
// EVM chains) and returns it as the chain writes it.
func normalizeTx(tx string, isBTC bool) (string, error) {
	s := strings.TrimSpace(tx)
	if !isBTC {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	}
	if len(s) != 64 {
		return "", fmt.Errorf("%w: transaction hash %q is not 64 hex digits", ErrInvalid, tx)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("%w: transaction hash %q is not hex", ErrInvalid, tx)
	}
	s = strings.ToLower(s)
	if !isBTC {
		s = "0x" + s
	}
	return s, nil
}

// resolveBTC reads output vout of tx: found is false when the store
// does not hold tx (yet).
func resolveBTC(ctx context.Context, db store.Reader, tx string, vout uint32) (resolved, bool, error) {
	net, err := btc.Network(db.Meta().Network)
	if err != nil {
		return resolved{}, false, fmt.Errorf("kyt: %w", err)
	}
	h, err := chainhash.NewHashFromStr(tx)
	if err != nil {
		return resolved{}, false, fmt.Errorf("%w: transaction hash %q: %w", ErrInvalid, tx, err)
	}
	num, err := db.TxNum(ctx, *h)
	if errors.Is(err, store.ErrNotFound) {
		return resolved{}, false, nil
	}
	if err != nil {
		return resolved{}, false, fmt.Errorf("kyt: %w", err)
	}
	var rec store.TxRec
	if err := db.Tx(ctx, num, &rec); err != nil {
		return resolved{}, false, fmt.Errorf("kyt: %w", err)
	}
	if int(vout) >= len(rec.Outs) {
		return resolved{}, true, fmt.Errorf("%w: transaction %s has %d outputs, no output %d", ErrNoSuchTransfer, tx, len(rec.Outs), vout)
	}
	out := &rec.Outs[vout]
	if len(out.AddrIDs) == 0 {
		return resolved{}, true, fmt.Errorf("%w: output %d of transaction %s pays no address", ErrNoSuchTransfer, vout, tx)
	}
	r := resolved{asset: "BTC", amount: strconv.FormatInt(out.Value, 10)}
	if r.address, err = btcAddress(ctx, db, net, out.AddrIDs[0]); err != nil {
		return resolved{}, true, err
	}
	// The senders are the input addresses, each once, in input order,
	// with the value they put in.
	idx := map[uint64]int{}
	var vals []int64
	for i := range rec.Ins {
		in := &rec.Ins[i]
		if in.External || in.AddrID == 0 {
			continue
		}
		if j, ok := idx[in.AddrID]; ok {
			vals[j] += in.Value
			continue
		}
		a, err := btcAddress(ctx, db, net, in.AddrID)
		if err != nil {
			return resolved{}, true, err
		}
		idx[in.AddrID] = len(r.senders)
		r.senders = append(r.senders, Sender{Address: a})
		vals = append(vals, in.Value)
	}
	for i := range r.senders {
		r.senders[i].Value = strconv.FormatInt(vals[i], 10)
	}
	return r, true, nil
}

// btcAddress encodes an address id of a Bitcoin store for net.
func btcAddress(ctx context.Context, db store.Reader, net *chaincfg.Params, id uint64) (string, error) {
	kb, err := db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("kyt: %w", err)
	}
	k, err := btc.AddrKeyFromBytes(kb)
	if err != nil {
		return "", fmt.Errorf("kyt: address #%d: %w", id, err)
	}
	return k.Encode(net), nil
}

// resolveEVM reads the token transfer of tx with log index logIndex, or
// its native value transfer when logIndex is nil.
func resolveEVM(ctx context.Context, db store.AccountReader, tx string, logIndex *uint32) (resolved, bool, error) {
	var h [32]byte
	if _, err := hex.Decode(h[:], []byte(tx[2:])); err != nil {
		return resolved{}, false, fmt.Errorf("%w: transaction hash %q: %w", ErrInvalid, tx, err)
	}
	num, err := db.EthTxNum(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return resolved{}, false, nil
	}
	if err != nil {
		return resolved{}, false, fmt.Errorf("kyt: %w", err)
	}
	var rec store.EthTxRec
	if err := db.EthTx(ctx, num, &rec); err != nil {
		return resolved{}, false, fmt.Errorf("kyt: %w", err)
	}
	var tr *store.EthTransferRec
	for i := range rec.Transfers {
		t := &rec.Transfers[i]
		k := eth.Kind(t.Kind)
		if logIndex == nil && k == eth.Native || logIndex != nil && k.IsToken() && t.LogIndex == int32(*logIndex) {
			tr = t
			break
		}
	}
	switch {
	case tr == nil && logIndex == nil:
		return resolved{}, true, fmt.Errorf("%w: transaction %s moves no native value (give the log index of a token transfer)", ErrNoSuchTransfer, tx)
	case tr == nil:
		return resolved{}, true, fmt.Errorf("%w: transaction %s has no token transfer with log index %d", ErrNoSuchTransfer, tx, *logIndex)
	}
	r := resolved{asset: "ETH", amount: tr.Amount.String()}
	if r.address, err = evmAddress(ctx, db, tr.To); err != nil {
		return resolved{}, true, err
	}
	if tr.Token != 0 {
		if r.token, err = evmAddress(ctx, db, tr.Token); err != nil {
			return resolved{}, true, err
		}
		r.asset = r.token
		m, ok, err := db.Token(ctx, tr.Token)
		if err != nil {
			return resolved{}, true, fmt.Errorf("kyt: %w", err)
		}
		if ok && m.Symbol != "" {
			r.asset = m.Symbol
		}
	}
	if tr.From != 0 {
		from, err := evmAddress(ctx, db, tr.From)
		if err != nil {
			return resolved{}, true, err
		}
		r.senders = []Sender{{Address: from, Value: r.amount}}
	}
	return r, true, nil
}

// evmAddress encodes an address id with its EIP-55 checksum; id 0 is the
// zero address.
func evmAddress(ctx context.Context, db store.AccountReader, id uint64) (string, error) {
	if id == 0 {
		return common.Address{}.Hex(), nil
	}
	kb, err := db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("kyt: %w", err)
	}
	if len(kb) != common.AddressLength {
		return "", fmt.Errorf("kyt: address #%d has %d bytes, not 20", id, len(kb))
	}
	return common.BytesToAddress(kb).Hex(), nil
}
