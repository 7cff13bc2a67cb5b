package screen

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// TxRef identifies a transaction within one Graph (for Bitcoin, the store's
// transaction ordinal). It means nothing across graphs.
type TxRef uint64

// Graph is the transaction graph of one chain as exposure reads it: an
// address's transactions, and each transaction's inputs and outputs with
// the transactions that created the inputs. Implementations are safe for
// concurrent use. Addresses are referred to by graph-specific non-zero
// ids; Address turns one into its normalised text.
type Graph interface {
	// Lookup resolves a normalised address to its id, false when the graph
	// has never seen it.
	Lookup(ctx context.Context, address string) (id uint64, ok bool, err error)
	// Activity visits the transactions of an address in chain order with
	// the value the address received and sent in each, until fn returns
	// false.
	Activity(ctx context.Context, id uint64, fn func(tx TxRef, received, sent int64) bool) error
	// Tx reads a transaction's value flows into t, reusing its slices.
	Tx(ctx context.Context, ref TxRef, t *Tx) error
	// Address returns the normalised text of an address id.
	Address(ctx context.Context, id uint64) (string, error)
}

// Tx is a transaction's value flows.
type Tx struct {
	Ins  []Flow
	Outs []Flow
}

// Flow is one input or output. Addr is 0 when the flow has no address
// (OP_RETURN, a coinbase) and Value is 0 when unknown (an input spending
// an output the graph does not hold). For inputs, Prev is the transaction
// that created the spent output, valid when HasPrev.
type Flow struct {
	Addr    uint64
	Value   int64
	Prev    TxRef
	HasPrev bool
}

// Exposure is how much of an address's value is connected to labelled
// addresses. A labelled source counts under each distinct abuse and
// category id of its active labels (a sanctioned mixer counts as both
// sanction and mixing_service), so shares of different classes may add
// up to more than 100%; a source labelled with neither counts as
// "uncategorized".
//
// Direct exposure is the address's own counterparties: for each
// transaction that paid the address, each labelled input address is
// credited with the part of the payment proportional to its share of the
// transaction's inputs; for each transaction the address spent in, each
// labelled output address is credited with its output times the
// address's share of the inputs. The address itself is never its own
// counterparty.
//
// Indirect exposure traces where received value came from, with the
// haircut model: every transaction mixes its inputs, so each output (and
// the fee) carries the same blend of sources as the inputs, weighted by
// value. Walking back from a payment to the address, an input whose
// address is labelled is a source at that hop (1 for the inputs of the
// paying transaction, 2 for the inputs of the transactions that funded
// those, and so on) and tracing stops there; an unlabelled input passes
// on the blend of the transaction that created it, if the hop budget
// allows; coinbase, unknown and out-of-budget value counts as unlabelled.
//
// Worked example (values in BTC): sanctioned S and clean X pay 50 each
// into T1, whose outputs are A1 60 and change 39.99 (fee 0.01). T1's
// inputs are 50/100 = 50% sanctioned, so A1 received 30 from sanctioned
// sources at hop 1. A1's 60 and clean Y's 50 fund T2, which pays A2 100:
// T2's inputs are 60 x 50% / 110 = 27.27% sanctioned, so A2 has 27.27
// from sanction at hop 2. A2's 100 and clean V's 50 fund T3, which pays
// A3 40: its blend is 100 x 27.27% / 150 = 18.18%, so A3 has 7.27 at hop
// 3, and with Hops 2 it would have none.
//
// Shares are of all value the address received (Indirect) or of all value
// it sent and received (Direct), over the transactions considered.
type Exposure struct {
	// Hops is the tracing depth used.
	Hops int `json:"hops"`
	// Txs is the number of the address's transactions considered;
	// Received and Sent are its totals over them.
	Txs      int            `json:"txs"`
	Received int64          `json:"received"`
	Sent     int64          `json:"sent"`
	Direct   DirectExposure `json:"direct"`
	// Indirect lists the classes received value traces to, by value,
	// largest first. It includes hop 1, the direct senders.
	Indirect []IndirectExposure `json:"indirect"`
	// Truncated is set when the transaction budget ran out: some history
	// or some sources were not traced.
	Truncated bool     `json:"truncated,omitempty"`
	Notes     []string `json:"notes,omitempty"`
}

