package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// problemContentType is the media type of RFC 9457 problem details.
const problemContentType = "application/problem+json"

// problemBase prefixes the type URI of each problem this API defines.
// The URIs identify the problem kinds; they are not meant to be fetched.
const problemBase = "urn:chaintrace:problem:"

// Problem is an RFC 9457 problem details object. Type is "about:blank"
// for plain HTTP errors (unknown route, wrong method), whose Title is the
// status text, and a urn:chaintrace:problem: URI otherwise. RequestID is
// an extension member naming the request in the server's logs.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Field names the request body's field at fault ("from[1]",
	// "graph.nodes[3].chain") in a validation problem.
	Field string `json:"field,omitempty"`
}

// problemKind is one kind of problem: its type slug, title and status.
type problemKind struct {
	slug   string
	title  string
	status int
}

// The problems this API defines.
var (
	probInvalidAddress   = problemKind{"invalid-address", "Invalid address", http.StatusBadRequest}
	probUnknownChain     = problemKind{"unknown-chain", "Unknown chain", http.StatusNotFound}
	probInvalidParam     = problemKind{"invalid-parameter", "Invalid parameter", http.StatusBadRequest}
	probInvalidBody      = problemKind{"invalid-body", "Malformed request body", http.StatusBadRequest}
	probBodyTooLarge     = problemKind{"body-too-large", "Request body too large", http.StatusRequestEntityTooLarge}
	probBatchTooLarge    = problemKind{"batch-too-large", "Batch too large", http.StatusRequestEntityTooLarge}
	probUnsupportedMedia = problemKind{"unsupported-media-type", "Unsupported media type", http.StatusUnsupportedMediaType}
	probActorNotFound    = problemKind{"actor-not-found", "Actor not found", http.StatusNotFound}
	probUnknownCursor    = problemKind{"unknown-cursor", "Unknown cursor", http.StatusBadRequest}
	probNoAlerts         = problemKind{"alerts-unavailable", "Alerts unavailable", http.StatusNotFound}
	probTimeout          = problemKind{"timeout", "Request timed out", http.StatusGatewayTimeout}
	probCancelled        = problemKind{"cancelled", "Request cancelled", http.StatusServiceUnavailable}
	probInternal         = problemKind{"internal", "Internal server error", http.StatusInternalServerError}
)

// newProblem returns a problem of kind k about request r.
func newProblem(r *http.Request, k problemKind, detail string) *Problem {
	return &Problem{
		Type: problemBase + k.slug, Title: k.title, Status: k.status, Detail: detail,
		Instance: r.URL.Path, RequestID: requestID(r.Context()),
	}
}

// fieldProblem returns a problem of kind k about the body field named
// field of request r.
func fieldProblem(r *http.Request, k problemKind, field, detail string) *Problem {
	p := newProblem(r, k, field+": "+detail)
	p.Field = field
	return p
}

// statusProblem returns the about:blank problem of a bare HTTP status.
func statusProblem(r *http.Request, status int, detail string) *Problem {
	return &Problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail,
		Instance: r.URL.Path, RequestID: requestID(r.Context()),
	}
}

// writeProblem sends p with its status.
func writeProblem(w http.ResponseWriter, p *Problem) {
	writeJSONAs(w, p.Status, problemContentType, p)
}

// bufPool recycles response buffers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON sends v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, status, "application/json", v)
}

// writeJSONAs encodes v into a pooled buffer and sends it with an exact
// Content-Length. Encoding errors are programming errors and panic, which
// the recovery middleware turns into a 500.
func writeJSONAs(w http.ResponseWriter, status int, contentType string, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("api: encoding a response: " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
