package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/query"
	"github.com/chaintrace/chaintrace/internal/query/querytest"
)

// fixtureCluster is the id of the cluster of querytest.MultiInputSpender
// in the fixture's Bitcoin store: the three addresses block 546's
// multi-input transactions spend together.
const fixtureCluster = "534"

// TestClustersGolden pins the cluster routes' answers on the fixture's
// Bitcoin store and each kind of bad request.
func TestClustersGolden(t *testing.T) {
	h := chainServer(t)
	base := "/api/v1/chains/btc/clusters/"
	page := base + fixtureCluster + "?limit=2"
	rec := do(h, "GET", page, "")
	var first api.ChainCluster
	decode(t, rec, &first)
	if first.NextCursor == "" {
		t.Fatalf("no next cursor: %s", rec.Body)
	}
	// A member other than the first is no cluster's id.
	spender, err := chains(t).chains["btc"].BTC.(*query.BTC).AddressID(t.Context(), querytest.MultiInputSpender)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, target string }{
		{"cluster", base + fixtureCluster},
		{"cluster_page1", page},
		{"cluster_page2", page + "&cursor=" + first.NextCursor},
		{"cluster_singleton", base + "1"},
		{"cluster_not_found", base + "99999999"},
		{"cluster_member_id", base + jsonNumber(spender)},
		{"cluster_bad_id", base + "x12"},
		{"cluster_bad_limit", page[:len(page)-1] + "1001"},
		{"cluster_bad_cursor", page + "&cursor=AQ"},
		{"cluster_foreign_cursor", base + "1?cursor=" + first.NextCursor},
		{"cluster_evm", "/api/v1/chains/eth-sim/clusters/1"},
		{"cluster_neighbors_out", base + fixtureCluster + "/neighbors"},
		{"cluster_neighbors_in", base + fixtureCluster + "/neighbors?direction=in&limit=2"},
		{"cluster_neighbors_bad_direction", base + fixtureCluster + "/neighbors?direction=both"},
		{"cluster_neighbors_not_found", base + "99999999/neighbors"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, "GET", tc.target, "", "X-Request-Id", "golden-"+tc.name)
			checkChainGolden(t, tc.name, tc.target, rec)
		})
	}
}

// TestClusterAgreesWithAddress checks the cluster an address answer
// names is the one the cluster route describes, with the address among
// its members, and that its members page through whole.
func TestClusterAgreesWithAddress(t *testing.T) {
	h := chainServer(t)
	var addr api.ChainAddress
	decode(t, do(h, "GET", "/api/v1/chains/btc/addresses/"+querytest.MultiInputSpender, ""), &addr)
	if addr.Cluster == nil {
		t.Fatal("the address has no cluster")
	}
	var whole api.ChainCluster
	target := "/api/v1/chains/btc/clusters/" + jsonNumber(addr.Cluster.ID)
	decode(t, do(h, "GET", target, ""), &whole)
	if whole.Size != addr.Cluster.Size || len(whole.Members) != whole.Size || !contains(whole.Members, querytest.MultiInputSpender) {
		t.Fatalf("cluster %+v for address cluster %+v", whole, addr.Cluster)
	}
	var paged []string
	next := target + "?limit=1"
	for range whole.Size + 1 {
		var p api.ChainCluster
		rec := do(h, "GET", next, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", next, rec.Code, rec.Body)
		}
		decode(t, rec, &p)
		paged = append(paged, p.Members...)
		if p.NextCursor == "" {
			break
		}
		next = target + "?limit=1&cursor=" + p.NextCursor
	}
	if strings.Join(paged, " ") != strings.Join(whole.Members, " ") {
		t.Errorf("paged %v, whole %v", paged, whole.Members)
	}
}

func jsonNumber(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
