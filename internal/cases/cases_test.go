package cases

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a test clock that moves a second per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func sample() Input {
	return Input{
		Name: " Bybit drain ", Description: "Follow the ETH",
		Graph: Graph{
			Nodes: []Node{
				{ID: "n1", Chain: "eth", Address: "0xABC", X: 10, Y: 20},
				{ID: "n2", Chain: "eth", Address: "0xdef", Kind: "cluster", Collapsed: true},
			},
			Edges:   []Edge{{From: "n1", To: "n2", Tx: "0x01", Asset: "ETH", Value: "1500000000000000000"}},
			Filters: map[string]any{"min_value": "1", "hide": []any{"dust"}},
		},
		Notes: "n1 is the attacker", Incidents: []string{"2025-02-bybit", "2025-02-bybit"}, Traces: []string{"tr-0123456789abcdef"},
	}
}

// TestCRUD creates, reads, lists, updates (with and against the current
// version) and deletes a case, and checks the file on disk.
func TestCRUD(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	clk := &clock{t: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	lower := func(_, a string) (string, error) { return strings.ToLower(a), nil }
	s := New(data, Options{Now: clk.now, CheckAddress: lower})
	c, err := s.Create(ctx, sample())
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(c.ID) || c.Version != 1 || c.Name != "Bybit drain" || !c.Created.Equal(c.Updated) || c.Graph.Nodes[0].Address != "0xabc" ||
		c.Graph.Nodes[0].Kind != "address" || len(c.Incidents) != 1 {
		t.Fatalf("created %+v", c)
	}
	got, err := s.Get(ctx, c.ID)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
		t.Fatalf("get: %+v %v\nwant %+v", got, err, c)
	}
	if _, err := os.Stat(filepath.Join(Dir(data), c.ID+".json")); err != nil {
		t.Fatal(err)
	}
	in := sample()
	in.Name, in.Graph.Nodes[0].X = "Bybit drain, round 2", 99
	u, err := s.Update(ctx, c.ID, 1, in)
	if err != nil || u.Version != 2 || u.Name != "Bybit drain, round 2" || !u.Created.Equal(c.Created) || !u.Updated.After(c.Updated) || u.Graph.Nodes[0].X != 99 {
		t.Fatalf("update: %+v %v", u, err)
	}
	if _, err := s.Update(ctx, c.ID, 1, in); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "version 2, not 1") {
		t.Errorf("stale update: %v", err)
	}
	other, err := s.Create(ctx, Input{Name: "empty"})
	if err != nil || other.Graph.Nodes == nil || other.Graph.Filters == nil || other.Traces == nil {
		t.Fatalf("an empty case: %+v %v", other, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != other.ID || list[1].Nodes != 2 || list[1].Version != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.Delete(ctx, c.ID, 1); !errors.Is(err, ErrConflict) {
		t.Errorf("stale delete: %v", err)
	}
	if err := s.Delete(ctx, c.ID, 2); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{c.ID, "case-none", "../etc/passwd", "tr-0123456789abcdef"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("get %s: %v", id, err)
		}
	}
	if err := s.Delete(ctx, c.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.Update(ctx, c.ID, 2, in); !errors.Is(err, ErrNotFound) {
		t.Errorf("updating a deleted case: %v", err)
	}
}

// TestConcurrentUpdates lets ten writers update one version at once:
// exactly one wins.
func TestConcurrentUpdates(t *testing.T) {
	s := New(t.TempDir(), Options{})
	c, err := s.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 10 {
		wg.Go(func() {
			in := sample()
			in.Notes = fmt.Sprint("writer ", i)
			if _, err := s.Update(t.Context(), c.ID, 1, in); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := s.Get(t.Context(), c.ID); wins != 1 || got.Version != 2 {
		t.Errorf("%d writers won; version %d", wins, got.Version)
	}
}

// TestValidation names the field at fault.
func TestValidation(t *testing.T) {
	bad := func(field string, mod func(*Input)) {
		t.Helper()
		in := sample()
		mod(&in)
		_, err := New(t.TempDir(), Options{CheckAddress: func(_, a string) (string, error) {
			if a == "bogus" {
				return "", errors.New("not an address")
			}
			return a, nil
		}}).Create(t.Context(), in)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", field, err)
		}
	}
	bad("name", func(in *Input) { in.Name = "  " })
	bad("name", func(in *Input) { in.Name = strings.Repeat("x", MaxName+1) })
	bad("notes", func(in *Input) { in.Notes = strings.Repeat("x", MaxNotes+1) })
	bad("graph.nodes[1].chain", func(in *Input) { in.Graph.Nodes[1].Chain = "" })
	bad("graph.nodes[1].id", func(in *Input) { in.Graph.Nodes[1].ID = "n1" })
	bad("graph.nodes[0].address", func(in *Input) { in.Graph.Nodes[0].Address = "bogus" })
	bad("graph.nodes[0].address", func(in *Input) { in.Graph.Nodes[0].Address = "" })
	// A cluster node needs no address, and its address is not checked.
	in := sample()
	in.Graph.Nodes[1].Address = "bogus"
	if _, err := New(t.TempDir(), Options{CheckAddress: func(_, a string) (string, error) { return "", errors.New("checked") }}).Create(t.Context(), Input{
		Name: "x", Graph: Graph{Nodes: []Node{{ID: "c", Chain: "btc", Kind: "cluster"}, in.Graph.Nodes[1]}}}); err != nil {
		t.Errorf("cluster nodes: %v", err)
	}
	bad("graph.edges[0].to", func(in *Input) { in.Graph.Edges[0].To = "n9" })
	bad("graph.edges[0].value", func(in *Input) { in.Graph.Edges[0].Value = "1.5" })
	bad("incidents[0]", func(in *Input) { in.Incidents[0] = "../x" })
	bad("traces[0]", func(in *Input) { in.Traces[0] = "tr-xyz" })
	bad("graph.nodes", func(in *Input) { in.Graph.Nodes = make([]Node, MaxNodes+1) })
}
