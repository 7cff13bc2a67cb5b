package blkfile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

const (
	// recordHeaderSize is the size of a record's magic plus size field.
	recordHeaderSize = 8
	// headerSize is the size of a serialized block header.
	headerSize = 80
	// windowSize is how much the scan reads at a time; records of small
	// blocks are parsed from memory, large ones cost one read each.
	windowSize = 64 << 10
	// progressStep is how often, in scanned bytes, the progress callback is
	// called within a file.
	progressStep = 4 << 20
)

// blkFile is one block file to scan.
type blkFile struct {
	path string
	size int64
}

// posError reports a problem at a byte offset of a block file.
type posError struct {
	path string
	off  int64
	msg  string
	err  error
}

func (e *posError) Error() string {
	s := fmt.Sprintf("blkfile: %s: offset %d: %s", e.path, e.off, e.msg)
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *posError) Unwrap() error { return e.err }

func errAt(f blkFile, off int64, err error, format string, args ...any) error {
	return &posError{path: f.path, off: off, msg: fmt.Sprintf(format, args...), err: err}
}

// xorKey is the obfuscation key of Core 28+; the zero key means plain files.
type xorKey [8]byte

func (k xorKey) active() bool { return k != xorKey{} }

// apply XORs b, which was read at file position pos, with the key.
func (k xorKey) apply(b []byte, pos int64) {
	if !k.active() {
		return
	}
	var rot [8]byte
	for j := range rot {
		rot[j] = k[(pos+int64(j))&7]
	}
	w := binary.LittleEndian.Uint64(rot[:])
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^w)
	}
	for ; i < len(b); i++ {
		b[i] ^= rot[i&7]
	}
}

// readXORKey reads the key file at path; a missing file means no key.
func readXORKey(path string) (xorKey, error) {
	var k xorKey
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return k, fmt.Errorf("blkfile: reading obfuscation key: %w", err)
	}
	if len(b) != len(k) {
		return k, fmt.Errorf("blkfile: obfuscation key %s holds %d bytes, want %d", path, len(b), len(k))
	}
	copy(k[:], b)
	return k, nil
}

// blkNumber returns the number in a file name of the form blkNNNNN.dat.
func blkNumber(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, "blk")
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, ".dat")
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// listFiles resolves path to the block files to scan, in file-number order,
// and the path of the obfuscation key that goes with them.
func listFiles(path string) ([]blkFile, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("blkfile: %w", err)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, "", fmt.Errorf("blkfile: %s is not a regular file", path)
		}
		return []blkFile{{path: path, size: fi.Size()}}, filepath.Join(filepath.Dir(path), "xor.dat"), nil
	}
	files, err := listDir(path)
	if err != nil {
		return nil, "", err
	}
	dir := path
	if len(files) == 0 {
		// A data directory keeps its block files in blocks/.
		sub := filepath.Join(path, "blocks")
		if fi, err := os.Stat(sub); err == nil && fi.IsDir() {
			if files, err = listDir(sub); err != nil {
				return nil, "", err
			}
			dir = sub
		}
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("blkfile: no blk*.dat block files in %s", path)
	}
	return files, filepath.Join(dir, "xor.dat"), nil
}

func listDir(dir string) ([]blkFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blkfile: %w", err)
	}
	type numbered struct {
		n uint64
		f blkFile
	}
	var found []numbered
	for _, e := range entries {
		n, ok := blkNumber(e.Name())
		if !ok {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("blkfile: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("blkfile: %s is not a regular file", p)
		}
		found = append(found, numbered{n, blkFile{path: p, size: fi.Size()}})
	}
	slices.SortFunc(found, func(a, b numbered) int {
		if a.n < b.n {
			return -1
		}
		if a.n > b.n {
			return 1
		}
		return 0
	})
	files := make([]blkFile, len(found))
	for i, x := range found {
		files[i] = x.f
	}
	return files, nil
}

// window serves small reads of one file from a buffer refilled with large
// reads, de-obfuscating what it reads. It never reads past size, the file
// size when the scan started, so data appended meanwhile is not seen.
type window struct {
	f    *os.File
	size int64
	key  xorKey
	buf  []byte
	// span, when positive, limits a refill to fewer bytes than len(buf).
	span  int
	start int64
	n     int
}

// has reports whether the n bytes at off are in the buffer.
func (w *window) has(off int64, n int) bool {
	return off >= w.start && off+int64(n) <= w.start+int64(w.n)
}

