package api

// RoutePatterns returns the patterns of the server's route table, for the
// external tests that check the OpenAPI document against it.
func (s *Server) RoutePatterns() []string {
	var out []string
	for _, rt := range s.routeTable() {
		out = append(out, rt.pattern)
	}
	return out
}
