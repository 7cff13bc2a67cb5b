package screen_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

var testActors = []labels.Actor{
	{ID: "lazarusgroup", Label: "Lazarus Group", Aliases: []string{"Hidden Cobra"}, SubGroups: []string{"tradertraitor", "apt38"}, Dataset: "actors"},
	{ID: "tradertraitor", Label: "TraderTraitor", Dataset: "actors"},
	{ID: "apt38", Label: "APT38", Dataset: "actors"},
}

// ethAddr derives a lower-case EVM address from a name.
func ethAddr(name string) string {
	h := sha256.Sum256([]byte("eth:" + name))
	return "0x" + hex.EncodeToString(h[:20])
}

// btcAddr derives a mainnet P2WPKH (bech32) or, with legacy, P2PKH
// (base58) address from a name.
func btcAddr(name string, legacy bool) string {
	h := sha256.Sum256([]byte("btc:" + name))
	kind := btc.AddrWPKH
	if legacy {
		kind = btc.AddrPKH
	}
	k, err := btc.NewAddrKey(kind, 0, h[:20])
	if err != nil {
		panic(err)
	}
	return k.Encode(&chaincfg.MainNetParams)
}

func mustNorm(t testing.TB, chain, s string) string {
	t.Helper()
	n, err := addrs.Normalize(chain, s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fixture is a hand-built label index over a few addresses.
type fixture struct {
	ix                                                       *labels.Index
	sanctioned, mixer, hacker, exchange, both, retired, scam string // normalised
	lowConf                                                  string
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{
		sanctioned: mustNorm(t, "eth", ethAddr("sanctioned")),
		mixer:      btcAddr("mixer", false),
		hacker:     btcAddr("hacker", true),
		exchange:   btcAddr("exchange", false),
		both:       mustNorm(t, "eth", ethAddr("both")),
		retired:    mustNorm(t, "eth", ethAddr("retired")),
		scam:       mustNorm(t, "eth", ethAddr("scam")),
		lowConf:    btcAddr("low-confidence", false),
	}
	delisted := time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)
	f.ix = labels.NewIndex([]labels.Label{
		{Chain: "eth", Address: f.sanctioned, Label: "TraderTraitor wallet", Abuse: "sanction", Actor: "tradertraitor",
			Confidence: "authority_data", ConfidenceLevel: 100, Source: "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1",
			Dataset: "ofac-sdn", Entity: "TraderTraitor", EntityUID: "1", Programs: []string{"DPRK3", "CYBER2"}},
		{Chain: "btc", Address: f.mixer, Label: "Mixer X", Category: "mixing_service", Confidence: "web_crawl", ConfidenceLevel: 40, Source: "forum post", Dataset: "tagpack:mixers.yaml"},
		{Chain: "btc", Address: f.hacker, Label: "Exchange hack 2024", Category: "perpetrator", Abuse: "hack", Actor: "apt38", ConfidenceLevel: 60, Source: "https://example.org/report", Dataset: "tagpack:hacks.yaml"},
		{Chain: "btc", Address: f.exchange, Label: "Exchange Y", Category: "exchange", ConfidenceLevel: 80, Source: "https://example.org/por", Dataset: "tagpack:exchanges.yaml"},
		{Chain: "eth", Address: f.both, Label: "Deposit address", Category: "exchange", ConfidenceLevel: 50, Source: "s1", Dataset: "d1"},
		{Chain: "eth", Address: f.both, Label: "Sanctioned deposit", Abuse: "sanction", ConfidenceLevel: 100, Source: "s2", Dataset: "ofac-sdn"},
		{Chain: "eth", Address: f.retired, Label: "Delisted", Abuse: "sanction", ConfidenceLevel: 100, Source: "s3", Dataset: "ofac-sdn", Retired: &delisted},
		{Chain: "eth", Address: f.scam, Label: "Fake airdrop", Abuse: "phishing", ConfidenceLevel: 30, Source: "s4", Dataset: "d4"},
		{Chain: "btc", Address: f.lowConf, Label: "Rumoured Lazarus", Abuse: "hack", Actor: "lazarusgroup", ConfidenceLevel: 10, Source: "s5", Dataset: "d5"},
	}, testActors)
	return f
}

func TestScreenIdentificationsAndRisk(t *testing.T) {
	f := newFixture(t)
	s, err := screen.New(f.ix, nil, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, chain, input string
		wantAddr           string
		cats               []string // identification categories, in order
		level              screen.Level
		rule               string
	}{
		{"sanctioned", "eth", f.sanctioned, f.sanctioned, []string{"sanction"}, screen.Severe, "sanctioned"},
		{"sanctioned lower-case input", "eth", strings.ToLower(f.sanctioned), f.sanctioned, []string{"sanction"}, screen.Severe, "sanctioned"},
		{"sanctioned upper-case chain", "ETH", f.sanctioned, f.sanctioned, []string{"sanction"}, screen.Severe, "sanctioned"},
		{"padded input", "btc", "  " + f.mixer + "\n", f.mixer, []string{"mixing_service"}, screen.High, "mixer"},
		{"bech32 upper case", "btc", strings.ToUpper(f.mixer), f.mixer, []string{"mixing_service"}, screen.High, "mixer"},
		{"hack", "btc", f.hacker, f.hacker, []string{"perpetrator"}, screen.High, "illicit"},
		{"exchange", "btc", f.exchange, f.exchange, []string{"exchange"}, screen.Low, ""},
		{"two labels", "eth", f.both, f.both, []string{"exchange", "sanction"}, screen.Severe, "sanctioned"},
		{"retired label", "eth", f.retired, f.retired, nil, screen.Low, ""},
		{"phishing", "eth", f.scam, f.scam, []string{"phishing"}, screen.High, "fraud"},
		{"unknown eth", "eth", ethAddr("nobody"), mustNorm(t, "eth", ethAddr("nobody")), nil, screen.Low, ""},
		{"unknown btc legacy", "btc", btcAddr("nobody", true), btcAddr("nobody", true), nil, screen.Low, ""},
		{"same address other chain", "bsc", f.sanctioned, f.sanctioned, nil, screen.Low, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Screen(context.Background(), tc.chain, tc.input, screen.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Address != tc.wantAddr || res.Chain != strings.ToLower(tc.chain) {
				t.Errorf("screened %s %s, want %s %s", res.Chain, res.Address, strings.ToLower(tc.chain), tc.wantAddr)
			}
			if res.Identifications == nil {
				t.Fatal("nil identifications")
			}
			var cats []string
			for _, id := range res.Identifications {
				cats = append(cats, id.Category)
			}
			slices.Sort(cats)
			if !slices.Equal(cats, tc.cats) {
				t.Errorf("categories %v, want %v", cats, tc.cats)
			}
			if res.Risk.Level != tc.level || res.Risk.Rule != tc.rule {
				t.Errorf("risk %v by %q (%s), want %v by %q", res.Risk.Level, res.Risk.Rule, res.Risk.Reason, tc.level, tc.rule)
			}
			if res.Exposure != nil || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "no transaction graph") {
				t.Errorf("exposure %v, notes %q: want none and a note", res.Exposure, res.Notes)
			}
			ids, err := s.Identify(tc.chain, tc.input)
			if err != nil || len(ids) != len(tc.cats) {
				t.Errorf("Identify: %d identifications, %v; want %d", len(ids), err, len(tc.cats))
			}
		})
	}
}

