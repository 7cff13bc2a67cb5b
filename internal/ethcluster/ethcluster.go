// Package ethcluster links Ethereum (and EVM) addresses into entities with
// the deposit-address heuristic, and tells contracts from externally owned
// accounts.
//
// Exchanges give each customer a deposit address and sweep what arrives
// there to a hot wallet soon after. An address that receives value and
// forwards (nearly) all of it, and only, to one known exchange address
// within a short delay is taken to be that exchange's deposit address: it
// belongs to the exchange, not to its senders. The customer behind it is
// the same person every time, so all senders that paid into one deposit
// address are linked into one entity, and an address that used several
// deposit addresses links their senders together.
//
// The heuristic reads what the store holds (the address index of package
// store) and needs the exchange addresses from labels; it writes nothing.
package ethcluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/internal/eth"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// Reader is the part of an account-chain store the heuristics read;
// *store.DB implements it. Implementations are safe for concurrent use.
type Reader interface {
	EthTx(ctx context.Context, txnum uint64, t *store.EthTxRec) error
	EthEvents(ctx context.Context, addrID, fromTxNum uint64, fn func(store.EthEvent) bool) error
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	Token(ctx context.Context, id uint64) (store.TokenMeta, bool, error)
}

// Service is a known address of a service that sweeps deposits, usually an
// exchange's hot wallet from labels.
type Service struct {
	Address string // 0x-hex, any case
	Name    string // the label, e.g. "Binance 14"
}

// Options tune the deposit-address heuristic.
type Options struct {
	// MaxDelay is the largest number of blocks between a receipt and the
	// sweep that forwards it (default 3200, about ten hours on Ethereum
	// mainnet at twelve-second blocks).
	MaxDelay uint64
	// Tolerance is the part of the received value a sweep may leave
	// behind, as a fraction (default 0.01): a deposit address that paid
	// gas from the deposit forwards slightly less than it got.
	Tolerance float64
	// MaxEvents bounds the events read per address (default 100,000); an
	// address with more is not a candidate, as deposit addresses have few.
	MaxEvents int
	// Exclude reports addresses that cannot be deposit addresses (other
	// labelled services); nil excludes nothing.
	Exclude func(address string) bool
}

func (o *Options) fill() {
	if o.MaxDelay == 0 {
		o.MaxDelay = 3200
	}
	if o.Tolerance == 0 {
		o.Tolerance = 0.01
	}
	if o.MaxEvents == 0 {
		o.MaxEvents = 100_000
	}
}

// Sweep is one piece of evidence: value received at a deposit address and
// forwarded to the service.
type Sweep struct {
	Asset     string       `json:"asset"` // "native" or the token contract
	InTxs     []string     `json:"in_txs"`
	OutTx     string       `json:"out_tx"`
	Received  model.Amount `json:"received"`
	Forwarded model.Amount `json:"forwarded"`
	Delay     uint64       `json:"delay_blocks"`
}

// Deposit is an address found to be a service's deposit address.
type Deposit struct {
	Address string   `json:"address"`
	Service string   `json:"service"`
	Wallet  string   `json:"wallet"` // the service address it sweeps to
	Senders []string `json:"senders"`
	Sweeps  []Sweep  `json:"sweeps"`
}

// Result is the outcome of the heuristic over a set of services.
type Result struct {
	// Deposits are the deposit addresses found, by address.
	Deposits []Deposit
	// Candidates is how many addresses paying a service were examined.
	Candidates int

	parent map[string]string // union-find over sender addresses
	byAddr map[string]int    // deposit address -> index in Deposits
}

// Deposit returns the deposit record of an address, false when it is not
// a deposit address.
func (r *Result) Deposit(address string) (Deposit, bool) {
	i, ok := r.byAddr[strings.ToLower(address)]
	if !ok {
		return Deposit{}, false
	}
	return r.Deposits[i], true
}

// Linked returns the addresses linked with address through shared deposit
// addresses (including itself), sorted; nil when it has no link.
func (r *Result) Linked(address string) []string {
	a := strings.ToLower(address)
	if _, ok := r.parent[a]; !ok {
		return nil
	}
	root := r.find(a)
	var out []string
	for x := range r.parent {
		if r.find(x) == root {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// Entities returns every linked group of two or more senders, each
// sorted, largest first.
func (r *Result) Entities() [][]string {
	groups := map[string][]string{}
	for x := range r.parent {
		root := r.find(x)
		groups[root] = append(groups[root], x)
	}
	var out [][]string
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		sort.Strings(g)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i][0] < out[j][0]
	})
	return out
}

