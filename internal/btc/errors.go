package btc

import (
	"errors"
	"strconv"
)

// ErrNotFound is wrapped by block sources when a height or block does not
// exist.
var ErrNotFound = errors.New("btc: not found")

// ErrReorg is wrapped by block sources when their best chain changed under a
// running iteration.
var ErrReorg = errors.New("btc: best chain changed")

// ErrTruncated is wrapped by a DecodeError when the input ends before the
// field being read.
var ErrTruncated = errors.New("truncated")

// ErrMalformed is wrapped by a DecodeError when the input is not a valid
// serialization: an impossible count, an unknown segwit flag, trailing
// bytes and the like.
var ErrMalformed = errors.New("malformed")

// ErrMerkleMismatch is wrapped by Block.CheckMerkle when the transactions do
// not hash to the merkle root of the header, or when the merkle tree is
// mutated by duplicated transactions.
var ErrMerkleMismatch = errors.New("merkle root mismatch")

// ErrInvalidAddress is wrapped by an AddressError when a string is not a
// valid address.
var ErrInvalidAddress = errors.New("invalid address")

// ErrWrongNetwork is wrapped by an AddressError when a string is a valid
// address of a network other than the expected one.
var ErrWrongNetwork = errors.New("wrong network")

// DecodeError reports where and why decoding a block or transaction failed.
// Offset is relative to the start of the buffer given to the decoder;
// callers reading from a file add the buffer's file offset.
type DecodeError struct {
	// Offset is the position of the field that could not be decoded.
	Offset int64
	// What names the field, as in "tx 12 input 3 script".
	What string
	// Err is ErrTruncated or ErrMalformed.
	Err error

	// detail explains a malformation in words; empty for truncation.
	detail string
}

// Error formats the error as in
// "btc: decode tx 12 input 3 script: truncated at offset 5123".
func (e *DecodeError) Error() string {
	cause := "error"
	if e.Err != nil {
		cause = e.Err.Error()
	}
	msg := "btc: decode " + e.What + ": " + cause + " at offset " + strconv.FormatInt(e.Offset, 10)
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

// Unwrap returns the cause, ErrTruncated or ErrMalformed.
func (e *DecodeError) Unwrap() error { return e.Err }

// AddressError reports an address string that cannot be parsed for the
// requested network.
type AddressError struct {
	// Addr is the input string.
	Addr string
	// Err is ErrInvalidAddress or ErrWrongNetwork.
	Err error

	reason string
}

// Error formats the error, naming the input.
func (e *AddressError) Error() string {
	return "btc: address " + strconv.Quote(e.Addr) + ": " + e.reason
}

// Unwrap returns the cause, ErrInvalidAddress or ErrWrongNetwork.
func (e *AddressError) Unwrap() error { return e.Err }
