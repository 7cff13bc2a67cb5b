package importers

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// realCount is what importing one real dataset yields.
type realCount struct {
	labels, actors int
	rejected       map[string]int // by reasonClass
}

// realCounts are the datasets of ../shared/data/labels and their counts.
// The counts follow the chains package addrs supports. Rejected rows, by
// reason:
//
//   - TagPack exchange wallets list assets chaintrace does not support
//     (EOS, ADA, DOT, KCS, ...: "unknown currency"), USDT and USDC
//     addresses on chains without support (Algorand, Tezos, EOS names,
//     SLP, Solana-style keys: "belongs to no supported chain") and two
//     addresses under the wrong currency (an Avalanche X-chain address as
//     AVAX, a CashAddr as BSV).
//   - ofac.yaml has no confidence, header or tag: all 572 tags lack the
//     mandatory field, which the importer defaults to "unknown" (with a
//     note in Context) rather than lose sanctioned addresses; 4 tags are
//     invalid addresses.
//   - sdn.csv: TORNADO CASH's Remarks are cut at 1,000 characters inside
//     "alt. Digital Currency A…", so that address is lost.
//   - 0xB10C: the XBT list holds a TRON address and the XMR list a 64-hex
//     string that is no Monero address.
//   - thomasgregg lower-cases every address: base58 addresses not found in
//     the other OFAC lists of the folder (which date from 2024 while it is
//     from 2026) cannot get their case back; its USDT entries of that kind
//     cannot even be placed on a chain. Its one "BNB" address is a Binance
//     Chain (bnb1...) address, which BSC rejects.
//
// Duplicate rows merge (same chain, address and label): tornado_cash.yaml
// lists one address twice (39 tags, 38 labels), exchange-wallets-kucoin
// lists 12 addresses under several currencies of one chain, sdn.csv lists
// KIM, Sang Man's address under ETH, USDT and USDC (69 entries, 67
// labels), and the 0xB10C ETH, USDT and USDC lists share addresses.
var realCounts = map[string]realCount{
	"tagpack:binance_hack.yaml":                       {44, 0, nil},
	"tagpack:blender_io.yaml":                         {45, 0, nil},
	"tagpack:chaininfo.yaml":                          {122, 0, nil},
	"tagpack:defi-protocols_1inch.yaml":               {4, 0, nil},
	"tagpack:defi-protocols_aave.yaml":                {31, 0, nil},
	"tagpack:defi-protocols_compound.yaml":            {13, 0, nil},
	"tagpack:defi-protocols_curve.yaml":               {4, 0, nil},
	"tagpack:defi-protocols_instadapp.yaml":           {18, 0, nil},
	"tagpack:defi-protocols_sushiswap.yaml":           {10, 0, nil},
	"tagpack:defi-protocols_synthetix.yaml":           {40, 0, nil},
	"tagpack:defi-protocols_uniswap.yaml":             {16, 0, nil},
	"tagpack:defi-protocols_uniswap_pools.yaml":       {46, 0, nil},
	"tagpack:demo.yaml":                               {5, 0, nil},
	"tagpack:etherscan-wordcloud-exchange.yaml":       {646, 0, nil},
	"tagpack:etherscan-wordcloud-mixing_service.yaml": {61, 0, nil},
	"tagpack:exchange-wallets-binance.yaml":           {86, 0, nil},
	"tagpack:exchange-wallets-bitfinexcom.yaml": {40, 0, map[string]int{
		"unknown currency": 87, "USDT address … belongs to no supported chain": 6,
		"invalid address: avax": 1, "invalid address: bsv": 1,
	}},
	"tagpack:exchange-wallets-bybit.yaml":     {8, 0, nil},
	"tagpack:exchange-wallets-cryptocom.yaml": {10, 0, nil},
	"tagpack:exchange-wallets-deribit.yaml":   {18, 0, nil},
	"tagpack:exchange-wallets-huobi.yaml":     {50, 0, map[string]int{"unknown currency": 8}},
	"tagpack:exchange-wallets-kucoin.yaml": {30, 0, map[string]int{
		"unknown currency": 6, "USDT address … belongs to no supported chain": 7,
		"USDC address … belongs to no supported chain": 4,
	}},
	"tagpack:exchange-wallets-okx.yaml":       {36, 0, nil},
	"tagpack:exchange-wallets-swissborg.yaml": {14, 0, nil},
	"tagpack:hacks.yaml":                      {608, 0, nil},
	"tagpack:interpol-real_services.yaml":     {10, 0, nil},
	"tagpack:lazarus.yaml":                    {21, 0, nil},
	"tagpack:lazarus2.yaml":                   {6, 0, nil},
	"tagpack:mixing_fc2021.yaml":              {66, 0, nil},
	"tagpack:ofac.yaml":                       {568, 0, map[string]int{"invalid address: btc": 1, "invalid address: xmr": 3}},
	"tagpack:ransomware.yaml":                 {7178, 0, nil},
	"tagpack:richest_addresses.yaml":          {36, 0, nil},
	"tagpack:ronin_bridge.yaml":               {6, 0, nil},
	"tagpack:sinbad_io.yaml":                  {2, 0, nil},
	"tagpack:tornado_cash.yaml":               {38, 0, nil},
	"tagpack:usdt_blacklist.yaml":             {774, 0, nil},
	"tagpack:walletexplorer.yaml":             {386, 0, nil},
	"actorpack:graphsense.actorpack.yaml":     {0, 3813, nil},
	"ofac-sdn-csv": {67, 0, map[string]int{
		"Remarks cut at 1000 characters inside a digital currency address entry; its address is lost": 1,
	}},
	"ofac-0xb10c":          {642, 0, map[string]int{"invalid address: btc": 1, "invalid address: xmr": 1}},
	"ofac-ultrasoundmoney": {97, 0, nil},
	"ofac-thomasgregg": {653, 0, map[string]int{
		"case not recoverable: trx": 192, "case not recoverable: btc": 30, "case not recoverable: xmr": 9,
		"case not recoverable: sol": 4, "case not recoverable: dash": 2, "case not recoverable: doge": 2,
		"case not recoverable: ltc": 2, "case not recoverable: zec": 1, "case not recoverable: bsc": 1,
		"lower-cased USDT address is in no other OFAC list, so its chain and letter case cannot be recovered": 67,
	}},
	"etherscan:combinedAccountLabels.json": {23288, 0, nil},
	"etherscan:binance-deposit.csv":        {1, 0, nil},
	"etherscan:binance.csv":                {57, 0, nil},
	"etherscan:bitfinex.csv":               {40, 0, nil},
	"etherscan:bithumb.csv":                {18, 0, nil},
	"etherscan:bitstamp.csv":               {9, 0, nil},
	"etherscan:bittrex.csv":                {4, 0, nil},
	"etherscan:blocked.csv":                {483, 0, nil},
	"etherscan:bridge.csv":                 {166, 0, nil},
	"etherscan:changenow.csv":              {3, 0, nil},
	"etherscan:coinbase.csv":               {25, 0, nil},
	"etherscan:cold-wallet.csv":            {11, 0, nil},
	"etherscan:crypto-com.csv":             {21, 0, nil},
	"etherscan:ethereum-mixer.csv":         {1, 0, nil},
	"etherscan:flagged-by-sec.csv":         {2, 0, nil},
	"etherscan:ftx.csv":                    {13, 0, nil},
	"etherscan:gate-io.csv":                {7, 0, nil},
	"etherscan:gemini.csv":                 {13, 0, nil},
	"etherscan:high-risk.csv":              {2, 0, nil},
	"etherscan:hot-wallet.csv":             {10, 0, nil},
	"etherscan:hotbit.csv":                 {4, 0, nil},
	"etherscan:huobi.csv":                  {85, 0, nil},
	"etherscan:kraken.csv":                 {18, 0, nil},
	"etherscan:kucoin.csv":                 {20, 0, nil},
	"etherscan:multichain.csv":             {38, 0, nil},
	"etherscan:ofac-sanctions-lists.csv":   {72, 0, nil},
	"etherscan:okx.csv":                    {26, 0, nil},
	"etherscan:otc.csv":                    {13, 0, nil},
	"etherscan:poloniex.csv":               {20, 0, nil},
	"etherscan:something-fishy.csv":        {1, 0, nil},
	"etherscan:tornado-cash.csv":           {63, 0, nil},
	"etherscan:upbit.csv":                  {4, 0, nil},
	"etherscan:white-hat-group.csv":        {3, 0, nil},
	"etherscan:wormhole.csv":               {18, 0, nil},
}

