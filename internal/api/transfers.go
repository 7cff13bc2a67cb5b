package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/kyt"
)

// TransferRegistry registers received transfers and answers their
// screening (deposit screening); *kyt.Registry implements it.
type TransferRegistry interface {
	// Register registers a transfer and screens it, or keeps it pending.
	Register(ctx context.Context, req kyt.Request) (kyt.Transfer, error)
	// Get returns a registered transfer by id.
	Get(ctx context.Context, id string) (kyt.Transfer, error)
	// List returns a page of transfers after cursor that pass f.
	List(ctx context.Context, f kyt.Filter, cursor string, limit int) (kyt.Page, error)
}

var _ TransferRegistry = (*kyt.Registry)(nil)

// The problems of the transfer routes.
var (
	probInvalidTransfer  = problemKind{"invalid-transfer", "Invalid transfer", http.StatusBadRequest}
	probNoSuchTransfer   = problemKind{"no-such-transfer", "No such transfer in the transaction", http.StatusNotFound}
	probTransferNotFound = problemKind{"transfer-not-found", "Transfer not found", http.StatusNotFound}
	probTransferConflict = problemKind{"transfer-conflict", "Transfer registered for another user", http.StatusConflict}
	probNoTransfers      = problemKind{"transfers-unavailable", "Deposit screening unavailable", http.StatusNotFound}
)

// transferProblem maps a registry error to its problem.
func (s *Server) transferProblem(r *http.Request, err error) *Problem {
	detail := strings.TrimPrefix(err.Error(), "kyt: ")
	switch {
	case errors.Is(err, kyt.ErrConflict):
		return newProblem(r, probTransferConflict, detail)
	case errors.Is(err, kyt.ErrNoSuchTransfer):
		return newProblem(r, probNoSuchTransfer, detail)
	case errors.Is(err, kyt.ErrNotFound):
		return newProblem(r, probTransferNotFound, detail)
	case errors.Is(err, kyt.ErrBadCursor):
		return newProblem(r, probUnknownCursor, detail)
	case errors.Is(err, kyt.ErrInvalid):
		return newProblem(r, probInvalidTransfer, detail)
	}
	return s.errProblem(r, err)
}

// transfersUnavailable answers when the server has no registry.
func (s *Server) transfersUnavailable(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Transfers != nil {
		return false
	}
	writeProblem(w, newProblem(r, probNoTransfers, "this server has no transfer registry (chaintrace serve opens one under --data)"))
	return true
}

// handleRegisterTransfer serves POST /api/v1/transfers: 200 with the
// screening, or 202 while the transaction is not in the chain store.
func (s *Server) handleRegisterTransfer(w http.ResponseWriter, r *http.Request) {
	if s.transfersUnavailable(w, r) {
		return
	}
	if !jsonBody(r) {
		writeProblem(w, newProblem(r, probUnsupportedMedia, "the body must be application/json, not "+strconv.Quote(r.Header.Get("Content-Type"))))
		return
	}
	if r.URL.RawQuery != "" {
		writeProblem(w, newProblem(r, probInvalidParam, "POST /api/v1/transfers takes no query parameters"))
		return
	}
	var req kyt.Request
	if p := s.decodeBody(w, r, &req); p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	t, err := s.cfg.Transfers.Register(ctx, req)
	if err != nil {
		writeProblem(w, s.transferProblem(r, err))
		return
	}
	w.Header().Set("Location", "/api/v1/transfers/"+url.PathEscape(t.ID))
	status := http.StatusOK
	if t.Status == kyt.StatusPending {
		status = http.StatusAccepted
	}
	writeJSON(w, status, t)
}

// handleTransfer serves GET /api/v1/transfers/{id}.
func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	if s.transfersUnavailable(w, r) {
		return
	}
	t, err := s.cfg.Transfers.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeProblem(w, s.transferProblem(r, err))
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// handleTransfers serves GET /api/v1/transfers: pages of transfers in
// registration order, filtered by user_id and rating (a level or
// "pending"), resumed from cursor.
func (s *Server) handleTransfers(w http.ResponseWriter, r *http.Request) {
	if s.transfersUnavailable(w, r) {
		return
	}
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "user_id", "rating", "cursor", "limit":
		default:
			writeProblem(w, newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want user_id, rating, cursor or limit)"))
			return
		}
	}
	limit := kyt.DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > kyt.MaxLimit {
			writeProblem(w, newProblem(r, probInvalidParam, "limit must be an integer from 1 to "+strconv.Itoa(kyt.MaxLimit)+", not "+strconv.Quote(v)))
			return
		}
		limit = n
	}
	f := kyt.Filter{UserID: q.Get("user_id"), Rating: q.Get("rating")}
	if err := kyt.CheckFilter(f); err != nil {
		writeProblem(w, newProblem(r, probInvalidParam, "rating must be LOW, MEDIUM, HIGH, SEVERE, pending or invalid, not "+strconv.Quote(f.Rating)))
		return
	}
	page, err := s.cfg.Transfers.List(r.Context(), f, q.Get("cursor"), limit)
	if err != nil {
		writeProblem(w, s.transferProblem(r, err))
		return
	}
	writeJSON(w, http.StatusOK, page)
}