// DirectExposure is value exchanged with labelled counterparties.
type DirectExposure struct {
	Counterparties []Counterparty     `json:"counterparties"`
	ByCategory     []DirectByCategory `json:"by_category"`
}

// Counterparty is a labelled address the screened address exchanged value
// with, in the chain's base unit.
type Counterparty struct {
	Address    string   `json:"address"`
	Name       string   `json:"name"`
	Categories []string `json:"categories"`
	Actor      string   `json:"actor,omitempty"`
	// Received is what the screened address received from it and Sent
	// what it sent to it.
	Received int64 `json:"received"`
	Sent     int64 `json:"sent"`
	Txs      int   `json:"txs"`
}

// DirectByCategory totals direct exposure to one class; Share is of all
// value the address sent and received.
type DirectByCategory struct {
	Category string  `json:"category"`
	Received int64   `json:"received"`
	Sent     int64   `json:"sent"`
	Share    float64 `json:"share"`
}

// IndirectExposure is received value traced to one class: Value in total,
// Share of all value received, and ByHop[h-1] the part found at hop h.
type IndirectExposure struct {
	Category string  `json:"category"`
	Value    int64   `json:"value"`
	Share    float64 `json:"share"`
	ByHop    []int64 `json:"by_hop"`
}

// taintKey is a class found at a hop.
type taintKey struct {
	class int32
	hop   int32
}

// blend is a sparse vector of source shares: for each (class, hop), the
// fraction of a transaction's value that traces there.
type blend map[taintKey]float64

// counterparty accumulates a Counterparty, remembering the last
// transaction counted.
type counterparty struct {
	Counterparty
	last    TxRef
	counted bool
}

type memoKey struct {
	tx    TxRef
	depth int
}

// tracer computes one address's exposure. It is not safe for concurrent
// use.
type tracer struct {
	ctx     context.Context
	g       Graph
	ix      *labels.Index
	chain   string
	self    uint64
	hops    int
	budget  int
	trunc   bool
	classes []string
	classID map[string]int32
	// srcs caches the classes of each address id seen (nil: unlabelled).
	srcs  map[uint64][]int32
	names map[uint64]*labels.Label
	memo  map[memoKey]blend
	txs   []Tx // one per depth, reused
}

// exposure measures the exposure of address (normalised) on g.
func exposure(ctx context.Context, g Graph, ix *labels.Index, chain, address string, opts Options) (*Exposure, error) {
	e := &Exposure{Hops: opts.Hops, Direct: DirectExposure{Counterparties: []Counterparty{}, ByCategory: []DirectByCategory{}}, Indirect: []IndirectExposure{}}
	id, ok, err := g.Lookup(ctx, address)
	if err != nil {
		return nil, graphErr("exposure of "+address, err)
	}
	if !ok {
		e.Notes = append(e.Notes, "the address has no activity in the transaction graph")
		return e, nil
	}
	t := &tracer{
		ctx: ctx, g: g, ix: ix, chain: chain, self: id, hops: opts.Hops, budget: opts.MaxTxs,
		classID: map[string]int32{}, srcs: map[uint64][]int32{}, names: map[uint64]*labels.Label{},
		memo: map[memoKey]blend{}, txs: make([]Tx, opts.Hops+2),
	}
	type act struct {
		tx             TxRef
		received, sent int64
	}
	var acts []act
	err = g.Activity(ctx, id, func(tx TxRef, received, sent int64) bool {
		if len(acts) >= t.budget {
			t.trunc = true
			return false
		}
		acts = append(acts, act{tx, received, sent})
		return true
	})
	if err != nil {
		return nil, graphErr("exposure of "+address, err)
	}
	t.budget -= len(acts)

	cps := map[uint64]*counterparty{}
	indirect := blend{}
	top := &t.txs[0]
	for _, a := range acts {
		e.Txs++
		e.Received += a.received
		e.Sent += a.sent
		if err := t.read(a.tx, top); err != nil {
			return nil, err
		}
		if err := t.direct(a.tx, top, a.received, a.sent, cps); err != nil {
			return nil, err
		}
		if a.received > 0 {
			b, err := t.blendOf(a.tx, top, 1)
			if err != nil {
				return nil, err
			}
			for k, f := range b {
				indirect[k] += f * float64(a.received)
			}
		}
	}
	t.finish(e, cps, indirect)
	return e, nil
}

