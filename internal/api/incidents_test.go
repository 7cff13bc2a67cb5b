package api_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/incident"
)

// testIncidents loads the test registry and its published figure
// (testdata/incidents).
func testIncidents(t testing.TB) *api.IncidentRegistry {
	t.Helper()
	recs, err := incident.LoadFile(t.Context(), "testdata/incidents")
	if err != nil {
		t.Fatal(err)
	}
	figs, err := incident.LoadPublishedFS(t.Context(), os.DirFS("testdata/incidents"), "published.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &api.IncidentRegistry{Records: recs, Published: figs}
}

// incidentServer returns a server over the test registry.
func incidentServer(t *testing.T) http.Handler {
	t.Helper()
	srv, _ := testServer(t, newWorld(t), true, func(c *api.Config) { c.Incidents = testIncidents(t) })
	return srv.Handler()
}

// TestIncidentsGolden pins the incident routes' answers on the test
// registry: pages, filters, one record, statistics, the reconciliation
// and each kind of bad request.
func TestIncidentsGolden(t *testing.T) {
	h := incidentServer(t)
	next := func(target string) string {
		rec := do(h, "GET", target, "")
		var page api.IncidentPage
		decode(t, rec, &page)
		if page.NextCursor == "" {
			t.Fatalf("%s: no next cursor: %s", target, rec.Body)
		}
		return page.NextCursor
	}
	list := "/api/v1/incidents?limit=2"
	cases := []struct{ name, target string }{
		{"incidents_list", list},
		{"incidents_page2", list + "&cursor=" + next(list)},
		{"incidents_filtered", "/api/v1/incidents?from=2022-01-15&to=2022-12-31&actor=lazarusgroup"},
		{"incidents_by_chain_vector", "/api/v1/incidents?chain=ETH&vector=smart_contract_exploit"},
		{"incidents_q", "/api/v1/incidents?q=northwind&from=2021&to=2021-06"},
		{"incidents_bad_date", "/api/v1/incidents?from=2022-13-01"},
		{"incidents_bad_range", "/api/v1/incidents?from=2023-01-01&to=2022"},
		{"incidents_bad_victim_type", "/api/v1/incidents?victim_type=bank"},
		{"incidents_bad_limit", "/api/v1/incidents?limit=501"},
		{"incidents_bad_cursor", "/api/v1/incidents?cursor=AQ"},
		{"incidents_foreign_cursor", "/api/v1/incidents?actor=lazarusgroup&cursor=" + next(list)},
		{"incidents_bad_param", "/api/v1/incidents?year=2022"},
		{"incident", "/api/v1/incidents/2022-02-harbor-bridge"},
		{"incident_not_found", "/api/v1/incidents/2022-02-nowhere"},
		{"incident_stats_year", "/api/v1/incidents/stats"},
		{"incident_stats_actor", "/api/v1/incidents/stats?by=actor&from=2022"},
		{"incident_stats_chain", "/api/v1/incidents/stats?by=chain&actor=lazarusgroup"},
		{"incident_stats_bad_by", "/api/v1/incidents/stats?by=month"},
		{"incident_stats_bad_date", "/api/v1/incidents/stats?to=yesterday"},
		{"incident_reconciliation", "/api/v1/incidents/reconciliation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, "GET", tc.target, "", "X-Request-Id", "golden-"+tc.name)
			checkChainGolden(t, tc.name, tc.target, rec)
		})
	}
}

// TestIncidentsPages walks the whole registry a record at a time and
// checks the pages add up to the single page, newest first, drafts left
// out.
func TestIncidentsPages(t *testing.T) {
	h := incidentServer(t)
	var whole api.IncidentPage
	decode(t, do(h, "GET", "/api/v1/incidents", ""), &whole)
	if whole.Total != 4 || len(whole.Items) != 4 || whole.NextCursor != "" {
		t.Fatalf("whole: total %d, %d items, cursor %q", whole.Total, len(whole.Items), whole.NextCursor)
	}
	for i := 1; i < len(whole.Items); i++ {
		if whole.Items[i-1].Date < whole.Items[i].Date {
			t.Errorf("not newest first: %s before %s", whole.Items[i-1].ID, whole.Items[i].ID)
		}
	}
	var ids []string
	target := "/api/v1/incidents?limit=1"
	for range 10 {
		var page api.IncidentPage
		decode(t, do(h, "GET", target, ""), &page)
		if page.Total != 4 {
			t.Fatalf("%s: total %d", target, page.Total)
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		target = "/api/v1/incidents?limit=1&cursor=" + page.NextCursor
	}
	if len(ids) != 4 {
		t.Fatalf("paged: %v", ids)
	}
	for i, it := range whole.Items {
		if ids[i] != it.ID {
			t.Errorf("page %d is %s, the whole list has %s", i, ids[i], it.ID)
		}
	}
}

// TestIncidentETag checks the registry's answers revalidate: the same
// ETag again, and a 304 without a body for a client holding it.
func TestIncidentETag(t *testing.T) {
	h := incidentServer(t)
	for _, target := range []string{"/api/v1/incidents/2021-06-northwind-exchange", "/api/v1/incidents?limit=1", "/api/v1/incidents/stats?by=vector"} {
		first := do(h, "GET", target, "")
		etag := first.Header().Get("ETag")
		if first.Code != http.StatusOK || etag == "" {
			t.Fatalf("%s: %d, ETag %q", target, first.Code, etag)
		}
		if rec := do(h, "GET", target, "", "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%s revalidated: %d %q", target, rec.Code, rec.Body)
		}
	}
}

