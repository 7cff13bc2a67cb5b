package webtest

import (
	"os"
	"strings"
	"testing"
)

// TestAgainstRunningServer drives a server already running at
// $CHAINTRACE_WEB_URL (skipped without it), starting the graph from
// $CHAINTRACE_WEB_START (chain:address).
func TestAgainstRunningServer(t *testing.T) {
	base := os.Getenv("CHAINTRACE_WEB_URL")
	if base == "" {
		t.Skip("CHAINTRACE_WEB_URL not set")
	}
	chain, addr, _ := strings.Cut(os.Getenv("CHAINTRACE_WEB_START"), ":")
	Scenario(t, strings.TrimSuffix(base, "/"), Config{Chain: chain, Address: addr, Screen: []string{addr}, APIKey: os.Getenv("CHAINTRACE_WEB_KEY")})
}