// at returns the n bytes at off, or fewer if the file ends first (at size).
// The result is valid until the next call.
func (w *window) at(off int64, n int) ([]byte, error) {
	end := w.start + int64(w.n)
	if off >= w.start && (off+int64(n) <= end || end == w.size) && off <= end {
		i := int(off - w.start)
		return w.buf[i:min(i+n, w.n)], nil
	}
	want := len(w.buf)
	if w.span > 0 {
		want = min(max(w.span, n), want)
	}
	want = int(min(int64(want), w.size-off))
	got, err := w.f.ReadAt(w.buf[:want], off)
	w.start, w.n = off, got
	w.key.apply(w.buf[:got], off)
	if got < min(n, want) {
		// The file shrank since its size was taken.
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return w.buf[:min(n, got)], nil
}

// scan holds the state of one Open scan.
type scan struct {
	net        wire.BitcoinNet
	magic      [4]byte
	key        xorKey
	files      []blkFile
	o          *options
	tree       tree
	stats      Stats
	done       int64
	lastReport int64
	buf        []byte
}

func newScan(net wire.BitcoinNet, key xorKey, files []blkFile, o *options) *scan {
	sc := &scan{net: net, key: key, files: files, o: o, buf: make([]byte, windowSize)}
	binary.LittleEndian.PutUint32(sc.magic[:], uint32(net))
	sc.tree.init()
	sc.stats.Files = len(files)
	for _, f := range files {
		sc.stats.Bytes += f.size
	}
	return sc
}

func (sc *scan) report(done int64) {
	if sc.o.progress != nil {
		sc.o.progress(done, sc.stats.Bytes)
	}
	sc.lastReport = done
}

func (sc *scan) run(ctx context.Context) error {
	sc.report(0)
	for i := range sc.files {
		if err := sc.file(ctx, i, i == len(sc.files)-1); err != nil {
			return err
		}
		sc.done += sc.files[i].size
		sc.report(sc.done)
	}
	sc.stats.Duplicates = sc.tree.dups
	sc.stats.Records = len(sc.tree.nodes) + sc.tree.dups
	return nil
}

// file scans the records of file idx. In the last file an incomplete final
// record ends the data instead of failing the scan.
func (sc *scan) file(ctx context.Context, idx int, last bool) error {
	f := sc.files[idx]
	fh, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("blkfile: %w", err)
	}
	defer fh.Close()
	w := &window{f: fh, size: f.size, key: sc.key, buf: sc.buf}
	var off int64
	for records := 0; off < f.size; records++ {
		if records%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if sc.done+off-sc.lastReport >= progressStep {
			sc.report(sc.done + off)
		}
		rec, err := w.at(off, recordHeaderSize+headerSize)
		if err != nil {
			return errAt(f, off, err, "reading record")
		}
		if allZero(rec[:min(4, len(rec))]) {
			break // preallocated space: no more records in this file
		}
		var defect string
		var end int64
		switch {
		case len(rec) < recordHeaderSize:
			defect = fmt.Sprintf("record header cut off after %d bytes", len(rec))
			end = f.size
		case [4]byte(rec[:4]) != sc.magic:
			if !partialMagic(rec[:4], sc.magic) {
				return sc.magicError(f, off, rec)
			}
			defect = "record header cut off inside the magic"
			end = off + 4
		default:
			size := binary.LittleEndian.Uint32(rec[4:8])
			end = off + recordHeaderSize + int64(size)
			switch {
			case size > MaxRecordSize:
				return errAt(f, off, nil, "record size %d exceeds the maximum %d (corrupt size field)", size, MaxRecordSize)
			case size < headerSize:
				defect = fmt.Sprintf("record size %d is too small to hold a block header", size)
			case end > f.size:
				defect = fmt.Sprintf("record of %d bytes runs past the end of the file (%d bytes left)",
					size, f.size-off-recordHeaderSize)
			default:
				defect = sc.tree.add(rec[recordHeaderSize:], int32(idx), off, size)
			}
		}
		if defect == "" {
			off = end
			continue
		}
		if last && sc.endOfData(w, end) {
			sc.stats.Truncated++
			sc.o.log.Warn("blkfile: ignoring incomplete record at the end of the last block file",
				"file", f.path, "offset", off, "problem", defect)
			break
		}
		return errAt(f, off, nil, "%s", defect)
	}
	return nil
}

// endOfData reports whether nothing but zero padding follows position end.
func (sc *scan) endOfData(w *window, end int64) bool {
	for end < w.size {
		b, err := w.at(end, windowSize)
		if err != nil || !allZero(b) {
			return false
		}
		end += int64(len(b))
	}
	return true
}

func (sc *scan) magicError(f blkFile, off int64, rec []byte) error {
	found := binary.LittleEndian.Uint32(rec[:4])
	name := ""
	if n := wire.BitcoinNet(found).String(); !strings.HasPrefix(n, "Unknown") {
		name = " (" + n + ")"
	}
	hint := "is the network right?"
	if !sc.key.active() && off == 0 {
		hint += " (or is the file obfuscated and xor.dat missing?)"
	}
	return errAt(f, off, nil, "bad magic: expected %x (%s), found %x%s; %s",
		sc.magic[:], sc.net, rec[:4], name, hint)
}

// partialMagic reports whether m is a proper prefix of magic followed by
// zeros, as left by an interrupted write into preallocated space.
func partialMagic(m []byte, magic [4]byte) bool {
	k := 0
	for k < len(m) && m[k] == magic[k] {
		k++
	}
	return k > 0 && allZero(m[k:])
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parseHeader returns the hash, previous-block hash and compact target of
// an 80-byte block header.
func parseHeader(h []byte) (hash, prev chainhash.Hash, bits uint32) {
	hash = chainhash.DoubleHashH(h[:headerSize])
	copy(prev[:], h[4:36])
	bits = binary.LittleEndian.Uint32(h[72:76])
	return hash, prev, bits
}
