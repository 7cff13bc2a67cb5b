package labels

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
)

// Labels returns every label on an address, retired ones included, sorted
// by ConfidenceLevel (highest first), then Dataset and label text. The
// address must be normalised the way importers normalise it.
func (s *Store) Labels(ctx context.Context, chain, address string) ([]Label, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := s.reader()
	defer r.close()
	var out []Label
	err := r.indexed(ctx, addrPrefix(nil, chain, address), func(l Label) bool {
		out = append(out, l)
		return true
	})
	if err != nil {
		return nil, err
	}
	sortLabels(out)
	return out, nil
}

// sortLabels orders labels by ConfidenceLevel (highest first), then
// Dataset, chain, target and label text.
func sortLabels(ls []Label) {
	slices.SortFunc(ls, func(a, b Label) int {
		return cmp.Or(
			cmp.Compare(b.ConfidenceLevel, a.ConfidenceLevel),
			strings.Compare(a.Dataset, b.Dataset),
			strings.Compare(a.Chain, b.Chain),
			strings.Compare(a.Address, b.Address),
			strings.Compare(a.TxHash, b.TxHash),
			strings.Compare(a.Label, b.Label),
		)
	})
}

// indexed calls fn with the label of every index key (l or b table) with
// the given prefix, whose remainder is a d key without its prefix byte.
func (r reader) indexed(ctx context.Context, prefix []byte, fn func(Label) bool) error {
	var dkey []byte
	return r.scan(ctx, prefix, func(k, _ []byte) (bool, error) {
		dkey = append(append(dkey[:0], prefixLabel), k[len(prefix):]...)
		var l Label
		ok, err := r.label(dkey, &l)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, fmt.Errorf("labels: index key %q has no label", k)
		}
		return fn(l), nil
	})
}

// LabelsByActor calls fn, until it returns false, with every label (retired
// ones included) whose Actor is actorID or one of its sub-groups,
// transitively. Sub-groups are taken both from an actor's SubGroups and
// from the Parent of other actors. Labels come grouped by actor, the actor
// itself first.
func (s *Store) LabelsByActor(ctx context.Context, actorID string, fn func(Label) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := s.reader()
	defer r.close()
	children := make(map[string][]string)
	err := r.actors(ctx, func(a Actor) bool {
		children[a.ID] = append(children[a.ID], a.SubGroups...)
		if a.Parent != "" {
			children[a.Parent] = append(children[a.Parent], a.ID)
		}
		return true
	})
	if err != nil {
		return err
	}
	ids := []string{actorID}
	seen := map[string]bool{actorID: true}
	for i := 0; i < len(ids); i++ {
		for _, c := range children[ids[i]] {
			if !seen[c] {
				seen[c] = true
				ids = append(ids, c)
			}
		}
	}
	stopped := false
	for _, id := range ids {
		err := r.indexed(ctx, tablePrefix(nil, prefixByActor, id), func(l Label) bool {
			stopped = !fn(l)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

// Actor returns the actor with the given id; ok is false when there is
// none.
func (s *Store) Actor(ctx context.Context, id string) (a Actor, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return Actor{}, false, err
	}
	v, closer, err := s.db.Get(tablePrefix(nil, prefixActor, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return Actor{}, false, nil
	}
	if err != nil {
		return Actor{}, false, fmt.Errorf("labels: get actor %s: %w", id, err)
	}
	defer closer.Close()
	if err := json.Unmarshal(v, &a); err != nil {
		return Actor{}, false, fmt.Errorf("labels: corrupt actor %s: %w", id, err)
	}
	return a, true, nil
}

// Actors calls fn with every actor in id order until fn returns false.
func (s *Store) Actors(ctx context.Context, fn func(Actor) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := s.reader()
	defer r.close()
	return r.actors(ctx, fn)
}

// actors calls fn with every actor in id order until fn returns false.
func (r reader) actors(ctx context.Context, fn func(Actor) bool) error {
	return r.scan(ctx, []byte{prefixActor}, func(k, v []byte) (bool, error) {
		var a Actor
		if err := json.Unmarshal(v, &a); err != nil {
			return false, fmt.Errorf("labels: corrupt actor at key %q: %w", k, err)
		}
		return fn(a), nil
	})
}

// SearchActors returns the actors whose id, label or one of whose aliases
// contains q, ignoring case: those with an exact (case-insensitive) match
// first, then the others, each group in id order. An empty q matches every
// actor.
func (s *Store) SearchActors(ctx context.Context, q string) ([]Actor, error) {
	lq := strings.ToLower(strings.TrimSpace(q))
	var exact, partial []Actor
	err := s.Actors(ctx, func(a Actor) bool {
		names := append([]string{a.ID, a.Label}, a.Aliases...)
		found, isExact := false, false
		for _, n := range names {
			if containsFold(n, lq) {
				found = true
				if strings.EqualFold(strings.TrimSpace(n), lq) {
					isExact = true
				}
			}
		}
		switch {
		case isExact:
			exact = append(exact, a)
		case found:
			partial = append(partial, a)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return append(exact, partial...), nil
}

// Search returns up to limit labels (all when limit <= 0), retired ones
// included, whose label text or sanctioned entity name contains q,
// ignoring case. It scans every label, in dataset order.
func (s *Store) Search(ctx context.Context, q string, limit int) ([]Label, error) {
	lq := strings.ToLower(strings.TrimSpace(q))
	var out []Label
	err := s.All(ctx, func(l Label) bool {
		if containsFold(l.Label, lq) || containsFold(l.Entity, lq) {
			out = append(out, l)
		}
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// containsFold reports whether s contains lq, which is in lower case,
// ignoring case. ASCII text is compared without allocating.
func containsFold(s, lq string) bool {
	if lq == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), lq)
		}
	}
	for i := 0; i+len(lq) <= len(s); i++ {
		j := 0
		for j < len(lq) && lowerASCII(s[i+j]) == lq[j] {
			j++
		}
		if j == len(lq) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// All calls fn with every label, retired ones included, in dataset order,
// until fn returns false.
func (s *Store) All(ctx context.Context, fn func(Label) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := s.reader()
	defer r.close()
	return r.scan(ctx, []byte{prefixLabel}, func(k, v []byte) (bool, error) {
		var l Label
		if err := decodeLabel(v, &l, nil); err != nil {
			return false, fmt.Errorf("%w at key %q", err, k)
		}
		return fn(l), nil
	})
}

// Datasets returns the import records of every applied dataset, by name.
func (s *Store) Datasets(ctx context.Context) ([]DatasetInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := s.reader()
	defer r.close()
	var out []DatasetInfo
	err := r.scan(ctx, []byte{prefixImport}, func(k, v []byte) (bool, error) {
		var rec DatasetInfo
		if err := json.Unmarshal(v, &rec); err != nil {
			return false, fmt.Errorf("labels: corrupt import record at key %q: %w", k, err)
		}
		out = append(out, rec)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
