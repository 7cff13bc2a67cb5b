package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/auth"
	"github.com/chaintrace/chaintrace/internal/kyt"
)

// keyed is a server with a keyring over a data directory and a key of
// each role.
type keyed struct {
	srv                *api.Server
	data               string
	read, write, admin string
	readID, writeID    string
	revoked, expired   string
	revokedID, adminID string
}

// keyedServer makes a server whose keys are in a fresh data directory,
// with anonymous callers given role anon and limits as given.
func keyedServer(t *testing.T, anon auth.Role, limits api.RateLimits) *keyed {
	t.Helper()
	k := &keyed{data: t.TempDir()}
	mk := func(role auth.Role, exp time.Time) (string, string) {
		key, tok, err := auth.Create(t.Context(), k.data, role, role.String()+"-test", exp)
		if err != nil {
			t.Fatal(err)
		}
		return tok, key.ID
	}
	k.read, k.readID = mk(auth.RoleRead, time.Time{})
	k.write, k.writeID = mk(auth.RoleWrite, time.Time{})
	k.admin, k.adminID = mk(auth.RoleAdmin, time.Time{})
	k.revoked, k.revokedID = mk(auth.RoleAdmin, time.Time{})
	if err := auth.Revoke(t.Context(), k.data, k.revokedID); err != nil {
		t.Fatal(err)
	}
	k.expired, _ = mk(auth.RoleAdmin, time.Now().Add(-time.Second))
	kr, err := auth.OpenKeyring(k.data, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	k.srv, _ = testServer(t, w, true, func(c *api.Config) {
		c.Keys, c.Anonymous, c.RateLimits, c.AuditData = kr, anon, limits, k.data
	})
	return k
}

// transferBody is a registration the server without a registry answers
// with a problem after authentication, which is all these tests need.
const transferBody = `{"chain":"btc","tx":"00","output_index":0,"user_id":"u"}`

func TestAuthentication(t *testing.T) {
	k := keyedServer(t, auth.RoleRead, api.RateLimits{})
	h := k.srv.Handler()
	screen := "/api/v1/chains"
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	cases := []struct {
		name, method, path string
		hdr                []string
		status             int
		typ                string
	}{
		{"anonymous read", "GET", screen, nil, 200, ""},
		{"anonymous write", "POST", "/api/v1/transfers", nil, 401, "urn:chaintrace:problem:unauthorized"},
		{"malformed header", "GET", screen, []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, "urn:chaintrace:problem:unauthorized"},
		{"malformed key", "GET", screen, bearer("ct_nope"), 401, "urn:chaintrace:problem:unauthorized"},
		{"unknown key", "GET", screen, bearer("ct_000000000000_abcdef"), 401, "urn:chaintrace:problem:unauthorized"},
		{"revoked key", "GET", screen, bearer(k.revoked), 401, "urn:chaintrace:problem:unauthorized"},
		{"expired key", "GET", screen, []string{"X-API-Key", k.expired}, 401, "urn:chaintrace:problem:unauthorized"},
		{"read key reads", "GET", screen, bearer(k.read), 200, ""},
		{"read key batch screens", "POST", "/api/v1/screen", bearer(k.read), 400, "urn:chaintrace:problem:invalid-body"},
		{"read key writes", "POST", "/api/v1/transfers", bearer(k.read), 403, "urn:chaintrace:problem:forbidden"},
		{"write key writes", "POST", "/api/v1/transfers", []string{"X-API-Key", k.write}, 404, "urn:chaintrace:problem:transfers-unavailable"},
		{"write key reads the audit", "GET", "/api/v1/audit", bearer(k.write), 403, "urn:chaintrace:problem:forbidden"},
		{"admin reads the audit", "GET", "/api/v1/audit", bearer(k.admin), 200, ""},
		{"bad key on an open route", "GET", "/healthz", bearer("garbage"), 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := ""
			if c.method == "POST" {
				body = transferBody
			}
			rec := do(h, c.method, c.path, body, c.hdr...)
			if c.typ == "" {
				if rec.Code != c.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
				}
				return
			}
			p := problem(t, rec, c.status, c.typ)
			if c.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
			if p.Detail == "" {
				t.Error("no detail")
			}
		})
	}
}

func TestAnonymousNone(t *testing.T) {
	k := keyedServer(t, auth.RoleNone, api.RateLimits{})
	h := k.srv.Handler()
	for _, path := range []string{"/api/v1/chains", "/metrics", "/api/v1/actors/lazarusgroup"} {
		rec := do(h, "GET", path, "")
		problem(t, rec, 401, "urn:chaintrace:problem:unauthorized")
		if rec := do(h, "GET", path, "", "X-API-Key", k.read); rec.Code != 200 {
			t.Errorf("GET %s with a read key: %d %s", path, rec.Code, rec.Body)
		}
	}
	for _, path := range []string{"/healthz", "/api/v1/openapi.json"} {
		if rec := do(h, "GET", path, ""); rec.Code != 200 {
			t.Errorf("GET %s without a key: %d, want 200", path, rec.Code)
		}
	}
}

