package trace

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/model"
)

func TestUTXOSplit(t *testing.T) {
	for _, c := range []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{6, []int64{7, 2, 1}, []int64{4, 1, 1}},                    // remainders .2 .2 .6
		{2, []int64{1, 1, 1}, []int64{1, 1, 0}},                    // ties go to the earlier parts
		{10, []int64{3, 3, 4}, []int64{3, 3, 4}},                   // exact
		{0, []int64{3, 3}, []int64{0, 0}},                          // nothing to share
		{5, []int64{0, 0}, []int64{0, 0}},                          // nothing to share by
		{1, []int64{0, 5, 0}, []int64{0, 1, 0}},                    // zero weights get nothing
		{9700, []int64{9000, 6500, 200}, []int64{5560, 4016, 124}}, // testdata/utxo/diamond.txt
	} {
		var sum int64
		for _, w := range c.weights {
			sum += w
		}
		if got := utxoSplit(c.total, c.weights, sum); !reflect.DeepEqual(got, c.want) {
			t.Errorf("utxoSplit(%d, %v) = %v, want %v", c.total, c.weights, got, c.want)
		}
	}
	// Satoshi products beyond 64 bits: 21M BTC shared by 21M BTC weights.
	const all = 21_000_000 * 100_000_000
	if got := utxoSplit(all, []int64{all / 3, all - all/3}, all); got[0]+got[1] != all || got[0] != all/3 {
		t.Errorf("utxoSplit of 21M BTC = %v", got)
	}
}

func TestUTXOCut(t *testing.T) {
	line := utxoSpans{{0, 5900}, {5900, 9700}}.Union(nil)
	if !reflect.DeepEqual(line, utxoSpans{{0, 9700}}) {
		t.Fatalf("Union did not merge adjacent spans: %v", line)
	}
	parts := utxoCut(utxoSpans{{2, 4}, {6, 12}}, []int64{3, 5, 2, 10})
	want := []utxoSpans{{{2, 3}}, {{0, 1}, {3, 5}}, {{0, 2}}, {{0, 2}}}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("utxoCut = %v, want %v", parts, want)
	}
	if got := (utxoSpans{{2, 4}}).appendShifted(utxoSpans{{0, 12}}, 10); !reflect.DeepEqual(got, utxoSpans{{0, 14}}) {
		t.Errorf("appendShifted = %v", got)
	}
}

// TestUTXOErrors checks that bad input is an error naming it, never a
// panic.
func TestUTXOErrors(t *testing.T) {
	ctx := context.Background()
	g, err := parseUTXOGraph("block 2024-01-01\ncb: coinbase -> a 100")
	if err != nil {
		t.Fatal(err)
	}
	ub, err := g.build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ub.db.Close()
	e := ub.engine(t, 0)
	cb := utxoTxID("cb").String()
	for _, c := range []struct {
		p     Params
		seeds []Seed
		want  string
	}{
		{Params{From: []string{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}}, nil, "source address 1BoatSLRHtKNngkdXEeobR76b53LETtpyT"},
		{Params{From: []string{"not-an-address"}}, nil, "source address not-an-address"},
		{Params{FromTxs: []string{"zz"}}, nil, `transaction "zz"`},
		{Params{FromTxs: []string{strings.Repeat("ab", 32)}}, nil, "transaction " + strings.Repeat("ab", 32)},
		{Params{FromTxs: []string{cb}, Chain: "eth"}, nil, `chain "eth"`},
		{Params{FromTxs: []string{cb}, Direction: Backward}, []Seed{{Tx: cb}}, "seeds are followed forward only"},
		{Params{}, []Seed{{Tx: cb, Index: 7, Tainted: model.AmountFromUint64(1)}}, "source " + cb + ":7"},
		{Params{Model: "lifo", FromTxs: []string{cb}}, nil, `model "lifo"`},
	} {
		_, err := e.Run(ctx, c.p, c.seeds)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "trace: ") {
			t.Errorf("Run(%+v, %v) = %v, want an error with %q", c.p, c.seeds, err, c.want)
		}
	}
}
