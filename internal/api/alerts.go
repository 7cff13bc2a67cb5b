package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/chaintrace/chaintrace/internal/monitor"
)

// Alert listing limits.
const (
	DefaultAlertLimit = 100
	MaxAlertLimit     = 1000
)

// Defaults of the alert stream's timing.
const (
	DefaultAlertPoll = 250 * time.Millisecond
	DefaultHeartbeat = 15 * time.Second
)

// AlertPage answers GET /api/v1/alerts: alerts in journal order and, when
// more follow, the cursor to pass as since for the next page.
type AlertPage struct {
	Alerts []monitor.Alert `json:"alerts"`
	Next   string          `json:"next,omitempty"`
}

// alertQuery is the filter and cursor of an alert request.
type alertQuery struct {
	chain, watch, since string
	limit               int
}

// match reports whether a passes q's filters.
func (q *alertQuery) match(a *monitor.Alert) bool {
	return (q.chain == "" || a.Chain == q.chain) && (q.watch == "" || a.Watch == q.watch)
}

// parseAlertQuery reads chain, watch, since and (when paged) limit.
func parseAlertQuery(r *http.Request, q url.Values, paged bool) (alertQuery, *Problem) {
	aq := alertQuery{chain: q.Get("chain"), watch: q.Get("watch"), since: q.Get("since"), limit: DefaultAlertLimit}
	for k := range q {
		if k != "chain" && k != "watch" && k != "since" && (k != "limit" || !paged) {
			want := "chain, watch or since"
			if paged {
				want = "chain, watch, since or limit"
			}
			return aq, newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want "+want+")")
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxAlertLimit {
			return aq, newProblem(r, probInvalidParam, "limit must be an integer from 1 to "+strconv.Itoa(MaxAlertLimit)+", not "+strconv.Quote(v))
		}
		aq.limit = n
	}
	return aq, nil
}

// after returns the alerts of as that follow the one with id since ("":
// all of them); ok is false when no alert has that id.
func after(as []monitor.Alert, since string) (rest []monitor.Alert, ok bool) {
	if since == "" {
		return as, true
	}
	for i := range as {
		if as[i].ID == since {
			return as[i+1:], true
		}
	}
	return nil, false
}

// handleAlerts serves GET /api/v1/alerts from the alert journal.
func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AlertData == "" {
		writeProblem(w, newProblem(r, probNoAlerts, "this server was started without a data directory"))
		return
	}
	q, p := parseAlertQuery(r, r.URL.Query(), true)
	if p != nil {
		writeProblem(w, p)
		return
	}
	all, err := monitor.ReadJournal(s.cfg.AlertData)
	if err != nil {
		writeProblem(w, s.errProblem(r, err))
		return
	}
	rest, ok := after(all, q.since)
	if !ok {
		writeProblem(w, newProblem(r, probUnknownCursor, "no alert has id "+strconv.Quote(q.since)))
		return
	}
	page := AlertPage{Alerts: []monitor.Alert{}}
	for i := range rest {
		if !q.match(&rest[i]) {
			continue
		}
		if len(page.Alerts) == q.limit {
			page.Next = page.Alerts[len(page.Alerts)-1].ID
			break
		}
		page.Alerts = append(page.Alerts, rest[i])
	}
	writeJSON(w, http.StatusOK, &page)
}

// handleAlertStream serves GET /api/v1/alerts/stream: server-sent events,
// one per alert (its id the event id, its kind the event name, its JSON
// the data), from the one after Last-Event-ID (or ?since) or, without
// either, from those appended after the request arrived. A comment every
// heartbeat keeps proxies from closing an idle stream; the stream ends
// when the client goes away or the server shuts down.
func (s *Server) handleAlertStream(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AlertData == "" {
		writeProblem(w, newProblem(r, probNoAlerts, "this server was started without a data directory"))
		return
	}
	q, p := parseAlertQuery(r, r.URL.Query(), false)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		q.since = id
	}
	jr := monitor.NewJournalReader(s.cfg.AlertData)
	backlog, err := jr.Next()
	if err != nil {
		writeProblem(w, s.errProblem(r, err))
		return
	}
	if q.since == "" {
		backlog = nil
	} else {
		var ok bool
		if backlog, ok = after(backlog, q.since); !ok {
			writeProblem(w, newProblem(r, probUnknownCursor, "no alert has id "+strconv.Quote(q.since)))
			return
		}
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// write sends one event or comment within a fresh write deadline,
	// since the server's WriteTimeout would otherwise cut every stream
	// short; it reports whether the client is still there.
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.Heartbeat + 10*time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte("retry: 2000\n\n")) {
		return
	}
	send := func(as []monitor.Alert) bool {
		for i := range as {
			if !q.match(&as[i]) {
				continue
			}
			data, err := json.Marshal(&as[i])
			if err != nil {
				panic("api: encoding an alert: " + err.Error())
			}
			ev := "id: " + as[i].ID + "\nevent: " + as[i].Kind + "\ndata: " + string(data) + "\n\n"
			if !write([]byte(ev)) {
				return false
			}
		}
		return true
	}
	if !send(backlog) {
		return
	}
	poll := time.NewTicker(s.cfg.AlertPoll)
	defer poll.Stop()
	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopping.Done():
			return
		case <-beat.C:
			if !write([]byte(": heartbeat\n\n")) {
				return
			}
		case <-poll.C:
			as, err := jr.Next()
			if err != nil {
				s.log.WarnContext(r.Context(), "api: reading the alert journal", "request_id", requestID(r.Context()), "error", err.Error())
				continue
			}
			if !send(as) {
				return
			}
		}
	}
}

// stopStreams is registered to run on shutdown: streams never go idle,
// so they are told to end rather than waited for.
func (s *Server) stopStreams() { s.stop() }
