package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/screen"
)

// handleScreen serves GET /api/v1/screen/{chain}/{address}.
func (s *Server) handleScreen(w http.ResponseWriter, r *http.Request) {
	var opts screen.Options
	if r.URL.RawQuery != "" {
		var p *Problem
		if opts, p = screenOptions(r, r.URL.Query(), opts); p != nil {
			writeProblem(w, p)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.screener.Screen(ctx, r.PathValue("chain"), r.PathValue("address"), opts)
	if err != nil {
		writeProblem(w, s.errProblem(r, err))
		return
	}
	writeJSON(w, http.StatusOK, &res)
}

// screenOptions reads the hops and exposure query parameters over opts.
func screenOptions(r *http.Request, q url.Values, opts screen.Options) (screen.Options, *Problem) {
	for k := range q {
		if k != "hops" && k != "exposure" {
			return opts, newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want hops or exposure)")
		}
	}
	if v := q.Get("hops"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > screen.MaxHops {
			return opts, newProblem(r, probInvalidParam, "hops must be an integer from 1 to "+strconv.Itoa(screen.MaxHops)+", not "+strconv.Quote(v))
		}
		opts.Hops = n
	}
	if v := q.Get("exposure"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opts, newProblem(r, probInvalidParam, "exposure must be true or false, not "+strconv.Quote(v))
		}
		opts.NoExposure = !b
	}
	return opts, nil
}

// errProblem maps an error of screening or of the label store to a
// problem, logging the unexpected ones.
func (s *Server) errProblem(r *http.Request, err error) *Problem {
	detail := strings.TrimPrefix(err.Error(), "screen: ")
	switch {
	case errors.Is(err, addrs.ErrUnknownChain):
		return newProblem(r, probUnknownChain, detail)
	case errors.Is(err, addrs.ErrInvalid):
		return newProblem(r, probInvalidAddress, detail)
	case errors.Is(err, screen.ErrBadOptions):
		return newProblem(r, probInvalidParam, detail)
	case errors.Is(err, context.DeadlineExceeded):
		return newProblem(r, probTimeout, "screening took longer than "+s.cfg.RequestTimeout.String())
	case errors.Is(err, context.Canceled):
		return newProblem(r, probCancelled, "the request was cancelled")
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
		slog.String("request_id", requestID(r.Context())), slog.String("error", err.Error()))
	return newProblem(r, probInternal, "the request failed; quote request id "+requestID(r.Context())+" when reporting this")
}

// BatchRequest is the body of POST /api/v1/screen. Hops and Exposure,
// when given, override the query parameters of the same names.
type BatchRequest struct {
	Addresses []BatchAddress `json:"addresses"`
	Hops      *int           `json:"hops,omitempty"`
	Exposure  *bool          `json:"exposure,omitempty"`
}

// BatchAddress is one address of a batch.
type BatchAddress struct {
	Chain   string `json:"chain"`
	Address string `json:"address"`
}

// BatchResponse answers a batch: one item per address, in request order.
type BatchResponse struct {
	Count   int         `json:"count"`
	Errors  int         `json:"errors"`
	Results []BatchItem `json:"results"`
}

// BatchItem is the result for one address of a batch, or the problem
// that prevented it (without instance, which is the batch's).
type BatchItem struct {
	Chain   string         `json:"chain"`
	Address string         `json:"address"`
	Result  *screen.Result `json:"result,omitempty"`
	Error   *Problem       `json:"error,omitempty"`
}

