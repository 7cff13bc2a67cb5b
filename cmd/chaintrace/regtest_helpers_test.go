package main

import (
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
	"github.com/chaintrace/chaintrace/internal/btc/btcdtest"
)

// regtestNode starts a real btcd regtest node with segwit active, for the
// end-to-end tests, and returns it with its wallet and two helpers that
// fail the test on error: newAddr makes a wallet P2WPKH address, pay an
// output paying v satoshi to an address.
func regtestNode(t *testing.T) (n *btcdtest.Node, w *btcdtest.Wallet, newAddr func() btcutil.Address, pay func(btcutil.Address, int64) *wire.TxOut) {
	t.Helper()
	n = btcdtest.MustStart(t.Context(), t, btcdtest.Options{Net: btcdtest.RegTest})
	if err := n.ActivateSegwit(t.Context()); err != nil {
		t.Fatal(err)
	}
	w = n.Wallet()
	newAddr = func() btcutil.Address {
		a, err := w.NewAddress(btcdtest.P2WPKH)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	pay = func(a btcutil.Address, v int64) *wire.TxOut {
		o, err := btcdtest.PayTo(a, btcutil.Amount(v))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	return n, w, newAddr, pay
}
