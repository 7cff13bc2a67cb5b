// Package workspace is chaintrace's data directory seen as a set of
// stores: one Pebble store per chain and network (btc-<network>,
// eth-<chain>) and the label database (labels). It opens them together as
// trace engines joined by bridge rules, and ingests chains and imports
// labels into them, so that the CLI, the demo, the evaluation of simulated
// worlds and tests share one implementation of the wiring.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/cluster"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/service"
	"github.com/chaintrace/chaintrace/internal/store"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// LabelsDir is where the label database lives under a data directory.
func LabelsDir(data string) string { return filepath.Join(data, "labels") }

// BTCStoreDir is where a Bitcoin network's store lives under a data
// directory.
func BTCStoreDir(data, network string) string { return filepath.Join(data, "btc-"+network) }

// ETHStoreDir is where an EVM chain's store lives under a data directory;
// chain is the store's network name ("ethereum", "sim").
func ETHStoreDir(data, chain string) string { return filepath.Join(data, "eth-"+chain) }

// ETHChainID maps an EVM store's network name to the chain id its trace
// engine and labels use: "eth" for Ethereum mainnet, "eth-<name>"
// otherwise (a simulated network "sim" is "eth-sim").
func ETHChainID(name string) string {
	switch name {
	case "ethereum", "mainnet":
		return "eth"
	}
	return "eth-" + name
}

// Options configure Open.
type Options struct {
	// Bridges is a bridge rules file (trace.LoadBridges' YAML); empty
	// traces without bridges.
	Bridges string
	// DetectServices runs package service's behavioural detection of
	// deposit-sweep services on every chain store when the workspace
	// opens, and labels the detected wallets and deposit addresses that
	// have no label of their own, so that traces stop at services no
	// label database knows. It reads each store once (the last
	// service.DefaultMaxTxs transactions).
	DetectServices bool
	// Detect tunes the detection; zero fields take package service's
	// defaults.
	Detect service.Options
	// Logger receives warnings about stores that cannot be used; nil
	// discards them.
	Logger *slog.Logger
	// Stores are chain stores the caller already opened, by directory
	// (a btc-* or eth-* directory under the data directory): Open uses
	// them instead of opening those directories again, which a Pebble
	// store allows once per process, and Close leaves them open. A
	// long-running server shares its stores this way.
	Stores map[string]*store.DB
	// Labels, when set, labels the engines instead of the label
	// database, which Open then leaves closed (Index and Labels return
	// nil): a server passes its own look-ups, which follow label
	// imports, so that the workspace holds no lock on the database.
	Labels trace.Labeler
}

// Workspace is every store of a data directory opened read-only for
// tracing. It is safe for concurrent traces; Close it when done.
type Workspace struct {
	dir     string
	engines map[string]trace.Engine
	listers map[string]trace.PaymentLister
	eth     map[string]*store.DB // account stores, for token units and deposit clusters
	btc     map[string]*store.DB // Bitcoin stores, for clusters
	labeler trace.Labeler
	index   *labels.Index
	lstore  *labels.Store // nil without a label database
	rules   []trace.BridgeRule
	found   map[string]*service.Result // detected services by chain id
	closers []func() error
}

// Open opens every btc-* and eth-* store under dataDir read-only as a
// trace engine keyed by chain id, with the label database's index as the
// engines' labeler (a simulated or private EVM chain takes Ethereum's
// labels) and the bridge rules of opts.Bridges, whose deposit addresses
// are labelled as bridges. A store that cannot be opened is skipped with a
// warning, as are bridge rules whose release chain has no store; a data
// directory without a label database traces without stop rules.
func Open(ctx context.Context, dataDir string, opts Options) (*Workspace, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Workspace{dir: dataDir, engines: map[string]trace.Engine{}, listers: map[string]trace.PaymentLister{},
		eth: map[string]*store.DB{}, btc: map[string]*store.DB{}}
	if opts.Labels != nil {
		w.labeler = trace.AddrChainLabeler{Base: opts.Labels}
	} else if _, err := os.Stat(LabelsDir(dataDir)); err == nil {
		st, err := labels.Open(ctx, LabelsDir(dataDir))
		if err != nil {
			return nil, err
		}
		w.closers = append(w.closers, st.Close)
		w.lstore = st
		ix, err := st.Index(ctx)
		if err != nil {
			w.Close()
			return nil, err
		}
		w.index = ix
		w.labeler = trace.AddrChainLabeler{Base: ix}
	} else {
		log.Warn("no label database: tracing without stop rules (import labels with \"chaintrace labels import\")")
	}
	if err := w.openStores(ctx, log, opts.Stores); err != nil {
		w.Close()
		return nil, err
	}
	if opts.Bridges != "" {
		rules, skipped, err := trace.LoadBridges(opts.Bridges, w.listers)
		if err != nil {
			w.Close()
			return nil, err
		}
		if len(skipped) > 0 {
			log.Warn("bridge rules skipped: their release chain has no store", "bridges", strings.Join(skipped, ", "))
		}
		w.rules = rules
		w.labeler = trace.WithBridgeLabels(w.labeler, rules)
	}
	if opts.DetectServices {
		if err := w.detect(ctx, opts.Detect, log); err != nil {
			w.Close()
			return nil, err
		}
	}
	for chain, db := range w.btc {
		e, err := trace.NewUTXO(db, trace.UTXOOptions{Chain: chain, Labels: w.labeler, Annotator: cluster.NewAnnotator(db)})
		if err != nil {
			w.Close()
			return nil, err
		}
		w.engines[chain] = e
	}
	for chain, db := range w.eth {
		e, err := trace.NewAccount(db, trace.AccountOptions{Chain: chain, Labels: w.labeler})
		if err != nil {
			w.Close()
			return nil, err
		}
		w.engines[chain] = e
	}
	return w, nil
}

