package trace

import (
	"testing"

	"github.com/chaintrace/chaintrace/internal/labels"
)

type chainLabels map[string][]labels.Label

func (c chainLabels) Lookup(chain, address string) []labels.Label { return c[chain+" "+address] }

func TestAddrChain(t *testing.T) {
	for in, want := range map[string]string{
		"eth": "eth", "bsc": "bsc", "eth-sim": "eth", "eth-devnet": "eth",
		"btc": "btc", "btc-regtest": "btc-regtest", "trx": "trx",
	} {
		if got := AddrChain(in); got != want {
			t.Errorf("AddrChain(%q) = %q, want %q", in, got, want)
		}
	}
	l := AddrChainLabeler{Base: chainLabels{"eth 0xA": {{Label: "x"}}, "btc-regtest bcrt1q": {{Label: "y"}}}}
	if got := l.Lookup("eth-sim", "0xA"); len(got) != 1 || got[0].Label != "x" {
		t.Errorf("eth-sim look-up = %v, want the eth label", got)
	}
	if got := l.Lookup("btc-regtest", "bcrt1q"); len(got) != 1 || got[0].Label != "y" {
		t.Errorf("btc-regtest look-up = %v, want its own label", got)
	}
	if got := l.Lookup("bsc", "0xA"); len(got) != 0 {
		t.Errorf("bsc look-up = %v, want none (another chain's labels)", got)
	}
	if _, err := NewAccount(nil, AccountOptions{Chain: "eth-sim"}); err == nil || err.Error() != "trace: account engine: nil store" {
		t.Errorf("NewAccount(eth-sim) = %v, want only the nil-store error", err)
	}
}
