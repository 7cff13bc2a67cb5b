package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/ethereum/go-ethereum/common"
)

// PaymentLister lists what an address paid out on one chain, the release
// side of a bridge. Implementations are safe for concurrent use.
type PaymentLister interface {
	// Payments visits the payments of asset that address made with a
	// block time in [from, to], in chain order, until fn returns false.
	// Payments back to address itself (change) are left out.
	Payments(ctx context.Context, address, asset string, from, to time.Time, fn func(Release) bool) error
}

// PeggedBridge is a bridge rule for lock-and-release (or lock-and-mint)
// bridges of one asset pegged on two chains, such as bitcoin locked with a
// custodian and released as a wrapped token: a deposit of Value into one of
// DepositAddresses on DepositChain is paid out by one of ReleaseAddresses
// on ReleaseChain as Value×Num/Den (the peg, converting base units) less a
// fee of at most MaxFee of it, within Window after the deposit (less
// ClockSkew). Amount and time are all a public chain shows of most bridges
// (the recipient is in the bridge's own messages), so the rule takes the
// unused release closest in time that fits and reports it; a busy bridge
// with many equal deposits can mismatch, which is why the release is named
// in the result for the investigator to confirm.
//
// Worked example: 1.5 BTC (150,000,000 sat) sent to the custodian's
// deposit address at 10:00; the bridge's minter pays 149,850,000 units of
// the 8-decimal wrapped token at 10:40. With Num = Den = 1, MaxFee 0.01
// and Window 24h: 149,850,000 is within 1% below 150,000,000 and 40
// minutes later, so the trace continues from that token transfer with the
// deposit's tainted share of 149,850,000.
type PeggedBridge struct {
	Label            string
	DepositChain     string
	DepositAddresses []string
	DepositAsset     string
	ReleaseChain     string
	ReleaseAddresses []string
	ReleaseAsset     string
	Num, Den         uint64
	MaxFee           float64
	Window           time.Duration
	// ClockSkew widens the window backwards (default 2h): block times of
	// different chains are not one clock, and Bitcoin's may run up to two
	// hours ahead of real time by consensus rule, so a release can carry
	// an earlier time than the deposit it pays out.
	ClockSkew time.Duration
	Releases  PaymentLister
}

// Name returns the rule's label.
func (b *PeggedBridge) Name() string { return b.Label }