// TestRealCounts imports the whole shared label folder and checks every
// dataset's labels, actors and rejected rows by reason.
func TestRealCounts(t *testing.T) {
	tree := realTree(t)
	for name, want := range realCounts {
		d, ok := tree[name]
		if !ok {
			t.Errorf("dataset %s missing", name)
			continue
		}
		if len(d.Labels) != want.labels || len(d.Actors) != want.actors {
			t.Errorf("%s: %d labels, %d actors; want %d, %d", name, len(d.Labels), len(d.Actors), want.labels, want.actors)
		}
		got := reasonCounts(d)
		if len(got) == 0 && len(want.rejected) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want.rejected) {
			t.Errorf("%s: rejected %v, want %v", name, got, want.rejected)
		}
	}
	for name := range tree {
		if _, ok := realCounts[name]; !ok {
			t.Errorf("unexpected dataset %s", name)
		}
	}
}

// TestRealDatasetsWellFormed checks what every label of the real data
// must satisfy: a chain, an address or tx hash, a label, a known
// confidence with its level, concepts from the taxonomy, the dataset
// name, and rejected rows with file and line.
func TestRealDatasetsWellFormed(t *testing.T) {
	for name, d := range realTree(t) {
		for _, l := range d.Labels {
			switch {
			case l.Chain == "" || (l.Address == "") == (l.TxHash == "") || l.Label == "" || l.Source == "":
				t.Fatalf("%s: incomplete label %+v", name, l)
			case confidenceLevels[l.Confidence] != l.ConfidenceLevel || l.Confidence == "":
				t.Fatalf("%s: confidence %q level %d", name, l.Confidence, l.ConfidenceLevel)
			case (l.Category != "" && !isConcept(l.Category)) || (l.Abuse != "" && !isConcept(l.Abuse)):
				t.Fatalf("%s: category %q abuse %q", name, l.Category, l.Abuse)
			case l.Dataset != name:
				t.Fatalf("%s: label of dataset %q", name, l.Dataset)
			}
		}
		for _, r := range d.Rejected {
			if r.File == "" || r.Line <= 0 || r.Reason == "" {
				t.Fatalf("%s: rejected row without file, line or reason: %+v", name, r)
			}
		}
	}
}

