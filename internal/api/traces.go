package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/jobs"
	"github.com/chaintrace/chaintrace/internal/model"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/tracestore"
)

// Tracer runs the traces of the trace routes; *workspace.Workspace
// implements it.
type Tracer interface {
	// Chains returns the chain ids it traces.
	Chains() []string
	// Trace runs a trace; it returns soon after ctx ends.
	Trace(ctx context.Context, p trace.Params) (*trace.Result, error)
	// Units tells how to display amounts (the DOT export's labels).
	Units(ctx context.Context) trace.Units
}

// IncidentSources is what a Tracer may also implement to start traces
// from an incident of the registry: the attacker addresses and theft
// transactions the incident lists on chain. Without it a request naming
// an incident is refused.
type IncidentSources interface {
	IncidentSources(ctx context.Context, incident, chain string) (from, txs []string, err error)
}

// Limits of the trace routes.
const (
	// MaxTraceHops is the most hops a trace over the API may walk.
	MaxTraceHops = 100
	// MaxTraceSources is the most addresses and transactions a trace
	// may start from.
	MaxTraceSources = 1000
	// MaxTraceWait is the longest a POST may wait for its trace
	// (?wait=), within the server's write timeout.
	MaxTraceWait = 50 * time.Second
	// traceSummaryRows is how many endpoints and holdings a job's
	// summary lists; the result has them all.
	traceSummaryRows = 20
	// traceRetryAfter is what a client whose trace the full queue
	// refused is told to wait, in seconds.
	traceRetryAfter = 10
)

// TraceConfig configures the trace routes.
type TraceConfig struct {
	// Tracer runs the traces; nil answers that tracing is unavailable.
	Tracer Tracer
	// Data is the data directory: finished traces are saved as
	// tracestore traces under it, and every job that ends is recorded
	// in <Data>/jobs/traces.jsonl, so a job id still answers after a
	// restart. Empty keeps results in memory only (tests).
	Data string
	// Workers, Queue, Timeout and MaxTimeout are the job pool's (package
	// jobs' defaults: 2 workers, 16 waiting, 5m, 30m).
	Workers, Queue      int
	Timeout, MaxTimeout time.Duration
	// Now and NewID replace the clock and the job ids (tests).
	Now   func() time.Time
	NewID func() string
}

// The problems of the trace routes.
var (
	probInvalidTrace     = problemKind{"invalid-trace", "Invalid trace request", http.StatusBadRequest}
	probTraceNotFound    = problemKind{"trace-not-found", "Trace job not found", http.StatusNotFound}
	probTraceQueueFull   = problemKind{"trace-queue-full", "Too many traces waiting", http.StatusServiceUnavailable}
	probTraceNotDone     = problemKind{"trace-not-done", "Trace not done", http.StatusConflict}
	probTraceFinished    = problemKind{"trace-finished", "Trace already finished", http.StatusConflict}
	probNoTraces         = problemKind{"traces-unavailable", "Tracing unavailable", http.StatusNotFound}
	probTraceFailed      = problemKind{"trace-failed", "Trace failed", http.StatusUnprocessableEntity}
	probTraceTimedOut    = problemKind{"trace-timeout", "Trace timed out", http.StatusGatewayTimeout}
	probTraceWasCanceled = problemKind{"trace-cancelled", "Trace cancelled", http.StatusConflict}
)

// TraceRequest is the body of POST /api/v1/traces: trace.Params as JSON,
// with times as RFC 3339 or YYYY-MM-DD and the job's timeout.
type TraceRequest struct {
	Chain            string        `json:"chain"`
	From             []string      `json:"from,omitempty"`
	FromTxs          []string      `json:"from_txs,omitempty"`
	Incident         string        `json:"incident,omitempty"`
	Direction        string        `json:"direction,omitempty"`
	Model            string        `json:"model,omitempty"`
	Hops             int           `json:"hops,omitempty"`
	MinValue         *model.Amount `json:"min_value,omitempty"`
	Since            string        `json:"since,omitempty"`
	Until            string        `json:"until,omitempty"`
	Asset            string        `json:"asset,omitempty"`
	ThroughMixers    bool          `json:"through_mixers,omitempty"`
	NoSwaps          bool          `json:"no_swaps,omitempty"`
	ChangeSameHop    bool          `json:"change_same_hop,omitempty"`
	ChangeConfidence float64       `json:"change_confidence,omitempty"`
	StopAt           []string      `json:"stop_at,omitempty"`
	// Timeout bounds the trace ("90s", "10m"); the server's default when
	// empty, its maximum at most.
	Timeout string `json:"timeout,omitempty"`
}

