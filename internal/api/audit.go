package api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// AuditPath is the audit log of a data directory: one JSON line per
// request with a write method, served or refused.
func AuditPath(dataDir string) string { return filepath.Join(dataDir, "audit", "audit.jsonl") }

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	// Key is the id of the API key the request authenticated with, or
	// "anonymous"; Claimed is the id of a key the request named but
	// that did not authenticate it (revoked, expired, wrong secret).
	Key     string `json:"key"`
	Claimed string `json:"claimed,omitempty"`
	Role    string `json:"role"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Query   string `json:"query,omitempty"`
	Status  int    `json:"status"`
	Remote  string `json:"remote"`
	// BodySHA256 is the first 16 hex digits of the SHA-256 of the body
	// (of its first Config.MaxBodyBytes bytes, or of what a handler with
	// a larger limit read), BodyBytes their count: enough to match a
	// request to a file without keeping its content.
	BodySHA256 string `json:"body_sha256,omitempty"`
	BodyBytes  int64  `json:"body_bytes"`
}

// auditLog appends entries to an audit file, one fsynced line each,
// under a lock so that lines never interleave. The file is opened for
// each entry: writes are rare next to reads, the fsync costs far more
// than the open, and no descriptor outlives the server.
type auditLog struct {
	path string
	mu   sync.Mutex
}

// newAuditLog returns the audit log of dataDir.
func newAuditLog(dataDir string) *auditLog {
	return &auditLog{path: AuditPath(dataDir)}
}

// auditRecord is an entry being filled while its request is served.
type auditRecord struct {
	entry AuditEntry
	body  *hashingBody
}

// hashingBody hashes and counts the body bytes a handler reads.
type hashingBody struct {
	io.ReadCloser
	h hash.Hash
	n int64
}

// Read reads from the body and feeds the hash.
func (b *hashingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	return n, err
}

// begin starts the entry of r, whose body it hashes from now on.
func (a *auditLog) begin(r *http.Request) *auditRecord {
	rec := &auditRecord{entry: AuditEntry{
		Time: time.Now().UTC(), RequestID: requestID(r.Context()), Key: "anonymous",
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Remote: r.RemoteAddr,
	}}
	if r.Body != nil && r.Body != http.NoBody {
		rec.body = &hashingBody{ReadCloser: r.Body, h: sha256.New()}
		r.Body = rec.body
	}
	return rec
}

// wroteStatus reports whether a response's status has been sent.
func wroteStatus(w http.ResponseWriter) bool {
	rec, ok := w.(*recorder)
	return ok && rec.wrote
}

// statusOf returns the status a response was sent with.
func statusOf(w http.ResponseWriter) int {
	if rec, ok := w.(*recorder); ok && rec.wrote {
		return rec.status
	}
	return http.StatusOK
}

// finish completes rec with the response's status and appends it; a
// handler that did not return (it panicked) before sending one is
// recorded as the 500 the server answers. The body is hashed whole, up to limit bytes, whether or not the handler
// read it: a refused write's digest is the one its retry would have. A
// failure to write is logged: the request is already answered.
func (a *auditLog) finish(ctx context.Context, log *slog.Logger, rec *auditRecord, w http.ResponseWriter, limit int64, returned bool) {
	rec.entry.Status = statusOf(w)
	if !returned && !wroteStatus(w) {
		rec.entry.Status = http.StatusInternalServerError
	}
	if rec.body != nil && rec.body.n < limit {
		_, _ = io.Copy(io.Discard, io.LimitReader(rec.body, limit-rec.body.n))
	}
	if rec.body != nil && rec.body.n > 0 {
		rec.entry.BodySHA256 = hex.EncodeToString(rec.body.h.Sum(nil)[:8])
		rec.entry.BodyBytes = rec.body.n
	}
	if err := a.append(rec.entry); err != nil {
		log.LogAttrs(ctx, slog.LevelError, "audit log write failed", slog.String("request_id", rec.entry.RequestID), slog.String("err", err.Error()))
	}
}

// append writes one entry and syncs it to disk.
func (a *auditLog) append(e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("api: audit: %w", err)
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
		return fmt.Errorf("api: audit: %w", err)
	}
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("api: audit: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("api: audit: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("api: audit: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("api: audit: %w", err)
	}
	return nil
}

// Audit page sizes.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// auditPage is the answer of GET /api/v1/audit.
type auditPage struct {
	Entries []AuditEntry `json:"entries"`
	// NextCursor continues after the last entry; it is present even at
	// the end of the log, so that a client can poll for later entries.
	NextCursor string `json:"next_cursor"`
}

// probNoAudit answers the audit route of a server without an audit log.
var probNoAudit = problemKind{"audit-unavailable", "Audit log unavailable", http.StatusNotFound}

// handleAudit serves GET /api/v1/audit?cursor=&limit=: the entries
// oldest first from cursor, a byte offset into the log that the
// previous page returned.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	if s.sec.audit == nil {
		writeProblem(w, newProblem(r, probNoAudit, "this server keeps no audit log"))
		return
	}
	q := r.URL.Query()
	limit := defaultAuditLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditLimit {
			writeProblem(w, newProblem(r, probInvalidParam, "limit must be 1.."+strconv.Itoa(maxAuditLimit)))
			return
		}
		limit = n
	}
	var off int64
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeProblem(w, newProblem(r, probUnknownCursor, "cursor "+strconv.Quote(v)+" is not one this route returned"))
			return
		}
		off = n
	}
	page, err := readAudit(s.sec.audit.path, off, limit)
	if errors.Is(err, errBadCursor) {
		writeProblem(w, newProblem(r, probUnknownCursor, "cursor "+strconv.Quote(q.Get("cursor"))+" is not at an entry of the audit log"))
		return
	}
	if err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "reading the audit log", slog.String("err", err.Error()))
		writeProblem(w, newProblem(r, probInternal, "reading the audit log failed"))
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// errBadCursor is an audit cursor that is not at the start of a line.
var errBadCursor = errors.New("api: audit cursor not at an entry")

// readAudit reads up to limit entries of the log at path from byte off.
func readAudit(path string, off int64, limit int) (auditPage, error) {
	page := auditPage{Entries: []AuditEntry{}, NextCursor: strconv.FormatInt(off, 10)}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if off != 0 {
			return page, errBadCursor
		}
		return page, nil
	}
	if err != nil {
		return page, fmt.Errorf("api: audit: %w", err)
	}
	defer f.Close()
	if off > 0 {
		var b [1]byte
		if _, err := f.ReadAt(b[:], off-1); err != nil || b[0] != '\n' {
			return page, errBadCursor
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return page, fmt.Errorf("api: audit: %w", err)
	}
	br := bufio.NewReader(f)
	for len(page.Entries) < limit {
		line, err := br.ReadBytes('\n')
		if err != nil {
			// A line without its newline is being written: it
			// belongs to the next page.
			break
		}
		var e AuditEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return page, fmt.Errorf("api: audit: entry at byte %d: %w", off, err)
		}
		off += int64(len(line))
		page.Entries = append(page.Entries, e)
	}
	page.NextCursor = strconv.FormatInt(off, 10)
	return page, nil
}
