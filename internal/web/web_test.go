package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestContentTypesAndHeaders(t *testing.T) {
	h := Handler()
	for path, want := range map[string]string{
		"/":                     "text/html; charset=utf-8",
		"/assets/app.css":       "text/css; charset=utf-8",
		"/assets/js/app.js":     "text/javascript; charset=utf-8",
		"/assets/js/graph.js":   "text/javascript; charset=utf-8",
		"/assets/favicon.svg":   "image/svg+xml",
		"/assets/index.html":    "text/html; charset=utf-8",
		"/incidents":            "text/html; charset=utf-8",
		"/some/deep/client/url": "text/html; charset=utf-8",
	} {
		r := get(t, h, "GET", path, nil)
		if r.StatusCode != 200 {
			t.Errorf("%s: status %d", path, r.StatusCode)
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != want {
			t.Errorf("%s: Content-Type %q, want %q", path, ct, want)
		}
		if csp := r.Header.Get("Content-Security-Policy"); csp != CSP {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		if r.Header.Get("ETag") == "" || r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: ETag %q, Cache-Control %q", path, r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
		}
	}
}

// TestCSPIsStrict checks the policy allows the server itself only: no
// inline scripts or styles, no eval, no other origin.
func TestCSPIsStrict(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, CSP)
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
}

func TestIndexFallback(t *testing.T) {
	h := Handler()
	idx := body(t, get(t, h, "GET", "/", nil))
	if !strings.Contains(idx, `<script type="module" src="/assets/js/app.js">`) {
		t.Fatalf("index.html does not load the app:\n%s", idx)
	}
	for _, p := range []string{"/incident/2025-02-bybit", "/graph", "/x.html"} {
		if b := body(t, get(t, h, "GET", p, nil)); b != idx {
			t.Errorf("%s does not answer index.html", p)
		}
	}
	// The API's paths and missing assets are no page.
	for _, p := range []string{"/api/v1/nothing", "/api", "/healthz", "/metrics", "/assets/js/missing.js", "/assets/nope.css"} {
		if r := get(t, h, "GET", p, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.StatusCode)
		}
	}
}

func TestNoDirectoryListing(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/assets/", "/assets", "/assets/js/", "/assets/js", "/assets/js/pages/", "/assets/../assets/js/"} {
		r := get(t, h, "GET", p, nil)
		b := body(t, r)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.StatusCode)
		}
		if strings.Contains(b, "app.js") || strings.Contains(b, "<pre>") {
			t.Errorf("%s lists the directory:\n%s", p, b)
		}
	}
}

func TestETag(t *testing.T) {
	h := Handler()
	r := get(t, h, "GET", "/assets/js/app.js", nil)
	tag := r.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(tag) {
		t.Fatalf("ETag %q", tag)
	}
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		r := get(t, h, "GET", "/assets/js/app.js", map[string]string{"If-None-Match": inm})
		if r.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match %s: status %d, want 304", inm, r.StatusCode)
		}
		if b := body(t, r); b != "" {
			t.Errorf("304 with a body of %d bytes", len(b))
		}
	}
	if r := get(t, h, "GET", "/assets/js/app.js", map[string]string{"If-None-Match": `"stale"`}); r.StatusCode != 200 {
		t.Errorf("stale ETag: status %d", r.StatusCode)
	}
	if other := get(t, h, "GET", "/assets/app.css", nil).Header.Get("ETag"); other == tag {
		t.Errorf("two files share the ETag %s", tag)
	}
}

func TestMethods(t *testing.T) {
	h := Handler()
	r := get(t, h, "HEAD", "/assets/app.css", nil)
	if r.StatusCode != 200 || body(t, r) != "" || r.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD: status %d, Content-Length %q", r.StatusCode, r.Header.Get("Content-Length"))
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		r := get(t, h, m, "/", nil)
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: status %d, Allow %q", m, r.StatusCode, r.Header.Get("Allow"))
		}
	}
}

// TestAssetsSelfContained checks that no asset loads anything from
// another origin and that the markup carries no inline script, style or
// event handler, which the CSP would block.
func TestAssetsSelfContained(t *testing.T) {
	h := Handler().(*handler)
	remote := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?https?:|import\s+[^;]*from\s+['"]https?:`)
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]+</script>|<style|\sstyle\s*=|\son[a-z]+\s*=`)
	for p, f := range h.files {
		if remote.Match(f.body) {
			t.Errorf("%s refers to another origin: %s", p, remote.Find(f.body))
		}
		if strings.HasSuffix(p, ".html") && inline.Match(f.body) {
			t.Errorf("%s has inline script, style or handler: %s", p, inline.Find(f.body))
		}
	}
	// Every module an asset imports is embedded.
	imp := regexp.MustCompile(`from\s+'(\.{1,2}/[^']+)'`)
	for p, f := range h.files {
		if !strings.HasSuffix(p, ".js") {
			continue
		}
		dir := p[:strings.LastIndex(p, "/")]
		for _, m := range imp.FindAllSubmatch(f.body, -1) {
			target := resolve(dir, string(m[1]))
			if h.files[target] == nil {
				t.Errorf("%s imports %s (%s), which is not embedded", p, m[1], target)
			}
		}
	}
}

func resolve(dir, rel string) string {
	parts := strings.Split(strings.TrimPrefix(dir, "/"), "/")
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case ".":
		case "..":
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, seg)
		}
	}
	return "/" + strings.Join(parts, "/")
}
