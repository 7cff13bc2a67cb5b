package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/incident"
)

// IncidentRegistry is what the incident routes serve: the registry's
// records (package incident, sorted as its loaders sort them) and the
// published figures its reconciliation compares them with. The registry
// is fixed for the life of the server, which is why its answers carry
// strong ETags.
type IncidentRegistry struct {
	Records   []incident.Record
	Published []incident.Published
}

// Page sizes of the incident list.
const (
	DefaultIncidents = 50
	MaxIncidents     = 500
	// MaxIncidentQuery bounds the text of the q parameter.
	MaxIncidentQuery = 200
)

// Problems of the incident routes.
var (
	probNoIncidents      = problemKind{"incidents-unavailable", "Incidents unavailable", http.StatusNotFound}
	probIncidentNotFound = problemKind{"incident-not-found", "Incident not found", http.StatusNotFound}
	probNoReconciliation = problemKind{"reconciliation-unavailable", "Reconciliation unavailable", http.StatusNotFound}
)

// IncidentRecord is a record as "chaintrace incidents list --json"
// prints it: the record's fields, with sources holding the record's and
// its attribution's sources together, so that a reader sees every
// citation; chains and assets are empty lists rather than null.
type IncidentRecord struct {
	incident.Record
	Sources []incident.Source `json:"sources"`
}

