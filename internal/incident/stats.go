package incident

import (
	"sort"
	"strconv"
)

// Bucket is the count and USD total of the records in one group.
type Bucket struct {
	Key   string  `json:"key"`
	Count int     `json:"count"`
	USD   float64 `json:"usd"`
	// UnknownUSD counts the records of the group whose usd is null; they
	// add nothing to USD.
	UnknownUSD int `json:"unknown_usd"`
}

// Stats are the registry's totals, overall and by year, actor, victim
// type, vector and chain. By chain, a record counts under every chain it
// names with its full USD (the registry does not split a theft by chain),
// so the chain rows overlap and do not sum to the total; records naming
// no chain count under "unknown". Every other grouping partitions the
// records.
type Stats struct {
	Total     Bucket   `json:"total"`
	ByYear    []Bucket `json:"by_year"`
	ByActor   []Bucket `json:"by_actor"`
	ByVictim  []Bucket `json:"by_victim_type"`
	ByVector  []Bucket `json:"by_vector"`
	ByChain   []Bucket `json:"by_chain"`
	Drafts    int      `json:"drafts_skipped"`
	FirstYear int      `json:"first_year"`
	LastYear  int      `json:"last_year"`
}

// Compute sums the records into Stats. Draft records are skipped (and
// counted in Drafts): they are not reviewed facts. Year buckets are in
// year order, the others by USD, largest first, then by key.
func Compute(records []Record) Stats {
	var s Stats
	year, actor, victim, vector, chain := map[string]*Bucket{}, map[string]*Bucket{}, map[string]*Bucket{}, map[string]*Bucket{}, map[string]*Bucket{}
	add := func(m map[string]*Bucket, key string, r *Record) {
		b := m[key]
		if b == nil {
			b = &Bucket{Key: key}
			m[key] = b
		}
		addTo(b, r)
	}
	for i := range records {
		r := &records[i]
		if r.Status == "draft" {
			s.Drafts++
			continue
		}
		addTo(&s.Total, r)
		y := r.Year()
		if s.FirstYear == 0 || y < s.FirstYear {
			s.FirstYear = y
		}
		if y > s.LastYear {
			s.LastYear = y
		}
		add(year, strconv.Itoa(y), r)
		add(actor, r.Attribution.Actor, r)
		add(victim, r.Victim.Type, r)
		add(vector, r.Vector, r)
		if len(r.Chains) == 0 {
			add(chain, "unknown", r)
		}
		for _, c := range dedup(r.Chains) {
			add(chain, c, r)
		}
	}
	s.Total.Key = "total"
	s.ByYear = sorted(year, true)
	s.ByActor = sorted(actor, false)
	s.ByVictim = sorted(victim, false)
	s.ByVector = sorted(vector, false)
	s.ByChain = sorted(chain, false)
	return s
}

func addTo(b *Bucket, r *Record) {
	b.Count++
	if r.USD == nil {
		b.UnknownUSD++
		return
	}
	b.USD += *r.USD
}

func dedup(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// sorted returns the buckets by key (byKey) or by USD, largest first.
func sorted(m map[string]*Bucket, byKey bool) []Bucket {
	out := make([]Bucket, 0, len(m))
	for _, b := range m {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool {
		if !byKey && out[i].USD != out[j].USD {
			return out[i].USD > out[j].USD
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Filter is a selection of records; zero fields match everything.
type Filter struct {
	Year       int
	Actor      string
	VictimType string
	// Drafts includes draft records, which are left out by default.
	Drafts bool
}

// Match reports whether r is selected. Actor matches the attribution's
// actor exactly (a sub-group is not its parent: APT38 is not selected by
// lazarusgroup), so that counts per actor do not overlap.
func (f Filter) Match(r *Record) bool {
	switch {
	case !f.Drafts && r.Status == "draft":
		return false
	case f.Year != 0 && r.Year() != f.Year:
		return false
	case f.Actor != "" && r.Attribution.Actor != f.Actor:
		return false
	case f.VictimType != "" && r.Victim.Type != f.VictimType:
		return false
	}
	return true
}

// Select returns the records f matches, in their order.
func Select(records []Record, f Filter) []Record {
	var out []Record
	for i := range records {
		if f.Match(&records[i]) {
			out = append(out, records[i])
		}
	}
	return out
}

// Find returns the record with id, or nil.
func Find(records []Record, id string) *Record {
	for i := range records {
		if records[i].ID == id {
			return &records[i]
		}
	}
	return nil
}
