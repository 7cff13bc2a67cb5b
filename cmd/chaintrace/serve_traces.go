package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/cases"
	"github.com/chaintrace/chaintrace/internal/incident"
	"github.com/chaintrace/chaintrace/internal/jobs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/workspace"
	"github.com/spf13/cobra"
)

// traceLimits are serve's limits on trace jobs.
type traceLimits struct {
	workers, queue      int
	timeout, maxTimeout time.Duration
}

// flags declares the limits' flags on serve.
func (l *traceLimits) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&l.workers, "trace-workers", jobs.DefaultWorkers, "trace jobs (POST /api/v1/traces) run at once")
	fl.IntVar(&l.queue, "trace-queue", jobs.DefaultQueue, "trace jobs that may wait for a worker; more are refused with 503")
	fl.DurationVar(&l.timeout, "trace-timeout", jobs.DefaultTimeout, "a trace job's timeout when its request names none")
	fl.DurationVar(&l.maxTimeout, "trace-max-timeout", jobs.DefaultMaxTimeout, "the longest timeout a trace job may ask for")
}

// config returns the API's trace configuration over tracer, saving
// under data.
func (l traceLimits) config(tracer api.Tracer, data string) api.TraceConfig {
	return api.TraceConfig{Tracer: tracer, Data: data, Workers: l.workers, Queue: l.queue, Timeout: l.timeout, MaxTimeout: l.maxTimeout}
}

// liveLabels labels traces from the server's label snapshot in use, so
// that a label import reaches the traces started after it.
type liveLabels struct{ live *labels.Live }

// Lookup implements trace.Labeler.
func (l liveLabels) Lookup(chain, address string) []labels.Label {
	return l.live.Current().Lookup(chain, address)
}

// serveTracer is the API's tracer under serve: a workspace over the
// chain stores openScreenEnv opened (a Pebble store opens once per
// process) and the server's live labels, with services detected by
// behaviour as chaintrace trace does. It opens on the first trace, so
// that the detection, which reads every store, does not delay the
// server's start; a failed open is retried by the next trace.
type serveTracer struct {
	g      *globals
	env    *screenEnv
	chains []string
	// incidents is the registry the incident routes serve, which
	// traces from an incident read too.
	incidents []incident.Record

	mu sync.Mutex
	ws *workspace.Workspace
}

// newServeTracer returns the tracer over env's stores, starting traces
// from the incidents of reg.
func newServeTracer(g *globals, env *screenEnv, reg *api.IncidentRegistry) *serveTracer {
	t := &serveTracer{g: g, env: env}
	if reg != nil {
		t.incidents = reg.Records
	}
	for _, db := range env.stores {
		switch m := db.Meta(); m.Chain {
		case "btc":
			t.chains = append(t.chains, btc.ChainID(m.Network))
		case "eth":
			t.chains = append(t.chains, workspace.ETHChainID(m.Network))
		}
	}
	slices.Sort(t.chains)
	return t
}

// Chains implements api.Tracer.
func (t *serveTracer) Chains() []string { return t.chains }

// workspace opens the workspace on first use.
func (t *serveTracer) workspace(ctx context.Context) (*workspace.Workspace, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ws != nil {
		return t.ws, nil
	}
	ws, err := workspace.Open(ctx, t.g.dataDir, workspace.Options{Logger: t.g.log, DetectServices: true,
		Stores: t.env.stores, Labels: liveLabels{t.env.labels}})
	if err != nil {
		return nil, err
	}
	t.ws = ws
	return ws, nil
}

// Trace implements api.Tracer.
func (t *serveTracer) Trace(ctx context.Context, p trace.Params) (*trace.Result, error) {
	ws, err := t.workspace(ctx)
	if err != nil {
		return nil, err
	}
	return ws.Trace(ctx, p)
}

// Units implements api.Tracer. It does not open the workspace, whose
// service detection would hold up a result's export after a restart:
// until the first trace opens it, amounts show in base units.
func (t *serveTracer) Units(ctx context.Context) trace.Units {
	t.mu.Lock()
	ws := t.ws
	t.mu.Unlock()
	if ws == nil {
		return nil
	}
	return ws.Units(ctx)
}

// IncidentSources implements api.IncidentSources from the registry the
// incident routes serve, so that an incident the API lists can be
// traced: its attacker addresses and theft transactions on chain (an
// EVM chain of chaintrace's own naming takes Ethereum's).
func (t *serveTracer) IncidentSources(_ context.Context, id, chain string) ([]string, []string, error) {
	for i := range t.incidents {
		if t.incidents[i].ID != id {
			continue
		}
		from, txs := incident.TraceSources(&t.incidents[i], trace.AddrChain(chain))
		if len(from) == 0 && len(txs) == 0 {
			return nil, nil, fmt.Errorf("incident %s lists no attacker addresses or transactions on %s", id, chain)
		}
		return from, txs, nil
	}
	return nil, nil, fmt.Errorf("no incident %q in the registry (GET /api/v1/incidents lists them)", id)
}

// Close closes the workspace, leaving the stores to env.
func (t *serveTracer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ws == nil {
		return nil
	}
	return t.ws.Close()
}

// newServeCases returns the case store under --data, normalising the
// addresses of case nodes as the chain routes do.
func newServeCases(g *globals) *cases.Store {
	return cases.New(g.dataDir, cases.Options{CheckAddress: func(chain, address string) (string, error) {
		return addrs.Normalize(trace.AddrChain(chain), address)
	}})
}