// TraceJob answers the trace routes: a job, where it is, and once done
// the saved trace's id and a summary of its result.
type TraceJob struct {
	ID       string       `json:"id"`
	Status   jobs.Status  `json:"status"`
	Params   trace.Params `json:"params"`
	Timeout  string       `json:"timeout"`
	Created  time.Time    `json:"created"`
	Started  *time.Time   `json:"started,omitempty"`
	Finished *time.Time   `json:"finished,omitempty"`
	// TraceID names the saved trace (chaintrace traces show ID, watch
	// add --from-trace ID) once the job is done.
	TraceID string        `json:"trace_id,omitempty"`
	Error   *Problem      `json:"error,omitempty"`
	Summary *TraceSummary `json:"summary,omitempty"`
	Links   TraceLinks    `json:"links"`
}

// TraceLinks are the URLs of a job's routes.
type TraceLinks struct {
	Self   string `json:"self"`
	Result string `json:"result,omitempty"`
}

// TraceSummary is the gist of a finished trace: the largest endpoints
// and holdings, every total, and the size of the flow graph.
type TraceSummary struct {
	Heights   map[string]uint64 `json:"heights"`
	Nodes     int               `json:"nodes"`
	Edges     int               `json:"edges"`
	Endpoints []trace.Endpoint  `json:"endpoints"`
	// EndpointCount and HoldingCount count them all; the lists hold the
	// largest 20.
	EndpointCount int             `json:"endpoint_count"`
	Holdings      []trace.Holding `json:"holdings"`
	HoldingCount  int             `json:"holding_count"`
	Totals        []trace.Totals  `json:"totals"`
	Stats         trace.Stats     `json:"stats"`
}

// TraceJobList answers GET /api/v1/traces.
type TraceJobList struct {
	Jobs []TraceJob `json:"jobs"`
}

// traceOutcome is what a job leaves: the saved trace's id and the
// summary, and the result itself when there is no data directory.
type traceOutcome struct {
	TraceID string
	Summary *TraceSummary
	Result  *trace.Result
}

// tracePool is the job pool of the trace routes.
type tracePool = jobs.Pool[trace.Params, traceOutcome]

// traceJob is a snapshot of one trace job.
type traceJob = jobs.Job[trace.Params, traceOutcome]

// traceJobs runs and remembers the trace jobs.
type traceJobs struct {
	cfg     TraceConfig
	log     *slog.Logger
	pool    *tracePool
	journal jobJournal
}

// newTraceJobs returns the trace jobs of cfg, nil without a tracer.
func newTraceJobs(cfg TraceConfig, log *slog.Logger) *traceJobs {
	if cfg.Tracer == nil {
		return nil
	}
	t := &traceJobs{cfg: cfg, log: log}
	o := jobs.Options{Workers: cfg.Workers, Queue: cfg.Queue, Timeout: cfg.Timeout, MaxTimeout: cfg.MaxTimeout, Now: cfg.Now, NewID: cfg.NewID}
	t.pool = jobs.New(t.run, o, t.finished)
	return t
}

// run is a job's work: the trace, saved once done.
func (t *traceJobs) run(ctx context.Context, p trace.Params) (traceOutcome, error) {
	res, err := t.cfg.Tracer.Trace(ctx, p)
	if err != nil {
		return traceOutcome{}, err
	}
	out := traceOutcome{Summary: summarizeTrace(res)}
	if t.cfg.Data == "" {
		out.Result = res
		return out, nil
	}
	sum, err := tracestore.Save(ctx, t.cfg.Data, res)
	if err != nil {
		return traceOutcome{}, err
	}
	out.TraceID = sum.ID
	return out, nil
}

