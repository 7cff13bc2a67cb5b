package api

import "net/http"

// MountUI serves h (the web interface, package web) for every GET and
// HEAD request no API route takes; call it before serving. The API's own
// paths stay the API's: h is expected to answer 404 under /api/, which
// the server turns into a problem document like any unknown route.
func (s *Server) MountUI(h http.Handler) {
	s.mux.Handle("GET /", h)
}
