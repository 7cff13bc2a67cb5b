package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
)

// searchServer is a server over the fixture's chains, the test world's
// labels and actors, and the test incident registry.
func searchServer(t *testing.T) http.Handler {
	t.Helper()
	srv, _ := testServer(t, newWorld(t), true, func(c *api.Config) {
		c.Chains, c.ChainLabels = exampleChains(t)
		c.Incidents = testIncidents(t)
	})
	return srv.Handler()
}

// TestSearchGolden pins what each kind of query finds, and the bad
// requests.
func TestSearchGolden(t *testing.T) {
	h := searchServer(t)
	w := chains(t).eth
	s := "/api/v1/search?q="
	cases := []struct{ name, target string }{
		{"search_btc_address", s + querytest.MultiInputSpender},
		{"search_btc_labelled", s + querytest.Hal},
		{"search_eth_address", s + strings.ToLower(w.Carol.Hex())},
		{"search_btc_tx", s + querytest.FirstPayment},
		{"search_eth_tx", s + w.Swap.Hex()},
		{"search_height", s + "3"},
		{"search_block_hash", s + "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"},
		{"search_cluster", s + "cluster%20534"},
		{"search_actor", s + "lazarus"},
		{"search_incident_id", s + "2022-02-harbor-bridge"},
		{"search_victim", s + "wallet&limit=3"},
		{"search_label", s + "mixer"},
		{"search_nothing", s + "zzzz-nothing"},
		{"search_empty", s + "%20"},
		{"search_too_long", s + strings.Repeat("a", 201)},
		{"search_bad_limit", s + "x&limit=51"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, "GET", tc.target, "", "X-Request-Id", "golden-"+tc.name)
			checkChainGolden(t, tc.name, tc.target, rec)
		})
	}
}

// TestSearchKinds checks each kind of query finds its object on top,
// whatever else it finds.
func TestSearchKinds(t *testing.T) {
	h := searchServer(t)
	for _, tc := range []struct{ q, kind, chain, id string }{
		{querytest.Satoshi, "address", "btc", querytest.Satoshi},
		{querytest.FirstPayment, "tx", "btc", querytest.FirstPayment},
		{"170", "block", "btc", "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"},
		{"Hidden Cobra", "actor", "", "lazarusgroup"},
		{"Northwind", "incident", "", "2021-06-northwind-exchange"},
	} {
		var res api.SearchResults
		rec := do(h, "GET", "/api/v1/search?q="+strings.ReplaceAll(tc.q, " ", "%20"), "")
		decode(t, rec, &res)
		if rec.Code != http.StatusOK || len(res.Results) == 0 {
			t.Errorf("%s: %d %s", tc.q, rec.Code, rec.Body)
			continue
		}
		if r := res.Results[0]; r.Kind != tc.kind || r.Chain != tc.chain || r.ID != tc.id {
			t.Errorf("%s: first result %+v, want %s %s %s", tc.q, r, tc.kind, tc.chain, tc.id)
		}
	}
}
