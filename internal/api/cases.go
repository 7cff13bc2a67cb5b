package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/cases"
)

// CaseStore keeps investigation cases; *cases.Store implements it.
type CaseStore interface {
	Create(ctx context.Context, in cases.Input) (cases.Case, error)
	Get(ctx context.Context, id string) (cases.Case, error)
	List(ctx context.Context) ([]cases.Summary, error)
	Update(ctx context.Context, id string, version int64, in cases.Input) (cases.Case, error)
	Delete(ctx context.Context, id string, version int64) error
}

var _ CaseStore = (*cases.Store)(nil)

// MaxCases is the most cases GET /api/v1/cases lists (?limit, by
// default all of them up to this).
const MaxCases = 1000

// MaxCaseBytes bounds a case's body: a saved graph of thousands of nodes
// is larger than the other routes' bodies.
const MaxCaseBytes = 8 << 20

// The problems of the case routes.
var (
	probInvalidCase      = problemKind{"invalid-case", "Invalid case", http.StatusBadRequest}
	probCaseNotFound     = problemKind{"case-not-found", "Case not found", http.StatusNotFound}
	probCaseConflict     = problemKind{"version-conflict", "Case changed since that version", http.StatusPreconditionFailed}
	probVersionRequired  = problemKind{"version-required", "If-Match required", http.StatusPreconditionRequired}
	probNoCases          = problemKind{"cases-unavailable", "Cases unavailable", http.StatusNotFound}
	probInvalidCondition = problemKind{"invalid-if-match", "Invalid If-Match", http.StatusBadRequest}
)

// CaseList answers GET /api/v1/cases.
type CaseList struct {
	Cases []cases.Summary `json:"cases"`
}

// casesUnavailable answers when the server keeps no cases.
func (s *Server) casesUnavailable(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Cases != nil {
		return false
	}
	writeProblem(w, newProblem(r, probNoCases, "this server keeps no cases (chaintrace serve keeps them under --data)"))
	return true
}

// caseProblem maps a store error to its problem.
func (s *Server) caseProblem(r *http.Request, err error) *Problem {
	var fe *cases.FieldError
	switch {
	case errors.As(err, &fe):
		return fieldProblem(r, probInvalidCase, fe.Field, fe.Reason)
	case errors.Is(err, cases.ErrNotFound):
		return newProblem(r, probCaseNotFound, "no case "+strconv.Quote(r.PathValue("id")))
	case errors.Is(err, cases.ErrConflict):
		return newProblem(r, probCaseConflict, strings.TrimPrefix(err.Error(), "cases: version conflict: ")+"; GET it again and reapply the change")
	}
	return s.errProblem(r, err)
}

// caseETag is the entity tag of a case's version, which If-Match
// names.
func caseETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads the version an If-Match names ("3" quoted as an entity
// tag, or bare); 0 with no problem when absent.
func ifMatch(r *http.Request) (int64, *Problem) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v < 1 {
		return 0, newProblem(r, probInvalidCondition, "If-Match must be the case's version as GET gave it in ETag (\"3\"), not "+strconv.Quote(h))
	}
	return v, nil
}

