package btc

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/wire"
)

// btcdModuleDir finds the btcd module, whose test data serves as the
// oracle corpus, once per process.
var btcdModuleDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", os.ErrNotExist
	}
	return dir, nil
})

// btcdDir returns the btcd module directory or skips the test.
func btcdDir(tb testing.TB) string {
	tb.Helper()
	dir, err := btcdModuleDir()
	if err != nil {
		tb.Skipf("btcd module directory unavailable (go list -m github.com/btcsuite/btcd: %v); skipping oracle test", err)
	}
	return dir
}

// blkFileBlocks splits a Bitcoin Core block file (magic, little-endian
// size, block; zero padding at the end) into raw blocks.
func blkFileBlocks(tb testing.TB, data []byte) [][]byte {
	tb.Helper()
	magic := []byte{0xf9, 0xbe, 0xb4, 0xd9}
	var blocks [][]byte
	for len(data) >= 8 {
		if !bytes.Equal(data[:4], magic) {
			if data[0] == 0 {
				break // preallocated zero tail
			}
			tb.Fatalf("bad magic %x after %d blocks", data[:4], len(blocks))
		}
		size := int(binary.LittleEndian.Uint32(data[4:8]))
		if size > len(data)-8 {
			tb.Fatalf("block %d: size %d exceeds the %d bytes left", len(blocks), size, len(data)-8)
		}
		blocks = append(blocks, data[8:8+size])
		data = data[8+size:]
	}
	return blocks
}

// testBlock is a named raw block.
type testBlock struct {
	name string
	raw  []byte
}

var (
	loadOnce     sync.Once
	blkBlocks    []testBlock
	wireBlocks   []testBlock
	loadSkipText string
)

// loadBlocks loads the early main-chain blocks of
// blockchain/testdata/blk_0_to_14131.dat and the two recent segwit blocks
// of wire/testdata, or skips.
func loadBlocks(tb testing.TB) (early, recent []testBlock) {
	tb.Helper()
	dir := btcdDir(tb)
	loadOnce.Do(func() {
		data, err := os.ReadFile(filepath.Join(dir, "blockchain", "testdata", "blk_0_to_14131.dat"))
		if err != nil {
			loadSkipText = err.Error()
			return
		}
		for i, raw := range blkFileBlocks(tb, data) {
			blkBlocks = append(blkBlocks, testBlock{name: "height-" + strconv.Itoa(i), raw: raw})
		}
		files, _ := filepath.Glob(filepath.Join(dir, "wire", "testdata", "block-*.blk"))
		sort.Strings(files)
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				loadSkipText = err.Error()
				return
			}
			wireBlocks = append(wireBlocks, testBlock{name: shortBlockName(f), raw: raw})
		}
		if len(wireBlocks) == 0 {
			loadSkipText = "no wire/testdata/block-*.blk files"
		}
	})
	if loadSkipText != "" {
		tb.Skipf("btcd block test data unavailable: %s", loadSkipText)
	}
	return blkBlocks, wireBlocks
}

// shortBlockName turns ".../block-0000...1602407ac498....blk" into
// "1602407a", the first significant hex digits of the hash.
func shortBlockName(path string) string {
	h := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "block-"), ".blk")
	h = strings.TrimLeft(h, "0")
	if len(h) > 8 {
		h = h[:8]
	}
	return h
}

// appendVarint appends a compact size integer.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 0xfd:
		return append(b, byte(v))
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(v))
	case v <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(v))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xff), v)
}

// subBlock builds a block from the header of raw and its first k
// transactions. The merkle root is not updated.
func subBlock(tb testing.TB, raw []byte, k int) []byte {
	tb.Helper()
	var b Block
	if err := DecodeBlock(raw, &b); err != nil {
		tb.Fatal(err)
	}
	k = min(k, len(b.Txs))
	out := append([]byte(nil), raw[:HeaderSize]...)
	out = appendVarint(out, uint64(k))
	for _, tx := range b.Txs[:k] {
		out = append(out, tx.Raw...)
	}
	return out
}

// txOffsets returns the offset in raw of every transaction of the block.
func txOffsets(tb testing.TB, raw []byte) []int {
	tb.Helper()
	var b Block
	if err := DecodeBlock(raw, &b); err != nil {
		tb.Fatal(err)
	}
	off := HeaderSize + wire.VarIntSerializeSize(uint64(len(b.Txs)))
	offs := make([]int, len(b.Txs))
	for i := range b.Txs {
		offs[i] = off
		off += len(b.Txs[i].Raw)
	}
	return offs
}
