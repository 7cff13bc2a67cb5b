package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

// ethAddr derives a normalised EVM address from a name.
func ethAddr(t testing.TB, name string) string {
	h := sha256.Sum256([]byte("api-eth:" + name))
	n, err := addrs.Normalize("eth", "0x"+hex.EncodeToString(h[:20]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// btcAddr derives a mainnet P2WPKH address from a name.
func btcAddr(name string) string {
	h := sha256.Sum256([]byte("api-btc:" + name))
	k, err := btc.NewAddrKey(btc.AddrWPKH, 0, h[:20])
	if err != nil {
		panic(err)
	}
	return k.Encode(&chaincfg.MainNetParams)
}

var testActors = []labels.Actor{
	{ID: "lazarusgroup", Label: "Lazarus Group", Aliases: []string{"Hidden Cobra"}, SubGroups: []string{"tradertraitor"}, Categories: []string{"perpetrator"}, Jurisdictions: []string{"KP"}, Dataset: "actors"},
	{ID: "tradertraitor", Label: "TraderTraitor", Dataset: "actors"},
}

// world is the test fixture: a label index, a label store with a retired
// label, and a Bitcoin-like graph in which payee received from the
// sanctioned sender.
type world struct {
	sanctioned, delisted, unknownEth string // eth
	mixer, sender, payee, clean      string // btc
	labels                           []labels.Label
	retired                          labels.Label
	graph                            *fakeGraph
}

var retiredAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newWorld(t testing.TB) *world {
	w := &world{
		sanctioned: ethAddr(t, "sanctioned"), delisted: ethAddr(t, "delisted"), unknownEth: ethAddr(t, "unknown"),
		mixer: btcAddr("mixer"), sender: btcAddr("sender"), payee: btcAddr("payee"), clean: btcAddr("clean"),
	}
	w.labels = []labels.Label{
		{Chain: "eth", Address: w.sanctioned, Label: "TraderTraitor wallet", Abuse: "sanction", Actor: "tradertraitor",
			Confidence: "authority_data", ConfidenceLevel: 100, Source: "https://sanctionssearch.ofac.treas.gov/", Dataset: "ofac-sdn",
			Entity: "TraderTraitor", EntityUID: "1", Programs: []string{"DPRK3"}},
		{Chain: "btc", Address: w.mixer, Label: "Mixer", Category: "mixing_service", ConfidenceLevel: 40, Source: "forum", Dataset: "tagpack:mixers.yaml"},
		{Chain: "btc", Address: w.sender, Label: "Sanctioned sender", Abuse: "sanction", ConfidenceLevel: 100, Source: "https://example.org/sdn", Dataset: "ofac-sdn"},
	}
	w.retired = labels.Label{Chain: "eth", Address: w.delisted, Label: "Delisted", Abuse: "sanction", ConfidenceLevel: 100, Source: "s", Dataset: "ofac-sdn", Retired: &retiredAt}
	g := newFakeGraph()
	// sender 40 + clean 60 -> payee 80, clean 19.
	g.tx([]flow{{w.sender, 40}, {w.clean, 60}}, []flow{{w.payee, 80}, {w.clean, 19}})
	w.graph = g
	return w
}

func (w *world) index() *labels.Index {
	return labels.NewIndex(append(append([]labels.Label(nil), w.labels...), w.retired), testActors)
}

// Labels implements api.LabelReader over the fixture's labels, the
// retired one included. Reading the payee's labels panics, to exercise
// the server's recovery.
func (w *world) Labels(_ context.Context, chain, address string) ([]labels.Label, error) {
	if address == w.payee {
		panic("label store exploded")
	}
	var out []labels.Label
	for _, l := range append(append([]labels.Label(nil), w.labels...), w.retired) {
		if l.Chain == chain && l.Address == address {
			out = append(out, l)
		}
	}
	return out, nil
}

type flow struct {
	addr  string
	value int64
}

// fakeGraph is an in-memory screen.Graph whose coins come from nowhere:
// every input is a source without a previous transaction.
type fakeGraph struct {
	ids     map[string]uint64
	names   []string
	txs     []screen.Tx
	block   chan struct{} // when set, Lookup waits for it to close
	entered chan struct{}
}

func newFakeGraph() *fakeGraph { return &fakeGraph{ids: map[string]uint64{}, names: []string{""}} }

func (g *fakeGraph) id(a string) uint64 {
	if id, ok := g.ids[a]; ok {
		return id
	}
	g.names = append(g.names, a)
	g.ids[a] = uint64(len(g.names) - 1)
	return g.ids[a]
}

func (g *fakeGraph) tx(ins, outs []flow) {
	var t screen.Tx
	for _, f := range ins {
		t.Ins = append(t.Ins, screen.Flow{Addr: g.id(f.addr), Value: f.value})
	}
	for _, f := range outs {
		t.Outs = append(t.Outs, screen.Flow{Addr: g.id(f.addr), Value: f.value})
	}
	g.txs = append(g.txs, t)
}

// Lookup implements screen.Graph, first waiting for block when set.
func (g *fakeGraph) Lookup(ctx context.Context, a string) (uint64, bool, error) {
	if g.block != nil {
		g.entered <- struct{}{}
		select {
		case <-g.block:
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
	id, ok := g.ids[a]
	return id, ok, nil
}

// Activity implements screen.Graph by scanning every transaction.
func (g *fakeGraph) Activity(_ context.Context, id uint64, fn func(screen.TxRef, int64, int64) bool) error {
	for ref, t := range g.txs {
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
			break
		}
	}
	return nil
}

// Tx implements screen.Graph.
func (g *fakeGraph) Tx(_ context.Context, ref screen.TxRef, t *screen.Tx) error {
	t.Ins = append(t.Ins[:0], g.txs[ref].Ins...)
	t.Outs = append(t.Outs[:0], g.txs[ref].Outs...)
	return nil
}

// Address implements screen.Graph.
func (g *fakeGraph) Address(_ context.Context, id uint64) (string, error) { return g.names[id], nil }

// testServer returns a server over w, logging into the returned buffer.
func testServer(t testing.TB, w *world, withStore bool, mod func(*api.Config)) (*api.Server, *bytes.Buffer) {
	t.Helper()
	sc, err := screen.New(w.index(), map[string]screen.Graph{"btc": w.graph}, screen.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cfg := api.Config{
		Screener: sc,
		Logger:   slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil)),
		Version:  "test",
	}
	if withStore {
		cfg.Labels = w
	}
	if mod != nil {
		mod(&cfg)
	}
	return api.NewServer(cfg), logs
}

// lockedWriter serialises writes from concurrent requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p under the lock.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do sends a request to h and returns the recorded response.
func do(h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decode unmarshals a response body into v.
func decode(t testing.TB, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decoding %q: %v", rec.Body.String(), err)
	}
}
