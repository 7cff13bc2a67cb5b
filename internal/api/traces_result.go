package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/internal/filelock"
	"github.com/chaintrace/chaintrace/internal/jobs"
	"github.com/chaintrace/chaintrace/internal/trace"
	"github.com/chaintrace/chaintrace/internal/tracestore"
)

// TraceJournalPath is where the jobs that ended are recorded under a
// data directory, one TraceJob per line (without summary and links). It
// lives outside traces/ so that a failed or cancelled job does not
// change what the deposit screening's re-screen stamp sees there.
func TraceJournalPath(data string) string { return filepath.Join(data, "jobs", "traces.jsonl") }

// appendJobRecord appends d to the journal under data, synced, under an
// advisory lock so that two servers on one data directory do not
// interleave lines.
func appendJobRecord(ctx context.Context, data string, d TraceJob) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("api: recording trace job: %w", err)
	}
	path := TraceJournalPath(data)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("api: recording trace job: %w", err)
	}
	unlock, err := filelock.Lock(ctx, path+".lock")
	if err != nil {
		return fmt.Errorf("api: recording trace job: %w", err)
	}
	defer unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("api: recording trace job: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("api: recording trace job: %w", err)
	}
	return nil
}

// jobJournal caches the parsed journal, keyed by the file's size and
// modification time, so that listing jobs does not parse it again while
// nothing was appended.
type jobJournal struct {
	mu   sync.Mutex
	size int64
	mod  time.Time
	recs []TraceJob
}

// records returns the journal under data in order; the slice is shared
// and must not be modified.
func (j *jobJournal) records(ctx context.Context, data string) ([]TraceJob, error) {
	fi, err := os.Stat(TraceJournalPath(data))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api: reading trace jobs: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if fi.Size() == j.size && fi.ModTime().Equal(j.mod) {
		return j.recs, nil
	}
	recs, err := readJobRecords(ctx, data)
	if err != nil {
		return nil, err
	}
	j.size, j.mod, j.recs = fi.Size(), fi.ModTime(), recs
	return recs, nil
}

// readJobRecords reads the journal under data in order; a line that is
// not a record (a torn last line after a crash) is skipped.
func readJobRecords(ctx context.Context, data string) ([]TraceJob, error) {
	b, err := os.ReadFile(TraceJournalPath(data))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api: reading trace jobs: %w", err)
	}
	var out []TraceJob
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var d TraceJob
		if json.Unmarshal(sc.Bytes(), &d) == nil && d.ID != "" {
			out = append(out, d)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("api: reading trace jobs: %w", err)
	}
	return out, nil
}

// findJobRecord returns the journal's last record of job id.
func (j *jobJournal) findJobRecord(ctx context.Context, data, id string) (TraceJob, bool, error) {
	recs, err := j.records(ctx, data)
	if err != nil {
		return TraceJob{}, false, err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].ID == id {
			return recs[i], true, nil
		}
	}
	return TraceJob{}, false, nil
}

// traceResult returns the result of job id: from memory without a data
// directory, else the saved trace.
func (s *Server) traceResult(r *http.Request, id string) (*trace.Result, *Problem) {
	if j, ok := s.traces.pool.Get(id); ok && j.Status == jobs.Done && j.Result.Result != nil {
		return j.Result.Result, nil
	}
	d, p := s.findJob(r, id, false)
	if p != nil {
		return nil, p
	}
	if d.Status != jobs.Done {
		return nil, newProblem(r, probTraceNotDone, "trace job "+id+" is "+string(d.Status)+"; its result exists once it is done")
	}
	res, _, err := tracestore.Load(r.Context(), s.traces.cfg.Data, d.TraceID)
	if err != nil {
		return nil, s.traceLoadProblem(r, d.TraceID, err)
	}
	return res, nil
}

// handleTraceResult serves GET /api/v1/traces/{id}/result: a done job's
// result as JSON (the default; the form chaintrace trace --json writes),
// one table as CSV (?format=csv&table=edges|endpoints|holdings|totals)
// or the flow graph as Graphviz DOT (?format=dot).
func (s *Server) handleTraceResult(w http.ResponseWriter, r *http.Request) {
	if s.tracesUnavailable(w, r) {
		return
	}
	format, table := "json", trace.TableEdges
	for k, v := range r.URL.Query() {
		switch k {
		case "format":
			format = v[0]
			if format != "json" && format != "csv" && format != "dot" {
				writeProblem(w, newProblem(r, probInvalidParam, "format must be json, csv or dot, not "+strconv.Quote(format)))
				return
			}
		case "table":
			table = v[0]
			switch table {
			case trace.TableEdges, trace.TableEndpoints, trace.TableHoldings, trace.TableTotals:
			default:
				writeProblem(w, newProblem(r, probInvalidParam, "table must be edges, endpoints, holdings or totals, not "+strconv.Quote(table)))
				return
			}
		default:
			writeProblem(w, newProblem(r, probInvalidParam, "unknown query parameter "+strconv.Quote(k)+" (want format or table)"))
			return
		}
	}
	id := r.PathValue("id")
	res, p := s.traceResult(r, id)
	if p != nil {
		writeProblem(w, p)
		return
	}
	var buf bytes.Buffer
	var err error
	contentType, name := "application/json", id+".json"
	switch format {
	case "json":
		err = trace.WriteJSON(&buf, res)
	case "csv":
		contentType, name = "text/csv; charset=utf-8", id+"-"+table+".csv"
		err = trace.WriteCSV(&buf, res, table)
	case "dot":
		contentType, name = "text/vnd.graphviz; charset=utf-8", id+".dot"
		err = trace.WriteDOT(&buf, res, s.traces.cfg.Tracer.Units(r.Context()))
	}
	if err != nil {
		writeProblem(w, s.errProblem(r, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	if format != "json" {
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
