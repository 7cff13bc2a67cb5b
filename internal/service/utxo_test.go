package service

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// funded gives each of n customers of prefix a coin from a coinbase of a
// funder of its own, and has each pay its deposit address: customer i's
// payment is transaction prefix+"pay"+i, output 0 the deposit, output 1
// the change. Coinbases are at t0, payments from start every gap.
func funded(c *chain, prefix string, n int, start, gap time.Duration) {
	for i := range n {
		c.tx(fmt.Sprintf("%scb%d", prefix, i), 0, nil, uout{fmt.Sprintf("%sfunder%d", prefix, i), 50_000_000})
	}
	for i := range n {
		c.tx(fmt.Sprintf("%sfund%d", prefix, i), time.Minute, in(fmt.Sprintf("%scb%d:0", prefix, i)),
			uout{fmt.Sprintf("%scust%d", prefix, i), 40_000_000}, uout{fmt.Sprintf("%sfunder%d", prefix, i), 9_990_000})
	}
	for i := range n {
		c.tx(fmt.Sprintf("%spay%d", prefix, i), start+time.Duration(i)*gap, in(fmt.Sprintf("%sfund%d:0", prefix, i)),
			uout{fmt.Sprintf("%sdep%d", prefix, i), 30_000_000}, uout{fmt.Sprintf("%scust%d", prefix, i), 9_990_000})
	}
}

// sweeps sweeps deposit addresses 2k and 2k+1 of prefix into to, an hour
// after the second is paid, for k below n/2.
func sweeps(c *chain, prefix, to string, n int, start, gap time.Duration) {
	for k := 0; k+1 < n; k += 2 {
		c.tx(fmt.Sprintf("%ssweep%d", prefix, k), start+time.Duration(k+1)*gap+time.Hour,
			in(fmt.Sprintf("%spay%d:0", prefix, k), fmt.Sprintf("%spay%d:0", prefix, k+1)), uout{to, 59_990_000})
	}
}