// roninExploiter is the Ronin bridge exploiter's address, designated by
// OFAC under LAZARUS GROUP on 2022-04-14.
const roninExploiter = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"

// TestRealRoninExploiter follows the Ronin exploiter's address through
// the sources: sanctioned in the OFAC lists and in Etherscan's OFAC
// label, attributed to lazarusgroup wherever the source names the entity,
// a hack in ronin_bridge.yaml, and in ofac.yaml with the confidence the
// pack omits defaulted to unknown.
func TestRealRoninExploiter(t *testing.T) {
	tree := realTree(t)
	sanctioned := []string{
		"tagpack:lazarus.yaml", "ofac-sdn-csv", "ofac-ultrasoundmoney", "ofac-thomasgregg",
		"ofac-0xb10c", "etherscan:ofac-sanctions-lists.csv", "etherscan:combinedAccountLabels.json",
	}
	lazarus := []string{"tagpack:lazarus.yaml", "ofac-sdn-csv", "ofac-ultrasoundmoney", "ofac-thomasgregg"}
	for _, name := range sanctioned {
		ls := findLabels(tree[name], roninExploiter)
		if len(ls) != 1 {
			t.Fatalf("%s: %d labels on %s, want 1", name, len(ls), roninExploiter)
		}
		l := ls[0]
		if l.Chain != "eth" || l.Address != roninExploiter || l.Abuse != "sanction" {
			t.Errorf("%s: %+v, want chain eth, EIP-55 address, abuse sanction", name, l)
		}
		if want := slices.Contains(lazarus, name); want != (l.Actor == "lazarusgroup") {
			t.Errorf("%s: actor %q", name, l.Actor)
		}
		if strings.HasPrefix(name, "ofac-") && l.Confidence != "authority_data" {
			t.Errorf("%s: confidence %q", name, l.Confidence)
		}
	}
	for _, name := range []string{"ofac-sdn-csv", "ofac-thomasgregg", "ofac-ultrasoundmoney"} {
		l := findLabels(tree[name], roninExploiter)[0]
		if l.Entity != "LAZARUS GROUP" || l.Label != "LAZARUS GROUP" {
			t.Errorf("%s: entity %q label %q", name, l.Entity, l.Label)
		}
	}
	for _, name := range []string{"ofac-sdn-csv", "ofac-thomasgregg"} {
		l := findLabels(tree[name], roninExploiter)[0]
		if l.EntityUID != "27307" || !reflect.DeepEqual(l.Programs, []string{"DPRK3"}) {
			t.Errorf("%s: uid %q programs %v, want 27307 [DPRK3]", name, l.EntityUID, l.Programs)
		}
	}
	if l := findLabels(tree["ofac-thomasgregg"], roninExploiter)[0]; l.LastMod.Format("2006-01-02") != "2026-08-20" {
		t.Errorf("thomasgregg lastmod %v, want the SDN list date 2026-08-20", l.LastMod)
	}
	ronin := findLabels(tree["tagpack:ronin_bridge.yaml"], roninExploiter)
	if len(ronin) != 1 || ronin[0].Abuse != "service_hack" || ronin[0].Label != "Ronin bridge exploiter" ||
		ronin[0].Context != `{"description": "original address"}` || !ronin[0].IsClusterDefiner ||
		ronin[0].Confidence != "service_data" || ronin[0].ConfidenceLevel != 50 {
		t.Errorf("ronin_bridge.yaml: %+v", ronin)
	}
	pack := findLabels(tree["tagpack:ofac.yaml"], roninExploiter)
	if len(pack) != 1 || pack[0].Confidence != "unknown" || pack[0].ConfidenceLevel != 5 || !strings.Contains(pack[0].Context, "confidence missing") {
		t.Errorf("ofac.yaml: %+v, want the tag with confidence defaulted to unknown", pack)
	}
}

