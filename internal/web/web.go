// Package web is chaintrace's browser interface: plain JavaScript
// modules, HTML and CSS embedded in the binary and served by Handler
// beside the REST API (chaintrace serve mounts it at /). The pages talk
// to /api/v1 only; nothing is fetched from elsewhere, which the
// Content-Security-Policy enforces.
//
// Every path that is not a file under /assets/ and not the API's answers
// index.html, so that the client-side router's addresses survive a
// reload. Files carry a strong ETag (a hash of their content) and
// Cache-Control: no-cache, so a browser revalidates and gets 304 until a
// new binary changes them.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed assets
var assets embed.FS

// CSP is the Content-Security-Policy of every answer: scripts, styles,
// fonts and connections from the server itself only; images also from
// data: and blob: URLs (the PNG export draws the graph's SVG through
// one).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes maps the extensions of the embedded files to their types;
// a file with another extension is served as application/octet-stream.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
}

// file is one embedded asset, read once.
type file struct {
	body  []byte
	ctype string
	etag  string
}

// handler serves the embedded assets.
type handler struct {
	files map[string]*file // by URL path, "/index.html", "/assets/js/app.js"
	index *file
}

// Handler returns the web interface's handler. It answers GET and HEAD;
// paths under /api/ and the server's own /healthz and /metrics are not
// its business and get a 404, so that a mux falling back to it keeps the
// API's unknown routes unknown.
func Handler() http.Handler {
	h := &handler{files: map[string]*file{}}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := contentTypes[path.Ext(p)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		f := &file{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		urlPath := "/" + p
		if p == "assets/index.html" {
			h.index = f
		}
		h.files[urlPath] = f
		return nil
	})
	if err != nil || h.index == nil {
		panic("web: embedded assets are incomplete")
	}
	return h
}

// notUI reports whether a path belongs to the API or the server's own
// endpoints.
func notUI(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/metrics"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	if notUI(p) {
		http.NotFound(w, r)
		return
	}
	clean := path.Clean(p)
	var f *file
	switch {
	case clean == "/assets/index.html":
		f = h.index
	case clean == "/assets" || strings.HasPrefix(clean, "/assets/"):
		// Files only: no directory listings, and no index.html for
		// a missing script, which would run as nothing.
		f = h.files[clean]
		if f == nil || strings.HasSuffix(p, "/") {
			http.NotFound(w, r)
			return
		}
	default:
		f = h.index
	}
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	if etagMatch(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(f.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.body)
	}
}

// etagMatch reports whether an If-None-Match header names etag (or is *);
// weak validators compare by their opaque part, as RFC 9110 asks for
// If-None-Match.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