// TestNewKeyReachesRunningServer creates a key after the server started,
// as `chaintrace apikey create` does beside `chaintrace serve`.
func TestNewKeyReachesRunningServer(t *testing.T) {
	k := keyedServer(t, auth.RoleNone, api.RateLimits{})
	_, tok, err := auth.Create(t.Context(), k.data, auth.RoleRead, "late", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if rec := do(k.srv.Handler(), "GET", "/api/v1/chains", "", "Authorization", "Bearer "+tok); rec.Code != 200 {
		t.Fatalf("a key created after the start: %d %s", rec.Code, rec.Body)
	}
	if err := auth.Revoke(t.Context(), k.data, k.readID); err != nil {
		t.Fatal(err)
	}
	problem(t, do(k.srv.Handler(), "GET", "/api/v1/chains", "", "X-API-Key", k.read), 401, "urn:chaintrace:problem:unauthorized")
}

func TestRateLimit(t *testing.T) {
	limits := api.RateLimits{Anonymous: api.Rate{PerSecond: 0.01, Burst: 3}, Read: api.Rate{PerSecond: 0.01, Burst: 2}}
	k := keyedServer(t, auth.RoleRead, limits)
	h := k.srv.Handler()
	get := func(hdr ...string) *http.Response {
		return do(h, "GET", "/api/v1/chains", "", hdr...).Result()
	}
	for i := range 3 {
		resp := get()
		if resp.StatusCode != 200 {
			t.Fatalf("anonymous request %d: %d", i, resp.StatusCode)
		}
		if got, want := resp.Header.Get("RateLimit-Remaining"), strconv.Itoa(2-i); got != want || resp.Header.Get("RateLimit-Limit") != "3" {
			t.Errorf("request %d: RateLimit-Limit %q, Remaining %q, want 3, %s", i, resp.Header.Get("RateLimit-Limit"), got, want)
		}
	}
	rec := do(h, "GET", "/api/v1/chains", "")
	problem(t, rec, 429, "urn:chaintrace:problem:rate-limited")
	ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if err != nil || ra < 1 || ra > 100 {
		t.Errorf("Retry-After %q, want 1..100 seconds", rec.Header().Get("Retry-After"))
	}
	if rec.Header().Get("RateLimit-Reset") == "" {
		t.Error("no RateLimit-Reset")
	}
	// Keys have buckets of their own, one per key.
	for _, tok := range []string{k.read, k.write} {
		for i := range 2 {
			if resp := get("X-API-Key", tok); resp.StatusCode != 200 {
				t.Fatalf("key request %d: %d", i, resp.StatusCode)
			}
		}
	}
	problem(t, do(h, "GET", "/api/v1/chains", "", "X-API-Key", k.read), 429, "urn:chaintrace:problem:rate-limited")
	// Open routes are never limited.
	if resp := get(); resp.StatusCode != 429 {
		t.Errorf("anonymous bucket refilled: %d", resp.StatusCode)
	}
	if rec := do(h, "GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("/healthz limited: %d", rec.Code)
	}
	m := do(h, "GET", "/metrics", "", "X-API-Key", k.admin)
	if !strings.Contains(m.Body.String(), `chaintrace_http_refused_total{reason="rate_limited"} 3`) {
		t.Errorf("metrics lack the rate-limited count:\n%s", grepLines(m.Body.String(), "refused"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestParseRateLimits(t *testing.T) {
	l, err := api.ParseRateLimits("read=100/s, write=30/m:5,anonymous=0/s", api.DefaultRateLimits())
	if err != nil {
		t.Fatal(err)
	}
	if l.Read != (api.Rate{PerSecond: 100, Burst: 200}) || l.Write != (api.Rate{PerSecond: 0.5, Burst: 5}) || l.Anonymous.PerSecond != 0 || l.Admin != api.DefaultRateLimits().Admin {
		t.Errorf("parsed %+v", l)
	}
	if l, err := api.ParseRateLimits("off", api.DefaultRateLimits()); err != nil || !l.Off() {
		t.Errorf("off: %+v, %v", l, err)
	}
	back, err := api.ParseRateLimits(api.DefaultRateLimits().String(), api.RateLimits{})
	if err != nil || back != api.DefaultRateLimits() {
		t.Errorf("String does not parse back: %+v, %v", back, err)
	}
	for _, bad := range []string{"read", "root=1/s", "read=x/s", "read=1/h", "read=1/s:0", "read=-1/s"} {
		if _, err := api.ParseRateLimits(bad, api.RateLimits{}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestAuditLog(t *testing.T) {
	k := keyedServer(t, auth.RoleRead, api.RateLimits{})
	h := k.srv.Handler()
	do(h, "POST", "/api/v1/transfers", transferBody, "X-API-Key", k.write, "X-Request-Id", "req-write")
	do(h, "POST", "/api/v1/transfers", transferBody, "X-API-Key", k.read, "X-Request-Id", "req-forbidden")
	do(h, "POST", "/api/v1/transfers", transferBody, "X-API-Key", k.revoked, "X-Request-Id", "req-revoked")
	do(h, "POST", "/api/v1/transfers", transferBody, "X-Request-Id", "req-anonymous")
	do(h, "GET", "/api/v1/chains", "", "X-Request-Id", "req-read")
	f, err := os.Open(api.AuditPath(k.data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode())
	}
	var got []api.AuditEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e api.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, e)
	}
	want := []struct {
		id, key, claimed, role string
		status                 int
		body                   bool
	}{
		{"req-write", k.writeID, "", "write", 404, true},
		{"req-forbidden", "anonymous", k.readID, "read", 403, true},
		{"req-revoked", "anonymous", k.revokedID, "none", 401, true},
		{"req-anonymous", "anonymous", "", "read", 401, true},
	}
	if len(got) != len(want) {
		t.Fatalf("%d audit lines, want %d (reads are not audited): %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if e.RequestID != w.id || e.Key != w.key || e.Claimed != w.claimed || e.Role != w.role || e.Status != w.status ||
			e.Method != "POST" || e.Path != "/api/v1/transfers" || e.Remote == "" || e.Time.IsZero() || (e.BodySHA256 != "") != w.body {
			t.Errorf("line %d: %+v, want %+v", i, e, w)
		}
	}
	// The admin route pages through the same lines.
	var page struct {
		Entries    []api.AuditEntry `json:"entries"`
		NextCursor string           `json:"next_cursor"`
	}
	rec := do(h, "GET", "/api/v1/audit?limit=3", "", "X-API-Key", k.admin)
	decode(t, rec, &page)
	if len(page.Entries) != 3 || page.Entries[0].RequestID != "req-write" {
		t.Fatalf("first page: %s", rec.Body)
	}
	rec = do(h, "GET", "/api/v1/audit?limit=3&cursor="+page.NextCursor, "", "X-API-Key", k.admin)
	decode(t, rec, &page)
	if len(page.Entries) != 1 || page.Entries[0].RequestID != "req-anonymous" {
		t.Fatalf("second page: %s", rec.Body)
	}
	problem(t, do(h, "GET", "/api/v1/audit?cursor=7", "", "X-API-Key", k.admin), 400, "urn:chaintrace:problem:unknown-cursor")
	problem(t, do(h, "GET", "/api/v1/audit?limit=0", "", "X-API-Key", k.admin), 400, "urn:chaintrace:problem:invalid-parameter")
}

// panickingRegistry is a transfer registry whose registration panics.
type panickingRegistry struct{ api.TransferRegistry }

// Register panics, as a handler's bug would.
func (panickingRegistry) Register(context.Context, kyt.Request) (kyt.Transfer, error) {
	panic("registry exploded")
}

// TestAuditPanicAndAccessLog checks that a write whose handler panics is
// audited with the 500 the server answers, and that the access log names
// the key.
func TestAuditPanicAndAccessLog(t *testing.T) {
	data := t.TempDir()
	_, tok, err := auth.Create(t.Context(), data, auth.RoleWrite, "w", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := auth.OpenKeyring(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv, logs := testServer(t, newWorld(t), true, func(c *api.Config) {
		c.Keys, c.Anonymous, c.AuditData, c.Transfers = kr, auth.RoleRead, data, panickingRegistry{}
	})
	id, _, _ := auth.ParseToken(tok)
	rec := do(srv.Handler(), "POST", "/api/v1/transfers", transferBody, "X-API-Key", tok, "X-Request-Id", "boom-2")
	problem(t, rec, 500, "urn:chaintrace:problem:internal")
	b, err := os.ReadFile(api.AuditPath(data))
	if err != nil {
		t.Fatal(err)
	}
	var e api.AuditEntry
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if e.Status != 500 || e.Key != id || e.RequestID != "boom-2" {
		t.Errorf("audit entry %+v, want status 500 by key %s", e, id)
	}
	if !strings.Contains(logs.String(), `"key":"`+id+`"`) {
		t.Errorf("the access log does not name key %s:\n%s", id, logs)
	}
}
