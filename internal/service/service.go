// Package service recognises custodial services by their behaviour, from
// chain data alone: an address that many per-customer deposit addresses
// forward into, over hours or days, is a service's hot wallet, whether or
// not any label database knows it.
//
// Custodial services (exchanges, brokers, payment processors) give each
// customer a deposit address of their own and sweep what arrives there
// into a hot wallet soon after. The pattern is the basis of the
// deposit-address heuristic for Ethereum (F. Victor, "Address clustering
// heuristics for Ethereum", Financial Cryptography 2020), which needs the
// hot wallet to be known; and on Bitcoin exchanges' sweeps of many deposit
// addresses in one transaction are what common-input clustering (Meiklejohn
// et al., "A fistful of bitcoins", IMC 2013) merges into the service's
// large clusters. This package turns the pattern around: it finds the hot
// wallet from the shape of the flows into it, so that a trace can stop at
// an unlabelled service (and an investigator ask it to freeze or identify)
// instead of following the money into the service's own wallets.
//
// Ethereum (DetectAccount): a deposit address D sends all of its fungible
// value (native coin, ERC-20 tokens; fees are not transfers) to one
// address X, forwards every receipt from an address other than X within
// Options.Window, and received from someone other than X. X is a service
// when at least Options.MinDeposits such D forward into it, paid by at
// least as many distinct senders, and the forwards into X span at least
// Options.MinSpan. X must not itself behave like a deposit address: an
// address that forwards everything to one other is a customer of that
// other (a launderer paying into an exchange's deposit address makes the
// deposit address look like a wallet fed by the launderer's addresses).
//
// Bitcoin (DetectUTXO): a sweep is a transaction spending coins of at
// least two distinct addresses whose outputs all pay one address X (or X
// and at most one small change output back to an input address), where no
// swept coin was paid by X. X is a service when at least
// Options.MinDeposits sweeps of at least as many distinct deposit
// addresses reach it over at least Options.MinSpan, and X is not itself
// swept into another address by a sweep that qualifies.
//
// Failure modes, by design or not:
//
//   - A thief who drains many victims into one address looks like a
//     service to the forwarding test; the minimum span keeps out drains
//     done within hours, not one spread over days.
//   - A launderer who feeds one address from many fresh addresses, each
//     funded by a different address, over more than MinSpan, is taken for
//     a service. Layering through one's own addresses is usually funded by
//     a few addresses (the sender count) and quick (the span).
//   - Services that do not use deposit addresses (an OTC desk paid
//     directly to its one address) or that sweep single deposits one by
//     one on Bitcoin (a sweep needs two input addresses) are not found.
//   - A service whose deposit addresses keep a balance (batching sweeps
//     beyond Window) or pay anything to a second address is not found.
//   - Scanning is bounded to the last Options.MaxTxs transactions: a
//     service whose sweeps are older is not found.
//
// Detection reads the store and writes nothing; its result is
// deterministic for a given store and options.
package service

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Options tune the detection. Zero fields take the defaults.
type Options struct {
	// MinDeposits is K: the least number of distinct deposit addresses
	// (and, on Ethereum, of distinct senders paying them; on Bitcoin, of
	// sweeps) that make a service (default 5).
	MinDeposits int
	// Window is the longest a deposit address holds a receipt before it
	// forwards it, in block time (default 24 hours).
	Window time.Duration
	// MinSpan is the shortest time between the first and the last forward
	// into a service (default 12 hours). A thief draining many victims
	// does it within minutes; a service keeps sweeping for as long as it
	// has customers.
	MinSpan time.Duration
	// Tolerance is the share of a receipt a deposit address may keep when
	// it forwards it (default 0.01); on Ethereum it may also keep up to
	// 0.01 ether of the native coin, what the forward's gas may cost.
	Tolerance float64
	// MaxChange is the largest change output a Bitcoin sweep may have, as
	// a share of its swept value (default 0.01).
	MaxChange float64
	// MaxTxs bounds the transactions read: the last MaxTxs of the store
	// (default 5,000,000), so that a mainnet store is scanned in minutes.
	MaxTxs uint64
}

// Defaults of Options.
const (
	DefaultMinDeposits = 5
	DefaultWindow      = 24 * time.Hour
	DefaultMinSpan     = 12 * time.Hour
	DefaultTolerance   = 0.01
	DefaultMaxChange   = 0.01
	DefaultMaxTxs      = 5_000_000
)