// finished records a job that ended in the journal.
func (t *traceJobs) finished(j traceJob) {
	if t.cfg.Data == "" {
		return
	}
	rec := jobDocument(j)
	rec.Summary, rec.Links = nil, TraceLinks{}
	if err := appendJobRecord(context.Background(), t.cfg.Data, rec); err != nil {
		t.log.LogAttrs(context.Background(), slog.LevelError, "trace job not recorded", slog.String("job", j.ID), slog.String("error", err.Error()))
	}
}

// summarizeTrace makes the summary of a result. Its lists are never
// null, so that a client iterates them without a check.
func summarizeTrace(r *trace.Result) *TraceSummary {
	return &TraceSummary{
		Heights: r.Heights, Nodes: len(r.Nodes), Edges: len(r.Edges),
		Endpoints:     append([]trace.Endpoint{}, r.Endpoints[:min(len(r.Endpoints), traceSummaryRows)]...),
		EndpointCount: len(r.Endpoints),
		Holdings:      append([]trace.Holding{}, r.Holdings[:min(len(r.Holdings), traceSummaryRows)]...),
		HoldingCount:  len(r.Holdings),
		Totals:        append([]trace.Totals{}, r.Totals...), Stats: r.Stats,
	}
}

// jobLinks returns the links of job id; a done job has a result.
func jobLinks(id string, status jobs.Status) TraceLinks {
	l := TraceLinks{Self: "/api/v1/traces/" + url.PathEscape(id)}
	if status == jobs.Done {
		l.Result = l.Self + "/result"
	}
	return l
}

// jobDocument is the answer for a job. A failed or cancelled job's
// problem has no instance or request id: it outlives the request that
// started the job and is the same whoever asks.
func jobDocument(j traceJob) TraceJob {
	d := TraceJob{ID: j.ID, Status: j.Status, Params: j.Params, Timeout: j.Timeout.String(), Created: j.Created.UTC(),
		TraceID: j.Result.TraceID, Summary: j.Result.Summary, Links: jobLinks(j.ID, j.Status)}
	if !j.Started.IsZero() {
		t := j.Started.UTC()
		d.Started = &t
	}
	if !j.Finished.IsZero() {
		t := j.Finished.UTC()
		d.Finished = &t
	}
	if j.Err != nil {
		k := probTraceFailed
		switch {
		case errors.Is(j.Err, jobs.ErrTimeout):
			k = probTraceTimedOut
		case j.Status == jobs.Cancelled:
			k = probTraceWasCanceled
		}
		d.Error = &Problem{Type: problemBase + k.slug, Title: k.title, Status: k.status, Detail: strings.TrimPrefix(j.Err.Error(), "trace: ")}
		if j.Status == jobs.Cancelled {
			d.Error.Detail = "the trace was cancelled"
			if errors.Is(j.Err, jobs.ErrClosed) {
				d.Error.Detail = "the server shut down before the trace finished"
			}
		}
	}
	return d
}

// tracesUnavailable answers when the server has no tracer.
func (s *Server) tracesUnavailable(w http.ResponseWriter, r *http.Request) bool {
	if s.traces != nil {
		return false
	}
	writeProblem(w, newProblem(r, probNoTraces, "this server has no chain stores to trace (chaintrace serve traces over those under --data)"))
	return true
}

// CloseTraces cancels the trace jobs, queued and running, and waits for
// them to stop; Serve calls it when shutting down.
func (s *Server) CloseTraces() {
	if s.traces != nil {
		s.traces.pool.Close()
	}
}

