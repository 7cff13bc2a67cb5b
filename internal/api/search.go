package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/internal/addrs"
	"github.com/chaintrace/chaintrace/internal/labels"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/trace"
)

// Bounds of a search: the query's length, the results, and how long a
// look-up waits for a Bitcoin store's cluster index, which a server
// builds for minutes after it starts on mainnet.
const (
	MaxSearchQuery       = 200
	DefaultSearchResults = 20
	MaxSearchResults     = 50
	// searchPerKind bounds the results of each text search (actors,
	// incidents, labels), so that one kind cannot crowd out the others.
	searchPerKind = 10
	// searchMinText is the shortest query the label and incident text
	// searches run for: shorter ones match nearly everything.
	searchMinText      = 3
	searchClusterWait  = time.Second
	searchKindAddress  = "address"
	searchKindTx       = "tx"
	searchKindBlock    = "block"
	searchKindCluster  = "cluster"
	searchKindLabel    = "label"
	searchKindActor    = "actor"
	searchKindIncident = "incident"
)

// AddressKnower tells whether a chain store has seen an address, reading
// one key; *query.BTC and *query.ETH implement it. A chain without it is
// not searched for addresses.
type AddressKnower interface {
	Known(ctx context.Context, addr string) (bool, error)
}

// The query readers are the intended AddressKnowers.
var (
	_ AddressKnower = (*query.BTC)(nil)
	_ AddressKnower = (*query.ETH)(nil)
)

// SearchResult is one thing a search found: its kind (address, tx,
// block, cluster, label, actor or incident), the chain id it is on (for
// the chain kinds and labels), the id its route takes (an address, a
// hash, a cluster id, an actor or incident id; the labelled address for a
// label) and a title and subtitle to show.
type SearchResult struct {
	Kind     string `json:"kind"`
	Chain    string `json:"chain,omitempty"`
	ID       string `json:"id"`
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
}

// SearchResults answers GET /api/v1/search: identifiers first (addresses,
// clusters, transactions, blocks), then actors, incidents and labels.
type SearchResults struct {
	Results []SearchResult `json:"results"`
}

var (
	hexHash      = regexp.MustCompile(`^(0x)?[0-9a-fA-F]{64}$`)
	decimal      = regexp.MustCompile(`^[0-9]{1,19}$`)
	clusterQuery = regexp.MustCompile(`(?i)^cluster\s*[:#]?\s*([0-9]{1,19})$`)
)

// handleSearch serves GET /api/v1/search.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	if p := onlyParams(r, "q", "limit"); p != nil {
		writeProblem(w, p)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > MaxSearchQuery {
		writeProblem(w, newProblem(r, probInvalidParam, "q must hold 1 to "+strconv.Itoa(MaxSearchQuery)+" bytes besides spaces"))
		return
	}
	limit, p := limitParam(r, DefaultSearchResults, MaxSearchResults)
	if p != nil {
		writeProblem(w, p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.search(ctx, q, limit)
	if err != nil {
		writeProblem(w, s.chainProblem(r, err, "", ""))
		return
	}
	writeJSON(w, http.StatusOK, &SearchResults{Results: res})
}

// search runs every kind of search that q may be meant for and returns
// at most limit results.
func (s *Server) search(ctx context.Context, q string, limit int) ([]SearchResult, error) {
	out := []SearchResult{}
	add := func(rs ...SearchResult) {
		for _, r := range rs {
			if len(out) < limit {
				out = append(out, r)
			}
		}
	}
	for _, id := range s.chainIDs() {
		rs, err := s.searchChain(ctx, id, s.cfg.Chains[id], q)
		if err != nil {
			return nil, err
		}
		add(rs...)
	}
	ix := s.screener.Index()
	for _, a := range ix.SearchActors(q, searchPerKind) {
		sub := "actor"
		if len(a.Aliases) > 0 {
			sub += ", also " + strings.Join(a.Aliases, ", ")
		}
		add(SearchResult{Kind: searchKindActor, ID: a.ID, Title: orString(a.Label, a.ID), Subtitle: sub})
	}
	if len(q) < searchMinText {
		return out, nil
	}
	add(s.searchIncidents(q)...)
	ls, err := ix.SearchLabels(ctx, q, searchPerKind)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		add(SearchResult{Kind: searchKindLabel, Chain: l.Chain, ID: l.Address, Title: l.Label, Subtitle: labelSubtitle(l)})
	}
	return out, nil
}

