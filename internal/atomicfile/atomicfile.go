// Package atomicfile replaces a file's content all at once: the new content
// goes to a temporary file in the same directory, is synced, and is
// renamed over the file, and the directory is synced so that the rename
// survives a crash. A reader (or a crash) sees the old content or the new
// one, never a mix or a truncated file. Definition files (watches,
// webhooks, API keys, cases, saved traces, price histories) are written
// this way.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path with permission perm through a synced
// temporary file renamed over it. The temporary file is removed on
// failure. It does not lock: callers that read, change and write a file
// hold their own lock around it.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// Write is WriteFile with the content written by fn, for content that is
// encoded as it is written.
func Write(path string, perm os.FileMode, fn func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := fn(f); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	// The rename is durable once the directory is synced; a file system
	// that cannot sync a directory has nothing more to offer.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