// traceParams validates a request and makes its trace parameters; a
// problem names the field at fault.
func (s *Server) traceParams(r *http.Request, req *TraceRequest) (trace.Params, time.Duration, *Problem) {
	bad := func(field, format string, a ...any) (trace.Params, time.Duration, *Problem) {
		return trace.Params{}, 0, fieldProblem(r, probInvalidTrace, field, fmt.Sprintf(format, a...))
	}
	chains := s.traces.cfg.Tracer.Chains()
	if req.Chain == "" {
		return bad("chain", "chain is required (one of %s)", strings.Join(chains, ", "))
	}
	if !slices.Contains(chains, req.Chain) {
		return bad("chain", "unknown chain %q (stores: %s)", req.Chain, strings.Join(chains, ", "))
	}
	p := trace.Params{Chain: req.Chain, Incident: req.Incident, Direction: trace.Direction(req.Direction), Model: trace.Model(req.Model),
		Hops: req.Hops, Asset: req.Asset, ThroughMixers: req.ThroughMixers, NoSwaps: req.NoSwaps,
		ChangeSameHop: req.ChangeSameHop, ChangeConfidence: req.ChangeConfidence, StopAt: req.StopAt}
	addrChain := trace.AddrChain(req.Chain)
	for i, a := range req.From {
		n, err := addrs.Normalize(addrChain, a)
		if err != nil {
			return bad(fmt.Sprintf("from[%d]", i), "%s", strings.TrimPrefix(err.Error(), "addrs: "))
		}
		p.From = append(p.From, n)
	}
	for i, h := range req.FromTxs {
		if !validTxHash(addrChain, h) {
			return bad(fmt.Sprintf("from_txs[%d]", i), "%q is not a transaction hash (64 hex digits%s)", h, map[bool]string{true: " after 0x", false: ""}[addrs.IsEVM(addrChain)])
		}
		p.FromTxs = append(p.FromTxs, h)
	}
	if req.Incident != "" {
		src, ok := s.traces.cfg.Tracer.(IncidentSources)
		if !ok {
			return bad("incident", "this server cannot read the incident registry")
		}
		from, txs, err := src.IncidentSources(r.Context(), req.Incident, req.Chain)
		if err != nil {
			return bad("incident", "%s", err.Error())
		}
		p.From, p.FromTxs = append(p.From, from...), append(p.FromTxs, txs...)
	}
	switch n := len(p.From) + len(p.FromTxs); {
	case n == 0:
		return bad("from", "no source: give from (addresses), from_txs (transactions) or incident")
	case n > MaxTraceSources:
		return bad("from", "%d sources; the limit is %d", n, MaxTraceSources)
	}
	if req.Hops < 0 || req.Hops > MaxTraceHops {
		return bad("hops", "hops must be from 1 to %d, not %d", MaxTraceHops, req.Hops)
	}
	if req.MinValue != nil {
		p.MinValue = *req.MinValue
	}
	var err error
	if p.Since, err = parseTraceTime(req.Since); err != nil {
		return bad("since", "%s", err)
	}
	if p.Until, err = parseTraceTime(req.Until); err != nil {
		return bad("until", "%s", err)
	}
	if req.ChangeConfidence < 0 || req.ChangeConfidence > 1 {
		return bad("change_confidence", "change_confidence must be from 0 to 1, not %g", req.ChangeConfidence)
	}
	if err := p.Validate(); err != nil {
		field := "params"
		switch {
		case strings.Contains(err.Error(), "direction"):
			field = "direction"
		case strings.Contains(err.Error(), "model"):
			field = "model"
		case strings.Contains(err.Error(), "window"):
			field = "until"
		}
		return bad(field, "%s", strings.TrimPrefix(err.Error(), "trace: "))
	}
	var timeout time.Duration
	if req.Timeout != "" {
		if timeout, err = time.ParseDuration(req.Timeout); err != nil || timeout <= 0 {
			return bad("timeout", "timeout must be a positive duration such as 90s or 10m, not %q", req.Timeout)
		}
		if max := s.traces.pool.Options().MaxTimeout; timeout > max {
			return bad("timeout", "timeout %s exceeds the server's limit of %s", timeout, max)
		}
	}
	return p, timeout, nil
}

// validTxHash reports whether h is a transaction hash of the chain
// family: 64 hex digits, after 0x on an EVM chain.
func validTxHash(addrChain, h string) bool {
	if addrs.IsEVM(addrChain) {
		var ok bool
		if h, ok = strings.CutPrefix(h, "0x"); !ok {
			return false
		}
	}
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// parseTraceTime reads a time as RFC 3339 or YYYY-MM-DD; empty is zero.
func parseTraceTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339 (2022-03-29T12:00:00Z) or YYYY-MM-DD", s)
}