// Match implements BridgeRule.
func (b *PeggedBridge) Match(ctx context.Context, c Crossing, used map[string]bool) (Release, bool, error) {
	if c.Chain != b.DepositChain || !strings.EqualFold(c.Asset, b.DepositAsset) || !contains(b.DepositAddresses, c.To) {
		return Release{}, false, nil
	}
	num, den := b.Num, b.Den
	if num == 0 || den == 0 {
		num, den = 1, 1
	}
	expected, ok := model.MulDiv(c.Value, model.AmountFromUint64(num), model.AmountFromUint64(den))
	if !ok {
		return Release{}, false, nil
	}
	maxFee := b.MaxFee
	if maxFee == 0 {
		maxFee = 0.01
	}
	keep := model.AmountFromUint64(uint64((1 - maxFee) * 1e6))
	floor, _ := model.MulDiv(expected, keep, model.AmountFromUint64(1_000_000))
	window := b.Window
	if window == 0 {
		window = 24 * time.Hour
	}
	skew := b.ClockSkew
	if skew == 0 {
		skew = 2 * time.Hour
	}
	var found Release
	var hit bool
	for _, addr := range b.ReleaseAddresses {
		err := b.Releases.Payments(ctx, addr, b.ReleaseAsset, c.Time.Add(-skew), c.Time.Add(window), func(r Release) bool {
			if used[r.Key()] || r.Value.Cmp(expected) > 0 || r.Value.Cmp(floor) < 0 {
				return true
			}
			// The release closest in time to the deposit wins.
			if !hit || absDur(r.Time.Sub(c.Time)) < absDur(found.Time.Sub(c.Time)) {
				found, hit = r, true
			}
			return true
		})
		if err != nil {
			return Release{}, false, fmt.Errorf("releases of %s: %w", addr, err)
		}
	}
	return found, hit, nil
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// bridgeUTXOReader is what UTXOPayments reads; *store.DB implements it.
type bridgeUTXOReader interface {
	Meta() store.ChainMeta
	BlockByHeight(ctx context.Context, height uint64) (store.BlockRec, error)
	Tx(ctx context.Context, txnum uint64, t *store.TxRec) error
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	Events(ctx context.Context, addrID, fromTxNum uint64, fn func(store.Event) bool) error
}

// UTXOPayments lists payments on a Bitcoin store: the outputs of every
// transaction the address spent in, other than outputs back to it.
type UTXOPayments struct {
	db    bridgeUTXOReader
	chain string
	net   *chaincfg.Params
}

// NewUTXOPayments returns the lister of db, whose addresses belong to
// chain (package addrs' id).
func NewUTXOPayments(db bridgeUTXOReader, chain string) (*UTXOPayments, error) {
	net, err := btc.Network(db.Meta().Network)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	return &UTXOPayments{db: db, chain: chain, net: net}, nil
}

// Payments implements PaymentLister; asset is ignored (the native coin).
func (u *UTXOPayments) Payments(ctx context.Context, address, asset string, from, to time.Time, fn func(Release) bool) error {
	key, err := btc.ParseAddress(address, u.net)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	id, err := u.db.AddrID(ctx, key.Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var txs []uint64
	err = u.db.Events(ctx, id, 0, func(e store.Event) bool {
		if e.Spent && (len(txs) == 0 || txs[len(txs)-1] != e.TxNum) {
			txs = append(txs, e.TxNum)
		}
		return true
	})
	if err != nil {
		return err
	}
	var t store.TxRec
	for _, n := range txs {
		if err := u.db.Tx(ctx, n, &t); err != nil {
			return err
		}
		blk, err := u.db.BlockByHeight(ctx, t.Height)
		if err != nil {
			return err
		}
		at := time.Unix(int64(blk.Time), 0).UTC()
		if at.Before(from) {
			continue
		}
		if at.After(to) {
			return nil
		}
		for vout, o := range t.Outs {
			if len(o.AddrIDs) == 0 || o.AddrIDs[0] == id {
				continue
			}
			kb, err := u.db.AddrKey(ctx, o.AddrIDs[0])
			if err != nil {
				return err
			}
			k, err := btc.AddrKeyFromBytes(kb)
			if err != nil {
				return err
			}
			r := Release{Chain: u.chain, Asset: "BTC", Tx: t.TxID.String(), Index: uint32(vout), To: k.Encode(u.net),
				Value: model.AmountFromUint64(uint64(o.Value)), Time: at, Height: t.Height}
			if !fn(r) {
				return nil
			}
		}
	}
	return nil
}

// bridgeAccountReader is what AccountPayments reads; *store.DB implements
// it.
type bridgeAccountReader interface {
	EthBlockByHeight(ctx context.Context, height uint64) (store.EthBlockRec, error)
	EthTx(ctx context.Context, txnum uint64, t *store.EthTxRec) error
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
	EthEvents(ctx context.Context, addrID, fromTxNum uint64, fn func(store.EthEvent) bool) error
}

// AccountPayments lists payments on an account-chain store: the outgoing
// transfers of the asset ("native" or "ETH" for the coin, else the token
// contract) from the address.
type AccountPayments struct {
	db    bridgeAccountReader
	chain string
}

// NewAccountPayments returns the lister of db for chain.
func NewAccountPayments(db bridgeAccountReader, chain string) *AccountPayments {
	return &AccountPayments{db: db, chain: chain}
}

// Payments implements PaymentLister.
func (a *AccountPayments) Payments(ctx context.Context, address, asset string, from, to time.Time, fn func(Release) bool) error {
	if !common.IsHexAddress(address) {
		return fmt.Errorf("trace: %q is not an account address", address)
	}
	id, err := a.db.AddrID(ctx, common.HexToAddress(address).Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var token uint64
	if common.IsHexAddress(asset) {
		token, err = a.db.AddrID(ctx, common.HexToAddress(asset).Bytes())
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	var t store.EthTxRec
	var ierr error
	stop := false
	err = a.db.EthEvents(ctx, id, 0, func(e store.EthEvent) bool {
		if !e.Out || e.Token != token {
			return true
		}
		if t.TxNum != e.TxNum || t.Transfers == nil {
			if ierr = a.db.EthTx(ctx, e.TxNum, &t); ierr != nil {
				return false
			}
		}
		blk, err := a.db.EthBlockByHeight(ctx, t.Height)
		if err != nil {
			ierr = err
			return false
		}
		at := time.Unix(int64(blk.Time), 0).UTC()
		if at.Before(from) {
			return true
		}
		if at.After(to) || int(e.Index) >= len(t.Transfers) {
			return false
		}
		tr := &t.Transfers[e.Index]
		if tr.To == id {
			return true
		}
		kb, err := a.db.AddrKey(ctx, tr.To)
		if err != nil {
			ierr = err
			return false
		}
		r := Release{Chain: a.chain, Asset: asset, Tx: fmt.Sprintf("0x%x", t.Hash), Index: e.Index,
			To: fmt.Sprintf("0x%x", kb), Value: e.Amount, Time: at, Height: t.Height}
		stop = !fn(r)
		return !stop
	})
	if err == nil {
		err = ierr
	}
	return err
}
