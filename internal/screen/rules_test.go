package screen_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

func TestLevelText(t *testing.T) {
	for l := screen.Low; l <= screen.Severe; l++ {
		b, err := l.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back screen.Level
		if err := back.UnmarshalText([]byte(strings.ToLower(string(b)))); err != nil || back != l {
			t.Fatalf("%v -> %s -> %v, %v", l, b, back, err)
		}
	}
	if _, err := screen.Level(9).MarshalText(); err == nil {
		t.Fatal("level 9 marshalled")
	}
	var l screen.Level
	if err := l.UnmarshalText([]byte("CRITICAL")); err == nil {
		t.Fatal("CRITICAL parsed")
	}
}

func TestDefaultRulesRoundTrip(t *testing.T) {
	def := screen.DefaultRules()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	back, err := screen.ParseRules(data, "json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, def) {
		t.Fatalf("JSON round trip changed the rules:\n%+v\n%+v", back, def)
	}
}

const yamlRules = `
identification:
  - name: lazarus
    actors: [lazarusgroup]
    min_confidence: 50
    level: SEVERE
  - name: any-hack
    abuse: [hack]
    level: medium
exposure:
  - name: exchange-heavy
    scope: indirect
    classes: [exchange]
    min_percent: 50
    level: MEDIUM
  - name: big-sanction
    scope: direct
    classes: [sanction]
    min_value: 1000000
    level: HIGH
`

const jsonRules = `{
  "identification": [
    {"name": "lazarus", "actors": ["lazarusgroup"], "min_confidence": 50, "level": "SEVERE"},
    {"name": "any-hack", "abuse": ["hack"], "level": "MEDIUM"}
  ],
  "exposure": [
    {"name": "exchange-heavy", "scope": "indirect", "classes": ["exchange"], "min_percent": 50, "level": "MEDIUM"},
    {"name": "big-sanction", "scope": "direct", "classes": ["sanction"], "min_value": 1000000, "level": "HIGH"}
  ]
}`

func TestLoadRulesYAMLAndJSON(t *testing.T) {
	dir := t.TempDir()
	yp, jp := filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "rules.json")
	if err := os.WriteFile(yp, []byte(yamlRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jp, []byte(jsonRules), 0o644); err != nil {
		t.Fatal(err)
	}
	y, err := screen.LoadRules(yp)
	if err != nil {
		t.Fatal(err)
	}
	j, err := screen.LoadRules(jp)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		t.Fatalf("YAML and JSON differ:\n%+v\n%+v", y, j)
	}
	if y.Identification[0].Level != screen.Severe || y.Exposure[1].MinValue != 1000000 || y.Exposure[0].Scope != screen.Indirect {
		t.Fatalf("parsed %+v", y)
	}
	if _, err := screen.LoadRules(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("missing file loaded")
	}
}

func TestInvalidRules(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   `{"identification":[{"name":"a","abuse":["x"],"level":"HIGH","treshold":1}]}`,
		"bad level":       `{"identification":[{"name":"a","abuse":["x"],"level":"CRITICAL"}]}`,
		"no name":         `{"identification":[{"abuse":["x"],"level":"HIGH"}]}`,
		"duplicate name":  `{"identification":[{"name":"a","abuse":["x"],"level":"HIGH"}],"exposure":[{"name":"a","scope":"direct","classes":["x"],"level":"LOW"}]}`,
		"no criterion":    `{"identification":[{"name":"a","level":"HIGH"}]}`,
		"bad confidence":  `{"identification":[{"name":"a","abuse":["x"],"min_confidence":101,"level":"HIGH"}]}`,
		"bad scope":       `{"exposure":[{"name":"a","scope":"sideways","classes":["x"],"level":"LOW"}]}`,
		"no classes":      `{"exposure":[{"name":"a","scope":"direct","level":"LOW"}]}`,
		"percent too big": `{"exposure":[{"name":"a","scope":"direct","classes":["x"],"min_percent":150,"level":"LOW"}]}`,
		"negative value":  `{"exposure":[{"name":"a","scope":"direct","classes":["x"],"min_value":-1,"level":"LOW"}]}`,
		"not json":        `identification: []`,
	} {
		if _, err := screen.ParseRules([]byte(doc), "json"); err == nil {
			t.Errorf("%s: parsed", name)
		} else if !strings.HasPrefix(err.Error(), "screen: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	if _, err := screen.ParseRules([]byte("identification:\n  - name: a\n    abuse: [x]\n    level: HIGH\n    extra: 1\n"), "yaml"); err == nil {
		t.Error("YAML with an unknown field parsed")
	}
	if _, err := screen.ParseRules([]byte("{}"), "toml"); err == nil {
		t.Error("unknown format parsed")
	}
	bad := screen.DefaultRules()
	bad.Identification[0].Level = 7
	if _, err := screen.New(nil, nil, bad); err == nil {
		t.Error("New accepted an invalid level")
	}
}

