// Package api is chaintrace's HTTP interface (chaintrace serve): address
// screening one at a time and in batches, label and actor look-ups, the
// chain stores' blocks, transactions and addresses, health and
// Prometheus metrics. It uses net/http's ServeMux patterns and
// nothing else: every error is an RFC 9457 problem details document,
// every response carries an X-Request-Id (the client's, when it sends a
// sane one), every request is logged through slog and counted in the
// metrics, and a panicking handler costs one 500 response, not the
// process.
//
// Routes:
//
//	GET  /api/v1/screen/{chain}/{address}  screen.Result; ?hops=1..10, ?exposure=false
//	POST /api/v1/screen                    batch: {"addresses":[{"chain":..,"address":..}]}
//	GET  /api/v1/labels/{chain}/{address}  every label, retired ones included
//	GET  /api/v1/actors/{id}               an actor and its root
//	GET  /api/v1/alerts                    alerts from the journal; ?chain, ?watch, ?since=ID, ?limit
//	GET  /api/v1/alerts/stream             server-sent events, resumed by Last-Event-ID
//	POST /api/v1/transfers                 register a received transfer: its screening (200) or pending (202)
//	GET  /api/v1/transfers/{id}            a registered transfer and its latest screening
//	GET  /api/v1/transfers                 registered transfers; ?user_id, ?rating, ?cursor, ?limit
//	GET  /api/v1/chains                    chain stores: kind, network, tip, stage progress, store bytes
//	GET  /api/v1/chains/{chain}            one chain store
//	GET  /api/v1/chains/{chain}/blocks/{ref}  a block by height or hash, its txids paged; ?cursor, ?limit
//	GET  /api/v1/chains/{chain}/txs/{hash}    a transaction: inputs and outputs or transfers, parties' labels
//	GET  /api/v1/chains/{chain}/addresses/{address}            summary, balances, labels, cluster
//	GET  /api/v1/chains/{chain}/addresses/{address}/txs        its transactions; ?cursor, ?limit
//	GET  /api/v1/chains/{chain}/addresses/{address}/neighbors  counterparties; ?direction=in|out, ?limit
//	GET  /api/v1/chains/{chain}/clusters/{id}            a Bitcoin multi-input cluster: totals, labels, members; ?cursor, ?limit
//	GET  /api/v1/chains/{chain}/clusters/{id}/neighbors  its counterparties outside it; ?direction=in|out, ?limit
//	GET  /api/v1/incidents                 the incident registry, newest first; ?from, ?to, ?actor, ?victim_type, ?vector, ?chain, ?q, ?cursor, ?limit
//	GET  /api/v1/incidents/{id}            one incident record
//	GET  /api/v1/incidents/stats           count and USD per year, actor, victim type, vector or chain; ?by and the list's filters
//	GET  /api/v1/incidents/reconciliation  the registry against published figures
//	GET  /api/v1/search?q=                 addresses, transactions, blocks, clusters, actors, incidents and labels matching q; ?limit
//	POST /api/v1/labels/imports            import a label source (TagPack YAML, CSV, ...); ?format
//	GET  /api/v1/audit                     the audit log of writes (admin); ?cursor, ?limit
//	POST /api/v1/traces                    start a trace job (202), or ?wait=30s for a small one (200 once done)
//	GET  /api/v1/traces                    recent trace jobs; ?status, ?limit
//	GET  /api/v1/traces/{id}               a job: status, timings, error, saved trace id and summary
//	DELETE /api/v1/traces/{id}             cancel a queued or running job
//	GET  /api/v1/traces/{id}/result        a done job's result; ?format=json|csv|dot, ?table
//	POST /api/v1/cases                     save a new investigation case (201)
//	GET  /api/v1/cases                     every case's summary, most recently updated first
//	GET  /api/v1/cases/{id}                a case, its version as ETag
//	PUT  /api/v1/cases/{id}                replace a case; If-Match its version (412 when stale)
//	DELETE /api/v1/cases/{id}              delete a case; If-Match optional
//	GET  /api/v1/openapi.json              this API's OpenAPI 3.1 document (openapi.json)
//	GET  /healthz                          liveness and index size
//	GET  /metrics                          Prometheus exposition
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults for zero Config fields.
const (
	DefaultMaxBatch          = 1000
	DefaultMaxBodyBytes      = 1 << 20
	DefaultRequestTimeout    = 30 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// LabelReader reads every label of an address, retired ones included;
// *labels.Store implements it.
type LabelReader interface {
	// Labels returns the labels on a normalised address.
	Labels(ctx context.Context, chain, address string) ([]labels.Label, error)
}

// IndexSource builds a fresh label index; *labels.Store implements it.
type IndexSource interface {
	// Index builds an index of the current active labels and actors.
	Index(ctx context.Context) (*labels.Index, error)
}

// The label store is the intended LabelReader and IndexSource.
var (
	_ LabelReader = (*labels.Store)(nil)
	_ IndexSource = (*labels.Store)(nil)
)

// Config configures a Server. Only Screener matters for a useful server;
// zero fields take the defaults above.
type Config struct {
	// Screener answers screens and holds the label index; nil means an
	// empty index with screen.DefaultRules and no graphs.
	Screener *screen.Screener
	// Labels serves /api/v1/labels with retired labels; nil answers from
	// the index, active labels only.
	Labels LabelReader
	// Logger receives the access log and errors; nil means slog.Default().
	Logger *slog.Logger
	// Registry receives the metrics and is what /metrics serves; nil means
	// a registry of the server's own, with Go and process metrics added.
	Registry *prometheus.Registry
	// MaxBatch is the most addresses one batch may hold.
	MaxBatch int
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64
	// RequestTimeout bounds the screening work of one request.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds how long Run waits for requests in flight.
	ShutdownTimeout time.Duration
	// The http.Server timeouts.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Version is reported by /healthz.
	Version string
	// AlertData is the data directory whose alert journal
	// (monitor.JournalPath) the alert routes read; empty means they
	// answer that alerts are unavailable.
	AlertData string
	// Transfers registers and lists received transfers (deposit
	// screening, package kyt); nil answers that the routes are
	// unavailable.
	Transfers TransferRegistry
	// Chains are the chain stores the /api/v1/chains routes read, by
	// chain id (btc, btc-regtest, eth, eth-sim); nil serves none.
	Chains map[string]Chain
	// ChainLabels labels the parties of the chain routes' answers; nil
	// means the screening index, so that a label reload reaches them.
	ChainLabels Labeler
	// MaxNeighborTxs bounds the transactions one neighbours request
	// reads (default query.DefaultMaxNeighborTxs).
	MaxNeighborTxs int
	// AlertPoll is how often a stream looks for new alerts, Heartbeat
	// how often an idle stream sends a comment (defaults DefaultAlertPoll
	// and DefaultHeartbeat).
	AlertPoll, Heartbeat time.Duration
	// Keys authenticates API keys (auth.Keyring); nil turns
	// authentication off: every request may use every route.
	Keys Authenticator
	// Anonymous is the role of requests without a key when Keys is set:
	// auth.RoleRead lets them read, auth.RoleNone refuses them all but
	// /healthz and the OpenAPI document.
	Anonymous auth.Role
	// RateLimits are the token buckets per key and per anonymous client
	// IP; the zero value limits nothing.
	RateLimits RateLimits
	// AuditData is the data directory whose audit log (AuditPath) gets a
	// line per request with a write method and serves GET
	// /api/v1/audit; empty keeps no log.
	AuditData string
	// LabelData is the data directory label imports (POST
	// /api/v1/labels/imports) write into, and LabelSource the label
	// store the index is rebuilt from afterwards; an empty LabelData
	// answers that imports are unavailable.
	LabelData   string
	LabelSource IndexSource
	// Incidents is the incident registry the incident routes serve; nil
	// answers that incidents are unavailable.
	Incidents *IncidentRegistry
	// Traces configures the trace jobs (traces.go); without a Tracer the
	// trace routes answer that tracing is unavailable.
	Traces TraceConfig
	// Cases keeps investigation cases (cases.go); nil answers that the
	// case routes are unavailable.
	Cases CaseStore
}

// Server is the HTTP API. Its handler is safe for concurrent use.
type Server struct {
	cfg      Config
	screener *screen.Screener
	labels   LabelReader
	log      *slog.Logger
	reg      *prometheus.Registry
	metrics  *metrics
	mux      *http.ServeMux
	ids      *idGen
	sec      *security
	inc      *incidentIndex
	traces   *traceJobs
	// stopping ends the alert streams when the server shuts down.
	stopping context.Context
	stop     context.CancelFunc
}

// NewServer returns a server for cfg.
func NewServer(cfg Config) *Server {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&cfg.RequestTimeout, DefaultRequestTimeout)
	setDur(&cfg.ShutdownTimeout, DefaultShutdownTimeout)
	setDur(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur(&cfg.ReadTimeout, DefaultReadTimeout)
	setDur(&cfg.WriteTimeout, DefaultWriteTimeout)
	setDur(&cfg.IdleTimeout, DefaultIdleTimeout)
	setDur(&cfg.AlertPoll, DefaultAlertPoll)
	setDur(&cfg.Heartbeat, DefaultHeartbeat)
	s := &Server{cfg: cfg, screener: cfg.Screener, labels: cfg.Labels, log: cfg.Logger, reg: cfg.Registry, ids: newIDGen(),
		inc: newIncidentIndex(cfg.Incidents)}
	s.stopping, s.stop = context.WithCancel(context.Background())
	if s.screener == nil {
		var err error
		if s.screener, err = screen.New(nil, nil, screen.DefaultRules()); err != nil {
			panic("api: default rules are invalid: " + err.Error())
		}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	own := s.reg == nil
	if own {
		s.reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(s.reg, own, s)
	s.sec = newSecurity(cfg, s.reg)
	s.traces = newTraceJobs(cfg.Traces, s.log)
	s.routes()
	return s
}

// route is one row of the route table: a ServeMux pattern and its
// handler. The role a route needs is its method's unless routeRoles
// (auth.go) says otherwise.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// routeTable lists every route the server registers. It is the one list
// of them: routes registers it and the tests check the OpenAPI document
// (openapi.json) against it, so a route added here needs its operation
// there too.
func (s *Server) routeTable() []route {
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)})
	return []route{
		{"GET /api/v1/screen/{chain}/{address}", s.handleScreen},
		{"POST /api/v1/screen", s.handleBatch},
		{"GET /api/v1/labels/{chain}/{address}", s.handleLabels},
		{"GET /api/v1/actors/{id}", s.handleActor},
		{"GET /api/v1/alerts", s.handleAlerts},
		{"GET /api/v1/alerts/stream", s.handleAlertStream},
		{"POST /api/v1/transfers", s.handleRegisterTransfer},
		{"GET /api/v1/transfers/{id}", s.handleTransfer},
		{"GET /api/v1/transfers", s.handleTransfers},
		{"GET /api/v1/chains", s.handleChains},
		{"GET /api/v1/chains/{chain}", s.handleChain},
		{"GET /api/v1/chains/{chain}/blocks/{ref}", s.handleBlock},
		{"GET /api/v1/chains/{chain}/txs/{hash}", s.handleTx},
		{"GET /api/v1/chains/{chain}/addresses/{address}", s.handleAddress},
		{"GET /api/v1/chains/{chain}/addresses/{address}/txs", s.handleAddressTxs},
		{"GET /api/v1/chains/{chain}/addresses/{address}/neighbors", s.handleNeighbors},
		{"GET /api/v1/chains/{chain}/clusters/{id}", s.handleCluster},
		{"GET /api/v1/chains/{chain}/clusters/{id}/neighbors", s.handleClusterNeighbors},
		{"GET /api/v1/incidents", s.handleIncidents},
		{"GET /api/v1/incidents/{id}", s.handleIncident},
		{"GET /api/v1/incidents/stats", s.handleIncidentStats},
		{"GET /api/v1/incidents/reconciliation", s.handleIncidentReconciliation},
		{"GET /api/v1/search", s.handleSearch},
		{"POST /api/v1/labels/imports", s.handleLabelImport},
		{"GET /api/v1/audit", s.handleAudit},
		{"POST /api/v1/traces", s.handleStartTrace},
		{"GET /api/v1/traces", s.handleTraceJobs},
		{"GET /api/v1/traces/{id}", s.handleTraceJob},
		{"DELETE /api/v1/traces/{id}", s.handleCancelTrace},
		{"GET /api/v1/traces/{id}/result", s.handleTraceResult},
		{"POST /api/v1/cases", s.handleCreateCase},
		{"GET /api/v1/cases", s.handleCases},
		{"GET /api/v1/cases/{id}", s.handleCase},
		{"PUT /api/v1/cases/{id}", s.handleUpdateCase},
		{"DELETE /api/v1/cases/{id}", s.handleDeleteCase},
		{"GET /api/v1/openapi.json", s.handleOpenAPI},
		{"GET /healthz", s.handleHealth},
		{"GET /metrics", metrics.ServeHTTP},
	}
}

