// Package auth manages chaintrace's API keys: roles, creation, listing,
// revocation, and the keyring a server authenticates requests with.
//
// Keys live in <data>/auth/keys.json (mode 0600, replaced atomically).
// A key is shown once, when it is created, as ct_<id>_<secret>: the id is
// public (it names the key in lists, logs and the audit log), the secret
// is 32 random bytes. The file holds only the SHA-256 of the secret. A
// plain hash is enough here: the secret has 256 bits of entropy, so
// there is no dictionary to try and a slow or peppered hash buys
// nothing, while a pepper kept beside keys.json would be stolen with it.
// Secrets are compared in constant time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a key may do; each role includes the ones below it.
type Role int

// The roles, lowest first. RoleNone is an anonymous caller refused
// everything but the open routes.
const (
	RoleNone Role = iota
	RoleRead
	RoleWrite
	RoleAdmin
)

// String returns the role's name as the CLI and keys.json spell it.
func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleWrite:
		return "write"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole parses read, write, admin or none.
func ParseRole(s string) (Role, error) {
	switch s {
	case "read":
		return RoleRead, nil
	case "write":
		return RoleWrite, nil
	case "admin":
		return RoleAdmin, nil
	case "none":
		return RoleNone, nil
	}
	return RoleNone, fmt.Errorf("auth: unknown role %q (want read, write or admin)", s)
}

// MarshalText spells the role by name in JSON.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role name.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Key is one stored API key, without its secret.
type Key struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
	// Expires is the zero time for a key that never expires.
	Expires time.Time `json:"expires,omitzero"`
	Revoked bool      `json:"revoked,omitempty"`
	// Hash is the hex SHA-256 of the secret.
	Hash string `json:"hash"`
}

// Expired reports whether k has expired at now.
func (k Key) Expired(now time.Time) bool {
	return !k.Expires.IsZero() && !now.Before(k.Expires)
}

// Errors Authenticate returns; each means the request is unauthenticated.
var (
	ErrMalformed = errors.New("auth: malformed API key")
	ErrUnknown   = errors.New("auth: unknown API key")
	ErrRevoked   = errors.New("auth: API key revoked")
	ErrExpired   = errors.New("auth: API key expired")
)

// keyPrefix starts every key, so that a leaked one is recognisable to
// secret scanners and people alike.
const keyPrefix = "ct_"

// idBytes and secretBytes are the sizes of a key's two random parts.
const (
	idBytes     = 6
	secretBytes = 32
)

// secretEncoding spells secrets: lower-case base32 without padding, safe
// in headers, URLs and shells.
var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newKey makes a key's id and secret and returns the full token.
func newKey() (id, secret, token string, err error) {
	var b [idBytes + secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", fmt.Errorf("auth: no randomness: %w", err)
	}
	id = hex.EncodeToString(b[:idBytes])
	secret = secretEncoding.EncodeToString(b[idBytes:])
	return id, secret, keyPrefix + id + "_" + secret, nil
}

// ParseToken splits ct_<id>_<secret> into its id and secret.
func ParseToken(token string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(token, keyPrefix)
	if !ok {
		return "", "", ErrMalformed
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 2*idBytes || secret == "" || len(secret) > 128 {
		return "", "", ErrMalformed
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", ErrMalformed
	}
	return id, secret, nil
}

// hashSecret returns the hex SHA-256 of a secret.
func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// matches reports in constant time whether secret is k's.
func (k Key) matches(secret string) bool {
	h := hashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(h), []byte(k.Hash)) == 1
}

// check returns why k does not admit a request at now with secret, or
// nil.
func (k Key) check(secret string, now time.Time) error {
	switch {
	case !k.matches(secret):
		return ErrUnknown
	case k.Revoked:
		return ErrRevoked
	case k.Expired(now):
		return ErrExpired
	}
	return nil
}
