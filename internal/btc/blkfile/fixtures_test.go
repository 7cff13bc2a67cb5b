package blkfile

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Facts about btcd's blockchain/testdata/blk_0_to_14131.dat.
const (
	realTip     = 14131
	genesisHash = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
	// hash170 is the block with the first transaction between people.
	hash170 = "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
)

var realData struct {
	once sync.Once
	path string
	err  string
	// blocks are the raw blocks of the file in file order.
	blocks [][]byte
	// offs are the record offsets of blocks; offs[len(blocks)] is where the
	// data ends.
	offs []int64
}

// realFile returns the path of btcd's mainnet test block file and its
// blocks, skipping the test when the btcd module is not available.
func realFile(tb testing.TB) (string, [][]byte, []int64) {
	tb.Helper()
	realData.once.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
		if err != nil {
			realData.err = "go list -m github.com/btcsuite/btcd: " + err.Error()
			return
		}
		p := filepath.Join(strings.TrimSpace(string(out)), "blockchain", "testdata", "blk_0_to_14131.dat")
		data, err := os.ReadFile(p)
		if err != nil {
			realData.err = err.Error()
			return
		}
		realData.path = p
		off := 0
		for off+8 <= len(data) && binary.LittleEndian.Uint32(data[off:]) == uint32(wire.MainNet) {
			size := int(binary.LittleEndian.Uint32(data[off+4:]))
			realData.offs = append(realData.offs, int64(off))
			realData.blocks = append(realData.blocks, data[off+8:off+8+size])
			off += 8 + size
		}
		realData.offs = append(realData.offs, int64(off))
	})
	if realData.err != "" {
		tb.Skipf("btcd test block file not available: %s", realData.err)
	}
	return realData.path, realData.blocks, realData.offs
}

// record frames a raw block as a block-file record for net.
func record(net wire.BitcoinNet, raw []byte) []byte {
	b := make([]byte, 8, 8+len(raw))
	binary.LittleEndian.PutUint32(b, uint32(net))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(raw)))
	return append(b, raw...)
}

// records concatenates the records of blocks.
func records(net wire.BitcoinNet, blocks ...[]byte) []byte {
	var buf bytes.Buffer
	for _, b := range blocks {
		buf.Write(record(net, b))
	}
	return buf.Bytes()
}

// obfuscate XORs data, meant for file position 0, with key.
func obfuscate(data []byte, key xorKey) []byte {
	out := make([]byte, len(data))
	for i, c := range data {
		out[i] = c ^ key[i%8]
	}
	return out
}

func writeFile(tb testing.TB, path string, data []byte) string {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// mine builds a minimal block (a header and a zero transaction count) on
// prev that meets bits, salted so that blocks with equal inputs differ.
func mine(tb testing.TB, prev chainhash.Hash, bits, salt uint32) []byte {
	tb.Helper()
	raw := make([]byte, headerSize+1)
	binary.LittleEndian.PutUint32(raw[0:], 1)
	copy(raw[4:36], prev[:])
	binary.LittleEndian.PutUint32(raw[36:], salt)
	binary.LittleEndian.PutUint32(raw[68:], 1231006505+salt)
	binary.LittleEndian.PutUint32(raw[72:], bits)
	target := blockchain.CompactToBig(bits)
	for nonce := uint32(0); ; nonce++ {
		binary.LittleEndian.PutUint32(raw[76:], nonce)
		h := chainhash.DoubleHashH(raw[:headerSize])
		if blockchain.HashToBig(&h).Cmp(target) <= 0 {
			return raw
		}
		if nonce == 1<<30 {
			tb.Fatalf("cannot mine a block for bits %#x", bits)
		}
	}
}

func blockHash(raw []byte) chainhash.Hash {
	return chainhash.DoubleHashH(raw[:headerSize])
}

// easyBits is a target almost every header meets; a block meeting it has
// work 2.
const easyBits = 0x207fffff

// harderBits needs about 512 tries; a block meeting it has work about 512.
const harderBits = 0x1f7fffff
