package api

// RouteRole returns the role a route pattern needs, for the external
// test that checks each operation's security against it.
func RouteRole(pattern string) string { return routeRole(pattern).String() }
