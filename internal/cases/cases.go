// Package cases keeps investigation cases under a data directory: what an
// investigator saves to reopen later (the graph as the UI laid it out,
// its filters, notes) and what the case rests on (incident and trace
// ids). Each case is one JSON file, <data>/cases/<id>.json, written to a
// temporary file, synced and renamed, so a crash leaves the old case or
// the new one whole. Every change raises the case's version, and a
// change made against an older version is refused (ErrConflict), so two
// people editing one case do not overwrite each other unknowingly.
package cases

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/filelock"
)

// Errors of the store. Validation errors are *FieldError values, which
// wrap ErrInvalid.
var (
	ErrNotFound = errors.New("cases: no such case")
	ErrConflict = errors.New("cases: version conflict")
	ErrInvalid  = errors.New("cases: invalid case")
)

// Limits on a case's content, so that one case stays a file a UI loads
// at once.
const (
	MaxName        = 200
	MaxDescription = 10_000
	MaxNotes       = 200_000
	MaxNodes       = 5_000
	MaxEdges       = 20_000
	MaxLinks       = 1_000 // incident ids, and trace ids
	MaxFilters     = 64
	maxShort       = 200 // ids, chains, addresses, kinds, labels, values
)

// Case is an investigation case.
type Case struct {
	ID string `json:"id"`
	// Version starts at 1 and grows by one with every change.
	Version     int64     `json:"version"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Graph       Graph     `json:"graph"`
	Notes       string    `json:"notes"`
	// Incidents are ids of the incident registry; Traces ids of saved
	// traces (tracestore).
	Incidents []string `json:"incidents"`
	Traces    []string `json:"traces"`
}

// Graph is the graph state the UI saves: nodes with their positions,
// edges between them, and the UI's filters, which the server keeps as
// they are.
type Graph struct {
	Nodes   []Node         `json:"nodes"`
	Edges   []Edge         `json:"edges"`
	Filters map[string]any `json:"filters"`
}

// Node is an address (or a cluster, an entity) placed on the graph. ID
// is unique within the graph; edges name nodes by it. Kind is address
// (the default), whose Address is required and checked, or anything
// else the UI draws (cluster, entity), whose Address is free.
type Node struct {
	ID        string  `json:"id"`
	Chain     string  `json:"chain"`
	Address   string  `json:"address"`
	Kind      string  `json:"kind"`
	Label     string  `json:"label,omitempty"`
	X         float64 `json:"x"`
	Y         float64 `json:"y"`
	Collapsed bool    `json:"collapsed"`
}

// Edge is a movement drawn between two nodes: optionally the
// transaction, the asset and the value (base units, a decimal string).
type Edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Tx    string `json:"tx,omitempty"`
	Asset string `json:"asset,omitempty"`
	Value string `json:"value,omitempty"`
	Label string `json:"label,omitempty"`
}

// Input is what a client writes of a case; the store sets the id, the
// version and the times.
type Input struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Graph       Graph    `json:"graph"`
	Notes       string   `json:"notes,omitempty"`
	Incidents   []string `json:"incidents,omitempty"`
	Traces      []string `json:"traces,omitempty"`
}

// Summary is what List reports of a case.
type Summary struct {
	ID          string    `json:"id"`
	Version     int64     `json:"version"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Nodes       int       `json:"nodes"`
	Edges       int       `json:"edges"`
	Incidents   int       `json:"incidents"`
	Traces      int       `json:"traces"`
}

// FieldError is a validation error naming the field at fault
// ("graph.nodes[3].chain").
type FieldError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string { return "cases: " + e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Options configure a Store; zero fields take the defaults.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes case ids; nil means "case-" and 16 random hex digits.
	NewID func() string
	// CheckAddress, when set, validates and normalises the address of
	// a node of kind address on its chain; nil keeps addresses as given.
	CheckAddress func(chain, address string) (string, error)
}

// Store keeps the cases of one directory. Its methods are safe for
// concurrent use, also by several processes (a file lock guards writes).
type Store struct {
	dir string
	o   Options
	mu  sync.Mutex
}

// Dir is where the cases live under a data directory.
func Dir(data string) string { return filepath.Join(data, "cases") }

// New returns the store of the cases under data; the directory is made
// on the first write.
func New(data string, o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = randomID
	}
	return &Store{dir: Dir(data), o: o}
}

// randomID returns "case-" and 16 random hex digits.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "case-" + hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form of a case id, so that an id
// reaches the file system only as a file name the store made.
func ValidID(id string) bool {
	h, ok := strings.CutPrefix(id, "case-")
	if !ok || len(h) == 0 || len(h) > 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+".json") }

