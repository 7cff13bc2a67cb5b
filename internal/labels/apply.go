package labels

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// incoming is a label of the dataset being applied with its d key.
type incoming struct {
	key []byte
	l   *Label
	pos int // index in Dataset.Labels
}

// Apply applies dataset d to the store, atomically (one synced Pebble
// batch) and idempotently. A label new to the dataset is added, a changed
// one updated (keeping FirstImported), an identical one left untouched,
// and a label of the dataset that d no longer lists is retired: kept, with
// Retired set. A retired label that reappears is un-retired and counts as
// updated. The actors of d are upserted, and the import record of the
// dataset (see DatasetInfo) is rewritten unless nothing changed.
//
// Labels must already be normalised; Apply checks only that each has a
// chain, a label text, an address or a transaction hash (not both) and the
// dataset's name as Dataset, and that each actor has an id, and rejects the
// whole dataset otherwise. A dataset without labels and actors is refused
// when the store holds active labels or actors from an earlier import of
// it, since applying it would retire them all.
func (s *Store) Apply(ctx context.Context, d Dataset) (Counts, error) {
	if err := ctx.Err(); err != nil {
		return Counts{}, err
	}
	in, err := prepareLabels(d)
	if err != nil {
		return Counts{}, err
	}
	actors, err := prepareActors(d)
	if err != nil {
		return Counts{}, err
	}

	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	now := s.now()
	r := s.reader()
	defer r.close()

	prev, hadPrev, err := r.importRecord(d.Name)
	if err != nil {
		return Counts{}, err
	}
	if len(in) == 0 && len(actors) == 0 && hadPrev && (prev.Active > 0 || prev.Counts.Actors > 0) {
		return Counts{}, fmt.Errorf("labels: dataset %q is empty but its last import had %d active labels and %d actors; refusing to retire them all",
			d.Name, prev.Active, prev.Counts.Actors)
	}

	b := s.db.NewBatchWithSize(batchSizeHint(in))
	defer b.Close()
	m := merger{b: b, now: now}
	if err := m.labels(ctx, r, d.Name, in); err != nil {
		return Counts{}, err
	}
	if err := m.actors(r, actors); err != nil {
		return Counts{}, err
	}
	m.counts.Actors = len(actors)
	m.counts.Rejected = len(d.Rejected)

	rec := DatasetInfo{
		Name: d.Name, Format: d.Format, Path: d.Path, Imported: now,
		Counts: m.counts, Active: m.active, Retired: m.retired, Rejected: d.Rejected,
	}
	if b.Empty() && hadPrev && sameRecord(prev, rec) {
		return m.counts, nil
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return Counts{}, fmt.Errorf("labels: encode import record of %s: %w", d.Name, err)
	}
	if err := b.Set(tablePrefix(nil, prefixImport, d.Name), v, nil); err != nil {
		return Counts{}, fmt.Errorf("labels: apply %s: %w", d.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return Counts{}, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return Counts{}, fmt.Errorf("labels: apply %s: commit: %w", d.Name, err)
	}
	return m.counts, nil
}

// batchSizeHint estimates the batch size of applying in to an empty
// dataset, so that the batch is allocated once.
func batchSizeHint(in []incoming) int {
	n := 0
	for _, e := range in {
		l := e.l
		n += 3*len(e.key) + 128 + len(l.Chain) + len(l.Address) + len(l.TxHash) + len(l.Label) +
			len(l.Category) + len(l.Abuse) + 2*len(l.Actor) + len(l.Confidence) + len(l.Source) +
			len(l.Dataset) + len(l.Context) + len(l.Entity) + len(l.EntityUID) + 8*len(l.Programs)
	}
	return min(n, 1<<30)
}

// sameRecord reports whether an import record differs from the stored one
// only in what an import that changed nothing would change: the time and
// the add/update/unchanged/retire counts.
func sameRecord(a, b DatasetInfo) bool {
	return a.Format == b.Format && a.Path == b.Path &&
		a.Active == b.Active && a.Retired == b.Retired &&
		a.Counts.Actors == b.Counts.Actors && a.Counts.Rejected == b.Counts.Rejected &&
		slices.Equal(a.Rejected, b.Rejected)
}

// prepareLabels validates the labels of d and returns them with their d
// keys, sorted by key, the last of several rows with one key winning.
func prepareLabels(d Dataset) ([]incoming, error) {
	if d.Name == "" {
		return nil, errors.New("labels: dataset has no name")
	}
	size := 0
	for i := range d.Labels {
		l := &d.Labels[i]
		size += len(l.Dataset) + len(l.Chain) + len(l.Address) + len(l.TxHash) + len(l.Label) + 9
	}
	arena := make([]byte, 0, size)
	ends := make([]int, len(d.Labels))
	for i := range d.Labels {
		l := &d.Labels[i]
		if err := validate(l, d.Name); err != nil {
			return nil, fmt.Errorf("labels: dataset %q: label #%d (%s): %w; dataset rejected", d.Name, i+1, l.Key(), err)
		}
		arena = labelKey(arena, l)
		ends[i] = len(arena)
	}
	in := make([]incoming, len(d.Labels))
	start := 0
	for i := range in {
		in[i] = incoming{key: arena[start:ends[i]:ends[i]], l: &d.Labels[i], pos: i}
		start = ends[i]
	}
	// Sorting by key and then by position puts the last of several rows
	// with one key last.
	slices.SortFunc(in, func(a, b incoming) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	out := in[:0]
	for i := range in {
		if i+1 < len(in) && bytes.Equal(in[i].key, in[i+1].key) {
			continue
		}
		out = append(out, in[i])
	}
	return out, nil
}

// validate checks the fields Apply relies on.
func validate(l *Label, dataset string) error {
	switch {
	case l.Chain == "":
		return errors.New("no chain")
	case l.Label == "":
		return errors.New("no label text")
	case l.Dataset == "":
		return errors.New("no dataset")
	case l.Dataset != dataset:
		return fmt.Errorf("dataset is %q, not the dataset's name", l.Dataset)
	case l.Address == "" && l.TxHash == "":
		return errors.New("neither address nor transaction hash")
	case l.Address != "" && l.TxHash != "":
		return errors.New("both an address and a transaction hash")
	}
	return nil
}

// prepareActors validates the actors of d and returns them by id, the last
// of several with one id winning, with Dataset defaulting to d's name.
func prepareActors(d Dataset) ([]Actor, error) {
	byID := make(map[string]int, len(d.Actors))
	var out []Actor
	for i, a := range d.Actors {
		if strings.TrimSpace(a.ID) == "" {
			return nil, fmt.Errorf("labels: dataset %q: actor #%d (%q) has no id; dataset rejected", d.Name, i+1, a.Label)
		}
		if a.Dataset == "" {
			a.Dataset = d.Name
		}
		if j, ok := byID[a.ID]; ok {
			out[j] = a
			continue
		}
		byID[a.ID] = len(out)
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Actor) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// merger accumulates the writes of one Apply in a batch.
type merger struct {
	b      *pebble.Batch
	now    time.Time
	counts Counts
	// active and retired count the dataset's labels after the Apply.
	active, retired int

	key, val, content []byte
	old               Label
}

// labels merges the sorted incoming labels with the dataset's stored ones.
func (m *merger) labels(ctx context.Context, r reader, dataset string, in []incoming) error {
	prefix := tablePrefix(nil, prefixLabel, dataset)
	it, err := r.snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("labels: apply %s: %w", dataset, err)
	}
	defer it.Close()
	valid := it.First()
	i, n := 0, 0
	for valid || i < len(in) {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c := 0
		switch {
		case !valid:
			c = -1
		case i == len(in):
			c = 1
		default:
			c = bytes.Compare(in[i].key, it.Key())
		}
		if c < 0 {
			if err := m.add(in[i]); err != nil {
				return fmt.Errorf("labels: apply %s: %w", dataset, err)
			}
			i++
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("labels: apply %s: %w", dataset, err)
		}
		if c > 0 {
			err = m.retire(it.Key(), v)
		} else {
			err = m.update(in[i], v)
			i++
		}
		if err != nil {
			return fmt.Errorf("labels: apply %s: %w", dataset, err)
		}
		valid = it.Next()
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("labels: apply %s: %w", dataset, err)
	}
	return nil
}

// add writes a label new to its dataset.
func (m *merger) add(e incoming) error {
	l := *e.l
	l.FirstImported, l.LastImported, l.Retired = m.now, m.now, nil
	m.val = appendLabel(m.val[:0], &l)
	if err := m.b.Set(e.key, m.val, nil); err != nil {
		return err
	}
	m.key = addrKey(m.key[:0], &l)
	if err := m.b.Set(m.key, nil, nil); err != nil {
		return err
	}
	if l.Actor != "" {
		m.key = actorIndexKey(m.key[:0], l.Actor, &l)
		if err := m.b.Set(m.key, nil, nil); err != nil {
			return err
		}
	}
	m.counts.Added++
	m.active++
	return nil
}

// update compares an incoming label with its stored value v and rewrites
// it when its content changed or it was retired.
func (m *merger) update(e incoming, v []byte) error {
	m.active++
	m.content = appendContent(m.content[:0], e.l)
	if !isRetired(v) && sameContent(v, m.content) {
		m.counts.Unchanged++
		return nil
	}
	if err := decodeLabel(v, &m.old, nil); err != nil {
		return fmt.Errorf("%w at key %q", err, e.key)
	}
	l := *e.l
	l.FirstImported, l.LastImported, l.Retired = m.old.FirstImported, m.now, nil
	m.val = appendLabel(m.val[:0], &l)
	if err := m.b.Set(e.key, m.val, nil); err != nil {
		return err
	}
	if m.old.Actor != l.Actor {
		if m.old.Actor != "" {
			m.key = actorIndexKey(m.key[:0], m.old.Actor, &l)
			if err := m.b.Delete(m.key, nil); err != nil {
				return err
			}
		}
		if l.Actor != "" {
			m.key = actorIndexKey(m.key[:0], l.Actor, &l)
			if err := m.b.Set(m.key, nil, nil); err != nil {
				return err
			}
		}
	}
	m.counts.Updated++
	return nil
}

// retire marks the stored label at key k, which the dataset no longer
// lists, as retired (unless it already is).
func (m *merger) retire(k, v []byte) error {
	m.retired++
	if isRetired(v) {
		return nil
	}
	if err := decodeLabel(v, &m.old, nil); err != nil {
		return fmt.Errorf("%w at key %q", err, k)
	}
	t := m.now
	m.old.Retired = &t
	m.val = appendLabel(m.val[:0], &m.old)
	if err := m.b.Set(k, m.val, nil); err != nil {
		return err
	}
	m.counts.Retired++
	return nil
}

// actors upserts actors, writing only those that differ from the store.
// An actor already stored is merged with the incoming one rather than
// replaced, because several sources describe the same actor (a GraphSense
// ActorPack names the Lazarus Group, chaintrace's own actor file adds its
// aliases and sub-groups): list fields are unioned and kept sorted, scalar
// fields take the incoming value when it is set, and Dataset lists every
// contributing dataset. A source can therefore add to an actor but not take
// away what another source said.
func (m *merger) actors(r reader, actors []Actor) error {
	for i := range actors {
		a := actors[i]
		m.key = tablePrefix(m.key[:0], prefixActor, a.ID)
		old, closer, err := r.snap.Get(m.key)
		var oldBytes []byte
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			a = mergeActor(Actor{}, a)
		case err != nil:
			return fmt.Errorf("labels: read actor %s: %w", a.ID, err)
		default:
			oldBytes = bytes.Clone(old)
			closer.Close()
			var prev Actor
			if err := json.Unmarshal(oldBytes, &prev); err != nil {
				return fmt.Errorf("labels: corrupt actor %s: %w", a.ID, err)
			}
			a = mergeActor(prev, a)
		}
		v, err := json.Marshal(&a)
		if err != nil {
			return fmt.Errorf("labels: encode actor %s: %w", a.ID, err)
		}
		if oldBytes != nil && bytes.Equal(oldBytes, v) {
			continue
		}
		if err := m.b.Set(m.key, v, nil); err != nil {
			return fmt.Errorf("labels: write actor %s: %w", a.ID, err)
		}
	}
	return nil
}

// importRecord reads the import record of a dataset.
func (r reader) importRecord(name string) (DatasetInfo, bool, error) {
	v, closer, err := r.snap.Get(tablePrefix(nil, prefixImport, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return DatasetInfo{}, false, nil
	}
	if err != nil {
		return DatasetInfo{}, false, fmt.Errorf("labels: read import record of %s: %w", name, err)
	}
	defer closer.Close()
	var rec DatasetInfo
	if err := json.Unmarshal(v, &rec); err != nil {
		return DatasetInfo{}, false, fmt.Errorf("labels: corrupt import record of %s: %w", name, err)
	}
	return rec, true, nil
}

// mergeActor merges the description in into old as Apply's actors step
// documents.
func mergeActor(old, in Actor) Actor {
	out := old
	out.ID = in.ID
	pick := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	pick(&out.Label, in.Label)
	pick(&out.Parent, in.Parent)
	pick(&out.URI, in.URI)
	pick(&out.Context, in.Context)
	union := func(a, b []string) []string {
		set := make(map[string]bool, len(a)+len(b))
		var u []string
		for _, s := range append(slices.Clone(a), b...) {
			if s != "" && !set[s] {
				set[s] = true
				u = append(u, s)
			}
		}
		slices.Sort(u)
		return u
	}
	out.Aliases = union(old.Aliases, in.Aliases)
	out.SubGroups = union(old.SubGroups, in.SubGroups)
	out.Categories = union(old.Categories, in.Categories)
	out.Jurisdictions = union(old.Jurisdictions, in.Jurisdictions)
	out.References = union(old.References, in.References)
	out.Dataset = strings.Join(union(strings.Split(old.Dataset, ","), []string{in.Dataset}), ",")
	return out
}
