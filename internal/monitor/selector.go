package monitor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/chaintrace/chaintrace/internal/btc"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/store"
)

// LabelSource is what actor and category selectors are resolved against:
// the active address labels and the actors of a label database.
// StoreLabels adapts a *labels.Store.
type LabelSource interface {
	// ActiveLabels calls fn with every active (not retired) label on an
	// address until fn returns false.
	ActiveLabels(ctx context.Context, fn func(labels.Label) bool) error
	// Actors calls fn with every actor until fn returns false.
	Actors(ctx context.Context, fn func(labels.Actor) bool) error
}

// ClusterSource is what cluster selectors are resolved against: the
// clustering of one chain's store. StoreClusters is one for a Bitcoin
// store.
type ClusterSource interface {
	// ClusterMembers returns the addresses of the cluster of address on
	// chain, address included. An address the chain's store has never
	// seen is an error wrapping ErrNotInStore.
	ClusterMembers(ctx context.Context, chain, address string) ([]string, error)
}

// ErrNotInStore is wrapped by a cluster source's error for an address
// that has no activity in the chain's store.
var ErrNotInStore = errors.New("monitor: address has no activity in the chain's store")

// Sources are the label database and the clusterings selectors are
// resolved against; either may be nil when no selector needs it.
type Sources struct {
	Labels LabelSource
	// Clusters returns the cluster source of a chain; nil, or an error,
	// means the chain's clusters are unavailable.
	Clusters func(ctx context.Context, chain string) (ClusterSource, error)
}

// categorySynonyms maps words people use for a category to the label
// taxonomy's concept id: "sanctioned" is how watchlists are spoken of,
// "sanction" is the GraphSense abuse id labels carry.
var categorySynonyms = map[string]string{"sanctioned": "sanction"}

// Normalize checks that exactly one field of s is set and puts a category
// into the taxonomy's form (lower case, synonyms resolved).
func (s *Selector) Normalize() error {
	s.Actor = strings.TrimSpace(s.Actor)
	s.Category = strings.ToLower(strings.TrimSpace(s.Category))
	s.Cluster = strings.TrimSpace(s.Cluster)
	if c, ok := categorySynonyms[s.Category]; ok {
		s.Category = c
	}
	set := 0
	for _, v := range []string{s.Actor, s.Category, s.Cluster} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return &FieldError{Field: "selector", Value: s.String(), Reason: "set exactly one of actor, category or cluster, with a non-empty value"}
	}
	return nil
}

// String is the selector as "actor:ID", "category:C" or "cluster:ADDR";
// watches created from it carry it as their Source.
func (s Selector) String() string {
	var parts []string
	if s.Actor != "" {
		parts = append(parts, "actor:"+s.Actor)
	}
	if s.Category != "" {
		parts = append(parts, "category:"+s.Category)
	}
	if s.Cluster != "" {
		parts = append(parts, "cluster:"+s.Cluster)
	}
	return strings.Join(parts, ",")
}

// Resolution is what a selector chose: addresses by chain, each list
// sorted and without duplicates, and the actor ids an actor selector
// covered (the actor and its sub-actors).
type Resolution struct {
	Selector  Selector
	Addresses map[string][]string
	Actors    []string
}

// Resolve returns the addresses sel chooses, by chain; a non-empty chain
// keeps only that chain's. An actor selector takes the labels of the
// actor and of its sub-actors (by the actors' Parent and SubGroups); a
// category selector the labels whose category or abuse is the category;
// a cluster selector, which needs chain, the members of the address's
// cluster. An unknown actor, a category no active label has and an
// address the chain's store has not seen are errors naming the input.
// Resolve normalises sel first (an actor given by a unique name or id
// prefix becomes the actor's id).
func Resolve(ctx context.Context, src Sources, sel Selector, chain string) (Resolution, error) {
	if err := sel.Normalize(); err != nil {
		return Resolution{}, err
	}
	switch {
	case sel.Cluster != "":
		return resolveCluster(ctx, src, sel, chain)
	case src.Labels == nil:
		return Resolution{}, fmt.Errorf("monitor: selector %s: no label database (run \"chaintrace labels import\" first)", sel)
	case sel.Actor != "":
		return resolveActor(ctx, src.Labels, sel, chain)
	}
	return resolveCategory(ctx, src.Labels, sel, chain)
}

func resolveCluster(ctx context.Context, src Sources, sel Selector, chain string) (Resolution, error) {
	if chain == "" {
		return Resolution{}, &FieldError{Field: "chain", Value: "", Reason: "a cluster selector needs the chain of " + sel.Cluster}
	}
	if src.Clusters == nil {
		return Resolution{}, fmt.Errorf("monitor: selector %s: no clustering of %s available", sel, chain)
	}
	cs, err := src.Clusters(ctx, chain)
	if err != nil {
		return Resolution{}, fmt.Errorf("monitor: selector %s on %s: %w", sel, chain, err)
	}
	members, err := cs.ClusterMembers(ctx, chain, sel.Cluster)
	if err != nil {
		return Resolution{}, fmt.Errorf("monitor: selector %s on %s: %w", sel, chain, err)
	}
	return Resolution{Selector: sel, Addresses: map[string][]string{chain: sortedSet(members)}}, nil
}

