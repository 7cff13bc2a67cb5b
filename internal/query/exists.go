package query

import (
	"context"
	"errors"
)

// Known reports whether addr has activity in the store, reading one key;
// an address that does not parse for the store's network is unknown, not
// an error, so that a search can try a string on every store.
func (q *BTC) Known(ctx context.Context, addr string) (bool, error) {
	_, err := q.AddressID(ctx, addr)
	return known(err)
}

// Known reports whether addr has activity in the store, reading one key,
// as BTC.Known does.
func (q *ETH) Known(ctx context.Context, addr string) (bool, error) {
	_, _, err := q.addrID(ctx, addr)
	return known(err)
}

// known turns a look-up's error into an answer: found, absent or
// malformed (false), or a failure.
func known(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid):
		return false, nil
	}
	return false, err
}
