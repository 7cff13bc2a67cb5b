package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chaintrace/chaintrace/internal/workspace"
)

// MaxLabelImportBytes caps the body of a label import, which is a whole
// label source and may be far larger than other requests.
const MaxLabelImportBytes = 64 << 20

// The problems of label imports.
var (
	probNoImports     = problemKind{"imports-unavailable", "Label imports unavailable", http.StatusNotFound}
	probImportInvalid = problemKind{"invalid-label-source", "Invalid label source", http.StatusUnprocessableEntity}
)

// importMu serialises label imports: the label store takes one writer.
var importMu sync.Mutex

// importName returns the file name a source is imported under (the
// importers name datasets after it), from the name parameter or the
// media type, stripped of anything but a plain file name.
func importName(r *http.Request) string {
	name := filepath.Base(r.URL.Query().Get("name"))
	ok := name != "" && name != "." && name != "/" && len(name) <= 128
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-", c)) {
			ok = false
		}
	}
	if ok && !strings.HasPrefix(name, ".") {
		return name
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.Contains(ct, "csv"):
		return "upload.csv"
	case strings.Contains(ct, "json"):
		return "upload.json"
	case strings.Contains(ct, "xml"):
		return "upload.xml"
	}
	return "upload.yaml"
}

// handleLabelImport serves POST /api/v1/labels/imports?format=&name=:
// the body is a label source (a TagPack's YAML, a CSV with ?csv_map, an
// OFAC list, ...) imported into the server's label store as `chaintrace
// labels import` would, after which the screening index is rebuilt so
// that the next request sees the labels.
func (s *Server) handleLabelImport(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LabelData == "" {
		writeProblem(w, newProblem(r, probNoImports, "this server does not import labels"))
		return
	}
	q := r.URL.Query()
	opts := workspace.ImportOptions{Format: q.Get("format"), CSVMap: q.Get("csv_map")}
	dir, err := os.MkdirTemp("", "chaintrace-import-")
	if err != nil {
		s.internalError(w, r, "creating the import directory", err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, importName(r))
	f, err := os.Create(path)
	if err != nil {
		s.internalError(w, r, "creating the import file", err)
		return
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, MaxLabelImportBytes))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, newProblem(r, probBodyTooLarge, "a label source may be at most 64 MiB"))
		return
	case err != nil:
		writeProblem(w, newProblem(r, probInvalidBody, "reading the body: "+err.Error()))
		return
	case n == 0:
		writeProblem(w, newProblem(r, probInvalidBody, "the body is empty: send the label source"))
		return
	}
	importMu.Lock()
	sum, err := workspace.ImportLabels(r.Context(), s.cfg.LabelData, path, opts)
	importMu.Unlock()
	if err != nil {
		// The importers' errors describe the source (an unknown format,
		// a malformed line); the client can fix them.
		writeProblem(w, newProblem(r, probImportInvalid, err.Error()))
		return
	}
	if s.cfg.LabelSource != nil {
		if err := s.Reload(r.Context(), s.cfg.LabelSource); err != nil {
			s.internalError(w, r, "rebuilding the label index after the import", err)
			return
		}
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "labels imported", slog.String("request_id", requestID(r.Context())),
		slog.String("format", sum.Format), slog.Int("datasets", len(sum.Datasets)), slog.Int("added", sum.Total.Added))
	if sum.Datasets == nil {
		sum.Datasets = []workspace.DatasetCounts{}
	}
	writeJSON(w, http.StatusOK, sum)
}

// internalError logs err and answers 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelError, what, slog.String("request_id", requestID(r.Context())), slog.String("err", err.Error()))
	writeProblem(w, newProblem(r, probInternal, what+" failed; quote request id "+requestID(r.Context())))
}