func (s *Server) routes() {
	m := http.NewServeMux()
	for _, rt := range s.routeTable() {
		m.HandleFunc(rt.pattern, s.guard(rt.pattern, rt.handler))
	}
	s.mux = m
}

// Handler returns the server's HTTP handler, for mounting or for tests.
func (s *Server) Handler() http.Handler { return s }

// Screener returns the screener the server uses.
func (s *Server) Screener() *screen.Screener { return s.screener }

// SetIndex swaps the label index; requests in flight finish with the old
// one.
func (s *Server) SetIndex(ix *labels.Index) { s.screener.SetIndex(ix) }

// Reload builds a fresh index from src (a label store after an import)
// and swaps it in. On error the current index stays.
func (s *Server) Reload(ctx context.Context, src IndexSource) error {
	start := time.Now()
	ix, err := src.Index(ctx)
	if err != nil {
		return fmt.Errorf("api: reloading labels: %w", err)
	}
	s.SetIndex(ix)
	s.log.LogAttrs(ctx, slog.LevelInfo, "label index reloaded",
		slog.Int("labels", ix.Labels()), slog.Int("addresses", ix.Len()), slog.Duration("took", time.Since(start)))
	return nil
}

// Run listens on addr and serves until ctx is cancelled, then shuts down
// gracefully: it stops accepting, lets requests in flight finish within
// Config.ShutdownTimeout, and returns nil. It returns early with an error
// if listening or serving fails.
func (s *Server) Run(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened; it closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// Requests keep ctx's values but not its cancellation, so that
		// shutting down lets them finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(s.stopStreams)
	srv.RegisterOnShutdown(s.CloseTraces)
	s.log.LogAttrs(ctx, slog.LevelInfo, "api listening", slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("api: shutdown: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "api stopped")
	return nil
}