func resolveActor(ctx context.Context, ls LabelSource, sel Selector, chain string) (Resolution, error) {
	var actors []labels.Actor
	if err := ls.Actors(ctx, func(a labels.Actor) bool {
		actors = append(actors, a)
		return true
	}); err != nil {
		return Resolution{}, fmt.Errorf("monitor: selector %s: %w", sel, err)
	}
	// Actor ids that labels name but no actor record describes are
	// actors too (a TagPack may name an actor its ActorPack lacks).
	labelled := map[string]bool{}
	if err := ls.ActiveLabels(ctx, func(l labels.Label) bool {
		if l.Actor != "" {
			labelled[l.Actor] = true
		}
		return true
	}); err != nil {
		return Resolution{}, fmt.Errorf("monitor: selector %s: %w", sel, err)
	}
	id, err := findActor(sel.Actor, actors, labelled)
	if err != nil {
		return Resolution{}, err
	}
	sel.Actor = id
	covered := actorFamily(id, actors)
	set := map[string]bool{}
	for _, a := range covered {
		set[a] = true
	}
	res := Resolution{Selector: sel, Actors: covered}
	res.Addresses, err = collect(ctx, ls, chain, func(l *labels.Label) bool { return set[l.Actor] })
	if err != nil {
		return Resolution{}, fmt.Errorf("monitor: selector %s: %w", sel, err)
	}
	return res, nil
}

// findActor returns the actor id that name designates: an id (any case),
// else an actor whose label or alias is name ignoring case and blanks,
// else the one id or squeezed label that name is a prefix of. Several
// candidates, or none, are an error naming name.
func findActor(name string, actors []labels.Actor, labelled map[string]bool) (string, error) {
	lower := strings.ToLower(name)
	if labelled[lower] || slices.ContainsFunc(actors, func(a labels.Actor) bool { return a.ID == lower }) {
		return lower, nil
	}
	squeeze := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }
	want := squeeze(name)
	byName := map[string]bool{}
	for _, a := range actors {
		if squeeze(a.Label) == want || slices.ContainsFunc(a.Aliases, func(al string) bool { return squeeze(al) == want }) {
			byName[a.ID] = true
		}
	}
	if len(byName) == 0 {
		for _, a := range actors {
			if strings.HasPrefix(a.ID, want) || strings.HasPrefix(squeeze(a.Label), want) {
				byName[a.ID] = true
			}
		}
		for id := range labelled {
			if strings.HasPrefix(id, want) {
				byName[id] = true
			}
		}
	}
	ids := slices.Sorted(maps.Keys(byName))
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", &FieldError{Field: "actor", Value: name, Reason: "no actor has this id, name or alias, and no active label names it (see chaintrace actors)"}
	}
	if len(ids) > 8 {
		ids = append(ids[:8], "...")
	}
	return "", &FieldError{Field: "actor", Value: name, Reason: "ambiguous: matches actors " + strings.Join(ids, ", ")}
}

