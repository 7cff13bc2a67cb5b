package store

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
)

func TestLinkValueRoundTrip(t *testing.T) {
	for _, ids := range [][]uint64{{1, 2}, {5, 1 << 33, 1<<64 - 1}, nil} {
		kind := LinkMultiInput
		if ids == nil {
			kind = LinkJoinMarket
		}
		v := appendLink(nil, kind, ids)
		k, got, err := decodeLink(1, v, nil)
		if err != nil || k != kind || len(got) != len(ids) {
			t.Fatalf("decode(%v) = %d %v %v", ids, k, got, err)
		}
		for i := range ids {
			if got[i] != ids[i] {
				t.Fatalf("decode(%v) = %v", ids, got)
			}
		}
	}
}

// TestLinkCorruptValues checks that every malformed value is refused with
// an error naming the key, through the decoder and through the DB.
func TestLinkCorruptValues(t *testing.T) {
	many := []byte{LinkMultiInput}
	for range maxLinkIDs + 1 {
		many = append(many, 1)
	}
	cases := map[string][]byte{
		"empty":                       {},
		"unknown kind":                {LinkMaxKind + 1},
		"truncated":                   {LinkMultiInput, 1, 0x80},
		"not increasing":              {LinkMultiInput, 1, 0},
		"overflow":                    binary.AppendUvarint([]byte{LinkMultiInput, 2}, 1<<64-1),
		"one id":                      {LinkMultiInput, 1},
		"coinjoin with ids":           {LinkWasabi1, 1, 1},
		"too many ids":                many,
		"multi-input without any ids": {LinkMultiInput},
	}
	for name, v := range cases {
		if _, _, err := decodeLink(42, v, nil); err == nil || !strings.Contains(err.Error(), "U000000000000002a") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), ChainMeta{Chain: "btc", Network: "regtest"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.pdb.Set(keyU64(nil, prefixLink, 42), []byte{LinkMultiInput, 7}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Link(ctx, 42); err == nil || !strings.Contains(err.Error(), "#42") {
		t.Fatalf("Link of a corrupt value: %v", err)
	}
	err = db.Links(ctx, 0, func(uint64, uint8, []uint64) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "#42") {
		t.Fatalf("Links over a corrupt value: %v", err)
	}
}