func TestIdentificationFields(t *testing.T) {
	f := newFixture(t)
	s, err := screen.New(f.ix, nil, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.Identify("eth", f.sanctioned)
	if err != nil || len(ids) != 1 {
		t.Fatal(ids, err)
	}
	id := ids[0]
	want := screen.Identification{
		Category: "sanction", Name: "TraderTraitor wallet", Abuse: "sanction",
		Description: "Sanctioned entity TraderTraitor (programs DPRK3, CYBER2), attributed to TraderTraitor (part of Lazarus Group); reported by https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1.",
		URL:         "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1",
		Actor:       screen.ActorRef{ID: "tradertraitor", Name: "TraderTraitor", Root: "lazarusgroup", RootName: "Lazarus Group"},
		Source:      "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1", Dataset: "ofac-sdn",
		Confidence: "authority_data", ConfidenceLevel: 100, Entity: "TraderTraitor", EntityUID: "1", Programs: []string{"DPRK3", "CYBER2"},
	}
	if !reflect.DeepEqual(id, want) {
		t.Fatalf("identification\n got %+v\nwant %+v", id, want)
	}

	// A source that is not a URL gives no URL; an actor that is its own
	// root says so.
	ids, _ = s.Identify("btc", f.mixer)
	if ids[0].URL != "" || ids[0].Actor != (screen.ActorRef{}) || ids[0].Description != "Mixing service; reported by forum post." {
		t.Fatalf("mixer identification %+v", ids[0])
	}
	ids, _ = s.Identify("btc", f.lowConf)
	if a := ids[0].Actor; a.Root != "lazarusgroup" || a.RootName != "Lazarus Group" || a.Name != "Lazarus Group" {
		t.Fatalf("root actor ref %+v", a)
	}
}

func TestScreenErrors(t *testing.T) {
	f := newFixture(t)
	s, err := screen.New(f.ix, nil, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		chain, addr string
		opts        screen.Options
		want        error
	}{
		{"eth", "0x1234", screen.Options{}, addrs.ErrInvalid},
		{"eth", "", screen.Options{}, addrs.ErrInvalid},
		{"btc", f.sanctioned, screen.Options{}, addrs.ErrInvalid},
		{"btc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", screen.Options{}, addrs.ErrInvalid}, // bad checksum
		{"nochain", f.sanctioned, screen.Options{}, addrs.ErrUnknownChain},
		{"eth", f.sanctioned, screen.Options{Hops: screen.MaxHops + 1}, screen.ErrBadOptions},
		{"eth", f.sanctioned, screen.Options{Hops: -1}, screen.ErrBadOptions},
		{"eth", f.sanctioned, screen.Options{MaxTxs: -1}, screen.ErrBadOptions},
	} {
		_, err := s.Screen(ctx, tc.chain, tc.addr, tc.opts)
		if !errors.Is(err, tc.want) {
			t.Errorf("Screen(%q, %q, %+v) = %v, want %v", tc.chain, tc.addr, tc.opts, err, tc.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "screen: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
	if _, err := s.Identify("eth", "nope"); !errors.Is(err, addrs.ErrInvalid) {
		t.Errorf("Identify of an invalid address: %v", err)
	}
}

func TestSetIndexSwaps(t *testing.T) {
	f := newFixture(t)
	s, err := screen.New(nil, nil, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	if s.Index().Len() != 0 {
		t.Fatal("nil index is not empty")
	}
	res, _ := s.Screen(context.Background(), "eth", f.sanctioned, screen.Options{NoExposure: true})
	if res.Risk.Level != screen.Low || len(res.Notes) != 0 {
		t.Fatalf("before the swap: %+v", res)
	}
	s.SetIndex(f.ix)
	res, _ = s.Screen(context.Background(), "eth", f.sanctioned, screen.Options{NoExposure: true})
	if res.Risk.Level != screen.Severe {
		t.Fatalf("after the swap: %+v", res.Risk)
	}
	s.SetIndex(nil)
	if s.Index().Labels() != 0 {
		t.Fatal("SetIndex(nil) kept labels")
	}
}

// TestConcurrentScreens screens while the index is swapped, for -race.
func TestConcurrentScreens(t *testing.T) {
	f := newFixture(t)
	s, err := screen.New(f.ix, nil, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			s.SetIndex(newFixture(t).ix)
		}
	}()
	for i := 0; i < 2000; i++ {
		res, err := s.Screen(context.Background(), "eth", f.sanctioned, screen.Options{})
		if err != nil || res.Risk.Level != screen.Severe {
			t.Fatalf("screen %d: %+v %v", i, res.Risk, err)
		}
	}
	<-done
}