// graphErr gives a Graph's error the package prefix and context, unless
// it has them already (BTCGraph's errors do).
func graphErr(what string, err error) error {
	if strings.HasPrefix(err.Error(), "screen: ") {
		return err
	}
	return fmt.Errorf("screen: %s: %w", what, err)
}

// read reads a transaction, failing on a cancelled context.
func (t *tracer) read(ref TxRef, dst *Tx) error {
	if err := t.ctx.Err(); err != nil {
		return fmt.Errorf("screen: %w", err)
	}
	if err := t.g.Tx(t.ctx, ref, dst); err != nil {
		return graphErr("exposure: reading transaction "+strconv.FormatUint(uint64(ref), 10), err)
	}
	return nil
}

// classesOf returns the class ids of an address's active labels, nil when
// it has none; the screened address itself is never a source.
func (t *tracer) classesOf(id uint64) ([]int32, error) {
	if id == 0 || id == t.self {
		return nil, nil
	}
	if c, ok := t.srcs[id]; ok {
		return c, nil
	}
	s, err := t.g.Address(t.ctx, id)
	if err != nil {
		return nil, graphErr("exposure: address #"+strconv.FormatUint(id, 10), err)
	}
	ls := t.ix.Lookup(t.chain, s)
	var out []int32
	add := func(name string) {
		c, ok := t.classID[name]
		if !ok {
			c = int32(len(t.classes))
			t.classes = append(t.classes, name)
			t.classID[name] = c
		}
		for _, have := range out {
			if have == c {
				return
			}
		}
		out = append(out, c)
	}
	for i := range ls {
		if ls[i].Abuse != "" {
			add(ls[i].Abuse)
		}
		if ls[i].Category != "" {
			add(ls[i].Category)
		}
		if ls[i].Abuse == "" && ls[i].Category == "" {
			add("uncategorized")
		}
	}
	if len(ls) > 0 {
		t.names[id] = &ls[0]
	}
	t.srcs[id] = out
	return out, nil
}

// inValue returns the total input value of tx for haircut weights: the
// sum of known input values, or the outputs' total when inputs of unknown
// value make that smaller.
func inValue(tx *Tx) int64 {
	var in, out int64
	for _, f := range tx.Ins {
		in += f.Value
	}
	for _, f := range tx.Outs {
		out += f.Value
	}
	return max(in, out)
}