// detect runs the service detection on every chain store and puts the
// results under the labeler.
func (w *Workspace) detect(ctx context.Context, o service.Options, log *slog.Logger) error {
	w.found = map[string]*service.Result{}
	var results []*service.Result
	for _, chain := range sortedKeys(w.btc) {
		r, err := service.DetectUTXO(ctx, w.btc[chain], chain, o)
		if err != nil {
			return fmt.Errorf("workspace: detecting services: %w", err)
		}
		w.found[chain] = r
		results = append(results, r)
	}
	for _, chain := range sortedKeys(w.eth) {
		r, err := service.DetectAccount(ctx, w.eth[chain], chain, o)
		if err != nil {
			return fmt.Errorf("workspace: detecting services: %w", err)
		}
		w.found[chain] = r
		results = append(results, r)
	}
	for _, r := range results {
		log.Info("services detected by behaviour", "chain", r.Chain, "services", len(r.Services), "txs", r.Txs,
			"elapsed", r.Elapsed.Round(time.Millisecond).String())
	}
	w.labeler = service.NewLabeler(w.labeler, results...)
	return nil
}

func sortedKeys(m map[string]*store.DB) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// openStores opens the chain stores and their payment listers, which the
// bridge rules need before the engines exist; a directory in open is
// taken as it is.
func (w *Workspace) openStores(ctx context.Context, log *slog.Logger, open map[string]*store.DB) error {
	use := func(dir string) (*store.DB, error) {
		if db, ok := open[dir]; ok {
			return db, nil
		}
		db, err := store.Open(ctx, dir, store.ChainMeta{}, store.Options{ReadOnly: true})
		if err == nil {
			w.closers = append(w.closers, db.Close)
		}
		return db, err
	}
	dirs, _ := filepath.Glob(filepath.Join(w.dir, "btc-*"))
	for _, dir := range dirs {
		db, err := use(dir)
		if err != nil {
			log.Warn("Bitcoin store not usable for tracing", "dir", dir, "err", err)
			continue
		}
		chain := btc.ChainID(db.Meta().Network)
		w.btc[chain] = db
		if w.listers[chain], err = trace.NewUTXOPayments(db, chain); err != nil {
			return err
		}
	}
	dirs, _ = filepath.Glob(filepath.Join(w.dir, "eth-*"))
	for _, dir := range dirs {
		db, err := use(dir)
		if err != nil {
			log.Warn("EVM store not usable for tracing", "dir", dir, "err", err)
			continue
		}
		chain := ETHChainID(db.Meta().Network)
		w.listers[chain] = trace.NewAccountPayments(db, chain)
		w.eth[chain] = db
	}
	return nil
}

// Close closes every store, in the order they were opened.
func (w *Workspace) Close() error {
	var errs []error
	for _, c := range w.closers {
		errs = append(errs, c())
	}
	w.closers = nil
	return errors.Join(errs...)
}

// Dir returns the data directory.
func (w *Workspace) Dir() string { return w.dir }

// Multi returns a multi-chain tracer over every engine, continuing
// forward traces through the bridge rules.
func (w *Workspace) Multi() *trace.Multi {
	return &trace.Multi{Engines: w.engines, Rules: w.rules}
}

// Trace runs a trace over the workspace's engines and bridge rules
// (Multi's Trace).
func (w *Workspace) Trace(ctx context.Context, p trace.Params) (*trace.Result, error) {
	return w.Multi().Trace(ctx, p)
}

// Engines returns the trace engines by chain id. The map belongs to the
// workspace.
func (w *Workspace) Engines() map[string]trace.Engine { return w.engines }

// Engine returns the trace engine of a chain id.
func (w *Workspace) Engine(chain string) (trace.Engine, bool) {
	e, ok := w.engines[chain]
	return e, ok
}

// Chains returns the chain ids of the open stores, sorted.
func (w *Workspace) Chains() []string {
	ids := make([]string, 0, len(w.engines))
	for id := range w.engines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Labeler returns what the engines label addresses with: the label index
// under AddrChain, plus the bridge rules' deposit addresses and, with
// Options.DetectServices, the services detected by behaviour. It is nil
// without any of them.
func (w *Workspace) Labeler() trace.Labeler { return w.labeler }

// Services returns the services detected by behaviour, by chain id; nil
// unless Options.DetectServices was set. The map belongs to the
// workspace.
func (w *Workspace) Services() map[string]*service.Result { return w.found }

// Index returns the label index, nil without a label database.
func (w *Workspace) Index() *labels.Index { return w.index }

// Labels returns the label database, nil when the data directory has
// none.
func (w *Workspace) Labels() *labels.Store { return w.lstore }

// Rules returns the bridge rules loaded from Options.Bridges.
func (w *Workspace) Rules() []trace.BridgeRule { return w.rules }

// Tip returns the best height of a chain's store.
func (w *Workspace) Tip(ctx context.Context, chain string) (uint64, error) {
	e, ok := w.engines[chain]
	if !ok {
		return 0, fmt.Errorf("workspace: no store for chain %q", chain)
	}
	return e.Tip(ctx)
}