func detectUTXO(t *testing.T, c *chain, o Options) *Result {
	t.Helper()
	for i := 1; i < len(c.txs); i++ {
		for j := i; j > 0 && c.txs[j].at < c.txs[j-1].at; j-- {
			c.txs[j], c.txs[j-1] = c.txs[j-1], c.txs[j]
		}
	}
	r, err := DetectUTXO(context.Background(), c.open(t), "btc-regtest", o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestUTXOExchange(t *testing.T) {
	c := &chain{}
	funded(c, "x", 12, time.Hour, 3*time.Hour)
	sweeps(c, "x", "xhot", 12, time.Hour, 3*time.Hour)
	r := detectUTXO(t, c, Options{})
	if len(r.Services) != 1 {
		t.Fatalf("services %v, want the hot wallet", r.Services)
	}
	s := r.Services[0]
	// Sweeps at 1h+3h+1h, then every 6h: the last at 1h+33h+1h.
	if s.Wallet != btcAddrOf("xhot") || len(s.Deposits) != 12 || s.Forwards != 6 || s.Senders != 12 || s.Span() != 30*time.Hour {
		t.Fatalf("service %s", s.String())
	}
	if got, wallet, ok := r.Find(btcAddrOf("xdep7")); !ok || wallet || got.Wallet != s.Wallet {
		t.Fatalf("deposit 7: %v %v", ok, wallet)
	}
	if _, _, ok := r.Find(btcAddrOf("xcust7")); ok {
		t.Fatalf("a customer is found as a service address")
	}
	again := detectUTXO(t, c, Options{})
	r.Elapsed, again.Elapsed = 0, 0
	if !reflect.DeepEqual(r, again) {
		t.Errorf("two detections differ:\n%+v\n%+v", r, again)
	}
	// With a small change back to a deposit address the sweeps still
	// count; with a large one they are payments, not sweeps.
	for _, tc := range []struct {
		change int64
		want   int
	}{{100_000, 1}, {20_000_000, 0}} {
		c := &chain{}
		funded(c, "x", 12, time.Hour, 3*time.Hour)
		for k := 0; k < 12; k += 2 {
			c.tx(fmt.Sprintf("xsweep%d", k), time.Hour+time.Duration(k+1)*3*time.Hour+time.Hour,
				in(fmt.Sprintf("xpay%d:0", k), fmt.Sprintf("xpay%d:0", k+1)),
				uout{"xhot", 59_990_000 - tc.change}, uout{fmt.Sprintf("xdep%d", k), tc.change})
		}
		if r := detectUTXO(t, c, Options{}); len(r.Services) != tc.want {
			t.Errorf("change %d: services %v, want %d", tc.change, r.Services, tc.want)
		}
	}
}

// TestUTXONegatives plays flows that must not make a service.
func TestUTXONegatives(t *testing.T) {
	// A thief sweeps twelve victims' addresses, each funded by someone
	// else, in six transactions within half an hour.
	drain := &chain{}
	funded(drain, "v", 12, time.Hour, time.Minute)
	sweeps(drain, "v", "thief", 12, time.Hour, time.Minute)
	// A user consolidates five of its own addresses once.
	once := &chain{}
	funded(once, "u", 5, time.Hour, time.Hour)
	once.tx("consolidate", 10*time.Hour, in("upay0:0", "upay1:0", "upay2:0", "upay3:0", "upay4:0"), uout{"usaving", 149_990_000})
	// A peel chain: one input each, a payment and the change onwards.
	peel := &chain{}
	peel.tx("cb", 0, nil, uout{"peel0", 50_000_000})
	prev := "cb:0"
	for i := range 12 {
		name := fmt.Sprintf("peel%d", i+1)
		v := int64(50_000_000 - (i+1)*3_000_000)
		peel.tx(name, time.Duration(i+1)*3*time.Hour, in(prev), uout{fmt.Sprintf("shop%d", i), 2_990_000}, uout{name, v})
		prev = name + ":1"
	}
	// A reused address that twelve customers pay, and that never
	// forwards.
	reused := &chain{}
	funded(reused, "r", 12, time.Hour, 3*time.Hour)
	// Sweeps of coins the wallet itself paid are no deposits.
	selfFunded := &chain{}
	selfFunded.tx("cb", 0, nil, uout{"hot", 50_000_000})
	var outs []uout
	for i := range 12 {
		outs = append(outs, uout{fmt.Sprintf("d%d", i), 4_000_000})
	}
	selfFunded.tx("fan", time.Minute, in("cb:0"), outs...)
	for k := 0; k < 12; k += 2 {
		selfFunded.tx(fmt.Sprintf("back%d", k), time.Duration(k+1)*3*time.Hour, in(fmt.Sprintf("fan:%d", k), fmt.Sprintf("fan:%d", k+1)), uout{"hot", 7_990_000})
	}
	// A launderer feeding one collector from its own addresses, all
	// funded by one transaction, over a day and a half.
	layer := &chain{}
	layer.tx("cb", 0, nil, uout{"launderer", 50_000_000})
	layer.tx("split", time.Minute, in("cb:0"), outs...)
	for k := 0; k < 12; k += 2 {
		layer.tx(fmt.Sprintf("join%d", k), time.Duration(k+1)*3*time.Hour, in(fmt.Sprintf("split:%d", k), fmt.Sprintf("split:%d", k+1)), uout{"collector", 7_990_000})
	}
	for name, c := range map[string]*chain{"drain": drain, "once": once, "peel": peel, "reused": reused, "self-funded": selfFunded, "layer": layer} {
		if r := detectUTXO(t, c, Options{}); len(r.Services) != 0 {
			t.Errorf("%s: services %v", name, r.Services)
		}
	}
}

// TestUTXOSweptWallet has an exchange sweep its deposits into an address
// that is itself one of another service's deposit addresses: the first
// "wallet" is a deposit address, and only the second is a service.
func TestUTXOSweptWallet(t *testing.T) {
	c := &chain{}
	funded(c, "a", 12, time.Hour, 3*time.Hour)
	sweeps(c, "a", "mid", 12, time.Hour, 3*time.Hour)
	funded(c, "b", 12, time.Hour, 3*time.Hour)
	sweeps(c, "b", "top", 12, time.Hour, 3*time.Hour)
	c.tx("up", 60*time.Hour, in("asweep0:0", "asweep2:0", "bpay11:1"), uout{"top", 119_000_000})
	r := detectUTXO(t, c, Options{})
	if got := wallets(r); len(got) != 1 || got[0] != btcAddrOf("top") {
		t.Fatalf("wallets %v, want top %s", got, btcAddrOf("top"))
	}
}