// handleBatch serves POST /api/v1/screen.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	if !jsonBody(r) {
		writeProblem(w, newProblem(r, probUnsupportedMedia, "the body must be application/json, not "+strconv.Quote(r.Header.Get("Content-Type"))))
		return
	}
	opts := screen.Options{}
	if r.URL.RawQuery != "" {
		var p *Problem
		if opts, p = screenOptions(r, r.URL.Query(), opts); p != nil {
			writeProblem(w, p)
			return
		}
	}
	var req BatchRequest
	if p := s.decodeBody(w, r, &req); p != nil {
		writeProblem(w, p)
		return
	}
	switch {
	case len(req.Addresses) == 0:
		writeProblem(w, newProblem(r, probInvalidBody, `the batch holds no addresses: send {"addresses":[{"chain":"btc","address":"..."}]}`))
		return
	case len(req.Addresses) > s.cfg.MaxBatch:
		writeProblem(w, newProblem(r, probBatchTooLarge, "the batch holds "+strconv.Itoa(len(req.Addresses))+" addresses; the limit is "+strconv.Itoa(s.cfg.MaxBatch)))
		return
	}
	if req.Hops != nil {
		if *req.Hops < 1 || *req.Hops > screen.MaxHops {
			writeProblem(w, newProblem(r, probInvalidParam, "hops must be from 1 to "+strconv.Itoa(screen.MaxHops)+", not "+strconv.Itoa(*req.Hops)))
			return
		}
		opts.Hops = *req.Hops
	}
	if req.Exposure != nil {
		opts.NoExposure = !*req.Exposure
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	resp := BatchResponse{Count: len(req.Addresses), Results: make([]BatchItem, len(req.Addresses))}
	one := func(i int) {
		a := req.Addresses[i]
		item := &resp.Results[i]
		item.Chain, item.Address = a.Chain, a.Address
		res, err := s.screener.Screen(ctx, a.Chain, a.Address, opts)
		if err != nil {
			p := s.errProblem(r, err)
			p.Instance, p.RequestID = "", ""
			item.Error = p
			return
		}
		item.Result = &res
	}
	workers := 1
	if !opts.NoExposure && len(req.Addresses) > 1 {
		// Exposure reads the graph: spread it over the cores.
		workers = min(runtime.GOMAXPROCS(0), len(req.Addresses))
	}
	if workers == 1 {
		for i := range req.Addresses {
			one(i)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Go(func() {
				for i := range next {
					one(i)
				}
			})
		}
		for i := range req.Addresses {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		writeProblem(w, s.errProblem(r, err))
		return
	}
	for i := range resp.Results {
		if resp.Results[i].Error != nil {
			resp.Errors++
		}
	}
	writeJSON(w, http.StatusOK, &resp)
}

// decodeBody reads a JSON body of at most Config.MaxBodyBytes into v,
// strictly: unknown fields and trailing data are errors.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) *Problem {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return newProblem(r, probBodyTooLarge, "the body has "+strconv.FormatInt(r.ContentLength, 10)+" bytes; the limit is "+strconv.FormatInt(s.cfg.MaxBodyBytes, 10))
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return newProblem(r, probBodyTooLarge, "the body exceeds the limit of "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	}
	if errors.Is(err, io.EOF) {
		return newProblem(r, probInvalidBody, "the body is empty")
	}
	return newProblem(r, probInvalidBody, "the body is not a valid request: "+err.Error())
}

// LabelsResponse answers GET /api/v1/labels/{chain}/{address}.
type LabelsResponse struct {
	Chain   string         `json:"chain"`
	Address string         `json:"address"`
	Labels  []labels.Label `json:"labels"`
	// ActiveOnly is set when the server has no label store and answered
	// from the screening index, which holds no retired labels.
	ActiveOnly bool `json:"active_only,omitempty"`
}

// handleLabels serves GET /api/v1/labels/{chain}/{address}.
func (s *Server) handleLabels(w http.ResponseWriter, r *http.Request) {
	chain := strings.ToLower(strings.TrimSpace(r.PathValue("chain")))
	norm, err := addrs.Normalize(chain, r.PathValue("address"))
	if err != nil {
		writeProblem(w, s.errProblem(r, err))
		return
	}
	resp := LabelsResponse{Chain: chain, Address: norm}
	if s.labels == nil {
		resp.Labels, resp.ActiveOnly = s.screener.Index().Lookup(chain, norm), true
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		if resp.Labels, err = s.labels.Labels(ctx, chain, norm); err != nil {
			writeProblem(w, s.errProblem(r, err))
			return
		}
	}
	if resp.Labels == nil {
		resp.Labels = []labels.Label{}
	}
	writeJSON(w, http.StatusOK, &resp)
}

// ActorResponse answers GET /api/v1/actors/{id}: the actor and the root
// of its group hierarchy.
type ActorResponse struct {
	labels.Actor
	Root      string `json:"root"`
	RootLabel string `json:"root_label,omitempty"`
}

// handleActor serves GET /api/v1/actors/{id}.
func (s *Server) handleActor(w http.ResponseWriter, r *http.Request) {
	ix := s.screener.Index()
	id := r.PathValue("id")
	a, ok := ix.Actor(id)
	if !ok {
		writeProblem(w, newProblem(r, probActorNotFound, "no actor has id "+strconv.Quote(id)))
		return
	}
	resp := ActorResponse{Actor: a, Root: ix.ActorRoot(id)}
	if root, ok := ix.Actor(resp.Root); ok {
		resp.RootLabel = root.Label
	}
	writeJSON(w, http.StatusOK, &resp)
}

// Health answers GET /healthz.
type Health struct {
	Status    string   `json:"status"`
	Version   string   `json:"version,omitempty"`
	Labels    int      `json:"labels"`
	Addresses int      `json:"addresses"`
	Graphs    []string `json:"graphs"`
}

// handleHealth serves GET /healthz.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	ix := s.screener.Index()
	writeJSON(w, http.StatusOK, &Health{
		Status: "ok", Version: s.cfg.Version, Labels: ix.Labels(), Addresses: ix.Len(), Graphs: s.screener.Chains(),
	})
}
