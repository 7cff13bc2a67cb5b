package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// requestIDHeader carries the request id in both directions.
const requestIDHeader = "X-Request-Id"

// maxRequestID bounds the length of a client's request id.
const maxRequestID = 128

type ctxKey struct{}

// requestID returns the id of the request ctx belongs to, "" outside one.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// idGen makes request ids: a random per-process prefix and a counter,
// unique without a system call per request.
type idGen struct {
	prefix string
	n      atomic.Uint64
}

func newIDGen() *idGen {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("api: no randomness for request ids: " + err.Error())
	}
	return &idGen{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (g *idGen) next() string {
	var buf [32]byte
	b := append(buf[:0], g.prefix...)
	b = strconv.AppendUint(b, g.n.Add(1), 10)
	return string(b)
}

// validRequestID accepts client ids of 1 to 128 visible ASCII characters
// that are safe in headers and logs.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// recorder wraps a ResponseWriter to learn the status and size of the
// response, and to turn plain-text errors written by code outside this
// package (the ServeMux's 404 and 405) into problem details.
type recorder struct {
	http.ResponseWriter
	r       *http.Request
	status  int
	bytes   int64
	wrote   bool
	swallow bool   // the handler's own body was replaced by a problem
	key     string // the API key id the request authenticated with (auth.go)
}

// WriteHeader sends the status; an error status without a JSON body type
// is answered with an about:blank problem instead.
func (w *recorder) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote, w.status = true, code
	ct := w.Header().Get("Content-Type")
	if code >= 400 && !strings.HasPrefix(ct, problemContentType) && !strings.HasPrefix(ct, "application/json") {
		w.swallow = true
		detail := ""
		switch code {
		case http.StatusNotFound:
			detail = "no resource at " + w.r.URL.Path
		case http.StatusMethodNotAllowed:
			detail = "method " + w.r.Method + " is not allowed on " + w.r.URL.Path + "; allowed: " + w.Header().Get("Allow")
		}
		w.Header().Del("X-Content-Type-Options")
		writeProblem(recorderBody{w}, statusProblem(w.r, code, detail))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// recorderBody writes a replacement problem straight through a recorder.
type recorderBody struct{ w *recorder }

// Header returns the response headers.
func (b recorderBody) Header() http.Header { return b.w.Header() }

// WriteHeader sends the status of the replacement problem.
func (b recorderBody) WriteHeader(code int) {
	b.w.wrote = true
	b.w.ResponseWriter.WriteHeader(code)
}

// Write sends the replacement problem's body.
func (b recorderBody) Write(p []byte) (int, error) {
	n, err := b.w.ResponseWriter.Write(p)
	b.w.bytes += int64(n)
	return n, err
}

// Write sends body bytes, dropping those of a replaced response.
func (w *recorder) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(p), nil
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP is the server's outermost handler: request id, panic
// recovery, the routes, then metrics and the access log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get(requestIDHeader)
	if !validRequestID(id) {
		id = s.ids.next()
	}
	w.Header().Set(requestIDHeader, id)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	rec := &recorder{ResponseWriter: w, r: r}
	s.metrics.inFlight.Inc()
	defer func() {
		s.metrics.inFlight.Dec()
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("request_id", id), slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if rec.wrote {
				// The status is out: all that is left is to cut the
				// response short, which net/http does for this panic.
				s.finish(rec, r, start)
				panic(http.ErrAbortHandler)
			}
			writeProblem(rec, newProblem(r, probInternal, "the server failed; quote request id "+id+" when reporting this"))
		}
		s.finish(rec, r, start)
	}()
	s.mux.ServeHTTP(rec, r)
}

// finish records a served request in the metrics and the access log.
func (s *Server) finish(rec *recorder, r *http.Request, start time.Time) {
	elapsed := time.Since(start)
	status := rec.status
	if !rec.wrote {
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.observe(route, status, elapsed)
	if s.log.Enabled(r.Context(), slog.LevelInfo) {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", elapsed),
			slog.String("remote", r.RemoteAddr),
			slog.String("key", cmp.Or(rec.key, "anonymous")),
		)
	}
}

// jsonBody reports whether a request's Content-Type is absent or JSON.
func jsonBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