// searchChain looks q up in one chain store as an address (with its
// cluster on Bitcoin), a cluster id ("cluster 534"), a transaction or
// block hash, or a block height. What is malformed or absent for the
// chain finds nothing; only a failing store is an error.
func (s *Server) searchChain(ctx context.Context, chain string, c Chain, q string) ([]SearchResult, error) {
	out, err := s.searchAddress(ctx, chain, c, q)
	if err != nil {
		return nil, err
	}
	if m := clusterQuery.FindStringSubmatch(q); m != nil && c.BTC != nil {
		if cr, ok := c.BTC.(ClusterReader); ok {
			cid, _ := strconv.ParseUint(m[1], 10, 64)
			cctx, cancel := context.WithTimeout(ctx, searchClusterWait)
			sum, err := cr.ClusterSummary(cctx, cid, nil, 0, 0, 1)
			cancel()
			if err == nil {
				out = append(out, clusterResult(chain, sum.ID, sum.Size, sum.Address))
			}
		}
	}
	if hexHash.MatchString(q) || decimal.MatchString(q) {
		rs, err := s.searchHash(ctx, chain, c, q)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// searchAddress finds q as an address the chain store has seen or the
// labels name, and on Bitcoin the multi-input cluster it belongs to when
// it has other members.
func (s *Server) searchAddress(ctx context.Context, chain string, c Chain, q string) ([]SearchResult, error) {
	lc := trace.AddrChain(chain)
	norm, err := addrs.Normalize(lc, q)
	switch {
	case errors.Is(err, addrs.ErrUnknownChain):
		// A chain addrs does not know (btc-regtest): the store parses it.
		norm = q
	case err != nil:
		return nil, nil
	}
	var k AddressKnower
	if c.BTC != nil {
		k, _ = c.BTC.(AddressKnower)
	} else {
		k, _ = c.ETH.(AddressKnower)
	}
	seen := false
	if k != nil {
		if seen, err = k.Known(ctx, norm); err != nil {
			return nil, err
		}
	}
	ls := s.partyLabels(chain, norm)
	if !seen && len(ls) == 0 {
		return nil, nil
	}
	sub := "no activity in the store"
	if seen {
		sub = "address"
	}
	if len(ls) > 0 {
		sub = ls[0].Label + ", " + labelSubtitle(ls[0])
		if len(ls) > 1 {
			sub += " and " + strconv.Itoa(len(ls)-1) + " more labels"
		}
	}
	out := []SearchResult{{Kind: searchKindAddress, Chain: chain, ID: norm, Title: norm, Subtitle: sub}}
	if seen && c.BTC != nil {
		cctx, cancel := context.WithTimeout(ctx, searchClusterWait)
		cl, ok, err := c.BTC.Cluster(cctx, norm)
		cancel()
		// An index still building, or a store without clusters, leaves
		// the cluster out rather than failing the search.
		if err == nil && ok && cl.Size > 1 {
			out = append(out, clusterResult(chain, cl.ID, cl.Size, ""))
		}
	}
	return out, nil
}

// searchHash finds q as a transaction or block hash, or a block height.
func (s *Server) searchHash(ctx context.Context, chain string, c Chain, q string) ([]SearchResult, error) {
	var out []SearchResult
	absent := func(err error) bool { return errors.Is(err, query.ErrNotFound) || errors.Is(err, query.ErrInvalid) }
	height := decimal.MatchString(q)
	if c.BTC != nil {
		if !height {
			t, err := c.BTC.Tx(ctx, q)
			if err == nil {
				out = append(out, txResult(chain, t.TxID, t.Height))
			} else if !absent(err) {
				return nil, err
			}
		}
		b, err := c.BTC.Block(ctx, q)
		if err == nil {
			out = append(out, blockResult(chain, b.Hash, b.Height, b.Time))
		} else if !absent(err) {
			return nil, err
		}
		return out, nil
	}
	if !height && !strings.HasPrefix(q, "0x") {
		q = "0x" + q
	}
	if !height {
		t, err := c.ETH.Tx(ctx, q)
		if err == nil {
			out = append(out, txResult(chain, t.Hash, t.Block))
		} else if !absent(err) {
			return nil, err
		}
	}
	b, err := c.ETH.Block(ctx, strings.ToLower(q))
	if err == nil {
		out = append(out, blockResult(chain, b.Hash, b.Height, b.Time))
	} else if !absent(err) {
		return nil, err
	}
	return out, nil
}

// searchIncidents finds q in the incident registry: the record with that
// id first, then those whose id, victim name or alias contains it, newest
// first.
func (s *Server) searchIncidents(q string) []SearchResult {
	if s.inc == nil {
		return nil
	}
	lq := strings.ToLower(q)
	var out []SearchResult
	if i, ok := s.inc.byID[lq]; ok {
		out = append(out, incidentResult(&s.inc.newest[i]))
	}
	for i := range s.inc.newest {
		r := &s.inc.newest[i]
		if len(out) == searchPerKind {
			break
		}
		if r.ID != lq && r.Status != "draft" && incidentMentions(&r.Record, lq) {
			out = append(out, incidentResult(r))
		}
	}
	return out
}

func clusterResult(chain string, id uint64, size int, first string) SearchResult {
	sub := strconv.Itoa(size) + " addresses spent together"
	if first != "" {
		sub += ", first " + first
	}
	return SearchResult{Kind: searchKindCluster, Chain: chain, ID: strconv.FormatUint(id, 10), Title: "cluster " + strconv.FormatUint(id, 10), Subtitle: sub}
}

func txResult(chain, hash string, height uint64) SearchResult {
	return SearchResult{Kind: searchKindTx, Chain: chain, ID: hash, Title: hash, Subtitle: "transaction in block " + strconv.FormatUint(height, 10)}
}

func blockResult(chain, hash string, height uint64, t time.Time) SearchResult {
	return SearchResult{Kind: searchKindBlock, Chain: chain, ID: hash, Title: "block " + strconv.FormatUint(height, 10),
		Subtitle: t.UTC().Format(time.RFC3339)}
}

func incidentResult(r *IncidentRecord) SearchResult {
	usd := "USD unknown"
	if r.USD != nil {
		usd = "USD " + groupThousands(strconv.FormatFloat(*r.USD, 'f', 0, 64))
	}
	return SearchResult{Kind: searchKindIncident, ID: r.ID, Title: r.Victim.Name,
		Subtitle: r.Date + ", " + usd + ", " + r.Attribution.Actor}
}

// labelSubtitle names a label's category or abuse and its dataset.
func labelSubtitle(l labels.Label) string {
	what := orString(l.Category, l.Abuse)
	if what == "" {
		return l.Dataset
	}
	return what + ", " + l.Dataset
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// groupThousands puts commas between the thousands of a decimal integer.
func groupThousands(d string) string {
	var b strings.Builder
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
