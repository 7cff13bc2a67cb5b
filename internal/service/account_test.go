package service

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

const eth1 = 1_000_000_000_000_000_000 // one ether in wei

// exchangeFlow plays an exchange on c: n customers, each funded by a
// funder of its own, pay their deposit address every gap from start; each
// deposit address forwards to the hot wallet an hour later (native, less
// 0.001 ether of gas). The first customer pays in tokens, which need gas
// from the hot wallet, and the deposit returns what gas it did not use.
func exchangeFlow(c *acct, prefix string, n int, start, gap time.Duration) {
	hot := prefix + "hot"
	for i := range n {
		at := start + time.Duration(i)*gap
		cust, dep := fmt.Sprintf("%scust%d", prefix, i), fmt.Sprintf("%sdep%d", prefix, i)
		if i == 0 {
			c.token(at, fmt.Sprintf("%sfunder%d", prefix, i), cust, "USDT", 5_000)
			c.token(at+time.Minute, cust, dep, "USDT", 5_000)
			c.pay(at+time.Hour, hot, dep, eth1/100)
			c.token(at+time.Hour+time.Minute, dep, hot, "USDT", 5_000)
			c.pay(at+time.Hour+2*time.Minute, dep, hot, eth1/100-eth1/1000)
			continue
		}
		c.pay(at, fmt.Sprintf("%sfunder%d", prefix, i), cust, 3*eth1)
		c.pay(at+time.Minute, cust, dep, 2*eth1)
		c.pay(at+time.Hour, dep, hot, 2*eth1-eth1/1000)
	}
}

