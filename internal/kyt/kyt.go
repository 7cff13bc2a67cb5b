// Package kyt screens deposits (know your transaction): a platform
// registers each transfer it received (chain, transaction, output or log
// index, its own user id) and gets back the receiving address, the asset
// and amount, the sending side screened with package screen, and a risk
// rating, the worst over the senders. A transfer whose transaction the
// chain store does not hold yet is kept as pending and screened once it
// appears. Registered transfers are screened again (Rescreen) when labels,
// incidents or traces change, and a change of rating raises a
// monitor.KindRatingChange alert.
//
// The registry is a store.DB of its own under <data>/kyt (chain "kyt"),
// so that a registration is acknowledged only once it is synced, and a
// new rating commits in the same batch as its alert and the alert's
// outbox entry: alert.Deliverer drives the registry's monitor tables as it
// drives a chain store's, and the alerts go to the journal
// (monitor.JournalPath) under chain "kyt". A registry store has no chain
// and so no watched outputs; its W table holds the transfers instead:
//
//	W 'r' seq(8)   the transfer record (JSON), by registration order
//	W 'i' id       the record's seq(8), by transfer id
//	W 'p' seq(8)   empty: record seq is pending
//	W 'u' user 0 0 seq(8)   empty: record seq is user's (NULs in user escaped)
//
// with the counters kyt_next_transfer and monitor_next_alert.
package kyt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/screen"
)

// Errors wrapped by the registry's answers; the API maps them to HTTP
// statuses.
var (
	// ErrInvalid is a malformed request: unknown chain, bad hash, a
	// missing or doubled index, an empty user id.
	ErrInvalid = errors.New("kyt: invalid request")
	// ErrNoSuchTransfer is a transaction the store holds without the
	// output or log the request names.
	ErrNoSuchTransfer = errors.New("kyt: no such transfer in the transaction")
	// ErrNotFound is a transfer id nobody registered.
	ErrNotFound = errors.New("kyt: transfer not registered")
	// ErrConflict is a transfer already registered for another user.
	ErrConflict = errors.New("kyt: conflict")
	// ErrBadCursor is a list cursor this registry did not hand out.
	ErrBadCursor = errors.New("kyt: invalid cursor")
)

// Transfer statuses.
const (
	// StatusPending is a transfer whose transaction is not in the chain
	// store yet.
	StatusPending = "pending"
	// StatusScreened is a resolved and screened transfer.
	StatusScreened = "screened"
	// StatusInvalid is a pending transfer whose transaction appeared
	// without the output or log it names; Reasons say so. It is not
	// screened again.
	StatusInvalid = "invalid"
)

// AlertChain is the Chain and the Watch of the registry's alerts in the
// journal: the chain tells them apart from the followers' (each chain's
// journal writer owns its chain's lines), the watch lets a client ask for
// them alone (GET /api/v1/alerts?watch=kyt).
const AlertChain = "kyt"

// Dir is the registry's directory under a data directory.
func Dir(data string) string { return filepath.Join(data, "kyt") }

// Request registers a received transfer. Bitcoin-family chains need
// OutputIndex; EVM chains take LogIndex for a token transfer (an ERC-20
// Transfer log) or neither for the transaction's native value.
type Request struct {
	Chain       string  `json:"chain"`
	Tx          string  `json:"tx"`
	OutputIndex *uint32 `json:"output_index,omitempty"`
	LogIndex    *uint32 `json:"log_index,omitempty"`
	UserID      string  `json:"user_id"`
}

// Transfer is a registered transfer and its latest screening.
type Transfer struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// Chain is the chain store's id (btc, btc-regtest, eth, eth-sim), Tx
	// the transaction hash as the chain writes it.
	Chain       string    `json:"chain"`
	Tx          string    `json:"tx"`
	OutputIndex *uint32   `json:"output_index,omitempty"`
	LogIndex    *uint32   `json:"log_index,omitempty"`
	UserID      string    `json:"user_id"`
	Registered  time.Time `json:"registered_at"`
	// Address is the receiving address; Asset what was received (BTC,
	// ETH, a token's symbol or, without one, its contract), Token the
	// token contract (empty for the native coin) and Amount the value in
	// the asset's base units as a decimal integer. They are empty while
	// the transfer is pending.
	Address string `json:"address,omitempty"`
	Asset   string `json:"asset,omitempty"`
	Token   string `json:"token,omitempty"`
	Amount  string `json:"amount,omitempty"`
	// Senders are the sending side (a Bitcoin transaction's input
	// addresses, an EVM transfer's sender) with their screening.
	Senders []Sender `json:"senders"`
	// Rating is the worst sender's risk level (empty while pending), and
	// Reasons say which senders and rules set it.
	Rating   string     `json:"rating,omitempty"`
	Reasons  []string   `json:"reasons"`
	Screened *time.Time `json:"screened_at,omitempty"`
}

// Sender is one address of the sending side: the value it put in (base
// units, decimal) and its screening.
type Sender struct {
	Address   string        `json:"address"`
	Value     string        `json:"value"`
	Screening screen.Result `json:"screening"`
}

// Page is one page of List: transfers in registration order and, when
// more follow, the cursor of the next page.
type Page struct {
	Transfers []Transfer `json:"transfers"`
	Next      string     `json:"next,omitempty"`
}

// Filter selects transfers in List; empty fields match everything.
type Filter struct {
	UserID string
	// Rating is a level name (LOW, MEDIUM, HIGH, SEVERE), "pending" or
	// "invalid".
	Rating string
}

// match reports whether t passes f.
func (f *Filter) match(t *Transfer) bool {
	if f.UserID != "" && t.UserID != f.UserID {
		return false
	}
	switch {
	case f.Rating == "":
		return true
	case strings.EqualFold(f.Rating, StatusPending), strings.EqualFold(f.Rating, StatusInvalid):
		return strings.EqualFold(f.Rating, t.Status)
	}
	return strings.EqualFold(f.Rating, t.Rating)
}

// CheckFilter validates f's rating.
func CheckFilter(f Filter) error {
	if f.Rating == "" || strings.EqualFold(f.Rating, StatusPending) || strings.EqualFold(f.Rating, StatusInvalid) {
		return nil
	}
	var l screen.Level
	if err := l.UnmarshalText([]byte(f.Rating)); err != nil {
		return errors.Join(ErrInvalid, err)
	}
	return nil
}

// transferID derives the id of a transfer from what identifies it, so
// that registering it again, or in another registry, gives the same id.
func transferID(chain, tx, kind string, index uint32) string {
	h := sha256.Sum256([]byte(chain + "\x00" + tx + "\x00" + kind + "\x00" + strconv.FormatUint(uint64(index), 10)))
	return "tr_" + hex.EncodeToString(h[:12])
}