// IncidentPage answers GET /api/v1/incidents: a page of the selected
// records, newest first, and how many the selection holds.
type IncidentPage struct {
	Items      []IncidentRecord `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
	Total      int              `json:"total"`
}

// IncidentStats answers GET /api/v1/incidents/stats: the selected
// records' count and USD per group, and over all of them. Grouped by
// chain, a record counts under every chain it names, so the rows then
// overlap (incident.Stats).
type IncidentStats struct {
	By    string            `json:"by"`
	Rows  []incident.Bucket `json:"rows"`
	Total incident.Bucket   `json:"total"`
}

// IncidentReconciliation answers GET /api/v1/incidents/reconciliation:
// the registry against each published figure, as "chaintrace incidents
// stats --reconcile" computes it, and the share of a figure that may stay
// unexplained.
type IncidentReconciliation struct {
	Tolerance      float64                   `json:"tolerance"`
	Reconciliation []incident.Reconciliation `json:"reconciliation"`
}

// incidentIndex is the registry prepared for the routes once, when the
// server starts: the records newest first, by id, and the
// reconciliation, or why there is none.
type incidentIndex struct {
	newest   []IncidentRecord
	byID     map[string]int
	recon    IncidentReconciliation
	reconErr error
}

// newIncidentIndex prepares reg; nil gives nil, which the routes answer
// as unavailable.
func newIncidentIndex(reg *IncidentRegistry) *incidentIndex {
	if reg == nil {
		return nil
	}
	ix := &incidentIndex{byID: make(map[string]int, len(reg.Records))}
	for i := len(reg.Records) - 1; i >= 0; i-- {
		r := reg.Records[i]
		// Chains and assets are lists a client iterates: empty, not null,
		// when the record names none.
		if r.Chains == nil {
			r.Chains = []string{}
		}
		if r.Assets == nil {
			r.Assets = []string{}
		}
		ix.byID[r.ID] = len(ix.newest)
		ix.newest = append(ix.newest, IncidentRecord{Record: r, Sources: r.AllSources()})
	}
	recs, err := incident.Reconcile(reg.Records, reg.Published)
	if err != nil {
		ix.reconErr = err
		return ix
	}
	for i := range recs {
		// The figure's own differences are the curated input, without
		// the effects computed into the reconciliation's list.
		recs[i].Figure.Differences = nil
		if recs[i].Differences == nil {
			recs[i].Differences = []incident.Difference{}
		}
	}
	if recs == nil {
		recs = []incident.Reconciliation{}
	}
	ix.recon = IncidentReconciliation{Tolerance: incident.Tolerance, Reconciliation: recs}
	return ix
}

// incidents returns the prepared registry, writing the 404 itself when
// the server has none.
func (s *Server) incidents(w http.ResponseWriter, r *http.Request) (*incidentIndex, bool) {
	if s.inc == nil {
		writeProblem(w, newProblem(r, probNoIncidents, "this server has no incident registry"))
		return nil, false
	}
	return s.inc, true
}

// incidentFilter selects records: an inclusive date range (days,
// YYYY-MM-DD), an actor id, a victim type, a vector, a chain and a text.
// Zero fields select everything. Draft records are never selected: they
// are not reviewed facts (incident.Filter).
type incidentFilter struct {
	from, to, actor, victimType, vector, chain, q string
}

// incidentFilterParams reads the filter's query parameters; stats reads
// all but q.
func incidentFilterParams(r *http.Request, withQ bool) (incidentFilter, *Problem) {
	v := r.URL.Query()
	f := incidentFilter{actor: v.Get("actor"), victimType: v.Get("victim_type"), vector: v.Get("vector"),
		chain: strings.ToLower(v.Get("chain"))}
	var err error
	if f.from, err = dayBound(v.Get("from"), false); err != nil {
		return f, newProblem(r, probInvalidParam, "from must be a date YYYY-MM-DD (or YYYY-MM, YYYY), not "+strconv.Quote(v.Get("from")))
	}
	if f.to, err = dayBound(v.Get("to"), true); err != nil {
		return f, newProblem(r, probInvalidParam, "to must be a date YYYY-MM-DD (or YYYY-MM, YYYY), not "+strconv.Quote(v.Get("to")))
	}
	if f.from != "" && f.to != "" && f.from > f.to {
		return f, newProblem(r, probInvalidParam, "from ("+f.from+") is after to ("+f.to+")")
	}
	if f.victimType != "" && !slices.Contains(incident.VictimTypes, f.victimType) {
		return f, newProblem(r, probInvalidParam, "victim_type must be one of "+strings.Join(incident.VictimTypes, ", ")+", not "+strconv.Quote(f.victimType))
	}
	if f.vector != "" && !slices.Contains(incident.Vectors, f.vector) {
		return f, newProblem(r, probInvalidParam, "vector must be one of "+strings.Join(incident.Vectors, ", ")+", not "+strconv.Quote(f.vector))
	}
	if withQ {
		f.q = strings.TrimSpace(v.Get("q"))
		if len(f.q) > MaxIncidentQuery {
			return f, newProblem(r, probInvalidParam, "q must be at most "+strconv.Itoa(MaxIncidentQuery)+" bytes")
		}
	}
	return f, nil
}

// scope names the selection for its cursors, so that a cursor of one
// selection is refused by another.
func (f incidentFilter) scope() string {
	return strings.Join([]string{"incidents", f.from, f.to, f.actor, f.victimType, f.vector, f.chain, f.q}, "\x00")
}

// match reports whether f selects r. A record dated only to the month or
// the year spans the whole month or year, and is selected when that span
// meets the range.
func (f incidentFilter) match(r *incident.Record) bool {
	if r.Status == "draft" {
		return false
	}
	if f.from != "" || f.to != "" {
		first, err1 := dayBound(r.Date, false)
		last, err2 := dayBound(r.Date, true)
		if err1 != nil || err2 != nil || f.from != "" && last < f.from || f.to != "" && first > f.to {
			return false
		}
	}
	switch {
	case f.actor != "" && r.Attribution.Actor != f.actor,
		f.victimType != "" && r.Victim.Type != f.victimType,
		f.vector != "" && r.Vector != f.vector,
		f.chain != "" && !slices.Contains(r.Chains, f.chain):
		return false
	}
	return f.q == "" || incidentMentions(r, strings.ToLower(f.q))
}

// incidentMentions reports whether the record's id, victim name or one of
// its aliases contains lq, which is in lower case.
func incidentMentions(r *incident.Record, lq string) bool {
	if strings.Contains(r.ID, lq) || strings.Contains(strings.ToLower(r.Victim.Name), lq) {
		return true
	}
	for _, a := range r.Victim.Aliases {
		if strings.Contains(strings.ToLower(a), lq) {
			return true
		}
	}
	return false
}

// dayBound reads a date of the form YYYY-MM-DD, YYYY-MM or YYYY as the
// first day it covers, or with last the last, as YYYY-MM-DD; an empty
// date stays empty.
func dayBound(v string, last bool) (string, error) {
	if v == "" {
		return "", nil
	}
	layout := map[int]string{4: "2006", 7: "2006-01", 10: "2006-01-02"}[len(v)]
	if layout == "" {
		return "", strconv.ErrSyntax
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return "", err
	}
	if last {
		switch len(v) {
		case 4:
			t = t.AddDate(1, 0, -1)
		case 7:
			t = t.AddDate(0, 1, -1)
		}
	}
	return t.Format("2006-01-02"), nil
}

// handleIncidents serves GET /api/v1/incidents.
func (s *Server) handleIncidents(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "from", "to", "actor", "victim_type", "vector", "chain", "q", "cursor", "limit"); p != nil {
		writeProblem(w, p)
		return
	}
	ix, ok := s.incidents(w, r)
	if !ok {
		return
	}
	f, p := incidentFilterParams(r, true)
	if p != nil {
		writeProblem(w, p)
		return
	}
	limit, p := limitParam(r, DefaultIncidents, MaxIncidents)
	if p != nil {
		writeProblem(w, p)
		return
	}
	from, p := cursorParam(r, f.scope())
	if p != nil {
		writeProblem(w, p)
		return
	}
	resp := IncidentPage{Items: []IncidentRecord{}}
	for i := range ix.newest {
		if !f.match(&ix.newest[i].Record) {
			continue
		}
		if uint64(resp.Total) >= from && len(resp.Items) < limit {
			resp.Items = append(resp.Items, ix.newest[i])
		}
		resp.Total++
	}
	if from > uint64(resp.Total) {
		writeProblem(w, newProblem(r, probUnknownCursor, "the cursor points past the selection's last incident"))
		return
	}
	if next := from + uint64(len(resp.Items)); next < uint64(resp.Total) {
		resp.NextCursor = encodeCursor(f.scope(), next)
	}
	writeFinal(w, r, &resp, true)
}

// handleIncident serves GET /api/v1/incidents/{id}.
func (s *Server) handleIncident(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r); p != nil {
		writeProblem(w, p)
		return
	}
	ix, ok := s.incidents(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	i, ok := ix.byID[id]
	if !ok {
		writeProblem(w, newProblem(r, probIncidentNotFound, "the registry has no incident "+strconv.Quote(id)))
		return
	}
	writeFinal(w, r, &ix.newest[i], true)
}

// incidentGroupings are the values of the stats route's by parameter.
var incidentGroupings = []string{"year", "actor", "victim_type", "vector", "chain"}

// handleIncidentStats serves GET /api/v1/incidents/stats.
func (s *Server) handleIncidentStats(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "by", "from", "to", "actor", "victim_type", "vector", "chain"); p != nil {
		writeProblem(w, p)
		return
	}
	ix, ok := s.incidents(w, r)
	if !ok {
		return
	}
	by := r.URL.Query().Get("by")
	if by == "" {
		by = "year"
	}
	if !slices.Contains(incidentGroupings, by) {
		writeProblem(w, newProblem(r, probInvalidParam, "by must be one of "+strings.Join(incidentGroupings, ", ")+", not "+strconv.Quote(by)))
		return
	}
	f, p := incidentFilterParams(r, false)
	if p != nil {
		writeProblem(w, p)
		return
	}
	// Compute wants the registry's own order, oldest first.
	var sel []incident.Record
	for i := len(ix.newest) - 1; i >= 0; i-- {
		if f.match(&ix.newest[i].Record) {
			sel = append(sel, ix.newest[i].Record)
		}
	}
	st := incident.Compute(sel)
	rows := map[string][]incident.Bucket{"year": st.ByYear, "actor": st.ByActor, "victim_type": st.ByVictim,
		"vector": st.ByVector, "chain": st.ByChain}[by]
	if rows == nil {
		rows = []incident.Bucket{}
	}
	writeFinal(w, r, &IncidentStats{By: by, Rows: rows, Total: st.Total}, true)
}

// handleIncidentReconciliation serves GET /api/v1/incidents/reconciliation.
func (s *Server) handleIncidentReconciliation(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r); p != nil {
		writeProblem(w, p)
		return
	}
	ix, ok := s.incidents(w, r)
	if !ok {
		return
	}
	if ix.reconErr != nil {
		writeProblem(w, newProblem(r, probNoReconciliation, strings.TrimPrefix(ix.reconErr.Error(), "incident: ")))
		return
	}
	writeFinal(w, r, &ix.recon, true)
}
