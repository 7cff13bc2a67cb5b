package labels

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// searchCheckEvery is how many labels SearchLabels reads between looks
// at its context.
const searchCheckEvery = 4096

// SearchActors returns up to limit actors (all when limit <= 0) whose id,
// label or one of whose aliases contains q, ignoring case: those with a
// name equal to q first, then those with a name starting with q, then the
// others, each group in id order. An empty q matches none.
func (ix *Index) SearchActors(q string, limit int) []Actor {
	lq := strings.ToLower(strings.TrimSpace(q))
	if lq == "" {
		return nil
	}
	type hit struct {
		rank int
		a    Actor
	}
	var hits []hit
	for _, a := range ix.actors {
		rank := -1
		for _, n := range append([]string{a.ID, a.Label}, a.Aliases...) {
			ln := strings.ToLower(strings.TrimSpace(n))
			r := -1
			switch {
			case ln == lq:
				r = 0
			case strings.HasPrefix(ln, lq):
				r = 1
			case strings.Contains(ln, lq):
				r = 2
			}
			if r >= 0 && (rank < 0 || r < rank) {
				rank = r
			}
		}
		if rank >= 0 {
			hits = append(hits, hit{rank, a})
		}
	}
	slices.SortFunc(hits, func(x, y hit) int {
		if c := cmp.Compare(x.rank, y.rank); c != 0 {
			return c
		}
		return cmp.Compare(x.a.ID, y.a.ID)
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]Actor, len(hits))
	for i, h := range hits {
		out[i] = h.a
	}
	return out
}

// SearchLabels returns up to limit active labels (limit must be
// positive) whose label text or sanctioned entity name contains q,
// ignoring case, one per address: the first that matches, in the index's
// order. The scan stops at the limit, so that a common word costs little;
// one that matches nothing reads every label, looking at ctx as it goes.
// An empty q matches none.
func (ix *Index) SearchLabels(ctx context.Context, q string, limit int) ([]Label, error) {
	lq := strings.ToLower(strings.TrimSpace(q))
	if lq == "" || limit <= 0 {
		return nil, nil
	}
	var out []Label
	for i := range ix.labels {
		if i%searchCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return out, err
			}
		}
		l := &ix.labels[i]
		if !containsFold(l.Label, lq) && !containsFold(l.Entity, lq) {
			continue
		}
		// The labels of an address are adjacent: one hit per address is
		// enough for a search result.
		if n := len(out); n > 0 && out[n-1].Chain == l.Chain && out[n-1].Address == l.Address {
			continue
		}
		out = append(out, *l)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}
