package btcgen

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// RecordHeaderSize is the size of the header Core writes before each
// block in a blk file: the network magic and the block's size, both
// little-endian uint32s.
const RecordHeaderSize = 8

// preallocChunk is the granularity of Core's blk file preallocation.
const preallocChunk = 16 << 20

// WriteRecords writes blocks to w in Core's blk file record format:
// [magic of net][uint32 LE size][serialized block] for each. It suits
// tests that need a hand-made block file; it does not obfuscate.
func WriteRecords(w io.Writer, net wire.BitcoinNet, blocks ...*wire.MsgBlock) error {
	var buf bytes.Buffer
	for _, b := range blocks {
		buf.Reset()
		buf.Write(make([]byte, RecordHeaderSize))
		if err := b.Serialize(&buf); err != nil {
			return err
		}
		rec := buf.Bytes()
		binary.LittleEndian.PutUint32(rec[0:], uint32(net))
		binary.LittleEndian.PutUint32(rec[4:], uint32(len(rec)-RecordHeaderSize))
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// XOR applies Core's block-file obfuscation to data in place, data being
// the bytes of a file starting at fileOffset: byte i is XORed with
// key[(fileOffset+i)%8]. Applying it twice restores the data, so it both
// obfuscates and deobfuscates. fileOffset must not be negative.
func XOR(data []byte, key [8]byte, fileOffset int64) {
	var rot [8]byte
	for i := range rot {
		rot[i] = key[(fileOffset+int64(i))%8]
	}
	k := binary.LittleEndian.Uint64(rot[:])
	if k == 0 {
		return
	}
	i := 0
	for ; i+8 <= len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], binary.LittleEndian.Uint64(data[i:])^k)
	}
	for ; i < len(data); i++ {
		data[i] ^= rot[i%8]
	}
}

// blockRec is a block on its way from the generator to the writer, which
// owns raw from then on.
type blockRec struct {
	raw    []byte
	hash   chainhash.Hash
	height int
	stale  bool
}

// fileWriter writes blocks into blk files on its own goroutine, so that
// file output overlaps generation. It shuffles, obfuscates and rotates
// files as configured.
type fileWriter struct {
	dir      string
	magic    uint32
	max      int64
	key      [8]byte
	prealloc bool
	window   int
	rng      *rand.Rand

	// free returns written block buffers to the generator for reuse.
	free chan []byte
	// done is closed when run returns; err is its error.
	done chan struct{}
	err  error

	f       *os.File
	bw      *bufio.Writer
	num     int   // Number of the open file.
	pos     int64 // Size of the open file.
	total   int64
	recs    []Record
	pending []blockRec
}

// newFileWriter prepares a writer for cfg; it opens no file until the
// first block arrives.
func newFileWriter(dir string, cfg Config) *fileWriter {
	w := &fileWriter{
		dir:      dir,
		magic:    uint32(cfg.Net.Net),
		max:      cfg.FileSize,
		prealloc: cfg.Prealloc,
		window:   cfg.ShuffleWindow,
		// A stream of its own, so shuffling leaves the chain unchanged.
		rng:  rand.New(rand.NewPCG(uint64(cfg.Seed), 0x73687566)),
		free: make(chan []byte, 8+cfg.ShuffleWindow),
		done: make(chan struct{}),
	}
	if cfg.XORKey != nil {
		w.key = *cfg.XORKey
	}
	return w
}

// run writes the blocks received on in until it is closed, then closes
// the last file. On error it stops reading; the generator notices done.
func (w *fileWriter) run(in <-chan blockRec) {
	defer close(w.done)
	w.err = w.loop(in)
	if w.f != nil {
		if err := w.closeFile(true); w.err == nil {
			w.err = err
		}
	}
}

// loop writes or buffers each block received, genesis never shuffled
// since Core always stores it first.
func (w *fileWriter) loop(in <-chan blockRec) error {
	for rec := range in {
		if w.window <= 1 || rec.height == 0 && !rec.stale {
			if err := w.write(rec); err != nil {
				return err
			}
			continue
		}
		w.pending = append(w.pending, rec)
		if len(w.pending) == w.window {
			if err := w.flushPending(); err != nil {
				return err
			}
		}
	}
	return w.flushPending()
}

// flushPending writes the buffered shuffle window in random order.
func (w *fileWriter) flushPending() error {
	p := w.pending
	w.rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	for _, rec := range p {
		if err := w.write(rec); err != nil {
			return err
		}
	}
	clear(p)
	w.pending = p[:0]
	return nil
}

// write appends one record, starting a new file first when the record
// would overflow the open one.
func (w *fileWriter) write(rec blockRec) error {
	size := int64(RecordHeaderSize + len(rec.raw))
	if w.f != nil && w.pos > 0 && w.pos+size > w.max {
		if err := w.closeFile(false); err != nil {
			return err
		}
		w.num++
	}
	if w.f == nil {
		f, err := os.Create(filepath.Join(w.dir, fmt.Sprintf("blk%05d.dat", w.num)))
		if err != nil {
			return err
		}
		w.f, w.pos = f, 0
		if w.bw == nil {
			w.bw = bufio.NewWriterSize(f, 1<<20)
		} else {
			w.bw.Reset(f)
		}
	}
	var hdr [RecordHeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[0:], w.magic)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(rec.raw)))
	XOR(hdr[:], w.key, w.pos)
	XOR(rec.raw, w.key, w.pos+RecordHeaderSize)
	if _, err := w.bw.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.bw.Write(rec.raw); err != nil {
		return err
	}
	w.recs = append(w.recs, Record{
		Hash: rec.hash, Height: rec.height, Stale: rec.stale,
		File: w.num, Offset: w.pos + RecordHeaderSize, Size: len(rec.raw),
	})
	w.pos += size
	w.total += size
	select {
	case w.free <- rec.raw:
	default:
	}
	return nil
}

// closeFile flushes and closes the open file, padding it first if it is
// the last one and preallocation is on.
func (w *fileWriter) closeFile(last bool) error {
	err := w.bw.Flush()
	if err == nil && last && w.prealloc {
		chunk := min(int64(preallocChunk), w.max)
		if size := (w.pos + chunk - 1) / chunk * chunk; size > w.pos {
			err = w.f.Truncate(size)
		}
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