// handleStartTrace serves POST /api/v1/traces: 202 with the queued job,
// or with ?wait=DURATION the job once it ends within that time (200). A
// client that goes away while waiting cancels its trace.
func (s *Server) handleStartTrace(w http.ResponseWriter, r *http.Request) {
	if s.tracesUnavailable(w, r) {
		return
	}
	if !jsonBody(r) {
		writeProblem(w, newProblem(r, probUnsupportedMedia, "the body must be application/json, not "+strconv.Quote(r.Header.Get("Content-Type"))))
		return
	}
	var wait time.Duration
	for k, v := range r.URL.Query() {
		if k != "wait" {
			writeProblem(w, newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want wait)"))
			return
		}
		d, err := time.ParseDuration(v[0])
		if err != nil || d < 0 || d > MaxTraceWait {
			writeProblem(w, newProblem(r, probInvalidParam, "wait must be a duration from 0s to "+MaxTraceWait.String()+", not "+strconv.Quote(v[0])))
			return
		}
		wait = d
	}
	var req TraceRequest
	if p := s.decodeBody(w, r, &req); p != nil {
		writeProblem(w, p)
		return
	}
	params, timeout, p := s.traceParams(r, &req)
	if p != nil {
		writeProblem(w, p)
		return
	}
	job, err := s.traces.pool.Submit(params, timeout)
	if err != nil {
		detail := "the server is shutting down"
		if errors.Is(err, jobs.ErrFull) {
			running, queued := s.traces.pool.Load()
			detail = fmt.Sprintf("%d traces running and %d waiting; retry later", running, queued)
		}
		w.Header().Set("Retry-After", strconv.Itoa(traceRetryAfter))
		writeProblem(w, newProblem(r, probTraceQueueFull, detail))
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "trace job queued", slog.String("request_id", requestID(r.Context())),
		slog.String("job", job.ID), slog.String("chain", params.Chain), slog.Int("hops", params.Hops))
	w.Header().Set("Location", "/api/v1/traces/"+url.PathEscape(job.ID))
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		done, err := s.traces.pool.Wait(ctx, job.ID)
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, jobDocument(done))
			return
		case r.Context().Err() != nil:
			// The client went away: nobody waits for the answer.
			_, _ = s.traces.pool.Cancel(job.ID)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "trace job cancelled: the client went away", slog.String("job", job.ID))
			return
		}
		job, _ = s.traces.pool.Get(job.ID)
	}
	writeJSON(w, http.StatusAccepted, jobDocument(job))
}