func (r *Result) find(x string) string {
	for {
		p := r.parent[x]
		if p == x {
			return x
		}
		gp := r.parent[p]
		r.parent[x] = gp
		x = gp
	}
}

func (r *Result) union(a, b string) {
	for _, x := range []string{a, b} {
		if _, ok := r.parent[x]; !ok {
			r.parent[x] = x
		}
	}
	ra, rb := r.find(a), r.find(b)
	if ra == rb {
		return
	}
	// The smaller address becomes the root so the result does not depend
	// on the order of unions.
	if rb < ra {
		ra, rb = rb, ra
	}
	r.parent[rb] = ra
}

// FindDeposits applies the deposit-address heuristic to every address that
// paid one of the services.
func FindDeposits(ctx context.Context, db Reader, services []Service, opts Options) (*Result, error) {
	opts.fill()
	res := &Result{parent: map[string]string{}, byAddr: map[string]int{}}
	n := &namer{db: db, cache: map[uint64]string{}}
	seen := map[uint64]bool{}
	for _, svc := range services {
		svcID, ok, err := lookup(ctx, db, svc.Address)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		cands, err := payers(ctx, db, svcID, opts.MaxEvents)
		if err != nil {
			return nil, fmt.Errorf("ethcluster: payers of %s: %w", svc.Address, err)
		}
		for _, c := range cands {
			if seen[c] {
				continue
			}
			seen[c] = true
			res.Candidates++
			addr, err := n.name(ctx, c)
			if err != nil {
				return nil, err
			}
			if opts.Exclude != nil && opts.Exclude(addr) {
				continue
			}
			dep, ok, err := examine(ctx, db, n, c, svcID, &opts)
			if err != nil {
				return nil, fmt.Errorf("ethcluster: examining %s: %w", addr, err)
			}
			if !ok {
				continue
			}
			dep.Address, dep.Service, dep.Wallet = addr, svc.Name, strings.ToLower(svc.Address)
			res.byAddr[addr] = len(res.Deposits)
			res.Deposits = append(res.Deposits, dep)
			for _, s := range dep.Senders {
				res.union(dep.Senders[0], s)
			}
		}
	}
	sort.Slice(res.Deposits, func(i, j int) bool { return res.Deposits[i].Address < res.Deposits[j].Address })
	for i, d := range res.Deposits {
		res.byAddr[d.Address] = i
	}
	return res, nil
}

func lookup(ctx context.Context, db Reader, address string) (uint64, bool, error) {
	if !common.IsHexAddress(address) {
		return 0, false, fmt.Errorf("ethcluster: %q is not an Ethereum address", address)
	}
	id, err := db.AddrID(ctx, common.HexToAddress(address).Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("ethcluster: looking up %s: %w", address, err)
	}
	return id, true, nil
}

// payers lists the distinct senders of value into id, in order of first
// payment.
func payers(ctx context.Context, db Reader, id uint64, maxEvents int) ([]uint64, error) {
	var out []uint64
	seen := map[uint64]bool{}
	var tx store.EthTxRec
	var ierr error
	n := 0
	err := db.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
		if n++; n > maxEvents*10 {
			return false
		}
		if e.Out {
			return true
		}
		tr, err := transferOf(ctx, db, &tx, e)
		if err != nil {
			ierr = err
			return false
		}
		if tr.From != 0 && tr.From != id && !seen[tr.From] && isValue(eth.Kind(tr.Kind)) {
			seen[tr.From] = true
			out = append(out, tr.From)
		}
		return true
	})
	if err == nil {
		err = ierr
	}
	return out, err
}

// transferOf returns the transfer an address-index event points at,
// reading its transaction into tx unless tx already holds it (an
// address's events of one transaction come together).
func transferOf(ctx context.Context, db Reader, tx *store.EthTxRec, e store.EthEvent) (*store.EthTransferRec, error) {
	if tx.TxNum != e.TxNum || tx.Transfers == nil {
		if err := db.EthTx(ctx, e.TxNum, tx); err != nil {
			return nil, err
		}
	}
	if int(e.Index) >= len(tx.Transfers) {
		return nil, fmt.Errorf("transaction %d has no transfer %d", e.TxNum, e.Index)
	}
	return &tx.Transfers[e.Index], nil
}