func (o *Options) fill() {
	if o.MinDeposits <= 0 {
		o.MinDeposits = DefaultMinDeposits
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.MinSpan <= 0 {
		o.MinSpan = DefaultMinSpan
	}
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultTolerance
	}
	if o.MaxChange <= 0 {
		o.MaxChange = DefaultMaxChange
	}
	if o.MaxTxs == 0 {
		o.MaxTxs = DefaultMaxTxs
	}
}

// Service is a detected service: its wallet X, its deposit addresses and
// the evidence.
type Service struct {
	// Wallet is X, the address the deposit addresses forward into (an
	// EIP-55 or Bitcoin address of the store's network).
	Wallet string `json:"wallet"`
	// Deposits are the deposit addresses found, sorted.
	Deposits []string `json:"deposits"`
	// Senders is how many distinct addresses paid the deposit addresses
	// (Ethereum), or funded the swept coins (Bitcoin).
	Senders int `json:"senders"`
	// Forwards is how many forwarding transfers (Ethereum) or sweep
	// transactions (Bitcoin) reached the wallet.
	Forwards int `json:"forwards"`
	// First and Last are the block times of the first and last forward.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// Span is the time between the first and the last forward.
func (s *Service) Span() time.Duration { return s.Last.Sub(s.First) }

// Name is how labels call a detected service: "unidentified service"
// and the wallet's address shortened.
func (s *Service) Name() string { return "unidentified service " + Short(s.Wallet) }

// Short shortens an address to its first and last characters.
func Short(a string) string {
	if len(a) <= 14 {
		return a
	}
	return a[:8] + "…" + a[len(a)-4:]
}

// Result is the outcome of a detection over one store.
type Result struct {
	// Chain is the chain id of the store (btc-regtest, eth-sim, ...).
	Chain string `json:"chain"`
	// Services are the detected services, by wallet address.
	Services []Service `json:"services"`
	// Txs is how many transactions were read, from height From to To.
	Txs  uint64 `json:"txs"`
	From uint64 `json:"from_height"`
	To   uint64 `json:"to_height"`
	// Elapsed is how long the detection took.
	Elapsed time.Duration `json:"elapsed_ns"`

	byAddr map[string]int // wallet or deposit address (key) -> service index
}

// Find returns the service an address belongs to (as its wallet or as one
// of its deposit addresses) and whether it is the wallet.
func (r *Result) Find(address string) (svc *Service, wallet, ok bool) {
	if r == nil {
		return nil, false, false
	}
	i, ok := r.byAddr[key(address)]
	if !ok {
		return nil, false, false
	}
	s := &r.Services[i]
	return s, key(s.Wallet) == key(address), true
}

// finish sorts the services and indexes their addresses. A deposit
// address that two services claim (it cannot satisfy both tests, but
// guard anyway) stays with the first by wallet.
func (r *Result) finish() {
	for i := range r.Services {
		sort.Strings(r.Services[i].Deposits)
	}
	sort.Slice(r.Services, func(i, j int) bool { return r.Services[i].Wallet < r.Services[j].Wallet })
	r.byAddr = map[string]int{}
	for i, s := range r.Services {
		r.byAddr[key(s.Wallet)] = i
	}
	for i, s := range r.Services {
		for _, d := range s.Deposits {
			if _, dup := r.byAddr[key(d)]; !dup {
				r.byAddr[key(d)] = i
			}
		}
	}
}

// key normalises an address for look-ups: EVM hex is case-insensitive,
// Bitcoin's bech32 is lower case and base58 is case-sensitive.
func key(a string) string {
	if strings.HasPrefix(a, "0x") || strings.HasPrefix(a, "0X") {
		return strings.ToLower(a)
	}
	return a
}

// String summarises a service for logs and reports.
func (s *Service) String() string {
	return fmt.Sprintf("%s: %d deposit addresses, %d senders, %d forwards over %s", s.Wallet, len(s.Deposits), s.Senders,
		s.Forwards, s.Span().Round(time.Minute))
}

// startHeight returns the first height up to tip whose transactions all
// fall within the last maxTxs of a chain that ends before ordinal end, so
// that a scan from it reads at most maxTxs transactions; 0 when the chain
// is shorter. txNumMin gives a height's first transaction ordinal, which
// grows with height, so a binary search finds it.
func startHeight(tip, end, maxTxs uint64, txNumMin func(h uint64) (uint64, error)) (uint64, error) {
	if end <= maxTxs {
		return 0, nil
	}
	lo, hi := uint64(0), tip
	for lo < hi {
		mid := lo + (hi-lo)/2
		first, err := txNumMin(mid)
		if err != nil {
			return 0, fmt.Errorf("block %d: %w", mid, err)
		}
		if first >= end-maxTxs {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}