// handleTraceJob serves GET /api/v1/traces/{id}: a job by id, also one
// that ended before a restart (from the journal), or a saved trace by
// its id, as a done job.
func (s *Server) handleTraceJob(w http.ResponseWriter, r *http.Request) {
	if s.tracesUnavailable(w, r) {
		return
	}
	d, p := s.findJob(r, r.PathValue("id"), true)
	if p != nil {
		writeProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// findJob returns job id from the pool, the journal or the saved traces;
// summary loads the saved trace of a done job the pool forgot.
func (s *Server) findJob(r *http.Request, id string, summary bool) (TraceJob, *Problem) {
	if j, ok := s.traces.pool.Get(id); ok {
		return jobDocument(j), nil
	}
	data := s.traces.cfg.Data
	if data == "" {
		return TraceJob{}, newProblem(r, probTraceNotFound, "no trace job "+strconv.Quote(id))
	}
	var d TraceJob
	if tracestore.ValidID(id) {
		res, sum, err := tracestore.Load(r.Context(), data, id)
		if err != nil {
			return TraceJob{}, s.traceLoadProblem(r, id, err)
		}
		saved := sum.Saved
		d = TraceJob{ID: id, Status: jobs.Done, Params: res.Params, Created: saved, Finished: &saved, TraceID: id, Links: jobLinks(id, jobs.Done)}
		if summary {
			d.Summary = summarizeTrace(res)
		}
		return d, nil
	}
	d, ok, err := s.traces.journal.findJobRecord(r.Context(), data, id)
	if err != nil {
		return TraceJob{}, s.errProblem(r, err)
	}
	if !ok {
		return TraceJob{}, newProblem(r, probTraceNotFound, "no trace job "+strconv.Quote(id))
	}
	d.Links = jobLinks(id, d.Status)
	if summary && d.TraceID != "" {
		res, _, err := tracestore.Load(r.Context(), data, d.TraceID)
		if err != nil {
			return TraceJob{}, s.traceLoadProblem(r, d.TraceID, err)
		}
		d.Summary = summarizeTrace(res)
	}
	return d, nil
}

// traceLoadProblem maps an error loading a saved trace to its problem.
func (s *Server) traceLoadProblem(r *http.Request, id string, err error) *Problem {
	if errors.Is(err, tracestore.ErrNotFound) {
		return newProblem(r, probTraceNotFound, "no saved trace "+strconv.Quote(id))
	}
	return s.errProblem(r, err)
}

// handleCancelTrace serves DELETE /api/v1/traces/{id}: cancels a queued
// or running job and answers it once it stopped (or after 5 s, still
// running, if the trace is slow to notice).
func (s *Server) handleCancelTrace(w http.ResponseWriter, r *http.Request) {
	if s.tracesUnavailable(w, r) {
		return
	}
	id := r.PathValue("id")
	j, err := s.traces.pool.Cancel(id)
	if err != nil {
		d, p := s.findJob(r, id, false)
		if p != nil {
			writeProblem(w, p)
			return
		}
		writeProblem(w, newProblem(r, probTraceFinished, "trace job "+id+" already ended "+string(d.Status)))
		return
	}
	if j.Status.Final() && j.Status != jobs.Cancelled {
		writeProblem(w, newProblem(r, probTraceFinished, "trace job "+id+" already ended "+string(j.Status)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if done, err := s.traces.pool.Wait(ctx, id); err == nil {
		j = done
	}
	writeJSON(w, http.StatusOK, jobDocument(j))
}

// handleTraceJobs serves GET /api/v1/traces: the recent jobs, newest
// first, those of the journal after those the server remembers;
// ?status filters, ?limit bounds (1 to 500, default 50).
func (s *Server) handleTraceJobs(w http.ResponseWriter, r *http.Request) {
	if s.tracesUnavailable(w, r) {
		return
	}
	q := r.URL.Query()
	limit := 50
	var status jobs.Status
	for k, v := range q {
		switch k {
		case "limit":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > 500 {
				writeProblem(w, newProblem(r, probInvalidParam, "limit must be an integer from 1 to 500, not "+strconv.Quote(v[0])))
				return
			}
			limit = n
		case "status":
			status = jobs.Status(v[0])
			if !slices.Contains([]jobs.Status{jobs.Queued, jobs.Running, jobs.Done, jobs.Failed, jobs.Cancelled}, status) {
				writeProblem(w, newProblem(r, probInvalidParam, "status must be queued, running, done, failed or cancelled, not "+strconv.Quote(v[0])))
				return
			}
		default:
			writeProblem(w, newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want status or limit)"))
			return
		}
	}
	out := TraceJobList{Jobs: []TraceJob{}}
	seen := map[string]bool{}
	add := func(d TraceJob) {
		if len(out.Jobs) < limit && !seen[d.ID] && (status == "" || d.Status == status) {
			d.Summary = nil
			out.Jobs = append(out.Jobs, d)
		}
		seen[d.ID] = true
	}
	for _, j := range s.traces.pool.List() {
		add(jobDocument(j))
	}
	if s.traces.cfg.Data != "" && len(out.Jobs) < limit {
		recs, err := s.traces.journal.records(r.Context(), s.traces.cfg.Data)
		if err != nil {
			writeProblem(w, s.errProblem(r, err))
			return
		}
		for i := len(recs) - 1; i >= 0; i-- {
			d := recs[i] // a copy: the journal's records are shared
			d.Links = jobLinks(d.ID, d.Status)
			add(d)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
