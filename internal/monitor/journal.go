package monitor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
	"github.com/chaintrace/chaintrace/internal/filelock"
	"github.com/chaintrace/chaintrace/internal/store"
)

// JournalPath is the alert journal under a data directory: every alert
// and retraction the followers committed, one JSON object (the Alert, as
// the webhooks get it) per line, in the order they were journalled. It
// exists because a following ingest holds its chain store locked
// (Pebble), so readers (the API, alerts tail, alerts list) read this file
// instead of opening the store a second time.
func JournalPath(data string) string { return filepath.Join(Dir(data), "alerts.jsonl") }

// AppendJournal appends alerts to the journal under data and fsyncs it,
// under an exclusive lock on the journal's lock file so that the
// followers of several chains never interleave their lines. A torn last
// line (a crash in the middle of a write) is cut off first, so readers
// never see it joined to the next alert.
func AppendJournal(ctx context.Context, data string, as []Alert) error {
	if len(as) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for i := range as {
		b, err := json.Marshal(&as[i])
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	path := JournalPath(data)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	unlock, err := filelock.Lock(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer f.Close()
	end, err := completeEnd(f)
	if err != nil {
		return err
	}
	if err := f.Truncate(end); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if _, err := f.WriteAt(buf.Bytes(), end); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	return nil
}

// completeEnd returns the offset just past the last newline of f (0 when
// it has none): where the complete lines end.
func completeEnd(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("monitor: %w", err)
	}
	end := fi.Size()
	var b [4096]byte
	for end > 0 {
		n := int64(len(b))
		if end < n {
			n = end
		}
		if _, err := f.ReadAt(b[:n], end-n); err != nil {
			return 0, fmt.Errorf("monitor: %w", err)
		}
		if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// ReadJournal returns every alert in the journal under data, in journal
// order, each id once; a missing journal has none.
func ReadJournal(data string) ([]Alert, error) {
	r := NewJournalReader(data)
	return r.Next()
}

// JournalReader reads the journal incrementally: each Next returns the
// alerts appended since the previous one. It remembers the ids it has
// returned, so a journal rebuilt under it (replaced by a new file) is read
// again from the start without repeating anything.
type JournalReader struct {
	path string
	off  int64
	fi   os.FileInfo
	seen map[string]bool
}

// NewJournalReader returns a reader of the journal under data, from its
// start.
func NewJournalReader(data string) *JournalReader {
	return &JournalReader{path: JournalPath(data), seen: map[string]bool{}}
}

// Next returns the complete lines appended since the last call, decoded,
// skipping ids already returned. A missing journal has none yet.
func (r *JournalReader) Next() ([]Alert, error) {
	f, err := os.Open(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if r.fi != nil && (!os.SameFile(r.fi, fi) || fi.Size() < r.off) {
		r.off = 0
	}
	r.fi = fi
	if fi.Size() == r.off {
		return nil, nil
	}
	if _, err := f.Seek(r.off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	var out []Alert
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// An incomplete last line is being written: it is read
			// whole next time.
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("monitor: %w", err)
		}
		r.off += int64(len(line))
		a, err := DecodeAlert(line)
		if err != nil {
			return out, fmt.Errorf("monitor: %s at byte %d: %w", r.path, r.off-int64(len(line)), err)
		}
		if r.seen[a.ID] {
			continue
		}
		r.seen[a.ID] = true
		out = append(out, a)
	}
}

// JournalWriter copies the alerts a chain store has committed into the
// journal, in sequence order. It reads them back from the store rather
// than taking them from the monitor, so that only what a batch committed
// is journalled (a failed batch's alerts are raised again, under the same
// ids, by its replay), and so that a journal that is missing or behind
// (a crash between commit and append, a deleted file) is completed from
// the store on the next Sync.
type JournalWriter struct {
	data, chain string
	// last is the sequence number of chain's last journalled alert,
	// known once the first Sync has read the journal.
	last   uint64
	loaded bool
}

// NewJournalWriter returns the journal writer of chain's alerts under
// data.
func NewJournalWriter(data, chain string) *JournalWriter {
	return &JournalWriter{data: data, chain: chain}
}

// Sync appends to the journal the alerts of db with a sequence number
// past the last journalled one and returns how many it appended. The
// first call reads the journal to find where chain's alerts stopped; if
// the journal's last alert of chain is not the store's (a store rebuilt
// from scratch), chain's lines are dropped and rewritten from the store.
func (j *JournalWriter) Sync(ctx context.Context, db Reader) (int, error) {
	if !j.loaded {
		if err := j.load(ctx, db); err != nil {
			return 0, err
		}
		j.loaded = true
	}
	var as []Alert
	for seq := j.last + 1; ; seq++ {
		v, ok, err := db.MonitorGet(ctx, store.MonAlert, SeqKey(seq))
		if err != nil {
			return 0, fmt.Errorf("monitor: %w", err)
		}
		if !ok {
			break
		}
		a, err := DecodeAlert(v)
		if err != nil {
			return 0, err
		}
		as = append(as, a)
		if len(as) == 1000 {
			break
		}
	}
	if err := AppendJournal(ctx, j.data, as); err != nil {
		return 0, err
	}
	if len(as) > 0 {
		j.last = as[len(as)-1].Seq
	}
	return len(as), nil
}

// load finds chain's last journalled alert and checks it against db.
func (j *JournalWriter) load(ctx context.Context, db Reader) error {
	as, err := ReadJournal(j.data)
	if err != nil {
		return err
	}
	var last *Alert
	for i := range as {
		if as[i].Chain == j.chain && (last == nil || as[i].Seq > last.Seq) {
			last = &as[i]
		}
	}
	if last == nil {
		return nil
	}
	v, ok, err := db.MonitorGet(ctx, store.MonAlert, SeqKey(last.Seq))
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if ok {
		if a, err := DecodeAlert(v); err == nil && a.ID == last.ID {
			j.last = last.Seq
			return nil
		}
	}
	return j.dropChain(ctx)
}

// dropChain rewrites the journal without chain's alerts (renamed over
// it, so that readers notice a new file and start again), leaving Sync
// to append them afresh from the store.
func (j *JournalWriter) dropChain(ctx context.Context) error {
	path := JournalPath(j.data)
	unlock, err := filelock.Lock(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	// Read again under the lock: another chain's follower may have
	// appended since.
	as, err := ReadJournal(j.data)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for i := range as {
		if as[i].Chain == j.chain {
			continue
		}
		b, err := json.Marshal(&as[i])
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	j.last = 0
	return nil
}

// CompactOptions say which alerts CompactJournal keeps. An alert is kept
// when any condition holds; the zero value keeps only each chain's last
// alert.
type CompactOptions struct {
	// Since keeps alerts whose time (the block's, for chain alerts) is
	// at or after it.
	Since time.Time
	// KeepLast keeps the journal's last KeepLast alerts whatever their
	// time.
	KeepLast int
}

// CompactJournal rewrites the journal under data without the alerts opts
// does not keep, and returns how many it kept and dropped. The last alert
// of every chain is always kept: a JournalWriter finds where its chain
// stopped by that alert, and without it would journal the chain's whole
// history again. The new file is renamed over the old one under the
// journal's lock, so followers append to one or the other, never lose a
// line, and readers (JournalReader) notice the new file and skip what
// they have already returned. The alerts stay in the chain stores.
func CompactJournal(ctx context.Context, data string, opts CompactOptions) (kept, dropped int, err error) {
	if opts.KeepLast < 0 {
		return 0, 0, fmt.Errorf("monitor: compact: keep-last %d is negative", opts.KeepLast)
	}
	path := JournalPath(data)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	unlock, err := filelock.Lock(ctx, path+".lock")
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	as, err := ReadJournal(data)
	if err != nil {
		return 0, 0, err
	}
	last := map[string]int{}
	for i := range as {
		last[as[i].Chain] = i
	}
	var buf bytes.Buffer
	for i := range as {
		a := &as[i]
		keep := last[a.Chain] == i || i >= len(as)-opts.KeepLast || (!opts.Since.IsZero() && !a.Time.Before(opts.Since))
		if !keep {
			dropped++
			continue
		}
		b, err := json.Marshal(a)
		if err != nil {
			return 0, 0, fmt.Errorf("monitor: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
		kept++
	}
	if dropped == 0 {
		return kept, 0, nil
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return 0, 0, fmt.Errorf("monitor: %w", err)
	}
	return kept, dropped, nil
}

// Run syncs every poll until ctx ends, and once more then, so that the
// alerts of the follower's last batch are journalled before it exits. A
// failed round is retried at the next poll; report, when set, hears of
// it.
func (j *JournalWriter) Run(ctx context.Context, db Reader, poll time.Duration, report func(error)) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		_, err := j.Sync(context.WithoutCancel(ctx), db)
		if err != nil && report != nil {
			report(err)
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}
