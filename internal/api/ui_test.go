package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chaintrace/chaintrace/internal/api"
	"github.com/chaintrace/chaintrace/internal/web"
)

// TestMountUI checks that the web interface takes the paths no route
// does and nothing else: API routes, unknown API paths (a problem, not a
// page), /healthz and /metrics stay the API's.
func TestMountUI(t *testing.T) {
	s := api.NewServer(api.Config{})
	s.MountUI(web.Handler())
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, p := range []string{"/", "/incidents", "/assets/js/app.js"} {
		resp, body := do("GET", p, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != web.CSP || body == "" {
			t.Errorf("GET %s: status %d, CSP %q", p, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
	resp, body := do("GET", "/api/v1/nothing-here", "")
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("unknown API path: status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := do("GET", "/healthz", ""); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Errorf("/healthz: status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, body := do("GET", "/metrics", ""); resp.StatusCode != 200 || strings.Contains(body, "<html") {
		t.Errorf("/metrics: status %d", resp.StatusCode)
	}
	if resp, body := do("POST", "/api/v1/screen", `{"addresses":[]}`); resp.StatusCode == http.StatusMethodNotAllowed || strings.Contains(body, "<html") {
		t.Errorf("POST /api/v1/screen: status %d: %s", resp.StatusCode, body)
	}
	if resp, _ := do("HEAD", "/", ""); resp.StatusCode != 200 {
		t.Errorf("HEAD /: status %d", resp.StatusCode)
	}
}