// TestRealLazarus2 checks that every address of lazarus2.yaml (FBI,
// 2023-08-22) is a sanctioned lazarusgroup BTC address with the header's
// fields.
func TestRealLazarus2(t *testing.T) {
	d := realTree(t)["tagpack:lazarus2.yaml"]
	if len(d.Labels) != 6 {
		t.Fatalf("%d labels, want 6", len(d.Labels))
	}
	for _, l := range d.Labels {
		if l.Actor != "lazarusgroup" || l.Abuse != "sanction" || l.Chain != "btc" || l.Label != "Lazarus group" ||
			l.Confidence != "authority_data" || l.LastMod.Format("2006-01-02") != "2023-08-28" || l.IsClusterDefiner {
			t.Errorf("%+v", l)
		}
	}
}

// TestReal0xB10CComplete checks that every address of every 0xB10C list,
// .txt and .json, yields a label on the chain of its asset, or is among
// the rejected rows.
func TestReal0xB10CComplete(t *testing.T) {
	d := realTree(t)["ofac-0xb10c"]
	have := make(map[string]bool)
	for _, l := range d.Labels {
		have[l.Chain+"|"+l.Address] = true
	}
	rejected := make(map[string]bool)
	for _, r := range d.Rejected {
		rejected[r.Value] = true
	}
	dir := sharedPath(t, "ofac", "0xB10C-lists")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lists := 0
	for _, e := range entries {
		m := b10cNameRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		lists++
		list, err := readAddressList(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			if rejected[a.value] {
				continue
			}
			chain, norm, err := resolveAddress(m[1], a.value)
			if err != nil || !have[chain+"|"+norm] {
				t.Errorf("%s line %d: %s has no label (%v)", e.Name(), a.line, a.value, err)
			}
		}
	}
	if lists != 34 {
		t.Errorf("%d lists, want 34 (17 assets, .txt and .json)", lists)
	}
}