func detectAcct(t *testing.T, c *acct, o Options) *Result {
	t.Helper()
	sortTrs(c)
	r, err := DetectAccount(context.Background(), c.open(t), "eth", o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sortTrs orders the transfers by time, keeping the order of equal
// times, so that flows can be written one after the other.
func sortTrs(c *acct) {
	for i := 1; i < len(c.trs); i++ {
		for j := i; j > 0 && c.trs[j].at < c.trs[j-1].at; j-- {
			c.trs[j], c.trs[j-1] = c.trs[j-1], c.trs[j]
		}
	}
}

func wallets(r *Result) []string {
	var out []string
	for _, s := range r.Services {
		out = append(out, s.Wallet)
	}
	return out
}

func TestAccountExchange(t *testing.T) {
	c := &acct{}
	exchangeFlow(c, "x", 6, 0, 3*time.Hour)
	r := detectAcct(t, c, Options{})
	if len(r.Services) != 1 {
		t.Fatalf("services %v, want the hot wallet", r.Services)
	}
	s := r.Services[0]
	if s.Wallet != ethAddr("xhot").Hex() || len(s.Deposits) != 6 || s.Senders != 6 || s.Forwards != 6 || s.Span() != 14*time.Hour+59*time.Minute {
		t.Fatalf("service %s, deposits %v", s.String(), s.Deposits)
	}
	for i := range 6 {
		d := ethAddr(fmt.Sprintf("xdep%d", i)).Hex()
		if got, wallet, ok := r.Find(d); !ok || wallet || got.Wallet != s.Wallet {
			t.Errorf("deposit %d: found %v, wallet %v", i, ok, wallet)
		}
	}
	if _, wallet, ok := r.Find(ethAddr("xhot").Hex()); !ok || !wallet {
		t.Errorf("the hot wallet is not found as a wallet")
	}
	for _, who := range []string{"xcust1", "xfunder1"} {
		if _, _, ok := r.Find(ethAddr(who).Hex()); ok {
			t.Errorf("%s is found as a service address", who)
		}
	}
	again := detectAcct(t, c, Options{})
	r.Elapsed, again.Elapsed = 0, 0
	if !reflect.DeepEqual(r, again) {
		t.Errorf("two detections differ:\n%+v\n%+v", r, again)
	}
}

func TestAccountThresholds(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		gap  time.Duration
		o    Options
		want int
	}{
		{"four deposit addresses", 4, 6 * time.Hour, Options{}, 0},
		{"five deposit addresses", 5, 6 * time.Hour, Options{}, 1},
		{"K of 3", 3, 7 * time.Hour, Options{MinDeposits: 3}, 1},
		{"span under 12h", 6, 2 * time.Hour, Options{}, 0},
		{"span option", 6, 2 * time.Hour, Options{MinSpan: 5 * time.Hour}, 1},
	} {
		c := &acct{}
		exchangeFlow(c, "x", tc.n, 0, tc.gap)
		if got := detectAcct(t, c, tc.o); len(got.Services) != tc.want {
			t.Errorf("%s: %d services, want %d", tc.name, len(got.Services), tc.want)
		}
	}
}

// TestAccountNegatives plays flows that must not make a service.
func TestAccountNegatives(t *testing.T) {
	// A thief drains eight victims, each long funded by someone else, into
	// one address within minutes.
	drain := &acct{}
	for i := range 8 {
		drain.pay(time.Duration(i)*time.Minute, fmt.Sprintf("payer%d", i), fmt.Sprintf("victim%d", i), 5*eth1)
		drain.pay(2*time.Hour+time.Duration(i)*time.Minute, fmt.Sprintf("victim%d", i), "thief", 5*eth1-eth1/1000)
	}
	// A reused address that many pay part of their money to and that
	// never forwards.
	reused := &acct{}
	for i := range 8 {
		at := time.Duration(i) * 5 * time.Hour
		reused.pay(at, fmt.Sprintf("funder%d", i), fmt.Sprintf("user%d", i), 10*eth1)
		reused.pay(at+time.Hour, fmt.Sprintf("user%d", i), "shop", 3*eth1)
	}
	reused.pay(60*time.Hour, "late", "shop", eth1)
	// Forwards two days late are no deposit address's.
	late := &acct{}
	for i := range 6 {
		at := time.Duration(i) * 4 * time.Hour
		late.pay(at, fmt.Sprintf("funder%d", i), fmt.Sprintf("user%d", i), 2*eth1)
		late.pay(at+48*time.Hour, fmt.Sprintf("user%d", i), "sink", 2*eth1)
	}
	// Addresses that forward to the wallet but also pay someone else.
	split := &acct{}
	for i := range 6 {
		at := time.Duration(i) * 4 * time.Hour
		split.pay(at, fmt.Sprintf("funder%d", i), fmt.Sprintf("user%d", i), 2*eth1)
		split.pay(at+time.Hour, fmt.Sprintf("user%d", i), "sink", eth1)
		split.pay(at+time.Hour, fmt.Sprintf("user%d", i), fmt.Sprintf("other%d", i), eth1)
	}
	// Layering through one's own addresses: one funder feeds six fresh
	// addresses that forward to one address over a day.
	layer := &acct{}
	for i := range 6 {
		at := time.Duration(i) * 4 * time.Hour
		layer.pay(at, "launderer", fmt.Sprintf("hop%d", i), 2*eth1)
		layer.pay(at+time.Hour, fmt.Sprintf("hop%d", i), "collector", 2*eth1-eth1/1000)
	}
	for name, c := range map[string]*acct{"drain": drain, "reused": reused, "late": late, "split": split, "layer": layer} {
		if r := detectAcct(t, c, Options{}); len(r.Services) != 0 {
			t.Errorf("%s: services %v", name, r.Services)
		}
	}
}

// TestAccountDepositIsNoWallet plays a launderer paying many addresses of
// its own, each funded from elsewhere, into one exchange deposit address
// over a day: the deposit address is fed like a wallet, but it forwards
// everything to the exchange, which makes it a deposit address and not a
// service.
func TestAccountDepositIsNoWallet(t *testing.T) {
	c := &acct{}
	for i := range 6 {
		at := time.Duration(i) * 4 * time.Hour
		c.pay(at, fmt.Sprintf("funder%d", i), fmt.Sprintf("mule%d", i), 2*eth1)
		c.pay(at+time.Hour, fmt.Sprintf("mule%d", i), "exdep", 2*eth1-eth1/1000)
		c.pay(at+2*time.Hour, "exdep", "exhot", 2*eth1-eth1/500)
	}
	if r := detectAcct(t, c, Options{}); len(r.Services) != 0 {
		t.Errorf("services %v", r.Services)
	}
}

// TestAccountPending allows a receipt still inside the window at the tip
// to await its forward, but not one older than the window.
func TestAccountPending(t *testing.T) {
	c := &acct{}
	exchangeFlow(c, "x", 6, 0, 3*time.Hour)
	c.pay(20*time.Hour, "newcust", "xdep3", eth1)
	c.pay(21*time.Hour, "someone", "someone2", eth1)
	if r := detectAcct(t, c, Options{}); len(r.Services) != 1 || len(r.Services[0].Deposits) != 6 {
		t.Fatalf("with a fresh receipt: %v", r.Services)
	}
	c.pay(50*time.Hour, "someone", "someone2", eth1)
	if r := detectAcct(t, c, Options{}); len(r.Services) != 1 || len(r.Services[0].Deposits) != 5 {
		t.Fatalf("with a receipt never forwarded: %v", r.Services)
	}
}
