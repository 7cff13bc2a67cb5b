package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chaintrace/chaintrace/internal/auth"
)

// TestAPIKeyCLI creates, lists and revokes keys through the CLI and
// checks what the key file and a keyring make of them.
func TestAPIKeyCLI(t *testing.T) {
	data := t.TempDir()
	out, err := run(t, "--data", data, "apikey", "create", "--role", "write", "--name", "bot", "--expires", "90d")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.SplitN(out, "\n", 2)[0]
	id, _, err := auth.ParseToken(token)
	if err != nil {
		t.Fatalf("create printed %q first: %v", out, err)
	}
	kr, err := auth.OpenKeyring(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := kr.Authenticate(token, time.Now())
	if err != nil || k.Role != auth.RoleWrite || k.Name != "bot" {
		t.Fatalf("the created key: %+v, %v", k, err)
	}
	if d := time.Until(k.Expires); d < 89*24*time.Hour || d > 90*24*time.Hour {
		t.Errorf("expires in %v, want 90 days", d)
	}
	out, err = run(t, "--data", data, "apikey", "list")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "write") || !strings.Contains(out, "active") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err := run(t, "--data", data, "apikey", "revoke", id); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "--data", data, "apikey", "list")
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke: %v\n%s", err, out)
	}
	if _, err := kr.Authenticate(token, time.Now()); err == nil {
		t.Error("the revoked key still authenticates")
	}
	for _, args := range [][]string{
		{"apikey", "create", "--role", "root"},
		{"apikey", "create", "--role", "read", "--expires", "soon"},
		{"apikey", "revoke", "000000000000"},
	} {
		if _, err := run(t, append([]string{"--data", data}, args...)...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
}

func TestParseServeSecurity(t *testing.T) {
	sec, err := parseServeSecurity("none", "read=5/s")
	if err != nil || sec.anonymous != auth.RoleNone || sec.limits.Read.PerSecond != 5 {
		t.Fatalf("%+v, %v", sec, err)
	}
	if _, err := parseServeSecurity("write", "off"); err == nil {
		t.Error("--anonymous write accepted")
	}
	if _, err := parseServeSecurity("read", "read=fast"); err == nil {
		t.Error("--rate-limit read=fast accepted")
	}
}