// decodeCase reads a case body of at most MaxCaseBytes, strictly.
func (s *Server) decodeCase(w http.ResponseWriter, r *http.Request) (cases.Input, *Problem) {
	var in cases.Input
	if !jsonBody(r) {
		return in, newProblem(r, probUnsupportedMedia, "the body must be application/json, not "+strconv.Quote(r.Header.Get("Content-Type")))
	}
	if r.URL.RawQuery != "" {
		return in, newProblem(r, probInvalidParam, r.Method+" "+r.URL.Path+" takes no query parameters")
	}
	if r.ContentLength > MaxCaseBytes {
		return in, newProblem(r, probBodyTooLarge, "the body has "+strconv.FormatInt(r.ContentLength, 10)+" bytes; the limit is "+strconv.Itoa(MaxCaseBytes))
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxCaseBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	switch {
	case err == nil:
		return in, nil
	case errors.As(err, &mbe):
		return in, newProblem(r, probBodyTooLarge, "the body exceeds the limit of "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	case errors.Is(err, io.EOF):
		return in, newProblem(r, probInvalidBody, "the body is empty")
	case errors.As(err, &ute) && ute.Field != "":
		return in, fieldProblem(r, probInvalidCase, ute.Field, "want a JSON "+ute.Type.Kind().String()+", not "+ute.Value)
	}
	return in, newProblem(r, probInvalidBody, "the body is not a valid case: "+err.Error())
}

// writeCase answers a case with its version as ETag.
func writeCase(w http.ResponseWriter, status int, c cases.Case) {
	w.Header().Set("ETag", caseETag(c.Version))
	writeJSON(w, status, c)
}

// handleCreateCase serves POST /api/v1/cases: 201 with the case.
func (s *Server) handleCreateCase(w http.ResponseWriter, r *http.Request) {
	if s.casesUnavailable(w, r) {
		return
	}
	in, p := s.decodeCase(w, r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	c, err := s.cfg.Cases.Create(r.Context(), in)
	if err != nil {
		writeProblem(w, s.caseProblem(r, err))
		return
	}
	w.Header().Set("Location", "/api/v1/cases/"+url.PathEscape(c.ID))
	writeCase(w, http.StatusCreated, c)
}

// handleCases serves GET /api/v1/cases: the cases' summaries, the most
// recently updated first, at most ?limit.
func (s *Server) handleCases(w http.ResponseWriter, r *http.Request) {
	if s.casesUnavailable(w, r) {
		return
	}
	limit := MaxCases
	for k, v := range r.URL.Query() {
		if k != "limit" {
			writeProblem(w, newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want limit)"))
			return
		}
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > MaxCases {
			writeProblem(w, newProblem(r, probInvalidParam, "limit must be an integer from 1 to "+strconv.Itoa(MaxCases)+", not "+strconv.Quote(v[0])))
			return
		}
		limit = n
	}
	list, err := s.cfg.Cases.List(r.Context())
	if err != nil {
		writeProblem(w, s.caseProblem(r, err))
		return
	}
	writeJSON(w, http.StatusOK, CaseList{Cases: list[:min(len(list), limit)]})
}

// handleCase serves GET /api/v1/cases/{id}, with the version as ETag.
func (s *Server) handleCase(w http.ResponseWriter, r *http.Request) {
	if s.casesUnavailable(w, r) {
		return
	}
	c, err := s.cfg.Cases.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeProblem(w, s.caseProblem(r, err))
		return
	}
	writeCase(w, http.StatusOK, c)
}

// handleUpdateCase serves PUT /api/v1/cases/{id}: replaces the case if
// If-Match names its current version (412 otherwise, 428 without one).
func (s *Server) handleUpdateCase(w http.ResponseWriter, r *http.Request) {
	if s.casesUnavailable(w, r) {
		return
	}
	version, p := ifMatch(r)
	if p == nil && version == 0 {
		p = newProblem(r, probVersionRequired, "send If-Match with the version (ETag) of the case this change was made to, so that nobody's change is lost")
	}
	if p != nil {
		writeProblem(w, p)
		return
	}
	in, p := s.decodeCase(w, r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	c, err := s.cfg.Cases.Update(r.Context(), r.PathValue("id"), version, in)
	if err != nil {
		writeProblem(w, s.caseProblem(r, err))
		return
	}
	writeCase(w, http.StatusOK, c)
}

// handleDeleteCase serves DELETE /api/v1/cases/{id}: 204; with If-Match
// only if the case is at that version (412 otherwise).
func (s *Server) handleDeleteCase(w http.ResponseWriter, r *http.Request) {
	if s.casesUnavailable(w, r) {
		return
	}
	version, p := ifMatch(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if err := s.cfg.Cases.Delete(r.Context(), r.PathValue("id"), version); err != nil {
		writeProblem(w, s.caseProblem(r, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
