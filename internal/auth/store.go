package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/filelock"
)

// Dir is the directory under a data directory that holds keys.json.
func Dir(dataDir string) string { return filepath.Join(dataDir, "auth") }

// KeysPath is the key file of a data directory.
func KeysPath(dataDir string) string { return filepath.Join(Dir(dataDir), "keys.json") }

// file is keys.json.
type file struct {
	Keys []Key `json:"keys"`
}

// readKeys reads the key file at path; a missing file holds no keys.
func readKeys(path string) ([]Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	return f.Keys, nil
}

// writeKeys replaces the key file at path: a temporary file, synced,
// renamed over it, so that a reader sees the old or the new file whole.
func writeKeys(path string, keys []Key) error {
	b, err := json.MarshalIndent(file{Keys: keys}, "", "  ")
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// update runs fn on the keys of dataDir under a file lock, so that two
// CLI runs cannot lose each other's edits, and writes the result.
func update(ctx context.Context, dataDir string, fn func([]Key) ([]Key, error)) error {
	if err := os.MkdirAll(Dir(dataDir), 0o700); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	unlock, err := filelock.Lock(ctx, filepath.Join(Dir(dataDir), "keys.lock"))
	if err != nil {
		return fmt.Errorf("auth: locking the key file: %w", err)
	}
	defer unlock()
	path := KeysPath(dataDir)
	keys, err := readKeys(path)
	if err != nil {
		return err
	}
	keys, err = fn(keys)
	if err != nil {
		return err
	}
	return writeKeys(path, keys)
}

// Create adds a key of role to dataDir's key file and returns it with
// its token, the only time the token is available. A zero expires makes
// a key that never expires.
func Create(ctx context.Context, dataDir string, role Role, name string, expires time.Time) (Key, string, error) {
	if role < RoleRead || role > RoleAdmin {
		return Key{}, "", fmt.Errorf("auth: a key needs role read, write or admin, not %s", role)
	}
	id, secret, token, err := newKey()
	if err != nil {
		return Key{}, "", err
	}
	k := Key{ID: id, Name: name, Role: role, Created: time.Now().UTC().Truncate(time.Second), Hash: hashSecret(secret)}
	if !expires.IsZero() {
		k.Expires = expires.UTC()
	}
	err = update(ctx, dataDir, func(keys []Key) ([]Key, error) { return append(keys, k), nil })
	if err != nil {
		return Key{}, "", err
	}
	return k, token, nil
}

// List returns dataDir's keys in creation order.
func List(dataDir string) ([]Key, error) {
	return readKeys(KeysPath(dataDir))
}

// Revoke marks key id of dataDir revoked; it stays in the file so that
// the audit log's mentions of it can still be resolved.
func Revoke(ctx context.Context, dataDir, id string) error {
	return update(ctx, dataDir, func(keys []Key) ([]Key, error) {
		i := slices.IndexFunc(keys, func(k Key) bool { return k.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("auth: no key %q", id)
		}
		keys[i].Revoked = true
		return keys, nil
	})
}

// Keyring authenticates tokens against a key file, reloading it when it
// changes so that keys created or revoked while a server runs take
// effect without a restart. It is safe for concurrent use.
type Keyring struct {
	path string
	// checkEvery bounds how often the file is looked at.
	checkEvery time.Duration
	mu         sync.Mutex
	stamp      stamp
	keys       atomic.Pointer[map[string]Key]
	checked    atomic.Int64 // unix nanoseconds of the last look
	reloadErr  atomic.Pointer[error]
}

// stamp identifies a version of the key file.
type stamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

// DefaultCheckEvery is how often a Keyring looks for a changed key file.
const DefaultCheckEvery = time.Second

// OpenKeyring loads dataDir's key file (missing: no keys) and looks for
// changes to it at most every checkEvery (0: on every authentication).
func OpenKeyring(dataDir string, checkEvery time.Duration) (*Keyring, error) {
	kr := &Keyring{path: KeysPath(dataDir), checkEvery: checkEvery}
	empty := map[string]Key{}
	kr.keys.Store(&empty)
	if err := kr.reload(); err != nil {
		return nil, err
	}
	return kr, nil
}

// reload reads the key file when its stamp differs from the loaded one.
func (kr *Keyring) reload() error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	var st stamp
	fi, err := os.Stat(kr.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("auth: %w", err)
	default:
		st = stamp{mod: fi.ModTime(), size: fi.Size(), ino: inode(fi)}
	}
	if st == kr.stamp && kr.checked.Load() != 0 {
		return nil
	}
	keys, err := readKeys(kr.path)
	if err != nil {
		return err
	}
	m := make(map[string]Key, len(keys))
	for _, k := range keys {
		m[k.ID] = k
	}
	kr.keys.Store(&m)
	kr.stamp = st
	kr.checked.Store(time.Now().UnixNano())
	return nil
}

// maybeReload reloads the key file when checkEvery has passed since the
// last look. A file that fails to load keeps the keys loaded before, so
// that a bad edit does not lock everybody out; the error is returned for
// logging.
func (kr *Keyring) maybeReload(now time.Time) error {
	last := kr.checked.Load()
	if now.UnixNano()-last < int64(kr.checkEvery) && kr.checkEvery > 0 {
		return nil
	}
	kr.checked.Store(now.UnixNano())
	return kr.reload()
}

// Authenticate returns the key a token names if the token is valid at
// now, else ErrMalformed, ErrUnknown, ErrRevoked or ErrExpired. A key
// file that fails to reload is remembered for ReloadError.
func (kr *Keyring) Authenticate(token string, now time.Time) (Key, error) {
	if err := kr.maybeReload(now); err != nil {
		kr.reloadErr.Store(&err)
	} else if kr.reloadErr.Load() != nil {
		kr.reloadErr.Store(nil)
	}
	id, secret, err := ParseToken(token)
	if err != nil {
		return Key{}, err
	}
	k, ok := (*kr.keys.Load())[id]
	if !ok {
		// Hash anyway, so that an unknown id costs what a known one
		// does.
		_ = hashSecret(secret)
		return Key{}, ErrUnknown
	}
	if err := k.check(secret, now); err != nil {
		return Key{}, err
	}
	return k, nil
}

// ReloadError returns why the key file last failed to reload, nil when
// the keys loaded are the file's.
func (kr *Keyring) ReloadError() error {
	if p := kr.reloadErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Len returns how many keys are loaded.
func (kr *Keyring) Len() int { return len(*kr.keys.Load()) }
