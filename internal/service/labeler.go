package service

import (
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// Dataset is the label dataset name of behavioural detections.
const Dataset = "behaviour"

// Confidence of a behavioural detection: the TagPack taxonomy's
// "heuristic" level, the lowest but "unknown", so that any label of a
// real source outranks it wherever confidences are compared.
const (
	Confidence      = "heuristic"
	ConfidenceLevel = 10
)

// Labeler is a trace.Labeler that adds the detected services to the
// labels of Base: an address without a label of its own that is a
// detected wallet or deposit address gets a "service" label, so that the
// stop rules end a trace at the first deposit address with an endpoint.
// It is safe for concurrent use.
type Labeler struct {
	base  trace.Labeler
	extra map[string][]labels.Label // chain + "\x00" + key(address)
}

var _ trace.Labeler = (*Labeler)(nil)

// NewLabeler returns base (which may be nil) with the services of
// results. A detected wallet that base labels decides for its deposit
// addresses: a labelled service (exchange, OTC desk, ...) lends them its
// name, so the trace names the right entity at the deposit address; a
// wallet labelled as anything else (a mixer, a bridge, a DEX, a thief)
// is not a custodial service, and its deposit addresses stay unlabelled.
// An unlabelled wallet and its deposit addresses are labelled
// "unidentified service" and the wallet's shortened address.
func NewLabeler(base trace.Labeler, results ...*Result) *Labeler {
	l := &Labeler{base: base, extra: map[string][]labels.Label{}}
	for _, r := range results {
		if r == nil {
			continue
		}
		for i := range r.Services {
			s := &r.Services[i]
			var own []labels.Label
			if base != nil {
				own = base.Lookup(r.Chain, s.Wallet)
			}
			lab := labels.Label{Label: s.Name(), Category: "service", Dataset: Dataset, Confidence: Confidence,
				ConfidenceLevel: ConfidenceLevel, Context: s.String()}
			if len(own) > 0 {
				class, w := trace.Classify(&trace.Params{}, own)
				if class != trace.ClassStop {
					continue
				}
				lab.Label, lab.Actor, lab.Category = w.Label+" (deposit address by behaviour)", trace.Entity(w), w.Category
			} else {
				l.add(r.Chain, s.Wallet, lab)
			}
			for _, d := range s.Deposits {
				l.add(r.Chain, d, lab)
			}
		}
	}
	return l
}

func (l *Labeler) add(chain, address string, lab labels.Label) {
	lab.Chain, lab.Address = chain, address
	k := chain + "\x00" + key(address)
	l.extra[k] = append(l.extra[k], lab)
}

// Lookup implements trace.Labeler: the labels of Base, or the detection's
// when Base has none. The returned slice must not be modified.
func (l *Labeler) Lookup(chain, address string) []labels.Label {
	if l.base != nil {
		if own := l.base.Lookup(chain, address); len(own) > 0 {
			return own
		}
	}
	return l.extra[chain+"\x00"+key(address)]
}

// Len returns how many addresses the labeler adds labels to.
func (l *Labeler) Len() int { return len(l.extra) }
