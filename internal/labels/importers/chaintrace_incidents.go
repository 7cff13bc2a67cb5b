package importers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chaintrace/chaintrace/internal/labels"
)

// BuiltinIncidents is the path that names the incident registry compiled
// into chaintrace (data/incidents) for the chaintrace-incidents importer.
const BuiltinIncidents = "builtin:incidents"

// IncidentsDataset is the dataset the chaintrace-incidents importer
// fills; it equals incident.LabelsDataset.
const IncidentsDataset = "chaintrace-incidents"

// IncidentSource returns the labels of the incident registry: the
// attacker, laundering and exploit-contract addresses of its records.
type IncidentSource func(ctx context.Context) ([]labels.Label, error)

var (
	incidentsMu     sync.Mutex
	incidentsSource IncidentSource
)

// RegisterIncidents installs the function the chaintrace-incidents
// importer gets the registry's labels from. Package incident cannot be
// imported here (it uses this package to read the builtin actors), so
// the binary wires incident.Builtin and incident.Labels in through this
// hook.
func RegisterIncidents(src IncidentSource) {
	incidentsMu.Lock()
	defer incidentsMu.Unlock()
	incidentsSource = src
}

// chaintraceIncidentsImporter turns the registry's public attacker and
// laundering addresses into labels (abuse service_hack, the attributed
// actor, the source the record cites), so that screening and tracing
// recognise stolen funds.
//
// Detection: the path "builtin:incidents" only; registry files are
// validated and compiled in by package incident, not imported one by one.
type chaintraceIncidentsImporter struct{}

// Name implements labels.Importer.
func (chaintraceIncidentsImporter) Name() string { return "chaintrace-incidents" }

// Detect implements labels.Importer.
func (chaintraceIncidentsImporter) Detect(path string) bool { return path == BuiltinIncidents }

// Import implements labels.Importer: "builtin:incidents" gives the
// dataset "chaintrace-incidents". A label without a valid chain and
// address or without a source is rejected with the incident it came
// from.
func (chaintraceIncidentsImporter) Import(ctx context.Context, path string) ([]labels.Dataset, error) {
	if path != BuiltinIncidents {
		return nil, fmt.Errorf("importers: chaintrace-incidents reads only %q, not %q", BuiltinIncidents, path)
	}
	incidentsMu.Lock()
	src := incidentsSource
	incidentsMu.Unlock()
	if src == nil {
		return nil, errors.New("importers: " + BuiltinIncidents + ": no incident registry is linked into this program")
	}
	ls, err := src(ctx)
	if err != nil {
		return nil, fmt.Errorf("importers: %s: %w", BuiltinIncidents, err)
	}
	b := newBuilder(IncidentsDataset, "chaintrace-incidents", BuiltinIncidents)
	// An address listed by several incidents gets one label whose context
	// names them all, instead of the last one silently winning.
	contexts := map[string]string{}
	for _, l := range ls {
		k := l.Key()
		if prev, ok := contexts[k]; ok && prev != l.Context {
			l.Context = prev + "; " + l.Context
		}
		contexts[k] = l.Context
	}
	for _, l := range ls {
		l.Context = contexts[l.Key()]
		switch {
		case l.Address == "" || l.Chain == "":
			b.reject(BuiltinIncidents, 0, l.Context, "label without chain or address")
		case l.Source == "":
			b.reject(BuiltinIncidents, 0, l.Address, l.Context+": label without a source")
		default:
			b.add(l)
		}
	}
	return []labels.Dataset{b.dataset()}, nil
}
