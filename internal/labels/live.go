package labels

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// Live answers label look-ups for a long-running process (chaintrace
// serve) from an in-memory snapshot of a label store, and opens the store
// only while it takes a snapshot. A Pebble store admits one process at a
// time, so a server that kept it open would lock out every import (the
// imports are what a server needs to see); with Live an import runs while
// the server serves, and the server's next Index call picks it up.
//
// Live implements the interfaces of package api and package kyt that
// *Store implements (Index and Labels), so it replaces a *Store there.
// Its methods are safe for concurrent use.
type Live struct {
	dir string
	// wait bounds how long a snapshot waits for an import holding the
	// store.
	wait time.Duration
	cur  atomic.Pointer[snapshot]
}

// snapshot is one view of the store: the index of its active labels and
// its retired labels by address.
type snapshot struct {
	ix      *Index
	retired map[chainAddr][]Label
	// version identifies the store's content: a digest of its import
	// records, which every Apply that changes the store rewrites.
	version [32]byte
}

type chainAddr struct{ chain, address string }

// DefaultLiveWait is how long OpenLive and Index wait for the store while
// another process (an import) holds it.
const DefaultLiveWait = 30 * time.Second

// OpenLive takes a first snapshot of the label store in dir (created when
// absent, as Open does), waiting up to wait (DefaultLiveWait when zero)
// for a process that holds the store.
func OpenLive(ctx context.Context, dir string, wait time.Duration) (*Live, error) {
	if wait <= 0 {
		wait = DefaultLiveWait
	}
	l := &Live{dir: dir, wait: wait}
	if _, err := l.Index(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Index takes a fresh snapshot of the store, makes it the one Labels
// answers from, and returns its index. While an import holds the store it
// retries until the wait runs out; on failure the previous snapshot stays
// in use.
func (l *Live) Index(ctx context.Context) (*Index, error) {
	s, err := l.take(ctx)
	if err != nil {
		return nil, err
	}
	l.cur.Store(s)
	return s.ix, nil
}

// Current returns the index of the snapshot in use.
func (l *Live) Current() *Index { return l.cur.Load().ix }

// Labels returns every label on an address in the snapshot in use,
// retired ones included, in the order of Store.Labels.
func (l *Live) Labels(ctx context.Context, chain, address string) ([]Label, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := l.cur.Load()
	active := s.ix.Lookup(chain, address)
	retired := s.retired[chainAddr{chain, address}]
	if len(active)+len(retired) == 0 {
		return nil, nil
	}
	out := make([]Label, 0, len(active)+len(retired))
	out = append(append(out, active...), retired...)
	sortLabels(out)
	return out, nil
}

// Refresh takes a fresh snapshot when the store changed since the one in
// use (an import that changed nothing does not count) and reports
// whether it did. It opens the store once to find out, which is cheap
// next to building an index, so a server can poll it.
func (l *Live) Refresh(ctx context.Context) (bool, error) {
	var changed bool
	var s *snapshot
	err := l.with(ctx, func(st *Store) error {
		v, err := st.version(ctx)
		if err != nil || v == l.cur.Load().version {
			return err
		}
		changed = true
		s, err = st.snapshot(ctx)
		return err
	})
	if err != nil || !changed {
		return false, err
	}
	l.cur.Store(s)
	return true, nil
}

// take opens the store (retrying while it is held), reads a snapshot and
// closes it.
func (l *Live) take(ctx context.Context) (*snapshot, error) {
	var s *snapshot
	err := l.with(ctx, func(st *Store) error {
		var err error
		s, err = st.snapshot(ctx)
		return err
	})
	return s, err
}

// with opens the store, retrying while another process holds it until
// the wait runs out, calls fn and closes the store.
func (l *Live) with(ctx context.Context, fn func(*Store) error) error {
	deadline := time.Now().Add(l.wait)
	delay := 20 * time.Millisecond
	for {
		st, err := Open(ctx, l.dir)
		if err == nil {
			ferr := fn(st)
			cerr := st.Close()
			if ferr != nil {
				return ferr
			}
			return cerr
		}
		if ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("labels: snapshot of %s (held by another process, such as an import, for over %s?): %w", l.dir, l.wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// version digests the store's import records.
func (s *Store) version(ctx context.Context) ([32]byte, error) {
	r := s.reader()
	defer r.close()
	h := sha256.New()
	err := r.scan(ctx, []byte{prefixImport}, func(k, v []byte) (bool, error) {
		var n [8]byte
		binary.BigEndian.PutUint32(n[:4], uint32(len(k)))
		binary.BigEndian.PutUint32(n[4:], uint32(len(v)))
		h.Write(n[:])
		h.Write(k)
		h.Write(v)
		return true, nil
	})
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, err
}

// snapshot reads the index and the retired address labels.
func (s *Store) snapshot(ctx context.Context) (*snapshot, error) {
	v, err := s.version(ctx)
	if err != nil {
		return nil, err
	}
	ix, err := s.Index(ctx)
	if err != nil {
		return nil, err
	}
	r := s.reader()
	defer r.close()
	retired := map[chainAddr][]Label{}
	in := make(interner)
	err = r.scan(ctx, []byte{prefixLabel}, func(k, v []byte) (bool, error) {
		if !isRetired(v) {
			return true, nil
		}
		var l Label
		if err := decodeLabel(v, &l, in); err != nil {
			return false, fmt.Errorf("%w at key %q", err, k)
		}
		if l.Address != "" {
			key := chainAddr{l.Chain, l.Address}
			retired[key] = append(retired[key], l)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return &snapshot{ix: ix, retired: retired, version: v}, nil
}