// isValue reports whether a transfer kind moves fungible value a deposit
// address would sweep: native value and ERC-20 tokens, not fees, NFTs or
// withdrawals.
func isValue(k eth.Kind) bool {
	switch k {
	case eth.Native, eth.Internal, eth.ERC20:
		return true
	}
	return false
}

type namer struct {
	db    Reader
	cache map[uint64]string
}

func (n *namer) name(ctx context.Context, id uint64) (string, error) {
	if id == 0 {
		return "0x0000000000000000000000000000000000000000", nil
	}
	if s, ok := n.cache[id]; ok {
		return s, nil
	}
	k, err := n.db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("ethcluster: address #%d: %w", id, err)
	}
	s := "0x" + fmt.Sprintf("%x", k)
	n.cache[id] = s
	return s, nil
}

// nativeSlack is what a native sweep may leave behind regardless of the
// tolerance: 0.01 ether, the gas of a sweep at high fees.
var nativeSlack = model.AmountFromUint64(10_000_000_000_000_000)

type pending struct {
	received model.Amount
	first    uint64 // height of the first unswept receipt
	txs      []string
}

// examine decides whether address c is a deposit address of service svc:
// every value it sent went to svc, it sent something, and each sweep
// forwarded what arrived since the previous sweep of the same asset, less
// at most the tolerance, within MaxDelay blocks of the first receipt.
func examine(ctx context.Context, db Reader, n *namer, c, svc uint64, o *Options) (Deposit, bool, error) {
	var dep Deposit
	var tx store.EthTxRec
	var ierr error
	open := map[uint64]*pending{} // by token id, 0 native
	senders := map[uint64]bool{}
	events, ok := 0, true
	err := db.EthEvents(ctx, c, 0, func(e store.EthEvent) bool {
		if events++; events > o.MaxEvents {
			ok = false
			return false
		}
		tr, err := transferOf(ctx, db, &tx, e)
		if err != nil {
			ierr = err
			return false
		}
		if !isValue(eth.Kind(tr.Kind)) || tr.From == tr.To {
			return true
		}
		p := open[tr.Token]
		if p == nil {
			p = &pending{}
			open[tr.Token] = p
		}
		hash := "0x" + fmt.Sprintf("%x", tx.Hash)
		if !e.Out {
			if tr.From == svc || tr.From == 0 {
				return true // gas top-ups from the service; mints
			}
			if p.received.IsZero() {
				p.first = tx.Height
			}
			p.received, _ = p.received.Add(tr.Amount)
			p.txs = append(p.txs, hash)
			senders[tr.From] = true
			return true
		}
		if tr.To != svc {
			ok = false // a deposit address pays only its service
			return false
		}
		left, under := p.received.Sub(tr.Amount)
		if under || p.received.IsZero() || tx.Height-p.first > o.MaxDelay || !withinTolerance(left, p.received, tr.Token == 0, o.Tolerance) {
			ok = false
			return false
		}
		asset := "native"
		if tr.Token != 0 {
			if asset, ierr = n.name(ctx, tr.Token); ierr != nil {
				return false
			}
		}
		dep.Sweeps = append(dep.Sweeps, Sweep{Asset: asset, InTxs: p.txs, OutTx: hash, Received: p.received,
			Forwarded: tr.Amount, Delay: tx.Height - p.first})
		*p = pending{}
		return true
	})
	if err == nil {
		err = ierr
	}
	if err != nil || !ok || len(dep.Sweeps) == 0 || len(senders) == 0 {
		return Deposit{}, false, err
	}
	for id := range senders {
		s, err := n.name(ctx, id)
		if err != nil {
			return Deposit{}, false, err
		}
		dep.Senders = append(dep.Senders, s)
	}
	sort.Strings(dep.Senders)
	return dep, true, nil
}

// withinTolerance reports whether left, what a sweep left of received, is
// small enough: at most the tolerance's share of received, or, for the
// native coin, at most nativeSlack.
func withinTolerance(left, received model.Amount, native bool, tol float64) bool {
	if native && left.Cmp(nativeSlack) <= 0 {
		return true
	}
	// tol as parts per million keeps the comparison in integers.
	ppm := model.AmountFromUint64(uint64(tol * 1e6))
	limit, ok := model.MulDiv(received, ppm, model.AmountFromUint64(1_000_000))
	return ok && left.Cmp(limit) <= 0
}
