// Package btcdtest runs real btcd nodes for tests: it builds btcd at the
// version this module requires, starts nodes on simnet or regtest bound to
// loopback, mines blocks, signs and sends transactions, and forces
// reorganisations. Tests that use it exercise the real JSON-RPC server and
// consensus code instead of a fake.
package btcdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/internal/filelock"
)

// btcdModule is the module whose main package is the node.
const btcdModule = "github.com/btcsuite/btcd"

// EnvBinary names an environment variable that, when set, points at a btcd
// binary to use instead of building one (for example in a container image).
const EnvBinary = "CHAINTRACE_BTCD"

// ErrNoGo is wrapped by Build when no go command is on PATH, so tests can
// skip instead of fail on machines without a toolchain.
var ErrNoGo = errors.New("btcdtest: the go command is not on PATH")

// buildMu serialises builds within one process; the file lock covers
// separate test binaries running in parallel.
var buildMu sync.Mutex

// Build returns the path of a btcd binary at the version the calling
// module's go.mod requires, compiling it into
// os.UserCacheDir()/chaintrace/btcd-VERSION/btcd on first use (about 20 s)
// and reusing it afterwards. It is safe to call concurrently from several
// processes: one builds while the others wait on a lock file, and the binary
// appears by atomic rename. logf, which may be nil, receives progress.
func Build(ctx context.Context, logf func(format string, args ...any)) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if bin := os.Getenv(EnvBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("btcdtest: %s=%s: %w", EnvBinary, bin, err)
		}
		return bin, nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoGo, err)
	}
	mod, err := locateModule(ctx, gobin)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("btcdtest: no cache directory for the btcd binary: %w", err)
	}
	dir := filepath.Join(cache, "chaintrace", "btcd-"+mod.Version)
	bin := filepath.Join(dir, "btcd")
	if isExecutable(bin) {
		return bin, nil
	}

	buildMu.Lock()
	defer buildMu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("btcdtest: %w", err)
	}
	unlock, err := filelock.Lock(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return "", fmt.Errorf("btcdtest: locking %s: %w", dir, err)
	}
	defer unlock()
	if isExecutable(bin) { // Another process built it while we waited.
		return bin, nil
	}

	tmp := filepath.Join(dir, fmt.Sprintf("btcd.tmp-%d-%d", os.Getpid(), time.Now().UnixNano()))
	defer os.Remove(tmp)
	start := time.Now()
	logf("btcdtest: building btcd %s into %s (once per version; 20-60 s)", mod.Version, dir)
	if err := buildInModuleDir(ctx, gobin, mod, tmp); err != nil {
		logf("btcdtest: building in the module directory failed, trying a scratch module: %v", err)
		if err2 := buildInScratchModule(ctx, gobin, mod, tmp); err2 != nil {
			return "", fmt.Errorf("btcdtest: building btcd %s failed\nin %s: %v\nin a scratch module: %w",
				mod.Version, mod.Dir, err, err2)
		}
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("btcdtest: %w", err)
	}
	logf("btcdtest: built btcd %s in %v", mod.Version, time.Since(start).Round(100*time.Millisecond))
	return bin, nil
}

// module is what `go mod download -json` reports about btcd.
type module struct {
	Path, Version, Dir, Sum, GoModSum string
}

// locateModule finds the btcd version the current module requires and makes
// sure its source is in the module cache.
func locateModule(ctx context.Context, gobin string) (module, error) {
	out, err := runGo(ctx, gobin, "", nil, "list", "-m", "-f", "{{.Version}}", btcdModule)
	if err != nil {
		return module{}, fmt.Errorf("btcdtest: finding the required btcd version (run inside the chaintrace module): %w", err)
	}
	version := strings.TrimSpace(string(out))
	out, err = runGo(ctx, gobin, "", nil, "mod", "download", "-json", btcdModule+"@"+version)
	if err != nil {
		return module{}, fmt.Errorf("btcdtest: downloading btcd %s: %w", version, err)
	}
	var m module
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return module{}, fmt.Errorf("btcdtest: unexpected `go mod download` output %q: %v", out, err)
	}
	return m, nil
}

// buildEnv pins module mode and lets go resolve btcd's own requirements;
// GOWORK=off keeps a surrounding workspace out of it.
var buildEnv = []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "GO111MODULE=on"}

// buildInModuleDir builds btcd as its own main module, so it links exactly
// the dependency versions btcd's go.mod and go.sum pin. The module cache is
// read-only, which is fine: only -o is written.
func buildInModuleDir(ctx context.Context, gobin string, m module, out string) error {
	_, err := runGo(ctx, gobin, m.Dir, buildEnv, "build", "-o", out, ".")
	return err
}

// buildInScratchModule is the fallback: a throwaway module that requires
// btcd, seeded with btcd's go.sum plus btcd's own checksums so no checksum
// database lookup is needed. Minimal version selection then picks btcd's own
// dependency versions.
func buildInScratchModule(ctx context.Context, gobin string, m module, out string) error {
	dir, err := os.MkdirTemp("", "btcdbuild-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gomod := fmt.Sprintf("module btcdbuild\n\ngo 1.21\n\nrequire %s %s\n", btcdModule, m.Version)
	sums, err := os.ReadFile(filepath.Join(m.Dir, "go.sum"))
	if err != nil {
		return err
	}
	sums = fmt.Appendf(sums, "%s %s %s\n%s %s/go.mod %s\n",
		btcdModule, m.Version, m.Sum, btcdModule, m.Version, m.GoModSum)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644); err != nil {
		return err
	}
	_, err = runGo(ctx, gobin, dir, buildEnv, "build", "-o", out, btcdModule)
	return err
}

// runGo runs the go command and returns its stdout, folding stderr into the
// error so build failures are readable.
func runGo(ctx context.Context, gobin, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// isExecutable reports whether a finished binary is at path; a partial
// build never is, because builds land by rename.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