// direct credits the labelled counterparties of one transaction.
func (t *tracer) direct(ref TxRef, tx *Tx, received, sent int64, cps map[uint64]*counterparty) error {
	total := inValue(tx)
	if total <= 0 {
		return nil
	}
	credit := func(id uint64, amount float64, recv bool) error {
		cls, err := t.classesOf(id)
		if err != nil || cls == nil || amount <= 0 {
			return err
		}
		cp := cps[id]
		if cp == nil {
			cp = &counterparty{}
			cps[id] = cp
		}
		v := int64(math.Round(amount))
		if recv {
			cp.Received += v
		} else {
			cp.Sent += v
		}
		if !cp.counted || cp.last != ref {
			cp.Txs++
			cp.counted, cp.last = true, ref
		}
		return nil
	}
	if received > 0 {
		for _, in := range tx.Ins {
			if err := credit(in.Addr, float64(received)*float64(in.Value)/float64(total), true); err != nil {
				return err
			}
		}
	}
	if sent > 0 {
		own := float64(sent) / float64(total)
		for _, out := range tx.Outs {
			if err := credit(out.Addr, float64(out.Value)*own, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// blendOf returns the source blend of a transaction's outputs, its inputs
// being at hop depth. tx holds the transaction already read.
func (t *tracer) blendOf(ref TxRef, tx *Tx, depth int) (blend, error) {
	key := memoKey{ref, depth}
	if b, ok := t.memo[key]; ok {
		return b, nil
	}
	b := blend{}
	total := inValue(tx)
	for i := range tx.Ins {
		in := tx.Ins[i]
		if total <= 0 || in.Value <= 0 {
			continue
		}
		w := float64(in.Value) / float64(total)
		cls, err := t.classesOf(in.Addr)
		if err != nil {
			return nil, err
		}
		if cls != nil {
			for _, c := range cls {
				b[taintKey{c, int32(depth)}] += w
			}
			continue
		}
		if !in.HasPrev || depth >= t.hops {
			continue
		}
		if t.budget <= 0 {
			t.trunc = true
			continue
		}
		t.budget--
		prev := &t.txs[depth]
		if err := t.read(in.Prev, prev); err != nil {
			return nil, err
		}
		pb, err := t.blendOf(in.Prev, prev, depth+1)
		if err != nil {
			return nil, err
		}
		for k, f := range pb {
			b[k] += w * f
		}
	}
	t.memo[key] = b
	return b, nil
}

// finish turns the accumulated values into the sorted report.
func (t *tracer) finish(e *Exposure, cps map[uint64]*counterparty, indirect blend) {
	e.Truncated = t.trunc
	if t.trunc {
		e.Notes = append(e.Notes, "the transaction budget ran out: part of the history or of the sources was not traced")
	}
	byCat := map[string]*DirectByCategory{}
	ids := make([]uint64, 0, len(cps))
	for id := range cps {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		cp := cps[id]
		// Ids were resolved when their classes were looked up, so this
		// read is served from the graph's cache or is cheap.
		addr, err := t.g.Address(t.ctx, id)
		if err == nil {
			cp.Address = addr
		}
		if l := t.names[id]; l != nil {
			cp.Name, cp.Actor = l.Label, l.Actor
		}
		for _, c := range t.srcs[id] {
			name := t.classes[c]
			cp.Categories = append(cp.Categories, name)
			d := byCat[name]
			if d == nil {
				d = &DirectByCategory{Category: name}
				byCat[name] = d
			}
			d.Received += cp.Received
			d.Sent += cp.Sent
		}
		e.Direct.Counterparties = append(e.Direct.Counterparties, cp.Counterparty)
	}
	sort.SliceStable(e.Direct.Counterparties, func(i, j int) bool {
		a, b := &e.Direct.Counterparties[i], &e.Direct.Counterparties[j]
		return a.Received+a.Sent > b.Received+b.Sent
	})
	volume := float64(e.Received + e.Sent)
	for _, d := range byCat {
		if volume > 0 {
			d.Share = float64(d.Received+d.Sent) / volume
		}
		e.Direct.ByCategory = append(e.Direct.ByCategory, *d)
	}
	sort.Slice(e.Direct.ByCategory, func(i, j int) bool {
		a, b := &e.Direct.ByCategory[i], &e.Direct.ByCategory[j]
		if a.Received+a.Sent != b.Received+b.Sent {
			return a.Received+a.Sent > b.Received+b.Sent
		}
		return a.Category < b.Category
	})

	perClass := map[int32][]float64{}
	for k, v := range indirect {
		hops := perClass[k.class]
		if hops == nil {
			hops = make([]float64, t.hops)
			perClass[k.class] = hops
		}
		hops[k.hop-1] += v
	}
	for c, hops := range perClass {
		ie := IndirectExposure{Category: t.classes[c], ByHop: make([]int64, len(hops))}
		var sum float64
		for i, v := range hops {
			ie.ByHop[i] = int64(math.Round(v))
			sum += v
		}
		ie.Value = int64(math.Round(sum))
		if e.Received > 0 {
			ie.Share = sum / float64(e.Received)
		}
		e.Indirect = append(e.Indirect, ie)
	}
	sort.Slice(e.Indirect, func(i, j int) bool {
		a, b := &e.Indirect[i], &e.Indirect[j]
		if a.Value != b.Value {
			return a.Value > b.Value
		}
		return a.Category < b.Category
	})
}