// actorFamily returns id and every actor below it, transitively: the
// actors whose Parent it is and those in its SubGroups, in the order
// found.
func actorFamily(id string, actors []labels.Actor) []string {
	children := map[string][]string{}
	for _, a := range actors {
		children[a.ID] = append(children[a.ID], a.SubGroups...)
		if a.Parent != "" {
			children[a.Parent] = append(children[a.Parent], a.ID)
		}
	}
	out := []string{id}
	seen := map[string]bool{id: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

func resolveCategory(ctx context.Context, ls LabelSource, sel Selector, chain string) (Resolution, error) {
	c := sel.Category
	addrs, err := collect(ctx, ls, chain, func(l *labels.Label) bool {
		return strings.EqualFold(l.Category, c) || strings.EqualFold(l.Abuse, c)
	})
	if err != nil {
		return Resolution{}, fmt.Errorf("monitor: selector %s: %w", sel, err)
	}
	if len(addrs) == 0 && chain == "" {
		return Resolution{}, &FieldError{Field: "category", Value: c, Reason: "no active label has this category or abuse (taxonomy ids such as exchange, mixing_service, sanction)"}
	}
	return Resolution{Selector: sel, Addresses: addrs}, nil
}

// collect returns the addresses of the active labels keep accepts, by
// chain, restricted to chain when set.
func collect(ctx context.Context, ls LabelSource, chain string, keep func(*labels.Label) bool) (map[string][]string, error) {
	by := map[string]map[string]bool{}
	err := ls.ActiveLabels(ctx, func(l labels.Label) bool {
		if l.Address == "" || chain != "" && l.Chain != chain || !keep(&l) {
			return true
		}
		if by[l.Chain] == nil {
			by[l.Chain] = map[string]bool{}
		}
		by[l.Chain][l.Address] = true
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(by))
	for c, set := range by {
		out[c] = slices.Sorted(maps.Keys(set))
	}
	return out, nil
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// Unwatchable is a chain a selector matched addresses on that the
// monitor cannot watch (yet), or addresses it cannot match.
type Unwatchable struct {
	Chain     string `json:"chain"`
	Addresses int    `json:"addresses"`
	Reason    string `json:"reason"`
}

// Watchable splits addrs of chain into the addresses a watch of chain
// can hold (normalised, as Watch.Check leaves them) and a report of the
// rest: all of them when the chain is not a monitored one.
func Watchable(chain string, addrs []string) ([]string, []Unwatchable) {
	probe := Watch{Chain: chain, Addresses: []string{"-"}}
	var fe *FieldError
	if err := probe.Check(); errors.As(err, &fe) && fe.Field == "chain" {
		return nil, []Unwatchable{{Chain: chain, Addresses: len(addrs), Reason: fe.Reason}}
	}
	var ok []string
	bad := 0
	var firstBad string
	for _, a := range addrs {
		w := Watch{Chain: chain, Addresses: []string{a}}
		if err := w.Check(); err != nil {
			if bad == 0 {
				firstBad = err.Error()
			}
			bad++
			continue
		}
		ok = append(ok, w.Addresses[0])
	}
	var skipped []Unwatchable
	if bad > 0 {
		skipped = append(skipped, Unwatchable{Chain: chain, Addresses: bad, Reason: "not watchable addresses, e.g. " + firstBad})
	}
	return sortedSet(ok), skipped
}

// SelectorWatches resolves sel (on chain only, when set) and returns one
// watch per chain with watchable matching addresses, named name (by
// default after the selector), with rules, Selector and Source set and
// no id yet (AddWatches gives them one); and the chains or addresses it
// could not watch. A selector that matches nothing watchable is an error.
func SelectorWatches(ctx context.Context, src Sources, sel Selector, chain, name string, rules []Rule) ([]Watch, []Unwatchable, error) {
	res, err := Resolve(ctx, src, sel, chain)
	if err != nil {
		return nil, nil, err
	}
	sel = res.Selector
	if name == "" {
		name = sel.String()
	}
	var ws []Watch
	var skipped []Unwatchable
	for _, c := range slices.Sorted(maps.Keys(res.Addresses)) {
		ok, bad := Watchable(c, res.Addresses[c])
		skipped = append(skipped, bad...)
		if len(ok) == 0 {
			continue
		}
		s := sel
		ws = append(ws, Watch{Chain: c, Name: name, Addresses: ok, Rules: slices.Clone(rules), Source: sel.String(), Selector: &s})
	}
	if len(ws) == 0 {
		where := "any monitored chain"
		if chain != "" {
			where = chain
		}
		reason := "matches no address on " + where
		if len(skipped) > 0 {
			reason += fmt.Sprintf(" (%d addresses on chains the monitor cannot watch)", countAddrs(skipped))
		}
		return nil, skipped, &FieldError{Field: "selector", Value: sel.String(), Reason: reason}
	}
	return ws, skipped, nil
}

func countAddrs(us []Unwatchable) int {
	n := 0
	for _, u := range us {
		n += u.Addresses
	}
	return n
}

// Change is what re-resolving one selector watch did.
type Change struct {
	Watch    string   `json:"watch"`
	Chain    string   `json:"chain"`
	Selector string   `json:"selector"`
	Added    []string `json:"added,omitempty"`
	Removed  []string `json:"removed,omitempty"`
	// Total is the number of addresses the watch holds afterwards.
	Total int `json:"total"`
	// Err is why the watch was left as it was (its selector no longer
	// resolves, its chain's clustering is unavailable, ...).
	Err string `json:"error,omitempty"`
}

// RefreshOptions choose which selector watches RefreshWatches re-resolves.
type RefreshOptions struct {
	// LabelsOnly skips cluster selectors: a label import changes only
	// what actor and category selectors choose.
	LabelsOnly bool
}

// RefreshWatches re-resolves the selector of every selector watch under
// data against src and writes the new address lists, reporting what
// changed per watch (watches without changes included, with none). A
// watch whose selector fails to resolve is left alone and reported with
// the error; one whose selector now matches nothing keeps no addresses
// (a later import may fill it again). Selectors are resolved before the
// watch list is locked, so a slow clustering does not hold up other
// edits; a watch removed or redefined meanwhile is not touched.
func RefreshWatches(ctx context.Context, data string, src Sources, o RefreshOptions) ([]Change, error) {
	ws, err := Watches(data)
	if err != nil {
		return nil, err
	}
	want := map[string][]string{}
	var changes []Change
	for _, w := range ws {
		if w.Selector == nil || o.LabelsOnly && w.Selector.Cluster != "" {
			continue
		}
		ch := Change{Watch: w.ID, Chain: w.Chain, Selector: w.Selector.String(), Total: len(w.Addresses)}
		res, err := Resolve(ctx, src, *w.Selector, w.Chain)
		var fe *FieldError
		switch {
		case errors.As(err, &fe) && (fe.Field == "category" || fe.Field == "actor"):
			// A category or actor no active label names any more makes
			// an empty watch, not an error: its labels were retired.
			res.Addresses = nil
		case err != nil:
			ch.Err = err.Error()
			changes = append(changes, ch)
			continue
		}
		ok, _ := Watchable(w.Chain, res.Addresses[w.Chain])
		if ok == nil {
			ok = []string{}
		}
		want[w.ID] = ok
		ch.Added, ch.Removed = diffSorted(sortedSet(w.Addresses), ok)
		ch.Total = len(ok)
		changes = append(changes, ch)
	}
	changed := false
	for _, c := range changes {
		changed = changed || len(c.Added)+len(c.Removed) > 0
	}
	if !changed {
		return changes, nil
	}
	var l WatchList
	err = EditJSON(ctx, WatchesPath(data), &l, func() error {
		for i := range l.Watches {
			w := &l.Watches[i]
			if addrs, ok := want[w.ID]; ok && w.Selector != nil && slices.ContainsFunc(ws, func(o Watch) bool {
				return o.ID == w.ID && o.Selector != nil && *o.Selector == *w.Selector
			}) {
				w.Addresses = addrs
			}
		}
		return nil
	})
	return changes, err
}

// diffSorted returns the elements of b missing from a (added) and of a
// missing from b (removed); both inputs are sorted sets.
func diffSorted(a, b []string) (added, removed []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			removed = append(removed, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			added = append(added, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}

// StoreLabels adapts a label store to LabelSource.
type StoreLabels struct{ Store *labels.Store }

// ActiveLabels calls fn with the store's labels on addresses that are not
// retired.
func (s StoreLabels) ActiveLabels(ctx context.Context, fn func(labels.Label) bool) error {
	return s.Store.All(ctx, func(l labels.Label) bool {
		if l.Retired != nil || l.Address == "" {
			return true
		}
		return fn(l)
	})
}

// Actors calls fn with the store's actors.
func (s StoreLabels) Actors(ctx context.Context, fn func(labels.Actor) bool) error {
	return s.Store.Actors(ctx, fn)
}

// AddrReader is the part of a Bitcoin chain store StoreClusters reads;
// store.Graph is one.
type AddrReader interface {
	AddrID(ctx context.Context, addrKey []byte) (uint64, error)
	AddrKey(ctx context.Context, id uint64) ([]byte, error)
}

// StoreClusters answers cluster selectors of one Bitcoin chain from its
// store's address ids and a clustering of those ids. It does not depend
// on package cluster: Members is (*cluster.Index).Members of an index
// built over the same store.
type StoreClusters struct {
	Chain   string
	DB      AddrReader
	Members func(id uint64) []uint64
}

// ClusterMembers returns the addresses of the cluster of address.
func (s StoreClusters) ClusterMembers(ctx context.Context, chain, address string) ([]string, error) {
	if chain != s.Chain {
		return nil, fmt.Errorf("monitor: clusters of %s asked of the %s store", chain, s.Chain)
	}
	net, _, err := ChainNetwork(chain)
	if err != nil {
		return nil, err
	}
	n, err := normalize(chain, net, address)
	if err != nil {
		return nil, err
	}
	k, err := btc.ParseAddress(n, net)
	if err != nil {
		return nil, &FieldError{Field: "address", Value: address, Reason: err.Error()}
	}
	id, err := s.DB.AddrID(ctx, k.Bytes())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInStore // Resolve's error names the address
	}
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	ids := s.Members(id)
	out := make([]string, 0, len(ids))
	for _, mid := range ids {
		a, err := encodeID(ctx, s.DB, net, mid)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// encodeID returns the address of a store's address id.
func encodeID(ctx context.Context, db AddrReader, net *chaincfg.Params, id uint64) (string, error) {
	kb, err := db.AddrKey(ctx, id)
	if err != nil {
		return "", fmt.Errorf("monitor: address #%d: %w", id, err)
	}
	k, err := btc.AddrKeyFromBytes(kb)
	if err != nil {
		return "", fmt.Errorf("monitor: address #%d: %w", id, err)
	}
	return k.Encode(net), nil
}
