package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// openAPIDocument is the OpenAPI 3.1 description of this API, written by
// hand so that reviewers read the contract itself; the package's tests
// check it against the route table and run every example in it against
// a real server.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIETag is the entity tag of the document: a hash of its bytes,
// which change only with a new build, so a client can revalidate a cached
// copy without downloading it again.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// handleOpenAPI serves GET /api/v1/openapi.json. The document is fixed
// for the life of the binary, so caches may keep it for an hour and then
// revalidate with the ETag, which answers 304 until an upgrade changes
// it; http.ServeContent does the conditional and HEAD handling.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openAPIETag)
	http.ServeContent(w, r, "openapi.json", time.Time{}, bytes.NewReader(openAPIDocument))
}
