package auth

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCreateAuthenticateRevoke(t *testing.T) {
	data := t.TempDir()
	kr, err := OpenKeyring(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Len() != 0 {
		t.Fatalf("a data directory without keys.json has %d keys", kr.Len())
	}
	k, token, err := Create(t.Context(), data, RoleWrite, "bot", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "ct_"+k.ID+"_") {
		t.Fatalf("token %q does not name key %s", token, k.ID)
	}
	raw, err := os.ReadFile(KeysPath(data))
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := ParseToken(token)
	if strings.Contains(string(raw), secret) {
		t.Fatal("keys.json holds the secret")
	}
	if fi, err := os.Stat(KeysPath(data)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys.json mode %v, %v; want 0600", fi.Mode(), err)
	}
	now := time.Now()
	got, err := kr.Authenticate(token, now)
	if err != nil || got.ID != k.ID || got.Role != RoleWrite || got.Name != "bot" {
		t.Fatalf("Authenticate after create (reload): %+v, %v", got, err)
	}
	flip := "a"
	if strings.HasSuffix(token, "a") {
		flip = "b"
	}
	if _, err := kr.Authenticate(token[:len(token)-1]+flip, now); !errors.Is(err, ErrUnknown) {
		t.Errorf("wrong secret: %v, want ErrUnknown", err)
	}
	if _, err := kr.Authenticate("ct_000000000000_abc", now); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown id: %v, want ErrUnknown", err)
	}
	for _, bad := range []string{"", "abc", "ct_", "ct_xyz_abc", "ct_" + k.ID, "ct_" + k.ID + "_", "xx_" + k.ID + "_abc"} {
		if _, err := kr.Authenticate(bad, now); !errors.Is(err, ErrMalformed) {
			t.Errorf("token %q: %v, want ErrMalformed", bad, err)
		}
	}
	if err := Revoke(t.Context(), data, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Authenticate(token, time.Now()); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked key: %v, want ErrRevoked", err)
	}
	if err := Revoke(t.Context(), data, "nope"); err == nil {
		t.Error("revoking an unknown key succeeded")
	}
	keys, err := List(data)
	if err != nil || len(keys) != 1 || !keys[0].Revoked {
		t.Fatalf("List: %+v, %v", keys, err)
	}
}

func TestExpiry(t *testing.T) {
	data := t.TempDir()
	exp := time.Now().Add(time.Hour)
	_, token, err := Create(t.Context(), data, RoleRead, "", exp)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := OpenKeyring(data, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Authenticate(token, exp.Add(-time.Minute)); err != nil {
		t.Errorf("before expiry: %v", err)
	}
	if _, err := kr.Authenticate(token, exp); !errors.Is(err, ErrExpired) {
		t.Errorf("at expiry: %v, want ErrExpired", err)
	}
}

// TestKeyringReload checks that a keyring notices a replaced key file
// only once its check interval has passed, and keeps its keys when the
// file turns unreadable.
func TestKeyringReload(t *testing.T) {
	data := t.TempDir()
	kr, err := OpenKeyring(data, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := Create(t.Context(), data, RoleAdmin, "ops", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := kr.Authenticate(token, now); !errors.Is(err, ErrUnknown) {
		t.Fatalf("within the check interval: %v, want ErrUnknown (not reloaded yet)", err)
	}
	if _, err := kr.Authenticate(token, now.Add(2*time.Hour)); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if err := os.WriteFile(KeysPath(data), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Authenticate(token, now.Add(4*time.Hour)); err != nil {
		t.Errorf("a broken key file dropped the loaded keys: %v", err)
	}
	if kr.ReloadError() == nil {
		t.Error("ReloadError is nil after a broken key file")
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range []Role{RoleRead, RoleWrite, RoleAdmin} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r, got, err)
		}
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("ParseRole accepted root")
	}
	if _, _, err := Create(t.Context(), t.TempDir(), RoleNone, "", time.Time{}); err == nil {
		t.Error("created a key of role none")
	}
}
