package service

import (
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/labels"
)

type fakeLabels map[string][]labels.Label

func (f fakeLabels) Lookup(chain, address string) []labels.Label { return f[address] }

func TestLabeler(t *testing.T) {
	res := &Result{Chain: "btc-regtest", Services: []Service{
		{Wallet: "bcrt1qunlabelledwallet0000000000", Deposits: []string{"bcrt1qdep1", "bcrt1qowndep"}, First: t0, Last: t0.Add(20 * time.Hour)},
		{Wallet: "bcrt1qlabelledexchange00000000", Deposits: []string{"bcrt1qdep2"}},
		{Wallet: "bcrt1qmixerpool0000000000000000", Deposits: []string{"bcrt1qdep3"}},
	}}
	res.finish()
	base := fakeLabels{
		"bcrt1qowndep":                    {{Label: "Someone's own label", Category: "exchange"}},
		"bcrt1qlabelledexchange00000000":  {{Label: "Northwind Exchange", Category: "exchange"}},
		"bcrt1qmixerpool0000000000000000": {{Label: "Pool", Category: "mixing_service"}},
	}
	l := NewLabeler(base, res)
	for _, tc := range []struct {
		addr, label, category, entity string
	}{
		{"bcrt1qunlabelledwallet0000000000", "unidentified service bcrt1qun…0000", "service", ""},
		{"bcrt1qdep1", "unidentified service bcrt1qun…0000", "service", ""},
		{"bcrt1qowndep", "Someone's own label", "exchange", ""},
		{"bcrt1qdep2", "Northwind Exchange (deposit address by behaviour)", "exchange", "Northwind Exchange"},
		{"bcrt1qlabelledexchange00000000", "Northwind Exchange", "exchange", ""},
		{"bcrt1qdep3", "", "", ""},
	} {
		got := l.Lookup("btc-regtest", tc.addr)
		if tc.label == "" {
			if len(got) != 0 {
				t.Errorf("%s: labels %v, want none", tc.addr, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Label != tc.label || got[0].Category != tc.category || got[0].Actor != tc.entity {
			t.Errorf("%s: labels %+v, want %q (%s, actor %q)", tc.addr, got, tc.label, tc.category, tc.entity)
		}
	}
	if got := l.Lookup("eth", "bcrt1qdep1"); len(got) != 0 {
		t.Errorf("labels on another chain: %v", got)
	}
	if got := NewLabeler(nil, res).Lookup("btc-regtest", "bcrt1qdep2"); len(got) != 1 || got[0].Dataset != Dataset || got[0].ConfidenceLevel != ConfidenceLevel {
		t.Errorf("without base labels: %+v", got)
	}
}