// TestRealDetect checks which importer the real files and folders get.
func TestRealDetect(t *testing.T) {
	cases := map[string]string{
		"":                            "tree",
		"ofac":                        "tree",
		"tagpacks":                    "tree",
		"tagpacks/packs":              "tagpack",
		"tagpacks/packs/lazarus.yaml": "tagpack",
		"tagpacks/actors/graphsense.actorpack.yaml":       "actorpack",
		"ofac/sdn-csv/sdn_2024-05-03_DPRK_programs.csv":   "ofac-sdn-csv",
		"ofac/0xB10C-lists":                               "ofac-0xb10c",
		"ofac/0xB10C-lists/sanctioned_addresses_ETH.json": "ofac-0xb10c",
		"ofac/ultrasoundmoney/data.csv":                   "ofac-ultrasoundmoney",
		"ofac/thomasgregg/sanctioned-addresses.json":      "ofac-thomasgregg",
		"etherscan":                               "etherscan",
		"etherscan/combinedAccountLabels.json":    "etherscan",
		"etherscan/accounts-selected/binance.csv": "etherscan",
	}
	for rel, want := range cases {
		imp, err := Detect(sharedPath(t, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if imp.Name() != want {
			t.Errorf("%s: detected %s, want %s", rel, imp.Name(), want)
		}
	}
	for _, rel := range []string{"tagpacks/schema/confidence.csv", "tagpacks/schema/concepts.yaml", "etherscan/LICENSE"} {
		_, err := Detect(sharedPath(t, rel))
		wantErr(t, err, "no known label format", "tagpack", "ofac-sdn-xml")
	}
}

// TestRealOFACFolder imports the OFAC folder alone: every list in it.
func TestRealOFACFolder(t *testing.T) {
	imp, err := Detect(sharedPath(t, "ofac"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := imp.Import(context.Background(), sharedPath(t, "ofac"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
		if want := realCounts[d.Name]; len(d.Labels) != want.labels {
			t.Errorf("%s: %d labels, want %d as in the whole tree", d.Name, len(d.Labels), want.labels)
		}
	}
	want := []string{"ofac-sdn-csv", "ofac-0xb10c", "ofac-ultrasoundmoney", "ofac-thomasgregg"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("datasets %v, want %v", names, want)
	}
}

// TestRealThomasgreggAlone imports the thomasgregg file on its own: the
// case of its addresses comes from ../0xB10C-lists only, which here
// recovers as many as the whole folder does.
func TestRealThomasgreggAlone(t *testing.T) {
	d := importOne(t, thomasgreggImporter{}, sharedPath(t, "ofac", "thomasgregg", "sanctioned-addresses.json"))
	if len(d.Labels) != 653 || len(d.Rejected) != 310 {
		t.Errorf("%d labels, %d rejected; want 653, 310", len(d.Labels), len(d.Rejected))
	}
	// A lower-cased Bitcoin address of the Lazarus-linked WU, Huihui gets
	// its case back from the XBT list.
	var found bool
	for _, l := range d.Labels {
		if l.Address == "18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa" {
			found = l.Chain == "btc" && l.Entity == "Huihui WU"
		}
	}
	if !found {
		t.Error("18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa not recovered for Huihui WU")
	}
}

// TestRealStable imports the folder twice and expects equal datasets.
func TestRealStable(t *testing.T) {
	first := realTree(t)
	ds, err := treeImporter{}.Import(context.Background(), sharedLabels(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if !reflect.DeepEqual(d, first[d.Name]) {
			t.Errorf("%s differs between two imports", d.Name)
		}
	}
}

// TestRealActors checks the ActorPack and that chaintrace's own actors
// join it on lazarusgroup.
func TestRealActors(t *testing.T) {
	pack := realTree(t)["actorpack:graphsense.actorpack.yaml"]
	var laz *labels.Actor
	for i := range pack.Actors {
		if pack.Actors[i].ID == "lazarusgroup" {
			laz = &pack.Actors[i]
		}
	}
	if laz == nil || laz.Label != "Lazarus Group" || laz.URI != "https://home.treasury.gov/news/press-releases/sm774" ||
		!slices.Contains(laz.Categories, "sanction") || !strings.Contains(laz.Context, "BlueNorOff") {
		t.Fatalf("ActorPack lazarusgroup: %+v", laz)
	}
	own := importOne(t, chaintraceActorsImporter{}, BuiltinActors)
	if own.Actors[0].ID != laz.ID {
		t.Errorf("chaintrace actors start with %q, want the ActorPack's %q", own.Actors[0].ID, laz.ID)
	}
	// The OFAC-derived labels point only to actors that exist.
	ids := make(map[string]bool)
	for _, a := range append(pack.Actors, own.Actors...) {
		ids[a.ID] = true
	}
	for _, k := range sdnEntities {
		if k.actor != "" && !ids[k.actor] {
			t.Errorf("sdnEntities names actor %q, defined nowhere", k.actor)
		}
	}
	for slug, c := range etherscanConcepts {
		if c.actor != "" && !ids[c.actor] {
			t.Errorf("etherscan slug %s names actor %q, defined nowhere", slug, c.actor)
		}
	}
}