// Create saves a new case at version 1.
func (s *Store) Create(ctx context.Context, in Input) (Case, error) {
	c := Case{}
	if err := s.fill(&c, in); err != nil {
		return Case{}, err
	}
	now := s.o.Now().UTC()
	c.ID, c.Version, c.Created, c.Updated = s.o.NewID(), 1, now, now
	if !ValidID(c.ID) {
		return Case{}, fmt.Errorf("cases: made an invalid id %q", c.ID)
	}
	err := s.locked(ctx, func() error {
		if _, err := os.Stat(s.path(c.ID)); err == nil {
			return fmt.Errorf("cases: id %s taken", c.ID)
		}
		return s.write(c)
	})
	if err != nil {
		return Case{}, err
	}
	return c, nil
}

// Get reads case id.
func (s *Store) Get(ctx context.Context, id string) (Case, error) {
	if err := ctx.Err(); err != nil {
		return Case{}, err
	}
	if !ValidID(id) {
		return Case{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Case{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Case{}, fmt.Errorf("cases: %w", err)
	}
	var c Case
	if err := json.Unmarshal(b, &c); err != nil {
		return Case{}, fmt.Errorf("cases: %s is corrupt: %w", id, err)
	}
	return c, nil
}

// List returns the summaries of every case, the most recently updated
// first (ties by id).
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Summary{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	out := []Summary{}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !ValidID(id) {
			continue
		}
		c, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Summary{ID: c.ID, Version: c.Version, Name: c.Name, Description: c.Description, Created: c.Created, Updated: c.Updated,
			Nodes: len(c.Graph.Nodes), Edges: len(c.Graph.Edges), Incidents: len(c.Incidents), Traces: len(c.Traces)})
	}
	slices.SortFunc(out, func(a, b Summary) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Update replaces the content of case id with in, if the case is at
// version; otherwise it returns ErrConflict naming the current version.
func (s *Store) Update(ctx context.Context, id string, version int64, in Input) (Case, error) {
	var c Case
	if err := s.fill(&c, in); err != nil {
		return Case{}, err
	}
	err := s.locked(ctx, func() error {
		old, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		if old.Version != version {
			return fmt.Errorf("%w: case %s is at version %d, not %d", ErrConflict, id, old.Version, version)
		}
		c.ID, c.Version, c.Created = old.ID, old.Version+1, old.Created
		// Updated never goes back, even when the clock does.
		c.Updated = s.o.Now().UTC()
		if c.Updated.Before(old.Updated) {
			c.Updated = old.Updated
		}
		return s.write(c)
	})
	if err != nil {
		return Case{}, err
	}
	return c, nil
}

// Delete removes case id; version 0 deletes whatever version it is at,
// another version only that one (ErrConflict otherwise).
func (s *Store) Delete(ctx context.Context, id string, version int64) error {
	return s.locked(ctx, func() error {
		old, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		if version != 0 && old.Version != version {
			return fmt.Errorf("%w: case %s is at version %d, not %d", ErrConflict, id, old.Version, version)
		}
		if err := os.Remove(s.path(id)); err != nil {
			return fmt.Errorf("cases: %w", err)
		}
		return nil
	})
}

// locked runs fn holding the store's lock, in this process and on disk.
func (s *Store) locked(ctx context.Context, fn func() error) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := filelock.Lock(ctx, filepath.Join(s.dir, "cases.lock"))
	if err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	defer unlock()
	return fn()
}

// write saves c through a synced temporary file renamed over the case.
func (s *Store) write(c Case) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	if err := atomicfile.WriteFile(s.path(c.ID), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	return nil
}

// fill validates in and copies it into c, normalised: lists never nil,
// addresses in their chain's spelling when Options.CheckAddress is set.
func (s *Store) fill(c *Case, in Input) error {
	switch n := len(strings.TrimSpace(in.Name)); {
	case n == 0:
		return invalid("name", "a case needs a name")
	case len(in.Name) > MaxName:
		return invalid("name", "%d bytes; the limit is %d", len(in.Name), MaxName)
	}
	if len(in.Description) > MaxDescription {
		return invalid("description", "%d bytes; the limit is %d", len(in.Description), MaxDescription)
	}
	if len(in.Notes) > MaxNotes {
		return invalid("notes", "%d bytes; the limit is %d", len(in.Notes), MaxNotes)
	}
	g, err := s.graph(in.Graph)
	if err != nil {
		return err
	}
	incidents, err := links("incidents", in.Incidents, validIncident)
	if err != nil {
		return err
	}
	traces, err := links("traces", in.Traces, validTrace)
	if err != nil {
		return err
	}
	*c = Case{Name: strings.TrimSpace(in.Name), Description: in.Description, Graph: g, Notes: in.Notes, Incidents: incidents, Traces: traces}
	return nil
}

// graph validates a graph: unique node ids, known chains and valid
// addresses, edges between nodes of the graph.
func (s *Store) graph(in Graph) (Graph, error) {
	if len(in.Nodes) > MaxNodes {
		return Graph{}, invalid("graph.nodes", "%d nodes; the limit is %d", len(in.Nodes), MaxNodes)
	}
	if len(in.Edges) > MaxEdges {
		return Graph{}, invalid("graph.edges", "%d edges; the limit is %d", len(in.Edges), MaxEdges)
	}
	if len(in.Filters) > MaxFilters {
		return Graph{}, invalid("graph.filters", "%d filters; the limit is %d", len(in.Filters), MaxFilters)
	}
	g := Graph{Nodes: make([]Node, 0, len(in.Nodes)), Edges: make([]Edge, 0, len(in.Edges)), Filters: in.Filters}
	if g.Filters == nil {
		g.Filters = map[string]any{}
	}
	ids := make(map[string]bool, len(in.Nodes))
	for i, n := range in.Nodes {
		at := "graph.nodes[" + strconv.Itoa(i) + "]"
		if n.Kind == "" {
			n.Kind = "address"
		}
		// Only an address node must name an address; a cluster or an
		// entity may name one (a member) or nothing.
		required := []struct{ name, v string }{{"id", n.ID}, {"chain", n.Chain}}
		if n.Kind == "address" {
			required = append(required, struct{ name, v string }{"address", n.Address})
		}
		for _, f := range required {
			if f.v == "" {
				return Graph{}, invalid(at+"."+f.name, "required")
			}
		}
		for _, f := range []struct{ name, v string }{{"id", n.ID}, {"chain", n.Chain}, {"address", n.Address}, {"kind", n.Kind}, {"label", n.Label}} {
			if len(f.v) > maxShort {
				return Graph{}, invalid(at+"."+f.name, "%d bytes; the limit is %d", len(f.v), maxShort)
			}
		}
		if ids[n.ID] {
			return Graph{}, invalid(at+".id", "%q is the id of an earlier node", n.ID)
		}
		ids[n.ID] = true
		if s.o.CheckAddress != nil && n.Kind == "address" {
			a, err := s.o.CheckAddress(n.Chain, n.Address)
			if err != nil {
				return Graph{}, invalid(at+".address", "%s", err)
			}
			n.Address = a
		}
		g.Nodes = append(g.Nodes, n)
	}
	for i, e := range in.Edges {
		at := "graph.edges[" + strconv.Itoa(i) + "]"
		for _, f := range []struct{ name, v string }{{"from", e.From}, {"to", e.To}} {
			if !ids[f.v] {
				return Graph{}, invalid(at+"."+f.name, "%q is no node of the graph", f.v)
			}
		}
		for _, f := range []struct{ name, v string }{{"tx", e.Tx}, {"asset", e.Asset}, {"value", e.Value}, {"label", e.Label}} {
			if len(f.v) > maxShort {
				return Graph{}, invalid(at+"."+f.name, "%d bytes; the limit is %d", len(f.v), maxShort)
			}
		}
		if e.Value != "" && strings.Trim(e.Value, "0123456789") != "" {
			return Graph{}, invalid(at+".value", "%q is not an amount in base units (decimal digits)", e.Value)
		}
		g.Edges = append(g.Edges, e)
	}
	// The filters are the UI's; the server only checks they encode.
	if _, err := json.Marshal(g.Filters); err != nil {
		return Graph{}, invalid("graph.filters", "%s", err)
	}
	return g, nil
}

// links validates a list of ids, dropping repeats.
func links(field string, ids []string, valid func(string) bool) ([]string, error) {
	if len(ids) > MaxLinks {
		return nil, invalid(field, "%d ids; the limit is %d", len(ids), MaxLinks)
	}
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if !valid(id) {
			return nil, invalid(field+"["+strconv.Itoa(i)+"]", "%q is not an id", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// validIncident accepts registry ids: lower-case letters, digits and
// dashes ("2022-03-ronin-bridge").
func validIncident(id string) bool {
	if id == "" || len(id) > maxShort {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validTrace accepts saved trace ids (tracestore's form: tr- and 16 hex
// digits) and trace job ids (job- and 16 hex digits), which name the
// saved trace once the job is done.
func validTrace(id string) bool {
	for _, prefix := range []string{"tr-", "job-"} {
		if h, ok := strings.CutPrefix(id, prefix); ok && len(h) == 16 {
			_, err := hex.DecodeString(h)
			return err == nil && strings.ToLower(h) == h
		}
	}
	return false
}