// TestIncidentsBuiltin serves the registry compiled into chaintrace and
// checks the routes agree with package incident's own figures, which
// "chaintrace incidents stats" prints.
func TestIncidentsBuiltin(t *testing.T) {
	recs, err := incident.Builtin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	figs, err := incident.LoadPublished(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := testServer(t, newWorld(t), true, func(c *api.Config) {
		c.Incidents = &api.IncidentRegistry{Records: recs, Published: figs}
	})
	h := srv.Handler()
	want := incident.Compute(recs)
	var st api.IncidentStats
	decode(t, do(h, "GET", "/api/v1/incidents/stats?by=actor", ""), &st)
	if st.Total.Count != want.Total.Count || st.Total.USD != want.Total.USD || len(st.Rows) != len(want.ByActor) {
		t.Errorf("stats: total %+v, %d rows; want %+v, %d rows", st.Total, len(st.Rows), want.Total, len(want.ByActor))
	}
	var page api.IncidentPage
	decode(t, do(h, "GET", "/api/v1/incidents?limit=500", ""), &page)
	if page.Total != want.Total.Count || len(page.Items) != min(500, want.Total.Count) {
		t.Errorf("list: total %d, %d items; want %d", page.Total, len(page.Items), want.Total.Count)
	}
	wantRC, err := incident.Reconcile(recs, figs)
	if err != nil {
		t.Fatal(err)
	}
	var rc api.IncidentReconciliation
	rec := do(h, "GET", "/api/v1/incidents/reconciliation", "")
	decode(t, rec, &rc)
	if rec.Code != http.StatusOK || len(rc.Reconciliation) != len(wantRC) {
		t.Fatalf("reconciliation: %d, %d figures, want %d", rec.Code, len(rc.Reconciliation), len(wantRC))
	}
	for i, got := range rc.Reconciliation {
		if w := wantRC[i]; got.Figure.ID != w.Figure.ID || got.OurUSD != w.OurUSD || got.ResidualUSD != w.ResidualUSD || got.USDVerdict != w.USDVerdict {
			t.Errorf("figure %s: %+v, want %+v", w.Figure.ID, got, w)
		}
	}
}

// TestIncidentsUnavailable checks a server without a registry and one
// whose figures name incidents its registry lacks.
func TestIncidentsUnavailable(t *testing.T) {
	srv, _ := testServer(t, newWorld(t), true, nil)
	for _, target := range []string{"/api/v1/incidents", "/api/v1/incidents/x", "/api/v1/incidents/stats", "/api/v1/incidents/reconciliation"} {
		rec := do(srv.Handler(), "GET", target, "")
		var p api.Problem
		decode(t, rec, &p)
		if rec.Code != http.StatusNotFound || p.Type != "urn:chaintrace:problem:incidents-unavailable" {
			t.Errorf("%s: %d %+v", target, rec.Code, p)
		}
	}
	reg := testIncidents(t)
	reg.Records = reg.Records[:1]
	srv, _ = testServer(t, newWorld(t), true, func(c *api.Config) { c.Incidents = reg })
	rec := do(srv.Handler(), "GET", "/api/v1/incidents/reconciliation", "")
	var p api.Problem
	decode(t, rec, &p)
	if rec.Code != http.StatusNotFound || p.Type != "urn:chaintrace:problem:reconciliation-unavailable" {
		t.Errorf("reconciliation of a registry its figures do not fit: %d %+v", rec.Code, p)
	}
	if rec := do(srv.Handler(), "GET", "/api/v1/incidents", ""); rec.Code != http.StatusOK {
		t.Errorf("list beside a failed reconciliation: %d", rec.Code)
	}
}
