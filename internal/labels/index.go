package labels

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Index is an immutable in-memory snapshot of the active address labels
// and of all actors, for screening at high rates. Labels on transactions
// and retired labels are not in it. An Index is safe for concurrent use.
//
// The labels live in one slice, grouped by address and each group sorted
// like Store.Labels; per chain, a map from address to the group's span in
// that slice answers Lookup with two map probes and no allocation. Equal
// strings (chains, datasets, sources, label texts, ...) of labels read
// from a store are shared.
type Index struct {
	chains map[string]map[string]span
	labels []Label
	addrs  int
	actors map[string]Actor
	roots  map[string]string
}

// span is a group of labels in Index.labels.
type span struct {
	off, n uint32
}

// Lookup returns the active labels on a normalised address, or nil when
// there are none. The returned slice is shared: callers must not modify
// it (appending to it is safe).
func (ix *Index) Lookup(chain, address string) []Label {
	sp, ok := ix.chains[chain][address]
	if !ok {
		return nil
	}
	end := sp.off + sp.n
	return ix.labels[sp.off:end:end]
}

// Actor returns the actor with the given id.
func (ix *Index) Actor(id string) (Actor, bool) {
	a, ok := ix.actors[id]
	return a, ok
}

// ActorRoot returns the top-level actor of id, following Parent links (an
// actor listed among another's SubGroups has that one as parent unless it
// names a Parent itself). An actor without a parent, and an unknown id,
// is its own root.
func (ix *Index) ActorRoot(id string) string {
	if r, ok := ix.roots[id]; ok {
		return r
	}
	return id
}

// Len returns the number of labelled addresses.
func (ix *Index) Len() int { return ix.addrs }

// Labels returns the number of labels in the index.
func (ix *Index) Labels() int { return len(ix.labels) }

// NewIndex builds an index from labels and actors, keeping the active
// address labels. It copies the labels; their strings are shared.
func NewIndex(labels []Label, actors []Actor) *Index {
	var b indexBuilder
	for i := range labels {
		if keep(&labels[i]) {
			b.add(labels[i])
		}
	}
	return b.finish(actors)
}

// keep reports whether the index holds l.
func keep(l *Label) bool { return l.Retired == nil && l.Address != "" }

// Index builds an index of the store's active address labels and all its
// actors, from a consistent view of the store.
func (s *Store) Index(ctx context.Context) (*Index, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := s.reader()
	defer r.close()
	var actors []Actor
	err := r.actors(ctx, func(a Actor) bool {
		actors = append(actors, a)
		return true
	})
	if err != nil {
		return nil, err
	}
	// The import records count the active labels, which sizes the
	// builder's slices (an upper bound: labels on transactions count too).
	hint := 0
	err = r.scan(ctx, []byte{prefixImport}, func(_, v []byte) (bool, error) {
		var rec struct{ Active int }
		if json.Unmarshal(v, &rec) == nil {
			hint += rec.Active
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	b := indexBuilder{labels: make([]Label, 0, hint), group: make([]uint32, 0, hint)}
	in := make(interner)
	var l Label
	err = r.scan(ctx, []byte{prefixLabel}, func(k, v []byte) (bool, error) {
		if isRetired(v) {
			return true, nil
		}
		if err := decodeLabel(v, &l, in); err != nil {
			return false, fmt.Errorf("%w at key %q", err, k)
		}
		if keep(&l) {
			b.add(l)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return b.finish(actors), nil
}

// indexBuilder collects labels and groups them by address. While building,
// the span of an address holds its group number in off; finish turns it
// into the group's place in the label slice.
type indexBuilder struct {
	chains map[string]map[string]span
	labels []Label
	group  []uint32 // group of each label
	counts []uint32 // labels in each group
}

func (b *indexBuilder) add(l Label) {
	if b.chains == nil {
		b.chains = make(map[string]map[string]span)
	}
	m := b.chains[l.Chain]
	if m == nil {
		m = make(map[string]span)
		b.chains[l.Chain] = m
	}
	sp, ok := m[l.Address]
	if !ok {
		sp.off = uint32(len(b.counts))
		m[l.Address] = sp
		b.counts = append(b.counts, 0)
	}
	b.counts[sp.off]++
	b.group = append(b.group, sp.off)
	b.labels = append(b.labels, l)
}

func (b *indexBuilder) finish(actors []Actor) *Index {
	// Place groups in the order they were first seen.
	offs := make([]uint32, len(b.counts))
	var off uint32
	for g, n := range b.counts {
		offs[g] = off
		off += n
	}
	for _, m := range b.chains {
		for a, sp := range m {
			m[a] = span{off: offs[sp.off], n: b.counts[sp.off]}
		}
	}
	// dest[i] is where label i goes; permuting in place avoids a second
	// copy of the labels.
	dest := b.group
	fill := b.counts
	for i, g := range dest {
		dest[i] = offs[g] + fill[g] - 1
		fill[g]--
	}
	for i := range dest {
		for dest[i] != uint32(i) {
			j := dest[i]
			b.labels[i], b.labels[j] = b.labels[j], b.labels[i]
			dest[i], dest[j] = dest[j], dest[i]
		}
	}
	ix := &Index{chains: b.chains, labels: b.labels}
	if ix.chains == nil {
		ix.chains = map[string]map[string]span{}
	}
	for _, m := range ix.chains {
		ix.addrs += len(m)
		for _, sp := range m {
			if sp.n > 1 {
				sortLabels(ix.labels[sp.off : sp.off+sp.n])
			}
		}
	}
	ix.actors, ix.roots = actorTree(actors)
	return ix
}

// actorTree maps actors by id and each actor id (also those only named as
// a sub-group or parent) to its root.
func actorTree(actors []Actor) (map[string]Actor, map[string]string) {
	byID := make(map[string]Actor, len(actors))
	parent := make(map[string]string)
	for _, a := range actors {
		byID[a.ID] = a
		if a.Parent != "" && a.Parent != a.ID {
			parent[a.ID] = a.Parent
		}
	}
	for _, a := range actors {
		for _, sub := range a.SubGroups {
			if _, ok := parent[sub]; !ok && sub != a.ID {
				parent[sub] = a.ID
			}
		}
	}
	roots := make(map[string]string, len(parent))
	var path []string
	for id := range parent {
		path = path[:0]
		cur := id
		for {
			if r, ok := roots[cur]; ok {
				cur = r
				break
			}
			if i := slices.Index(path, cur); i >= 0 {
				// A cycle: its smallest id is the root of every member.
				cur = slices.Min(path[i:])
				break
			}
			p, ok := parent[cur]
			if !ok {
				break
			}
			path = append(path, cur)
			cur = p
		}
		for _, p := range path {
			roots[p] = cur
		}
	}
	return byID, roots
}
