package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/filelock"
)

// Dir is where the monitor's definitions live under a data directory:
// watches.json and webhooks.json. They are files rather than store
// entries because a following ingest holds its chain store open (Pebble
// locks it) while the CLI adds and removes watches; the follower re-reads
// the file when it changes.
func Dir(data string) string { return filepath.Join(data, "monitor") }

// WatchesPath is the watch list's file under a data directory.
func WatchesPath(data string) string { return filepath.Join(Dir(data), "watches.json") }

// Stamp identifies a version of a file: its size and modification time.
type Stamp struct {
	Size int64
	Mod  time.Time
}

// ReadJSON decodes the JSON file at path into v and returns its stamp; a
// missing file leaves v alone and returns the zero stamp.
func ReadJSON(path string, v any) (Stamp, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Stamp{}, nil
	}
	if err != nil {
		return Stamp{}, fmt.Errorf("monitor: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Stamp{}, fmt.Errorf("monitor: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return Stamp{}, fmt.Errorf("monitor: %s: %w", path, err)
	}
	return Stamp{Size: fi.Size(), Mod: fi.ModTime()}, nil
}

// StampOf returns the stamp of the file at path, zero when missing.
func StampOf(path string) (Stamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Stamp{}, nil
	}
	if err != nil {
		return Stamp{}, fmt.Errorf("monitor: %w", err)
	}
	return Stamp{Size: fi.Size(), Mod: fi.ModTime()}, nil
}

// EditJSON reads the JSON file at path into v, calls edit, and writes v
// back atomically (a temporary file renamed over it, mode 0600 since
// webhook secrets live in such files), all under an exclusive lock on
// path+".lock" so that concurrent commands do not lose each other's
// edits. An error from edit leaves the file untouched.
func EditJSON(ctx context.Context, path string, v any, edit func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	unlock, err := filelock.Lock(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := ReadJSON(path, v); err != nil {
		return err
	}
	if err := edit(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	return nil
}

// WatchList is the content of watches.json.
type WatchList struct {
	// Next numbers the next watch (w1, w2, ...); ids are never reused, so
	// the alerts of a removed watch never name a new one.
	Next    int     `json:"next"`
	Watches []Watch `json:"watches"`
}

// AddWatches checks the watches, gives them ids and appends them to the
// watch list under data; it returns them with their ids. Nothing is added
// when one is invalid.
func AddWatches(ctx context.Context, data string, ws []Watch) ([]Watch, error) {
	var l WatchList
	err := EditJSON(ctx, WatchesPath(data), &l, func() error {
		for i := range ws {
			if err := ws[i].Check(); err != nil {
				return err
			}
		}
		for i := range ws {
			if l.Next == 0 {
				l.Next = 1
			}
			ws[i].ID = "w" + strconv.Itoa(l.Next)
			l.Next++
			if ws[i].Source == "" {
				ws[i].Source = "manual"
			}
			l.Watches = append(l.Watches, ws[i])
		}
		return nil
	})
	return ws, err
}

// RemoveWatch removes the watch with the given id; an unknown id is an
// error.
func RemoveWatch(ctx context.Context, data, id string) error {
	var l WatchList
	return EditJSON(ctx, WatchesPath(data), &l, func() error {
		for i := range l.Watches {
			if l.Watches[i].ID == id {
				l.Watches = append(l.Watches[:i], l.Watches[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("monitor: no watch %q", id)
	})
}

// Watches returns the watch list under data.
func Watches(data string) ([]Watch, error) {
	var l WatchList
	_, err := ReadJSON(WatchesPath(data), &l)
	return l.Watches, err
}
