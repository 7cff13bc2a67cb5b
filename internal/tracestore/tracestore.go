// Package tracestore keeps traces under a data directory so that they can
// be named later: a watch started from a trace's holdings (watch add
// --from-trace ID), a case that cites it, a re-screening that rests on
// it. A saved trace is the trace's result as JSON (package trace's
// WriteJSON form) in <data>/traces/<id>.json, where the id is derived from
// the result's content: saving the same result twice gives the same id
// and one file, and an id names exactly one result.
package tracestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// ErrNotFound is returned for an id no saved trace has.
var ErrNotFound = errors.New("tracestore: no such trace")

// idPrefix starts every id, so that an id is never taken for a file
// name or an address.
const idPrefix = "tr-"

// idHexLen is the number of hex digits of the content hash in an id:
// 64 bits, so that ids stay short enough to type and collisions stay out
// of reach for any number of traces one workspace holds.
const idHexLen = 16

// Dir is where the saved traces live under a data directory.
func Dir(data string) string { return filepath.Join(data, "traces") }

// Summary is what List reports of a saved trace without reading its
// edges: enough to choose one.
type Summary struct {
	ID        string          `json:"id"`
	Saved     time.Time       `json:"saved"`
	Chain     string          `json:"chain"`
	Direction trace.Direction `json:"direction"`
	Model     trace.Model     `json:"model"`
	Hops      int             `json:"hops"`
	Incident  string          `json:"incident,omitempty"`
	Sources   int             `json:"sources"`
	Endpoints int             `json:"endpoints"`
	Holdings  int             `json:"holdings"`
	Edges     int             `json:"edges"`
	Bytes     int64           `json:"bytes"`
}

// ValidID reports whether id has the form of a saved trace's id; Load
// refuses anything else, so an id never reaches the file system as a
// path.
func ValidID(id string) bool {
	h, ok := strings.CutPrefix(id, idPrefix)
	if !ok || len(h) != idHexLen {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

func path(data, id string) string { return filepath.Join(Dir(data), id+".json") }

// Save writes r under data and returns its summary. The file is written
// to a temporary name, synced and renamed, so a crash leaves either no
// trace or the whole one.
func Save(ctx context.Context, data string, r *trace.Result) (Summary, error) {
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	var buf bytes.Buffer
	if err := trace.WriteJSON(&buf, r); err != nil {
		return Summary{}, fmt.Errorf("tracestore: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	id := idPrefix + hex.EncodeToString(sum[:])[:idHexLen]
	if err := os.MkdirAll(Dir(data), 0o700); err != nil {
		return Summary{}, fmt.Errorf("tracestore: %w", err)
	}
	p := path(data, id)
	if _, err := os.Stat(p); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return Summary{}, fmt.Errorf("tracestore: %w", err)
		}
		if err := atomicfile.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			return Summary{}, fmt.Errorf("tracestore: %w", err)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Summary{}, fmt.Errorf("tracestore: %w", err)
	}
	return summarize(id, fi, r), nil
}

func summarize(id string, fi fs.FileInfo, r *trace.Result) Summary {
	return Summary{
		ID: id, Saved: fi.ModTime().UTC(), Chain: r.Params.Chain, Direction: r.Params.Direction, Model: r.Params.Model,
		Hops: r.Params.Hops, Incident: r.Params.Incident, Sources: len(r.Params.From) + len(r.Params.FromTxs),
		Endpoints: len(r.Endpoints), Holdings: len(r.Holdings), Edges: len(r.Edges), Bytes: fi.Size(),
	}
}

// Load reads the saved trace id under data. An id of the wrong form is
// an error saying so; a well-formed id with no file is ErrNotFound.
func Load(ctx context.Context, data, id string) (*trace.Result, Summary, error) {
	if err := ctx.Err(); err != nil {
		return nil, Summary{}, err
	}
	if !ValidID(id) {
		return nil, Summary{}, fmt.Errorf("tracestore: %q is not a trace id (want %s followed by %d hex digits)", id, idPrefix, idHexLen)
	}
	p := path(data, id)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Summary{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, Summary{}, fmt.Errorf("tracestore: %w", err)
	}
	r, err := Decode(p, b)
	if err != nil {
		return nil, Summary{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, Summary{}, fmt.Errorf("tracestore: %w", err)
	}
	return r, summarize(id, fi, r), nil
}

// Decode reads a trace result in WriteJSON's form; name (a file or an id)
// is what errors call the input, with the byte offset of a syntax error.
func Decode(name string, b []byte) (*trace.Result, error) {
	var r trace.Result
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("tracestore: %s: not a trace result: byte %d: %w", name, se.Offset, err)
		}
		return nil, fmt.Errorf("tracestore: %s: not a trace result: %w", name, err)
	}
	if r.Params.Chain == "" || r.Params.Model == "" {
		return nil, fmt.Errorf("tracestore: %s: not a trace result: no params.chain or params.model", name)
	}
	return &r, nil
}

// List returns the summaries of the saved traces under data, newest
// first (ties by id). It reads every trace, so it costs the size of the
// saved traces; a corrupt file is reported by name, not skipped.
func List(ctx context.Context, data string) ([]Summary, error) {
	ents, err := os.ReadDir(Dir(data))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tracestore: %w", err)
	}
	var out []Summary
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !ValidID(id) {
			continue
		}
		_, s, err := Load(ctx, data, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Summary) int {
		if c := b.Saved.Compare(a.Saved); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
