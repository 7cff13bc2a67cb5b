package blkfile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/chaintrace/chaintrace/internal/btc"
)

const (
	// readAhead is how many blocks Blocks reads before the caller asks.
	readAhead = 8
	// maxOpenFiles is how many block files Blocks keeps open.
	maxOpenFiles = 8
)

// errClosed is returned by Blocks after Close.
var errClosed = errors.New("blkfile: source is closed")

// fileCache keeps the most recently used block files open.
type fileCache struct {
	files []blkFile
	// open is ordered from least to most recently used.
	open []openFile
}

type openFile struct {
	idx int32
	f   *os.File
}

func newFileCache(files []blkFile) fileCache {
	return fileCache{files: files}
}

func (c *fileCache) get(idx int32) (*os.File, error) {
	for i, of := range c.open {
		if of.idx == idx {
			if i != len(c.open)-1 {
				copy(c.open[i:], c.open[i+1:])
				c.open[len(c.open)-1] = of
			}
			return of.f, nil
		}
	}
	f, err := os.Open(c.files[idx].path)
	if err != nil {
		return nil, err
	}
	if len(c.open) == maxOpenFiles {
		c.open[0].f.Close()
		c.open = append(c.open[:0], c.open[1:]...)
	}
	c.open = append(c.open, openFile{idx: idx, f: f})
	return f, nil
}

func (c *fileCache) closeAll() error {
	var errs []error
	for _, of := range c.open {
		errs = append(errs, of.f.Close())
	}
	c.open = nil
	return errors.Join(errs...)
}

// reader reads best-chain blocks for Blocks: small records are copied out of
// a window refilled with sequential reads, large ones are read directly. The
// refill size adapts: it grows while refills serve many records (blocks
// stored in height order) and shrinks while they serve none (blocks stored
// out of order), so scattered reads do not read much more than they use.
type reader struct {
	win     window
	winFile int32
	hits    int
}

const (
	minSpan = 4 << 10
	maxSpan = 1 << 20
)

// read returns the need bytes at off of file idx, open as f.
func (r *reader) read(f *os.File, idx int32, bf blkFile, key xorKey, off int64, need int) ([]byte, error) {
	if r.win.buf == nil {
		r.win.buf = make([]byte, maxSpan)
		r.win.span = 64 << 10
	}
	if r.winFile != idx || r.win.f != f {
		r.win = window{f: f, size: bf.size, key: key, buf: r.win.buf, span: r.win.span}
		r.winFile = idx
	}
	if r.win.has(off, need) {
		r.hits++
	} else {
		switch {
		case r.hits >= 4:
			r.win.span = min(2*r.win.span, maxSpan)
		case r.hits == 0:
			r.win.span = max(r.win.span/2, minSpan)
		}
		r.hits = 0
	}
	b, err := r.win.at(off, need)
	if err == nil && len(b) < need {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// readBlock reads the block at loc into a new slice, checking that the
// record still holds the block Open found there.
func (s *Source) readBlock(loc blockLoc) ([]byte, error) {
	bf := s.files[loc.file]
	f, err := s.cache.get(loc.file)
	if err != nil {
		return nil, errAt(bf, loc.off, err, "opening block file")
	}
	need := recordHeaderSize + int(loc.size)
	buf := make([]byte, need)
	if need <= maxSpan/4 {
		b, err := s.rd.read(f, loc.file, bf, s.key, loc.off, need)
		if err != nil {
			return nil, errAt(bf, loc.off, err, "reading %d-byte block record", loc.size)
		}
		copy(buf, b)
	} else {
		n, err := f.ReadAt(buf, loc.off)
		if n < len(buf) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, errAt(bf, loc.off, err, "reading %d-byte block record", loc.size)
		}
		s.key.apply(buf, loc.off)
	}
	if magic := binary.LittleEndian.Uint32(buf[:4]); magic != uint32(s.net) {
		return nil, errAt(bf, loc.off, nil, "bad magic: expected %x, found %x (file changed since Open?)",
			magicBytes(uint32(s.net)), buf[:4])
	}
	if size := binary.LittleEndian.Uint32(buf[4:8]); size != loc.size {
		return nil, errAt(bf, loc.off, nil, "record size is %d, expected %d (file changed since Open?)", size, loc.size)
	}
	raw := buf[recordHeaderSize:]
	if h := chainhash.DoubleHashH(raw[:headerSize]); h != loc.hash {
		return nil, errAt(bf, loc.off, nil, "block header hashes to %s, expected %s (file changed since Open?)", h, loc.hash)
	}
	return raw, nil
}

func magicBytes(m uint32) []byte {
	return binary.LittleEndian.AppendUint32(nil, m)
}

// Blocks calls fn with the hash and raw serialization of every best-chain
// block from height from to height to inclusive, in height order. Each raw
// slice is newly allocated and owned by fn. Up to a few blocks are read
// ahead in a goroutine, which has stopped when Blocks returns. Blocks checks
// that each record still holds the block Open found (magic, size, header
// hash) and fails naming the file and offset if not; it does not validate
// block bodies. An error from fn is returned unchanged; so is the context's
// error when ctx ends. to above the tip is an error wrapping btc.ErrNotFound;
// from > to calls nothing and returns nil.
func (s *Source) Blocks(ctx context.Context, from, to uint64, fn func(height uint64, hash chainhash.Hash, raw []byte) error) error {
	if s.closed {
		return errClosed
	}
	if from > to {
		return nil
	}
	if to >= uint64(len(s.chain)) {
		return fmt.Errorf("blkfile: height %d is above the tip %d: %w", to, len(s.chain)-1, btc.ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.rd.winFile = -1 // read afresh what an earlier call may have buffered
	if from == to {
		raw, err := s.readBlock(s.chain[from])
		if err != nil {
			return err
		}
		return fn(from, s.chain[from].hash, raw)
	}

	type item struct {
		raw []byte
		err error
	}
	ch := make(chan item, readAhead)
	stop := make(chan struct{})
	go func() {
		defer close(ch)
		for h := from; h <= to; h++ {
			if ctx.Err() != nil {
				return
			}
			raw, err := s.readBlock(s.chain[h])
			select {
			case ch <- item{raw, err}:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range ch {
		}
	}()

	h := from
	for it := range ch {
		if it.err != nil {
			return it.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(h, s.chain[h].hash, it.raw); err != nil {
			return err
		}
		h++
	}
	if h <= to {
		// The reader stopped early, which it does only when ctx ended.
		return ctx.Err()
	}
	return nil
}
