package service

import (
	"errors"
	"testing"
)

// TestStartHeight checks the scan window: blocks of 10 transactions each
// (height h holds ordinals 10h..10h+9), a chain of 10 blocks ending before
// ordinal 100.
func TestStartHeight(t *testing.T) {
	first := func(h uint64) (uint64, error) { return 10 * h, nil }
	for _, c := range []struct{ maxTxs, want uint64 }{
		{1000, 0}, {100, 0}, {99, 1}, {90, 1}, {89, 2}, {10, 9}, {1, 9},
	} {
		got, err := startHeight(9, 100, c.maxTxs, first)
		if err != nil || got != c.want {
			t.Errorf("maxTxs %d: start %d, %v; want %d", c.maxTxs, got, err, c.want)
		}
	}
	boom := errors.New("boom")
	if _, err := startHeight(9, 100, 5, func(uint64) (uint64, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("a failing read: %v, want it wrapped", err)
	}
}