func TestCustomIdentificationRules(t *testing.T) {
	f := newFixture(t)
	rules, err := screen.ParseRules([]byte(jsonRules), "json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := screen.New(f.ix, nil, rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		chain, addr string
		level       screen.Level
		rule        string
		matched     []string
	}{
		// tradertraitor's root is lazarusgroup.
		{"eth", f.sanctioned, screen.Severe, "lazarus", []string{"lazarus"}},
		// apt38 too, and the hack rule matches as well.
		{"btc", f.hacker, screen.Severe, "lazarus", []string{"lazarus", "any-hack"}},
		// Confidence 10 is below the lazarus rule's 50.
		{"btc", f.lowConf, screen.Medium, "any-hack", []string{"any-hack"}},
		{"btc", f.mixer, screen.Low, "", nil},
	} {
		res, err := s.Screen(context.Background(), tc.chain, tc.addr, screen.Options{NoExposure: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Risk.Level != tc.level || res.Risk.Rule != tc.rule || !reflect.DeepEqual(res.Risk.Matched, tc.matched) {
			t.Errorf("%s: risk %+v, want %v by %q matching %v", tc.addr, res.Risk, tc.level, tc.rule, tc.matched)
		}
	}
}

// memGraph is an in-memory Graph: transaction refs index txs, address
// ids index names (id 0 unused).
type memGraph struct {
	names []string
	ids   map[string]uint64
	txs   []screen.Tx
}

func newMemGraph() *memGraph { return &memGraph{names: []string{""}, ids: map[string]uint64{}} }

func (m *memGraph) id(addr string) uint64 {
	if id, ok := m.ids[addr]; ok {
		return id
	}
	m.names = append(m.names, addr)
	m.ids[addr] = uint64(len(m.names) - 1)
	return m.ids[addr]
}

// coinbase mints value to addr and returns the transaction's ref.
func (m *memGraph) coinbase(addr string, value int64) screen.TxRef {
	m.txs = append(m.txs, screen.Tx{Outs: []screen.Flow{{Addr: m.id(addr), Value: value}}})
	return screen.TxRef(len(m.txs) - 1)
}

// spend spends output 0 of each of ins into outs, pairs of address and
// value.
func (m *memGraph) spend(ins []screen.TxRef, outs ...any) screen.TxRef {
	var refs []outRef
	for _, ref := range ins {
		refs = append(refs, outRef{ref, 0})
	}
	return m.spendOuts(refs, outs...)
}

// outRef names an output of a memGraph transaction.
type outRef struct {
	tx   screen.TxRef
	vout int
}

// spendOuts spends the given outputs into outs, pairs of address and
// value.
func (m *memGraph) spendOuts(ins []outRef, outs ...any) screen.TxRef {
	var t screen.Tx
	for _, in := range ins {
		o := m.txs[in.tx].Outs[in.vout]
		t.Ins = append(t.Ins, screen.Flow{Addr: o.Addr, Value: o.Value, Prev: in.tx, HasPrev: true})
	}
	for i := 0; i < len(outs); i += 2 {
		t.Outs = append(t.Outs, screen.Flow{Addr: m.id(outs[i].(string)), Value: int64(outs[i+1].(int))})
	}
	m.txs = append(m.txs, t)
	return screen.TxRef(len(m.txs) - 1)
}

// Lookup implements screen.Graph.
func (m *memGraph) Lookup(_ context.Context, address string) (uint64, bool, error) {
	id, ok := m.ids[address]
	return id, ok, nil
}

// Activity implements screen.Graph by scanning every transaction.
func (m *memGraph) Activity(_ context.Context, id uint64, fn func(screen.TxRef, int64, int64) bool) error {
	for ref, t := range m.txs {
		var rec, snt int64
		for _, f := range t.Ins {
			if f.Addr == id {
				snt += f.Value
			}
		}
		for _, f := range t.Outs {
			if f.Addr == id {
				rec += f.Value
			}
		}
		if (rec != 0 || snt != 0) && !fn(screen.TxRef(ref), rec, snt) {
			return nil
		}
	}
	return nil
}

// Tx implements screen.Graph.
func (m *memGraph) Tx(_ context.Context, ref screen.TxRef, t *screen.Tx) error {
	src := m.txs[ref]
	t.Ins = append(t.Ins[:0], src.Ins...)
	t.Outs = append(t.Outs[:0], src.Outs...)
	return nil
}

// Address implements screen.Graph.
func (m *memGraph) Address(_ context.Context, id uint64) (string, error) { return m.names[id], nil }

func TestExposureRules(t *testing.T) {
	g := newMemGraph()
	sanctioned, mixer, tornado := btcAddr("s", false), btcAddr("m", false), btcAddr("t", false)
	k, p, q, target, target2 := btcAddr("k", false), btcAddr("p", false), btcAddr("q", false), btcAddr("target", false), btcAddr("target2", false)
	// target: 100 via P, whose funding was 5% sanctioned and 25% mixer,
	// both two hops back.
	fund := g.spend([]screen.TxRef{g.coinbase(sanctioned, 5), g.coinbase(mixer, 25), g.coinbase(k, 70)}, p, 100)
	g.spend([]screen.TxRef{fund}, target, 100)
	// target2: 100 via Q, funded 40% by a sanctioned mixer, which counts
	// as both classes.
	fund2 := g.spend([]screen.TxRef{g.coinbase(tornado, 40), g.coinbase(k, 60)}, q, 100)
	g.spend([]screen.TxRef{fund2}, target2, 50, k, 50)

	ix := labels.NewIndex([]labels.Label{
		{Chain: "btc", Address: sanctioned, Label: "S", Abuse: "sanction", Dataset: "d"},
		{Chain: "btc", Address: mixer, Label: "M", Category: "mixing_service", Dataset: "d"},
		{Chain: "btc", Address: tornado, Label: "T", Category: "mixing_service", Abuse: "sanction", Dataset: "d"},
	}, nil)
	s, err := screen.New(ix, map[string]screen.Graph{"btc": g}, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := s.Screen(ctx, "btc", target, screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Risk.Level != screen.Medium || res.Risk.Rule != "sanctions-medium" ||
		!reflect.DeepEqual(res.Risk.Matched, []string{"sanctions-medium", "mixer-medium"}) {
		t.Fatalf("target risk %+v", res.Risk)
	}
	e := res.Exposure
	if len(e.Indirect) != 2 || e.Indirect[0].Category != "mixing_service" || e.Indirect[0].Value != 25 ||
		!reflect.DeepEqual(e.Indirect[1].ByHop, []int64{0, 5, 0}) || e.Indirect[1].Share != 0.05 {
		t.Fatalf("target indirect %+v", e.Indirect)
	}
	if len(e.Direct.Counterparties) != 0 {
		t.Fatalf("target's direct counterparties %+v", e.Direct.Counterparties)
	}

	res, err = s.Screen(ctx, "btc", target2, screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Risk.Level != screen.High || res.Risk.Rule != "sanctions-high" {
		t.Fatalf("target2 risk %+v", res.Risk)
	}
	e = res.Exposure
	if len(e.Indirect) != 2 || e.Indirect[0].Value != 20 || e.Indirect[1].Value != 20 ||
		math.Abs(e.Indirect[0].Share-0.4) > 1e-12 || math.Abs(e.Indirect[1].Share-0.4) > 1e-12 {
		t.Fatalf("target2 indirect %+v", e.Indirect)
	}

	// Only one hop: nothing.
	res, err = s.Screen(ctx, "btc", target2, screen.Options{Hops: 1})
	if err != nil || res.Risk.Level != screen.Low || len(res.Exposure.Indirect) != 0 {
		t.Fatalf("one hop: %+v %v", res, err)
	}
}

// TestExposureDiamond funds an address through two paths from one
// partly sanctioned transaction: the shared ancestor is traced once (its
// blend is memoised) and counted on both paths, weighted by each path's
// value.
func TestExposureDiamond(t *testing.T) {
	g := newMemGraph()
	s0, a, b, c, d, e, target := btcAddr("s0", false), btcAddr("a", false), btcAddr("b", false), btcAddr("c", false), btcAddr("d", false), btcAddr("e", false), btcAddr("diamond", false)
	root := g.spend([]screen.TxRef{g.coinbase(s0, 60), g.coinbase(c, 40)}, a, 50, b, 50)
	left := g.spendOuts([]outRef{{root, 0}}, d, 50)
	right := g.spendOuts([]outRef{{root, 1}}, e, 50)
	g.spend([]screen.TxRef{left, right}, target, 100)
	ix := labels.NewIndex([]labels.Label{{Chain: "btc", Address: s0, Label: "S0", Abuse: "sanction", Dataset: "d"}}, nil)
	s, err := screen.New(ix, map[string]screen.Graph{"btc": g}, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Screen(context.Background(), "btc", target, screen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 100 x 60/100, found at hop 3 along both paths.
	if san := indirect(res.Exposure, "sanction"); !reflect.DeepEqual(san.ByHop, []int64{0, 0, 60}) || math.Abs(san.Share-0.6) > 1e-12 {
		t.Fatalf("diamond %+v", san)
	}
}

// failGraph is a memGraph whose Tx fails.
type failGraph struct{ *memGraph }

// Tx fails.
func (failGraph) Tx(context.Context, screen.TxRef, *screen.Tx) error {
	return errors.New("disk gone")
}

func TestGraphErrors(t *testing.T) {
	g := newMemGraph()
	a := btcAddr("a", false)
	g.coinbase(a, 1)
	s, err := screen.New(nil, map[string]screen.Graph{"btc": failGraph{g}}, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Screen(context.Background(), "btc", a, screen.Options{})
	if err == nil || err.Error() != "screen: exposure: reading transaction 0: disk gone" {
		t.Fatalf("graph failure: %v", err)
	}
}
