package monitor

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Alert kinds.
const (
	// KindAlert is a match of a watch's rule.
	KindAlert = "alert"
	// KindRetraction withdraws an earlier alert whose block was orphaned.
	KindRetraction = "retraction"
	// KindRatingChange reports that re-screening a registered deposit
	// (package kyt) changed its risk rating.
	KindRatingChange = "rating_change"
)

// Directions of the movement an alert reports.
const (
	// DirOut is watched value being spent.
	DirOut = "out"
	// DirIn is a watched address receiving value.
	DirIn = "in"
)

// RetractedReason is the Reason of every retraction.
const RetractedReason = "retracted: block orphaned"

// Alert is one alert record, as stored, listed and delivered (its JSON is
// the webhook body).
type Alert struct {
	// ID is unique across chains and stores and is the idempotency key
	// of its deliveries.
	ID   string `json:"id"`
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
	// Watch and WatchName identify the watch, Rule the rule that matched.
	Watch     string    `json:"watch"`
	WatchName string    `json:"watch_name,omitempty"`
	Rule      string    `json:"rule"`
	Chain     string    `json:"chain"`
	Tx        string    `json:"tx"`
	Height    uint64    `json:"height"`
	Block     string    `json:"block"`
	Time      time.Time `json:"time"`
	Direction string    `json:"direction"`
	// Amount is the watched value moved (out) or received (in), TxValue
	// the transaction's total output value, both in satoshis.
	Amount  int64 `json:"amount"`
	TxValue int64 `json:"tx_value"`
	// Asset names what moved: "BTC", "ETH", or a token's symbol (its
	// contract address when the symbol is unknown). Token is the token's
	// contract address on account chains, empty for the native coin.
	// Value is the moved amount in the asset's base units (satoshis,
	// wei, token units) as a decimal integer: on account chains it is
	// the amount, as wei overflow Amount, which stays 0 there.
	Asset string `json:"asset,omitempty"`
	Token string `json:"token,omitempty"`
	Value string `json:"value,omitempty"`
	// Hop counts the watch's extensions the moved value went through: 0
	// for the watched addresses themselves.
	Hop            int            `json:"hop"`
	Counterparties []Counterparty `json:"counterparties,omitempty"`
	// Retracts and Reason are set on retractions.
	Retracts string `json:"retracts,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Transfer, UserID, OldRating and NewRating are set on rating
	// changes: the registered transfer's id, the platform's user id, and
	// the risk ratings before and after (Reason says what changed).
	Transfer  string `json:"transfer,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	OldRating string `json:"old_rating,omitempty"`
	NewRating string `json:"new_rating,omitempty"`
}

// Counterparty is an output the watched value went to (out) or an input
// address it came from (in); on account chains, the recipient (out) or
// sender (in) of the transfer.
type Counterparty struct {
	Address string `json:"address,omitempty"`
	// Value and Tainted are satoshis (Bitcoin). Account chains set
	// Amount, the transfer's amount, and TaintedAmount, the watched
	// value in it, in the asset's base units as decimal integers
	// instead, as wei overflow int64.
	Value         int64   `json:"value"`
	Tainted       int64   `json:"tainted,omitempty"`
	Amount        string  `json:"amount,omitempty"`
	TaintedAmount string  `json:"tainted_amount,omitempty"`
	Watched       bool    `json:"watched,omitempty"`
	Labels        []Label `json:"labels,omitempty"`
}

// Label is the part of a label an alert carries.
type Label struct {
	Label    string `json:"label"`
	Category string `json:"category,omitempty"`
	Actor    string `json:"actor,omitempty"`
	Entity   string `json:"entity,omitempty"`
	Dataset  string `json:"dataset,omitempty"`
}

// alertID derives an alert's id from what makes it unique: its chain
// and sequence number (a replay of an uncommitted block gives the same
// number, so the same id) and its content.
func alertID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (a *Alert) setID() {
	a.ID = alertID(a.Chain, strconv.FormatUint(a.Seq, 10), a.Kind, a.Block, a.Tx, a.Watch, a.Rule, a.Direction, a.Retracts)
}

// SeqKey is the key of alert seq in the alert, outbox and dead tables.
func SeqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// KeySeq reads the sequence number at the start of such a key.
func KeySeq(k []byte) (uint64, error) {
	if len(k) < 8 {
		return 0, fmt.Errorf("monitor: corrupt alert key %x", k)
	}
	return binary.BigEndian.Uint64(k), nil
}

// DecodeAlert decodes a stored alert record.
func DecodeAlert(v []byte) (Alert, error) {
	var a Alert
	if err := json.Unmarshal(v, &a); err != nil {
		return Alert{}, fmt.Errorf("monitor: corrupt alert record: %w", err)
	}
	return a, nil
}

func heightKey(height, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(nil, height)
	return binary.BigEndian.AppendUint64(k, seq)
}
